// sr::h2::serve over a real TlsServer on 127.0.0.1 (ALPN h2, fixture credentials); the client is libnghttp2's
// client session over a blocking OpenSSL connection, driven by the test thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "core/http2_server.hpp"
#include "core/server.hpp"
#include "core/tls.hpp"
#include "harness.hpp"

using namespace std::chrono_literals;
using sr::h2::Exchange;

namespace {

const std::string kFixtures = SR_FIXTURES_DIR;
constexpr auto kWait = 30s;  // generous: only bounds a failing test
constexpr size_t kBlock = 16384;
constexpr size_t kChunk = 4 << 20;

uint8_t pattern(size_t i) { return static_cast<uint8_t>((i * 2654435761u) >> 13); }

std::vector<uint8_t> pattern_range(size_t from, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = pattern(from + i);
  return v;
}

// What handlers saw, shared with the test thread.
struct Seen {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> events;
  size_t max_buffered = 0;
  size_t body_read = 0;
  bool body_complete = false;
  bool closed = false;

  void event(std::string e) {
    std::lock_guard l(m);
    events.push_back(std::move(e));
    cv.notify_all();
  }
  bool has(const std::string& e) {
    std::unique_lock l(m);
    return cv.wait_for(l, kWait, [&] { return std::find(events.begin(), events.end(), e) != events.end(); });
  }
};

struct Running {
  asio::io_context io;
  std::unique_ptr<sr::net::TlsServer> server;
  std::thread thread;

  Running(sr::h2::Handler handler, sr::h2::Options h2opts) {
    sr::net::ServerOptions o;
    o.ports = {0};
    o.ipv6 = false;
    auto ctx = sr::tls::make_server_context(kFixtures + "/ed25519/server.crt", kFixtures + "/ed25519/ca.crt",
                                            kFixtures + "/ed25519/server.key");
    server = std::make_unique<sr::net::TlsServer>(
        io, ctx, o, [handler, h2opts](sr::net::ConnectionPtr c) { return sr::h2::serve(c, handler, h2opts); });
    server->start();
    thread = std::thread([this] { io.run(); });
  }
  uint16_t port() const { return server->bound_ports().at(0); }
  // Waits until every connection is gone (the server side noticed the client leaving).
  bool no_connections() {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (server->connection_count() != 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    return server->connection_count() == 0;
  }
  ~Running() {
    server->stop();
    thread.join();
  }
};

// A request body of `total` pattern bytes; the provider stops (defers) at `limit` without ending the stream.
struct Upload {
  size_t total = 0;
  size_t limit = SIZE_MAX;
  size_t sent = 0;
};

struct StreamResult {
  std::string status;
  std::vector<uint8_t> body;
  bool closed = false;
  uint32_t error = 0;
};

// Blocking HTTP/2 client: one TLS connection, a libnghttp2 client session pumped by the test thread.
struct H2Client {
  int fd = -1;
  sr::tls::CtxPtr ctx;
  SSL* ssl = nullptr;
  nghttp2_session* ng = nullptr;
  std::map<int32_t, StreamResult> streams;
  std::map<int32_t, Upload> uploads;
  bool goaway = false;

  explicit H2Client(uint16_t port) {
    ctx = sr::tls::make_client_context({"h2"});
    fd = sr::test::tcp_connect("127.0.0.1", port);
    REQUIRE(fd >= 0);
    ssl = SSL_new(ctx.get());
    REQUIRE(ssl != nullptr);
    sr::tls::prepare(ssl);
    SSL_set_fd(ssl, fd);
    REQUIRE(SSL_connect(ssl) == 1);
    REQUIRE(sr::tls::alpn_selected(ssl) == "h2");

    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen, const uint8_t* value,
               size_t valuelen, uint8_t, void* self) {
          if (std::string(reinterpret_cast<const char*>(name), namelen) == ":status")
            static_cast<H2Client*>(self)->streams[f->hd.stream_id].status.assign(reinterpret_cast<const char*>(value),
                                                                                 valuelen);
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* self) {
          auto& body = static_cast<H2Client*>(self)->streams[id].body;
          body.insert(body.end(), data, data + len);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cb, [](nghttp2_session*, int32_t id, uint32_t error, void* self) {
          auto& r = static_cast<H2Client*>(self)->streams[id];
          r.closed = true;
          r.error = error;
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, [](nghttp2_session*, const nghttp2_frame* f, void* self) {
      if (f->hd.type == NGHTTP2_GOAWAY) static_cast<H2Client*>(self)->goaway = true;
      return 0;
    });
    REQUIRE(nghttp2_session_client_new(&ng, cb, this) == 0);
    nghttp2_session_callbacks_del(cb);
    REQUIRE(nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, nullptr, 0) == 0);
  }
  ~H2Client() {
    if (ng) nghttp2_session_del(ng);
    if (ssl) SSL_free(ssl);
    if (fd >= 0) close(fd);
  }

