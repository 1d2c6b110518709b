#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace sr::test {

namespace fsys = std::filesystem;
using namespace std::chrono;

fsys::path relay_binary() { return SR_RELAY_BINARY; }
fsys::path fixtures_dir() { return SR_FIXTURES_DIR; }

fsys::path symlink_as(const fsys::path& dir, const std::string& name) {
  fsys::path link = dir / name;
  std::error_code ec;
  fsys::remove(link, ec);
  fsys::create_symlink(relay_binary(), link);
  return link;
}

namespace {

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// fork + exec with stdout/stderr pipes and, when in_fd >= 0, that fd as stdin.
pid_t spawn(const std::vector<std::string>& argv, const Env& env, int in_fd, int& out_fd, int& err_fd) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // The test runner ignores SIGPIPE; the server must start with the default disposition, as under systemd.
    signal(SIGPIPE, SIG_DFL);
    dup2(in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY), 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (const auto& [k, v] : env) {
      if (v.empty())
        unsetenv(k.c_str());
      else
        setenv(k.c_str(), v.c_str(), 1);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  out_fd = out_pipe[0];
  err_fd = err_pipe[0];
  fcntl(out_fd, F_SETFL, O_NONBLOCK);
  fcntl(err_fd, F_SETFL, O_NONBLOCK);
  return pid;
}

// Reads what is available from the fds into the strings; -1 fds are skipped. Closes an fd at EOF.
void drain(int& fd, std::string& into) {
  char buf[4096];
  while (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      close(fd);
      fd = -1;
    } else {
      if (errno == EINTR) continue;
      return;  // EAGAIN
    }
  }
}

void poll_fds(int a, int b, int timeout_ms) {
  pollfd fds[2];
  int n = 0;
  if (a >= 0) fds[n++] = {a, POLLIN, 0};
  if (b >= 0) fds[n++] = {b, POLLIN, 0};
  if (n == 0) {
    std::this_thread::sleep_for(milliseconds(timeout_ms));
    return;
  }
  poll(fds, n, timeout_ms);
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, const Env& env, const std::string& input, seconds timeout) {
  // stdin from a temp file so a large input never blocks the parent.
  char tmpl[] = "/tmp/sr-stdin-XXXXXX";
  int in_fd = mkstemp(tmpl);
  if (in_fd < 0) throw std::runtime_error("mkstemp failed");
  unlink(tmpl);
  if (!input.empty() && write(in_fd, input.data(), input.size()) != static_cast<ssize_t>(input.size()))
    throw std::runtime_error("stdin write failed");
  lseek(in_fd, 0, SEEK_SET);
  RunResult r;
  int out_fd, err_fd;
  pid_t pid = spawn(argv, env, in_fd, out_fd, err_fd);
  close(in_fd);
  auto deadline = steady_clock::now() + timeout;
  int status = 0;
  bool exited = false;
  while (true) {
    poll_fds(out_fd, err_fd, 50);
    drain(out_fd, r.out);
    drain(err_fd, r.err);
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) exited = true;
    if (exited && out_fd < 0 && err_fd < 0) break;
    if (steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      if (!exited) waitpid(pid, &status, 0);
      if (out_fd >= 0) close(out_fd);
      if (err_fd >= 0) close(err_fd);
      FAIL("command timed out: " << argv[0] << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
    }
  }
  r.exit_code = exit_code_of(status);
  return r;
}

Process::Process(const std::vector<std::string>& argv, const Env& env) { pid_ = spawn(argv, env, -1, out_fd_, err_fd_); }

Process::~Process() {
  if (!status_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

void Process::pump(int timeout_ms) {
  poll_fds(out_fd_, err_fd_, timeout_ms);
  drain(out_fd_, out_);
  drain(err_fd_, err_);
  if (!status_) {
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) status_ = exit_code_of(st);
  }
}

bool Process::wait_for(std::string_view needle, milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (true) {
    pump(20);
    if (out_.find(needle) != std::string::npos || err_.find(needle) != std::string::npos) return true;
    if (status_ && out_fd_ < 0 && err_fd_ < 0) return false;
    if (steady_clock::now() > deadline) return false;
  }
}

std::string Process::out() {
  pump(0);
  return out_;
}

std::string Process::err() {
  pump(0);
  return err_;
}

void Process::signal(int sig) {
  if (!status_) kill(pid_, sig);
}

std::optional<int> Process::wait(milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (!status_ || out_fd_ >= 0 || err_fd_ >= 0) {
    pump(20);
    if (steady_clock::now() > deadline) break;
  }
  return status_;
}

bool Process::running() {
  pump(0);
  return !status_;
}

uint16_t free_port() {
  // Random start so parallel test runs rarely collide; bind check makes sure it is free now.
  static std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    uint16_t port = static_cast<uint16_t>(20000 + rng() % 30000);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    int ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    close(fd);
    if (ok == 0) return port;
  }
  throw std::runtime_error("no free port found");
}

