#include "socks_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string_view>

namespace sr::test {

namespace {

bool connect_local(int fd, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

}  // namespace

ThreadedListener::ThreadedListener(Serve serve) : serve_(std::move(serve)) {
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;  // the kernel picks a free port: no race with other tests
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listen_fd_, 16) != 0 || getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (listen_fd_ >= 0) close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
    throw std::runtime_error("test listener: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ThreadedListener::~ThreadedListener() {
  const char b = 'x';
  (void)!write(stop_pipe_[1], &b, 1);
  acceptor_.join();
  // The acceptor has stopped: nobody adds sessions any more.
  for (auto& t : sessions_) t.join();
  close(listen_fd_);
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
}

bool ThreadedListener::wait_readable(int fd) const {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
  for (;;) {
    const int r = poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || fds[1].revents != 0) return false;
    if (fds[0].revents != 0) return true;
  }
}

void ThreadedListener::accept_loop() {
  while (wait_readable(listen_fd_)) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    sessions_.emplace_back([this, fd] {
      serve_(fd);
      close(fd);
    });
  }
}

bool ThreadedListener::read_exact(int fd, uint8_t* buf, size_t n) const {
  while (n > 0) {
    if (!wait_readable(fd)) return false;
    const ssize_t r = recv(fd, buf, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool ThreadedListener::write_all(int fd, const uint8_t* buf, size_t n) const {
  while (n > 0) {
    const ssize_t r = send(fd, buf, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void ThreadedListener::relay(int a, int b) const {
  uint8_t buf[4096];
  pollfd fds[3] = {{a, POLLIN, 0}, {b, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
  for (;;) {
    const int r = poll(fds, 3, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || fds[2].revents != 0) return;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = recv(fds[i].fd, buf, sizeof buf, 0);
      if (n <= 0 || !write_all(fds[1 - i].fd, buf, static_cast<size_t>(n))) return;
    }
  }
}

EchoServer::EchoServer()
    : listener_([this](int fd) {
        uint8_t buf[4096];
        for (;;) {
          uint8_t first = 0;
          if (!listener_.read_exact(fd, &first, 1)) return;
          buf[0] = first;
          const ssize_t more = recv(fd, buf + 1, sizeof buf - 1, MSG_DONTWAIT);
          const size_t n = 1 + static_cast<size_t>(more > 0 ? more : 0);
          if (!listener_.write_all(fd, buf, n)) return;
        }
      }) {}

SocksServer::SocksServer(Options options)
    : options_(std::move(options)), listener_([this](int fd) { serve(fd); }) {}

std::vector<SocksServer::Request> SocksServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<std::pair<std::string, std::string>> SocksServer::logins() const {
  std::lock_guard lock(mutex_);
  return logins_;
}

void SocksServer::serve(int fd) {
  const auto& l = listener_;
  auto reply = [&](uint8_t code) {
    // BND.ADDR 0.0.0.0:0: clients have no use for it here.
    const uint8_t r[10] = {5, code, 0, 1, 0, 0, 0, 0, 0, 0};
    l.write_all(fd, r, sizeof r);
  };
  auto read_string = [&](std::string& out) {
    uint8_t len = 0;
    if (!l.read_exact(fd, &len, 1)) return false;
    out.resize(len);
    return len == 0 || l.read_exact(fd, reinterpret_cast<uint8_t*>(out.data()), len);
  };

  // Greeting: VER NMETHODS METHODS
  uint8_t head[2];
  if (!l.read_exact(fd, head, 2) || head[0] != 5) return;
  std::string methods(head[1], '\0');
  if (head[1] > 0 && !l.read_exact(fd, reinterpret_cast<uint8_t*>(methods.data()), head[1])) return;
  const char wanted = options_.credentials ? 0x02 : 0x00;
  if (methods.find(wanted) == std::string::npos) {
    const uint8_t none[2] = {5, 0xFF};
    l.write_all(fd, none, 2);
    return;
  }
  const uint8_t choice[2] = {5, static_cast<uint8_t>(wanted)};
  if (!l.write_all(fd, choice, 2)) return;

  if (options_.credentials) {
    uint8_t ver = 0;
    std::string user, pass;
    if (!l.read_exact(fd, &ver, 1) || ver != 1 || !read_string(user) || !read_string(pass)) return;
    {
      std::lock_guard lock(mutex_);
      logins_.emplace_back(user, pass);
    }
    const bool ok = user == options_.credentials->first && pass == options_.credentials->second;
    const uint8_t status[2] = {1, static_cast<uint8_t>(ok ? 0 : 1)};
    l.write_all(fd, status, 2);
    if (!ok) return;  // RFC 1929: the server closes after a failure
  }

  // Request: VER CMD RSV ATYP DST.ADDR DST.PORT
  uint8_t req[4];
  if (!l.read_exact(fd, req, 4) || req[0] != 5) return;
  Request r;
  r.atyp = req[3];
  if (r.atyp == 3) {
    if (!read_string(r.host)) return;
  } else if (r.atyp == 1 || r.atyp == 4) {
    uint8_t addr[16];
    const size_t n = r.atyp == 1 ? 4 : 16;
    if (!l.read_exact(fd, addr, n)) return;
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(r.atyp == 1 ? AF_INET : AF_INET6, addr, text, sizeof text);
    r.host = text;
  } else {
    reply(0x08);
    return;
  }
  uint8_t port[2];
  if (!l.read_exact(fd, port, 2)) return;
  r.port = static_cast<uint16_t>(port[0] << 8 | port[1]);
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(r);
  }
  if (req[1] != 1) return reply(0x07);
  const auto route = options_.routes.find(r.host);
  if (route == options_.routes.end()) return reply(0x04);

  const int target = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (target < 0) return reply(0x01);
  if (!connect_local(target, route->second)) {
    close(target);
    return reply(0x05);
  }
  reply(0x00);
  l.relay(fd, target);
  close(target);
}

}  // namespace sr::test
