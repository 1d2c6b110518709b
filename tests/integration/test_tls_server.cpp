// In-process TlsServer on ephemeral ports with the fixture credentials; clients use the plain SSL API over
// blocking sockets (generous socket timeouts keep a failing test from hanging).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>

#include "harness.hpp"
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/server.hpp"
#include "core/tls.hpp"

using namespace std::chrono_literals;
using sr::net::ConnectionPtr;
using sr::net::ServerOptions;
using sr::net::TlsServer;

namespace {

const std::string kFixtures = SR_FIXTURES_DIR;
constexpr auto kWait = 30s;  // generous: only bounds a failing test

sr::tls::CtxPtr server_context() {
  return sr::tls::make_server_context(kFixtures + "/ed25519/server.crt", kFixtures + "/ed25519/ca.crt",
                                      kFixtures + "/ed25519/server.key");
}

ServerOptions options_for(std::vector<uint16_t> ports = {0}) {
  ServerOptions o;
  o.ports = std::move(ports);
  return o;
}

// What handlers saw, shared with the test thread.
struct Seen {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::weak_ptr<sr::net::Connection>> conns;  // weak: the server's handler holds this struct
  std::vector<std::vector<uint8_t>> session_ids;
  std::vector<std::string> alpns;
  std::vector<uint16_t> local_ports;
  std::vector<std::string> peers;
  std::vector<bool> results;  // handler-specific outcome
  size_t queued = 0;          // bounded-queue test: blocks accepted by try_send/send
  bool queue_was_full = false;

  void add(const ConnectionPtr& c) {
    std::lock_guard l(m);
    conns.push_back(c);
    session_ids.push_back(c->session_id());
    alpns.push_back(c->alpn());
    local_ports.push_back(c->local_port());
    peers.push_back(c->peer());
    cv.notify_all();
  }
  void result(bool r) {
    std::lock_guard l(m);
    results.push_back(r);
    cv.notify_all();
  }
  // Waits until pred() holds (under the lock).
  template <class P>
  bool wait(P pred) {
    std::unique_lock l(m);
    return cv.wait_for(l, kWait, pred);
  }
};

// A server whose io_context runs on its own thread.
struct Running {
  asio::io_context io;
  std::unique_ptr<TlsServer> server;
  std::thread thread;
  std::future<void> done;