int tcp_connect(const std::string& host, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

namespace {

std::string ssl_errors() {
  std::string s;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!s.empty()) s += "; ";
    s += buf;
  }
  return s;
}

int g_ticket_index = -1;

// The probe records NewSessionTicket messages (TLS 1.2 and 1.3) through the message callback.
void probe_msg_cb(int write_p, int, int content_type, const void* buf, size_t len, SSL* ssl, void*) {
  if (write_p || content_type != SSL3_RT_HANDSHAKE || len < 1) return;
  if (static_cast<const uint8_t*>(buf)[0] == SSL3_MT_NEWSESSION_TICKET)
    SSL_set_ex_data(ssl, g_ticket_index, reinterpret_cast<void*>(1));
}

}  // namespace

TlsProbe tls_probe(uint16_t port, const TlsProbeOptions& options) {
  TlsProbe p;
  if (g_ticket_index < 0) g_ticket_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  int fd = tcp_connect(options.host, port);
  if (fd < 0) {
    p.error = std::string("connect: ") + std::strerror(errno);
    return p;
  }
  p.connected = true;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (options.max_version) SSL_CTX_set_max_proto_version(ctx, static_cast<uint16_t>(options.max_version));
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
#ifdef SR_TLS_BORINGSSL
  // BoringSSL clients do not offer EdDSA by default; the relays sign only with Ed25519 (or Ed448).
  // With SNI a web certificate (ECDSA in the fixtures) may come back.
  static const uint16_t kEdDSA[] = {SSL_SIGN_ED25519, SSL_SIGN_ECDSA_SECP256R1_SHA256};
  SSL_CTX_set_verify_algorithm_prefs(ctx, kEdDSA, options.sni.empty() ? 1 : 2);
#endif
  SSL_CTX_set_msg_callback(ctx, probe_msg_cb);
  // Ask for tickets explicitly: the server must not send any even then.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
  if (!options.alpn.empty()) {
    std::string wire;
    for (const auto& a : options.alpn) {
      wire.push_back(static_cast<char>(a.size()));
      wire += a;
    }
    SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size()));
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (!options.sni.empty()) SSL_set_tlsext_host_name(ssl, options.sni.c_str());
  if (SSL_connect(ssl) != 1) {
    p.error = "handshake: " + ssl_errors();
  } else {
    p.handshake_ok = true;
    p.version = SSL_get_version(ssl);
    p.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    p.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    // Client side: the peer chain includes the leaf.
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    for (size_t i = 0; chain && i < static_cast<size_t>(sk_X509_num(chain)); ++i) {
      X509* c = sk_X509_value(chain, static_cast<int>(i));
      unsigned char* der = nullptr;
      int n = i2d_X509(c, &der);
      if (n > 0) p.chain_der.emplace_back(der, der + n);
      OPENSSL_free(der);
    }
    uint8_t fin[64];
    size_t n = SSL_get_finished(ssl, fin, sizeof fin);
    p.client_finished.assign(fin, fin + std::min(n, sizeof fin));
    // Post-handshake messages (TLS 1.3 tickets) arrive after the handshake: read briefly to process them.
    auto wait = options.close_wait.count() > 0 ? options.close_wait : milliseconds(300);
    auto start = steady_clock::now();
    timeval tv{0, 100 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (steady_clock::now() - start < wait) {
      char b[256];
      int r = SSL_read(ssl, b, sizeof b);
      if (r <= 0) {
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno != EAGAIN && errno != EWOULDBLOCK) ||
            e == SSL_ERROR_SSL) {
          p.closed_by_server = true;
          p.closed_after = duration_cast<milliseconds>(steady_clock::now() - start);
          break;
        }
        ERR_clear_error();
      }
    }
    if (options.close_wait.count() == 0) p.closed_by_server = false;
    p.got_session_ticket = SSL_get_ex_data(ssl, g_ticket_index) != nullptr;
    if (!p.closed_by_server) SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return p;
}

}  // namespace sr::test