  static ssize_t read_upload(nghttp2_session*, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                             nghttp2_data_source*, void* self) {
    Upload& u = static_cast<H2Client*>(self)->uploads[id];
    const size_t n = std::min({length, u.total - u.sent, u.limit - std::min(u.limit, u.sent)});
    for (size_t i = 0; i < n; ++i) buf[i] = pattern(u.sent + i);
    u.sent += n;
    if (u.sent == u.total)
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    else if (n == 0)
      return NGHTTP2_ERR_DEFERRED;
    return static_cast<ssize_t>(n);
  }

  // Submits a request; a body of `upload.total` pattern bytes when given.
  int32_t request(const std::string& method, const std::string& path, const Upload* upload = nullptr) {
    std::vector<std::pair<std::string, std::string>> h = {
        {":method", method}, {":scheme", "https"}, {":authority", "localhost"}, {":path", path}};
    std::vector<nghttp2_nv> nva;
    for (auto& [k, v] : h)
      nva.push_back({reinterpret_cast<uint8_t*>(k.data()), reinterpret_cast<uint8_t*>(v.data()), k.size(), v.size(),
                     NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider p{};
    p.read_callback = read_upload;
    const int32_t id = nghttp2_submit_request(ng, nullptr, nva.data(), nva.size(), upload ? &p : nullptr, nullptr);
    REQUIRE(id > 0);
    if (upload) uploads[id] = *upload;
    return id;
  }

  // Sends what the session has, then reads until pred() holds; false when the connection ends first.
  template <class P>
  bool pump(P pred) {
    for (;;) {
      for (;;) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(ng, &data);
        if (n < 0) return false;
        if (n == 0) break;
        if (SSL_write(ssl, data, static_cast<int>(n)) != static_cast<int>(n)) return false;
      }
      if (pred()) return true;
      uint8_t buf[16384];
      const int r = SSL_read(ssl, buf, sizeof buf);
      if (r <= 0) return false;
      if (nghttp2_session_mem_recv(ng, buf, static_cast<size_t>(r)) < 0) return false;
    }
  }
  bool finished(int32_t id) {
    return pump([&] { return streams[id].closed; });
  }
};

sr::h2::Options small_windows() {
  sr::h2::Options o;
  o.stream_window = 256 << 10;
  o.connection_window = 1 << 20;
  o.response_buffer = 64 << 10;
  return o;
}

// Reads exactly buf.size() body bytes in pieces of at most `piece`; fewer when the body ends.
asio::awaitable<size_t> read_full(std::shared_ptr<Exchange> ex, std::span<uint8_t> buf, size_t piece) {
  size_t got = 0;
  while (got < buf.size()) {
    const size_t n = co_await ex->read_body(buf.subspan(got, std::min(piece, buf.size() - got)));
    if (n == 0) break;
    got += n;
  }
  co_return got;
}

// /echo: reads the 16 KB block, then streams the rest of the body back as the response, 16 KB at a time.
// GET of anything: 404. /upload: reads until the body ends. /first waits for /second.
struct Gate {
  std::unique_ptr<asio::steady_timer> timer;
  bool second_arrived = false;
};

asio::awaitable<std::vector<uint8_t>> next_part(std::shared_ptr<Exchange> ex) {
  std::vector<uint8_t> part(kBlock);
  part.resize(co_await ex->read_body(part));
  co_return part;
}

std::vector<uint8_t> bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

asio::awaitable<void> handle(std::shared_ptr<Seen> seen, std::shared_ptr<Gate> gate, std::shared_ptr<Exchange> ex) {
  const auto& rq = ex->request();
  if (rq.method == "GET") {
    auto responding = ex->respond(404, sr::h2::Headers(), std::vector<uint8_t>());
    co_await std::move(responding);
    co_return;
  }
  if (rq.path == "/echo") {
    std::vector<uint8_t> block(kBlock);
    const size_t got = co_await read_full(ex, block, 5000);
    seen->event(std::string(got == kBlock && block == pattern_range(0, kBlock) ? "block ok" : "block bad"));
    sr::h2::Headers headers;
    headers.emplace_back("Content-Type", "application/octet-stream");
    auto responding = ex->respond(200, std::move(headers), [ex] { return next_part(ex); });
    const bool ok = co_await std::move(responding);
    {
      std::lock_guard l(seen->m);
      seen->max_buffered = ex->max_buffered();
      seen->body_complete = ex->body_complete();
    }
    seen->event(ok ? "echo sent" : "echo failed");
    co_return;
  }
  if (rq.path == "/head") {  // a command: only the 16 KB block is read, the rest of the body is not wanted
    std::vector<uint8_t> block(kBlock);
    const size_t got = co_await read_full(ex, block, kBlock);
    auto responding = ex->respond(200, sr::h2::Headers(), bytes(got == kBlock ? "ok" : "short"));
    co_await std::move(responding);
    co_return;
  }
  if (rq.path == "/upload") {
    std::vector<uint8_t> buf(kBlock);
    size_t total = 0;
    for (;;) {
      const size_t n = co_await ex->read_body(buf);
      if (n == 0) break;
      if (total == 0) seen->event("upload started");
      total += n;
    }
    {
      std::lock_guard l(seen->m);
      seen->body_read = total;
      seen->body_complete = ex->body_complete();
      seen->closed = ex->closed();
    }
    seen->event("upload ended");
    co_return;
  }
  if (rq.path == "/first") {
    if (!gate->timer) gate->timer = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
    while (!gate->second_arrived) co_await sr::net::wait_signal(*gate->timer);
    auto responding = ex->respond(200, sr::h2::Headers(), bytes("first"));
    co_await std::move(responding);
    co_return;
  }
  if (rq.path == "/second") {
    gate->second_arrived = true;
    if (gate->timer) gate->timer->cancel();
    auto responding = ex->respond(200, sr::h2::Headers(), bytes("second"));
    co_await std::move(responding);
    co_return;
  }
  // Anything else: no response from the handler (the server answers 500).
}

sr::h2::Handler test_handler(std::shared_ptr<Seen> seen, std::shared_ptr<Gate> gate) {
  return [seen, gate](std::shared_ptr<Exchange> ex) { return handle(seen, gate, ex); };
}

}  // namespace

TEST_CASE("HTTP/2 server: a 16 KB + 4 MB body is streamed in and echoed back with bounded buffering", "[http2]") {
  auto seen = std::make_shared<Seen>();
  const auto options = small_windows();
  Running srv(test_handler(seen, std::make_shared<Gate>()), options);
  H2Client cl(srv.port());
  Upload up;
  up.total = kBlock + kChunk;
  const int32_t id = cl.request("POST", "/echo", &up);
  REQUIRE(cl.finished(id));
  const auto& r = cl.streams[id];
  CHECK(r.error == NGHTTP2_NO_ERROR);
  CHECK(r.status == "200");
  REQUIRE(r.body.size() == kChunk);
  CHECK((r.body == pattern_range(kBlock, kChunk)));  // parenthesised: no 4 MB expansion in the report
  REQUIRE(seen->has("echo sent"));
  CHECK(seen->has("block ok"));
  std::lock_guard l(seen->m);
  CHECK(seen->body_complete);
  // Never more than the stream window of unread body plus the response buffer and one part.
  CHECK(seen->max_buffered > 0);
  CHECK(seen->max_buffered <= options.stream_window + options.response_buffer + kBlock);
}

TEST_CASE("HTTP/2 server: streams of one connection are handled concurrently", "[http2]") {
  auto seen = std::make_shared<Seen>();
  Running srv(test_handler(seen, std::make_shared<Gate>()), sr::h2::Options());
  H2Client cl(srv.port());
  // /first only answers once /second has reached its handler: a server handling streams one by one never would.
  const int32_t first = cl.request("POST", "/first");
  const int32_t second = cl.request("POST", "/second");
  REQUIRE(cl.pump([&] { return cl.streams[first].closed && cl.streams[second].closed; }));
  CHECK(cl.streams[first].status == "200");
  CHECK(std::string(cl.streams[first].body.begin(), cl.streams[first].body.end()) == "first");
  CHECK(cl.streams[second].status == "200");
  CHECK(std::string(cl.streams[second].body.begin(), cl.streams[second].body.end()) == "second");
  // The connection stays usable for further requests.
  const int32_t third = cl.request("GET", "/more");
  REQUIRE(cl.finished(third));
  CHECK(cl.streams[third].status == "404");
}

TEST_CASE("HTTP/2 server: unread body bytes do not block later requests", "[http2]") {
  auto seen = std::make_shared<Seen>();
  Running srv(test_handler(seen, std::make_shared<Gate>()), small_windows());
  H2Client cl(srv.port());
  // Each request leaves up to a stream window of unread bytes behind; together far more than the connection window.
  for (int i = 0; i < 8; ++i) {
    Upload up;
    up.total = kBlock + kChunk;
    const int32_t id = cl.request("POST", "/head", &up);
    REQUIRE(cl.finished(id));
    CHECK(cl.streams[id].status == "200");
    CHECK(std::string(cl.streams[id].body.begin(), cl.streams[id].body.end()) == "ok");
    CHECK(cl.streams[id].error == NGHTTP2_NO_ERROR);  // RST_STREAM(NO_ERROR) after the complete response
    CHECK(cl.uploads[id].sent < up.total);
  }
}

TEST_CASE("HTTP/2 server: a client closing mid-body ends the handler's read", "[http2]") {
  auto seen = std::make_shared<Seen>();
  Running srv(test_handler(seen, std::make_shared<Gate>()), small_windows());
  {
    H2Client cl(srv.port());
    Upload up;
    up.total = kBlock + kChunk;
    up.limit = 100000;
    const int32_t id = cl.request("POST", "/upload", &up);
    REQUIRE(cl.pump([&] { return cl.uploads[id].sent == up.limit; }));
    REQUIRE(seen->has("upload started"));
  }  // the socket closes without close_notify
  REQUIRE(seen->has("upload ended"));
  {
    std::lock_guard l(seen->m);
    CHECK_FALSE(seen->body_complete);
    CHECK(seen->closed);
    CHECK(seen->body_read > 0);
    CHECK(seen->body_read <= 100000);
  }
  CHECK(srv.no_connections());
}

TEST_CASE("HTTP/2 server: the handler's 404 for an unknown GET, 500 when it does not answer", "[http2]") {
  auto seen = std::make_shared<Seen>();
  Running srv(test_handler(seen, std::make_shared<Gate>()), sr::h2::Options());
  H2Client cl(srv.port());
  const int32_t get = cl.request("GET", "/no/such/page");
  REQUIRE(cl.finished(get));
  CHECK(cl.streams[get].status == "404");
  CHECK(cl.streams[get].body.empty());
  CHECK(cl.streams[get].error == NGHTTP2_NO_ERROR);
  const int32_t silent = cl.request("POST", "/silent");
  REQUIRE(cl.finished(silent));
  CHECK(cl.streams[silent].status == "500");
}

TEST_CASE("HTTP/2 server: an idle connection gets GOAWAY and is closed", "[http2]") {
  auto seen = std::make_shared<Seen>();
  sr::h2::Options options;
  options.idle_timeout = 1s;
  Running srv(test_handler(seen, std::make_shared<Gate>()), options);
  H2Client cl(srv.port());
  const int32_t get = cl.request("GET", "/");
  REQUIRE(cl.finished(get));
  CHECK(cl.streams[get].status == "404");
  CHECK_FALSE(cl.pump([] { return false; }));  // reads until the server closes
  CHECK(cl.goaway);
  CHECK(srv.no_connections());
}