  Running(ServerOptions options, sr::net::Handler handler) {
    server = std::make_unique<TlsServer>(io, server_context(), std::move(options), std::move(handler));
    server->start();
    std::promise<void> p;
    done = p.get_future();
    thread = std::thread([this, p = std::move(p)]() mutable {
      io.run();
      p.set_value();
    });
  }
  uint16_t port(size_t i = 0) const { return server->bound_ports().at(i); }
  // True when io_context::run() returned by itself within the wait.
  bool run_returned() { return done.wait_for(kWait) == std::future_status::ready; }
  ~Running() {
    server->stop();
    if (!run_returned()) io.stop();
    thread.join();
  }
};

int tcp_connect(uint16_t port) {
  int fd = sr::test::tcp_connect("127.0.0.1", port);
  REQUIRE(fd >= 0);
  return fd;
}

// Connects to [::1]:port; -1 when the host has no IPv6 loopback (or the connection is refused).
int tcp_connect_v6(uint16_t port) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  a.sin6_addr = in6addr_loopback;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool host_has_ipv6_loopback() {
  int probe = socket(AF_INET6, SOCK_STREAM, 0);
  if (probe < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(probe);
  return ok;
}

// True when the peer closed the TCP connection (EOF or reset) before the socket timeout.
bool tcp_closed_by_peer(int fd) {
  char b[64];
  for (;;) {
    ssize_t n = recv(fd, b, sizeof b, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

struct Client {
  int fd = -1;
  sr::tls::CtxPtr ctx;
  SSL* ssl = nullptr;

  explicit Client(uint16_t port, std::vector<std::string> alpn = {"smp/1"}, int max_version = 0) {
    ctx = sr::tls::make_client_context(alpn);
    fd = tcp_connect(port);
    ssl = SSL_new(ctx.get());
    REQUIRE(ssl != nullptr);
    if (max_version) SSL_set_max_proto_version(ssl, static_cast<uint16_t>(max_version));
    sr::tls::prepare(ssl);
    SSL_set_fd(ssl, fd);
  }
  ~Client() {
    if (ssl) SSL_free(ssl);
    if (fd >= 0) close(fd);
  }
  // Takes over an already connected socket (e.g. IPv6).
  Client(int connected_fd, std::vector<std::string> alpn) {
    ctx = sr::tls::make_client_context(alpn);
    fd = connected_fd;
    ssl = SSL_new(ctx.get());
    REQUIRE(ssl != nullptr);
    sr::tls::prepare(ssl);
    SSL_set_fd(ssl, fd);
  }
  bool handshake() { return SSL_connect(ssl) == 1; }
  std::string alpn() const { return sr::tls::alpn_selected(ssl); }
  // The client's own Finished as the library reports it (empty where the backend does not, BoringSSL TLS 1.3).
  std::vector<uint8_t> finished() const {
    uint8_t buf[64];
    size_t n = SSL_get_finished(ssl, buf, sizeof buf);
    return std::vector<uint8_t>(buf, buf + std::min(n, sizeof buf));
  }
  bool write(const std::string& s) { return SSL_write(ssl, s.data(), static_cast<int>(s.size())) == static_cast<int>(s.size()); }
  // Reads exactly n bytes; fewer when the connection ends or times out.
  std::string read(size_t n) {
    std::string out;
    while (out.size() < n) {
      char buf[16384];
      int r = SSL_read(ssl, buf, static_cast<int>(std::min(sizeof buf, n - out.size())));
      if (r <= 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }
  // True when the next read sees the server's close_notify (SSL_read 0, SSL_ERROR_ZERO_RETURN).
  bool sees_close_notify() {
    char b[64];
    int r = SSL_read(ssl, b, sizeof b);
    return r == 0 && SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN;
  }
};

// Captures what the process writes to stdout (fd 1) while alive.
struct StdoutCapture {
  std::string path = "/tmp/sr-stdout-" + std::to_string(getpid()) + ".txt";
  int saved = -1;
  StdoutCapture() {
    std::fflush(stdout);
    saved = dup(1);
    FILE* f = std::fopen(path.c_str(), "w");
    dup2(fileno(f), 1);
    std::fclose(f);
  }
  std::string finish() {
    if (saved >= 0) {
      std::fflush(stdout);
      dup2(saved, 1);
      close(saved);
      saved = -1;
    }
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::remove(path.c_str());
    return ss.str();
  }
  ~StdoutCapture() { finish(); }
};

asio::awaitable<void> record_and_wait_eof(std::shared_ptr<Seen> seen, ConnectionPtr c) {
  seen->add(c);
  uint8_t b[1];
  while (co_await c->read_exact(b)) {
  }
}

}  // namespace

TEST_CASE("TLS server: session id is the client's Finished, ALPN as negotiated", "[server]") {
  auto seen = std::make_shared<Seen>();
  Running srv(options_for(), [seen](ConnectionPtr c) { return record_and_wait_eof(seen, c); });

  SECTION("TLS 1.3 with ALPN smp/1") {
    Client cl(srv.port());
    REQUIRE(cl.handshake());
    REQUIRE(seen->wait([&] { return seen->session_ids.size() == 1; }));
    const auto client_sid = sr::tls::session_id(cl.ssl);
    CHECK(client_sid.size() == 32);
    CHECK(seen->session_ids[0] == client_sid);
    const auto fin = cl.finished();
    if (!fin.empty()) CHECK(fin == client_sid);  // OpenSSL reports it; BoringSSL does not in TLS 1.3
    CHECK(seen->alpns[0] == "smp/1");
    CHECK(cl.alpn() == "smp/1");
    CHECK(seen->local_ports[0] == srv.port());
  }
  SECTION("TLS 1.2: 12-byte Finished") {
    Client cl(srv.port(), {"smp/1"}, TLS1_2_VERSION);
    REQUIRE(cl.handshake());
    REQUIRE(seen->wait([&] { return seen->session_ids.size() == 1; }));
    CHECK(seen->session_ids[0].size() == 12);
    CHECK(seen->session_ids[0] == cl.finished());
  }
  SECTION("no ALPN from the client: empty ALPN") {
    Client cl(srv.port(), {});
    REQUIRE(cl.handshake());
    REQUIRE(seen->wait([&] { return seen->alpns.size() == 1; }));
    CHECK(seen->alpns[0].empty());
    CHECK(seen->session_ids[0] == sr::tls::session_id(cl.ssl));
  }
}

TEST_CASE("TLS server: echo handler with read_exact and send", "[server]") {
  constexpr size_t kChunk = 16;
  Running srv(options_for(), [](ConnectionPtr c) -> asio::awaitable<void> {
    std::vector<uint8_t> buf(kChunk);
    while (co_await c->read_exact(buf)) {
      if (!co_await c->send(buf)) break;
    }
  });
  Client cl(srv.port());
  REQUIRE(cl.handshake());
  std::string msg;
  for (size_t i = 0; i < 3 * kChunk; ++i) msg.push_back(static_cast<char>('a' + i % 26));
  REQUIRE(cl.write(msg));
  CHECK(cl.read(msg.size()) == msg);
  REQUIRE(cl.write(msg.substr(0, kChunk)));
  CHECK(cl.read(kChunk) == msg.substr(0, kChunk));
}

TEST_CASE("TLS server: an exception in a handler closes only that connection", "[server]") {
  auto seen = std::make_shared<Seen>();
  Running srv(options_for(), [seen](ConnectionPtr c) -> asio::awaitable<void> {
    seen->add(c);
    co_await c->send(std::vector<uint8_t>(1, 'x'));
    throw std::runtime_error("handler failure");
  });
  for (int i = 0; i < 2; ++i) {
    Client cl(srv.port());
    REQUIRE(cl.handshake());
    CHECK(cl.read(1) == "x");  // queued before the throw: still flushed
    CHECK(cl.sees_close_notify());
  }
  CHECK(seen->session_ids.size() == 2);
}

TEST_CASE("TLS server: handshake deadline closes a connection that never starts TLS", "[server]") {
  auto seen = std::make_shared<Seen>();
  auto options = options_for();
  options.tls_handshake_timeout = 1s;
  options.log_tls_errors = true;
  bool closed = false;
  size_t tls_errors = 0;
  bool handler_ran = true;
  StdoutCapture capture;  // no assertions while stdout is redirected
  {
    Running srv(options, [seen](ConnectionPtr c) { return record_and_wait_eof(seen, c); });
    int fd = tcp_connect(srv.port());
    closed = tcp_closed_by_peer(fd);
    close(fd);
    tls_errors = srv.server->tls_error_count();
    std::lock_guard l(seen->m);
    handler_ran = !seen->conns.empty();
  }
  const std::string out = capture.finish();
  CHECK(closed);
  CHECK(tls_errors == 1);
  CHECK_FALSE(handler_ran);
  CHECK(out.find("TLS error: ") != std::string::npos);
}

TEST_CASE("TLS server: read_exact with a timeout lets the handler close an idle client", "[server]") {
  auto seen = std::make_shared<Seen>();
  Running srv(options_for(), [seen](ConnectionPtr c) -> asio::awaitable<void> {
    uint8_t b[4];
    bool got = co_await c->read_exact(b, 1s);
    seen->result(got);
  });
  Client cl(srv.port());
  REQUIRE(cl.handshake());
  CHECK(cl.sees_close_notify());
  REQUIRE(seen->wait([&] { return seen->results.size() == 1; }));
  CHECK_FALSE(seen->results[0]);
}

TEST_CASE("TLS server: bounded outgoing queue", "[server]") {
  constexpr size_t kBlock = 16384;
  constexpr size_t kMaxBlocks = 4096;  // 64 MiB: far beyond any socket buffering, bounds a failing test
  auto seen = std::make_shared<Seen>();
  auto options = options_for();
  options.out_queue_capacity = 4;
  Running srv(options, [seen](ConnectionPtr c) -> asio::awaitable<void> {
    auto block = [](size_t i) { return std::vector<uint8_t>(kBlock, static_cast<uint8_t>(i)); };
    // Without yielding, the writer cannot drain: exactly the capacity fits.
    size_t n = 0;
    while (c->try_send(block(n))) ++n;
    const bool exact = n == 4;
    // With the writer running, the queue fills for good once socket buffers are full (the client does not read).
    asio::steady_timer t(co_await asio::this_coro::executor);
    int full_for = 0;
    while (n < kMaxBlocks && full_for < 50) {
      if (c->try_send(block(n))) {
        ++n;
        full_for = 0;
      } else {
        ++full_for;
        t.expires_after(10ms);
        co_await t.async_wait(asio::use_awaitable);
      }
    }
    {
      std::lock_guard l(seen->m);
      seen->queue_was_full = full_for >= 50;
      seen->queued = n;
      seen->results.push_back(exact);
      seen->cv.notify_all();
    }
    // send() waits for room, which comes once the client reads.
    bool sent = co_await c->send(block(n));
    seen->result(sent);
  });
  Client cl(srv.port());
  REQUIRE(cl.handshake());
  REQUIRE(seen->wait([&] { return seen->results.size() == 1; }));
  CHECK(seen->results[0]);
  CHECK(seen->queue_was_full);
  const size_t blocks = seen->queued + 1;
  bool in_order = true;
  for (size_t i = 0; i < blocks; ++i) {
    std::string b = cl.read(kBlock);
    REQUIRE(b.size() == kBlock);
    in_order = in_order && b.find_first_not_of(static_cast<char>(static_cast<uint8_t>(i))) == std::string::npos;
  }
  CHECK(in_order);
  REQUIRE(seen->wait([&] { return seen->results.size() == 2; }));
  CHECK(seen->results[1]);
  CHECK(cl.sees_close_notify());
}

TEST_CASE("TLS server: stop() is graceful", "[server]") {
  auto seen = std::make_shared<Seen>();
  auto options = options_for();
  options.tls_handshake_timeout = 60s;  // the silent TCP client must be closed by stop(), not by the deadline
  Running srv(options, [seen](ConnectionPtr c) { return record_and_wait_eof(seen, c); });
  Client a(srv.port()), b(srv.port());
  REQUIRE(a.handshake());
  REQUIRE(b.handshake());
  int raw = tcp_connect(srv.port());  // still in the TLS handshake when the server stops
  REQUIRE(seen->wait([&] { return seen->conns.size() == 2; }));
  const std::string bye(100000, 'z');  // more than one TLS record
  // Queue the data and stop in one step on the io thread, so the data is still queued when stop() runs.
  asio::post(srv.io, [&] {
    for (auto& w : seen->conns) {
      auto c = w.lock();
      seen->result(c && c->try_send(std::vector<uint8_t>(bye.begin(), bye.end())));
    }
    srv.server->stop();
  });
  for (Client* cl : {&a, &b}) {
    CHECK(cl->read(bye.size()) == bye);
    CHECK(cl->sees_close_notify());
    SSL_shutdown(cl->ssl);
  }
  CHECK(tcp_closed_by_peer(raw));
  close(raw);
  CHECK(srv.run_returned());
  CHECK(seen->results == std::vector<bool>{true, true});
  CHECK(srv.server->connection_count() == 0);
  CHECK(srv.server->tls_error_count() == 0);
  // A stopped server refuses new connections.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(srv.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0);
  close(fd);
}

TEST_CASE("TLS server: closed connections leave the live list", "[server]") {
  auto seen = std::make_shared<Seen>();
  Running srv(options_for(), [seen](ConnectionPtr c) { return record_and_wait_eof(seen, c); });
  for (int i = 0; i < 40; ++i) {
    if (i % 4 == 3) {
      close(tcp_connect(srv.port()));  // gone before the TLS handshake
      continue;
    }
    Client cl(srv.port());
    REQUIRE(cl.handshake());
    if (i % 2) SSL_shutdown(cl.ssl);  // clean close; the others just drop the socket
  }
  REQUIRE(seen->wait([&] { return seen->session_ids.size() == 30; }));
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  // The last dropped TCP connection may still be on its way through accept: wait for its failed handshake too.
  while ((srv.server->connection_count() != 0 || srv.server->tls_error_count() < 10) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(srv.server->connection_count() == 0);
  CHECK(srv.server->tls_error_count() == 10);
}

TEST_CASE("TLS server: a port in use is a BindError naming it", "[server]") {
  asio::io_context io;
  auto handler = [](ConnectionPtr) -> asio::awaitable<void> { co_return; };
  TlsServer first(io, server_context(), options_for(), handler);
  first.listen();
  const uint16_t port = first.bound_ports().at(0);
  REQUIRE(port != 0);
  TlsServer second(io, server_context(), options_for({port}), handler);
  try {
    second.listen();
    FAIL("bind succeeded on a port in use");
  } catch (const sr::net::BindError& e) {
    CHECK(e.port == port);
    CHECK_THAT(e.what(), Catch::Contains("port " + std::to_string(port) + " is already in use"));
  }
}

TEST_CASE("TLS server: several ports at once", "[server]") {
  auto seen = std::make_shared<Seen>();
  Running srv(options_for({0, 0}), [seen](ConnectionPtr c) { return record_and_wait_eof(seen, c); });
  const auto ports = srv.server->bound_ports();
  REQUIRE(ports.size() == 2);
  REQUIRE(ports[0] != ports[1]);
  Client a(ports[0]), b(ports[1]);
  REQUIRE(a.handshake());
  REQUIRE(b.handshake());
  REQUIRE(seen->wait([&] { return seen->local_ports.size() == 2; }));
  std::vector<uint16_t> got = seen->local_ports;
  std::sort(got.begin(), got.end());
  std::vector<uint16_t> want = ports;
  std::sort(want.begin(), want.end());
  CHECK(got == want);
  CHECK(srv.server->connection_count() == 2);
}

TEST_CASE("TLS server: dual-stack wildcard, or IPv4 only", "[server]") {
  auto seen = std::make_shared<Seen>();
  auto handler = [seen](ConnectionPtr c) { return record_and_wait_eof(seen, c); };
  if (!host_has_ipv6_loopback()) {
    WARN("no IPv6 loopback on this host: only the IPv4 part is checked");
  }
  SECTION("[::] accepts IPv4 and IPv6 clients") {
    Running srv(options_for(), handler);
    Client v4(srv.port());
    REQUIRE(v4.handshake());
    REQUIRE(seen->wait([&] { return seen->peers.size() == 1; }));
    // IPv4 clients arrive as v4-mapped addresses; logs show them as plain IPv4.
    CHECK_THAT(seen->peers[0], Catch::StartsWith("127.0.0.1:"));
    if (host_has_ipv6_loopback()) {
      int fd = tcp_connect_v6(srv.port());
      REQUIRE(fd >= 0);
      Client v6(fd, {"smp/1"});
      REQUIRE(v6.handshake());
      REQUIRE(seen->wait([&] { return seen->peers.size() == 2; }));
      CHECK_THAT(seen->peers[1], Catch::StartsWith("[::1]:"));
    }
  }
  SECTION("ipv6 = false binds 0.0.0.0 only") {
    auto options = options_for();
    options.ipv6 = false;
    Running srv(options, handler);
    Client v4(srv.port());
    REQUIRE(v4.handshake());
    if (host_has_ipv6_loopback()) {
      int fd = tcp_connect_v6(srv.port());
      CHECK(fd < 0);
      if (fd >= 0) close(fd);
    }
  }
}

TEST_CASE("TLS server: SIGTERM stops the server through on_shutdown_signal", "[server]") {
  auto seen = std::make_shared<Seen>();
  std::atomic<bool> signalled{false};
  Running srv(options_for(), [seen](ConnectionPtr c) { return record_and_wait_eof(seen, c); });
  sr::net::on_shutdown_signal(srv.io, [&] {
    signalled = true;
    srv.server->stop();
  });
  Client cl(srv.port());
  REQUIRE(cl.handshake());
  REQUIRE(seen->wait([&] { return seen->conns.size() == 1; }));
  std::raise(SIGTERM);
  CHECK(cl.sees_close_notify());
  CHECK(srv.run_returned());
  CHECK(signalled);
}
