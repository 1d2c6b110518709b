// sr::h2::Connection (our HTTP/2 client) against sr::h2::serve on 127.0.0.1, and the XFTP client end to end
// against a fake XFTP server built on h2::serve that answers like the vectors (V4–V6, V10) with the fixture
// identity. The real XFTP server is tested with this client elsewhere.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "core/http2_client.hpp"
#include "core/http2_server.hpp"
#include "core/server.hpp"
#include "core/tls.hpp"
#include "harness.hpp"
#include "xftp/client.hpp"

using namespace std::chrono_literals;
using sr::Bytes;
using sr::h2::Exchange;

namespace {

const std::string kFixtures = SR_FIXTURES_DIR;
constexpr size_t kChunk = 4 << 20;

uint8_t pattern(size_t i) { return static_cast<uint8_t>((i * 2654435761u) >> 13); }
std::vector<uint8_t> pattern_range(size_t from, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = pattern(from + i);
  return v;
}
std::vector<uint8_t> bytes(std::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string text(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

// A TlsServer with the ed25519 fixture identity whose connections run h2::serve with the handler the factory
// makes for each connection.
struct Running {
  using Factory = std::function<sr::h2::Handler(sr::net::ConnectionPtr)>;
  asio::io_context io;
  std::unique_ptr<sr::net::TlsServer> server;
  std::thread thread;

  explicit Running(Factory factory) {
    sr::net::ServerOptions o;
    o.ports = {0};
    o.ipv6 = false;
    sr::tls::ServerOptions tls;
    tls.alpn = {"xftp/1", "h2", "http/1.1"};  // the XFTP server's list (§3.4)
    auto ctx = sr::tls::make_server_context(kFixtures + "/ed25519/server.crt", kFixtures + "/ed25519/ca.crt",
                                            kFixtures + "/ed25519/server.key", tls);
    server = std::make_unique<sr::net::TlsServer>(io, ctx, o, [factory](sr::net::ConnectionPtr c) {
      return sr::h2::serve(c, factory(c), sr::h2::Options{});
    });
    server->start();
    thread = std::thread([this] { io.run(); });
  }
  explicit Running(sr::h2::Handler handler) : Running(Factory([handler](sr::net::ConnectionPtr) { return handler; })) {}
  uint16_t port() const { return server->bound_ports().at(0); }
  ~Running() {
    server->stop();
    thread.join();
  }
};

// Runs op on io (the test thread) to completion.
template <class T>
T run(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) result.emplace(std::move(v));
    done = true;
  });
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!done && std::chrono::steady_clock::now() < deadline) io.run_one_for(100ms);
  REQUIRE(done);
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

std::shared_ptr<sr::h2::Connection> dial(asio::io_context& io, uint16_t port, sr::h2::ConnectOptions o = {}) {
  return run(io, sr::h2::Connection::connect(io.get_executor(), "127.0.0.1", port, o));
}

std::string error_of(asio::io_context& io, uint16_t port, sr::h2::ConnectOptions o) {
  try {
    dial(io, port, o);
  } catch (const sr::h2::ClientError& e) {
    return e.what();
  }
  return "connected";
}

asio::awaitable<std::vector<uint8_t>> read_all(std::shared_ptr<Exchange> ex) {
  std::vector<uint8_t> body, buf(16384);
  for (;;) {
    const size_t n = co_await ex->read_body(buf);
    if (n == 0) break;
    body.insert(body.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  co_return body;
}

Bytes ca_key_hash() {
  auto ca = sr::tls::read_pem_certs(kFixtures + "/ed25519/ca.crt");
  const auto h = sr::crypto::sha256(sr::tls::cert_der(ca.at(0).get()));
  return Bytes(h.begin(), h.end());
}

}  // namespace

TEST_CASE("HTTP/2 client: one exchange, connection facts", "[http2-client]") {
  Running srv(sr::h2::Handler([](std::shared_ptr<Exchange> ex) -> asio::awaitable<void> {
    auto body = co_await read_all(ex);
    const std::string* h = ex->request().header("x-test");
    std::string reply = ex->request().method + " " + ex->request().path + " " + (h ? *h : "-") + " " + text(body);
    sr::h2::Headers headers = {{"x-reply", "yes"}};
    auto responding = ex->respond(201, std::move(headers), bytes(reply));
    co_await std::move(responding);
  }));
  asio::io_context io;
  auto c = dial(io, srv.port());
  CHECK(c->alpn() == "h2");
  CHECK(c->tls_unique().size() == 32);
  REQUIRE(c->peer_chain().size() == 2);
  const auto h = sr::crypto::sha256(c->peer_chain()[1]);
  CHECK(Bytes(h.begin(), h.end()) == ca_key_hash());

  sr::h2::ClientRequest req;
  req.method = "PUT";
  req.path = "/x";
  req.headers = {{"X-Test", "v"}};
  req.body = bytes("hello");
  auto r = run(io, c->request(req));
  CHECK(r.status == 201);
  REQUIRE(r.header("x-reply") != nullptr);
  CHECK(text(r.body) == "PUT /x v hello");

  c->close();
  CHECK(c->closed());
  try {
    run(io, c->request(req));
    FAIL("request after close");
  } catch (const sr::h2::ClientError& e) {
    CHECK(std::string(e.what()) == "CLOSED");
  }
}

TEST_CASE("HTTP/2 client: concurrent streams on one connection", "[http2-client]") {
  // Every handler waits until all requests have arrived: only concurrent streams can complete.
  constexpr int kStreams = 20;
  auto arrived = std::make_shared<std::atomic<int>>(0);
  Running srv(sr::h2::Handler([arrived](std::shared_ptr<Exchange> ex) -> asio::awaitable<void> {
    auto body = co_await read_all(ex);
    ++*arrived;
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (*arrived < kStreams) {
      t.expires_after(5ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    auto responding = ex->respond(200, sr::h2::Headers(), std::move(body));
    co_await std::move(responding);
  }));
  asio::io_context io;
  auto c = dial(io, srv.port());
  auto all = [](std::shared_ptr<sr::h2::Connection> c) -> asio::awaitable<std::vector<std::string>> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::string> out(kStreams);
    int done = 0;
    asio::steady_timer wake(ex);
    for (int i = 0; i < kStreams; ++i) {
      auto one = [](std::shared_ptr<sr::h2::Connection> c, int i, std::string* slot, int* done,
                    asio::steady_timer* wake) -> asio::awaitable<void> {
        sr::h2::ClientRequest req;
        req.body = bytes("body-" + std::to_string(i));
        const sr::h2::BodySink collect;
        auto r = co_await c->request(std::move(req), collect, 1 << 20);
        *slot = text(r.body);
        ++*done;
        wake->cancel();
      };
      asio::co_spawn(ex, one(c, i, &out[i], &done, &wake), asio::detached);
    }
    while (done < kStreams) co_await sr::net::wait_signal(wake);
    co_return out;
  };
  auto out = run(io, all(c));
  for (int i = 0; i < kStreams; ++i) CHECK(out[i] == "body-" + std::to_string(i));
}

TEST_CASE("HTTP/2 client: 4 MB up and down streamed with bounded buffering", "[http2-client]") {
  struct Seen {
    std::mutex m;
    size_t received = 0;
    bool intact = false;
    size_t max_buffered = 0;
  };
  auto seen = std::make_shared<Seen>();
  Running srv(sr::h2::Handler([seen](std::shared_ptr<Exchange> ex) -> asio::awaitable<void> {
    if (ex->request().path == "/up") {
      std::vector<uint8_t> buf(16384);
      size_t got = 0;
      bool intact = true;
      for (;;) {
        const size_t n = co_await ex->read_body(buf);
        if (n == 0) break;
        for (size_t i = 0; i < n; ++i) intact = intact && buf[i] == pattern(got + i);
        got += n;
      }
      {
        std::lock_guard l(seen->m);
        seen->received = got;
        seen->intact = intact;
        seen->max_buffered = ex->max_buffered();
      }
      auto responding = ex->respond(200, sr::h2::Headers(), bytes("ok"));
      co_await std::move(responding);
    } else {
      auto sent = std::make_shared<size_t>(0);
      auto responding = ex->respond(200, sr::h2::Headers(), [sent]() -> asio::awaitable<std::vector<uint8_t>> {
        const size_t n = std::min<size_t>(65536, kChunk - *sent);
        auto part = pattern_range(*sent, n);
        *sent += n;
        co_return part;
      });
      co_await std::move(responding);
    }
  }));
  asio::io_context io;
  sr::h2::ConnectOptions o;
  auto c = dial(io, srv.port(), o);

  SECTION("upload from a producer") {
    auto produced = std::make_shared<size_t>(0);
    sr::h2::ClientRequest req;
    req.path = "/up";
    req.producer = [produced]() -> asio::awaitable<std::vector<uint8_t>> {
      const size_t n = std::min<size_t>(65536, kChunk - *produced);
      auto part = pattern_range(*produced, n);
      *produced += n;
      co_return part;
    };
    auto op = [](std::shared_ptr<sr::h2::Connection> c, sr::h2::ClientRequest req) -> asio::awaitable<size_t> {
      auto s = co_await c->open(std::move(req));
      std::vector<uint8_t> buf(100);
      while (co_await s->read(buf) > 0) {
      }
      co_return s->max_buffered();
    };
    const size_t client_buffered = run(io, op(c, std::move(req)));
    std::lock_guard l(seen->m);
    CHECK(seen->received == kChunk);
    CHECK(seen->intact);
    // The producer is asked for more only below request_buffer: one part over it at most.
    CHECK(client_buffered <= o.request_buffer + 65536);
    CHECK(seen->max_buffered <= (1u << 20));  // the server's stream window
  }

  SECTION("download into a reader") {
    sr::h2::ClientRequest req;
    req.path = "/down";
    auto op = [](std::shared_ptr<sr::h2::Connection> c, sr::h2::ClientRequest req) -> asio::awaitable<std::pair<bool, size_t>> {
      auto s = co_await c->open(std::move(req));
      std::vector<uint8_t> buf(10000);
      size_t got = 0;
      bool intact = true;
      for (;;) {
        const size_t n = co_await s->read(buf);
        if (n == 0) break;
        for (size_t i = 0; i < n; ++i) intact = intact && buf[i] == pattern(got + i);
        got += n;
      }
      co_return std::make_pair(intact && got == kChunk, s->max_buffered());
    };
    auto [intact, max_buffered] = run(io, op(c, std::move(req)));
    CHECK(intact);
    CHECK(max_buffered <= o.stream_window);  // the receive window bounds what waits unread
  }

  SECTION("download into a sink") {
    sr::h2::ClientRequest req;
    req.path = "/down";
    size_t got = 0;
    bool intact = true;
    auto r = run(io, c->request(req, [&](std::span<const uint8_t> part) {
      for (size_t i = 0; i < part.size(); ++i) intact = intact && part[i] == pattern(got + i);
      got += part.size();
    }));
    CHECK(r.status == 200);
    CHECK(r.body.empty());
    CHECK(got == kChunk);
    CHECK(intact);
  }

  SECTION("a body over max_body is refused") {
    sr::h2::ClientRequest req;
    req.path = "/down";
    try {
      run(io, c->request(req, {}, 1 << 20));
      FAIL("no error");
    } catch (const sr::h2::ClientError& e) {
      CHECK(std::string(e.what()) == "RESPONSE: body too large");
    }
    // The connection stays usable.
    req.path = "/up";
    req.body = pattern_range(0, 10);
    CHECK(text(run(io, c->request(req)).body) == "ok");
  }
}

TEST_CASE("HTTP/2 client: HTTP/2 is spoken whatever ALPN said", "[http2-client]") {
  Running srv(sr::h2::Handler([](std::shared_ptr<Exchange> ex) -> asio::awaitable<void> {
    auto responding = ex->respond(200, sr::h2::Headers(), bytes("h2 anyway"));
    co_await std::move(responding);
  }));
  asio::io_context io;
  for (const auto& alpn : std::vector<std::vector<std::string>>{{"http/1.1"}, {}, {"xftp/1"}}) {
    sr::h2::ConnectOptions o;
    o.alpn = alpn;
    auto c = dial(io, srv.port(), o);
    CHECK(c->alpn() == (alpn.empty() ? std::string() : alpn[0]));
    CHECK(text(run(io, c->request(sr::h2::ClientRequest())).body) == "h2 anyway");
  }
}

TEST_CASE("HTTP/2 client: refused, timeouts and resets", "[http2-client]") {
  asio::io_context io;
  sr::h2::ConnectOptions o;
  o.timeout = 5s;

  SECTION("connection refused") {
    const uint16_t port = sr::test::free_port();
    CHECK(error_of(io, port, o).rfind("NETWORK: connect: ", 0) == 0);
  }

  SECTION("no TLS answer within the timeout") {
    // A listener that accepts and never speaks.
    asio::io_context lio;
    asio::ip::tcp::acceptor acceptor(lio, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    o.timeout = 300ms;
    CHECK(error_of(io, acceptor.local_endpoint().port(), o) == "TIMEOUT");
  }

  SECTION("no response within the request timeout; the connection stays usable") {
    Running srv(sr::h2::Handler([](std::shared_ptr<Exchange> ex) -> asio::awaitable<void> {
      if (ex->request().path == "/slow") {
        co_await read_all(ex);
        asio::steady_timer t(co_await asio::this_coro::executor);
        while (!ex->closed()) {  // until the client resets the stream
          t.expires_after(10ms);
          co_await t.async_wait(asio::use_awaitable);
        }
        co_return;
      }
      auto responding = ex->respond(200, sr::h2::Headers(), bytes("fast"));
      co_await std::move(responding);
    }));
    auto c = dial(io, srv.port(), o);
    sr::h2::ClientRequest slow;
    slow.path = "/slow";
    slow.timeout = 200ms;
    try {
      run(io, c->request(slow));
      FAIL("no timeout");
    } catch (const sr::h2::ClientError& e) {
      CHECK(std::string(e.what()) == "TIMEOUT");
    }
    CHECK(text(run(io, c->request(sr::h2::ClientRequest())).body) == "fast");
  }

  SECTION("a stream reset by the server") {
    Running srv(sr::h2::Handler([](std::shared_ptr<Exchange> ex) -> asio::awaitable<void> {
      auto responding = ex->respond(200, sr::h2::Headers(), []() -> asio::awaitable<std::vector<uint8_t>> {
        throw std::runtime_error("producer fails");
        co_return std::vector<uint8_t>();
      });
      co_await std::move(responding);
    }));
    auto c = dial(io, srv.port(), o);
    try {
      run(io, c->request(sr::h2::ClientRequest()));
      FAIL("no error");
    } catch (const sr::h2::ClientError& e) {
      CHECK(std::string(e.what()).rfind("NETWORK: stream reset", 0) == 0);
    }
  }
}

// ---- A fake XFTP server on h2::serve (§4, §5, §7): one file, the fixture identity ----

namespace {

using namespace sr::xftp;

struct FakeXftp {
  sr::crypto::PrivateKey leaf;
  std::vector<Bytes> chain;
  std::atomic<int> hellos{0};
  std::atomic<int> fdels{0};
  std::mutex m;
  std::vector<std::string> fdel_replies;  // consumed one per FDEL: "ERR SESSION", "bare SESSION", "OK"
  std::atomic<bool> wrong_session{false};
  Bytes chunk;
  std::optional<AuthKey> snd_key;
  std::vector<AuthKey> rcv_keys;
  Bytes digest;

  FakeXftp() {
    auto key = sr::tls::read_private_key(kFixtures + "/ed25519/server.key");
    leaf = sr::tls::raw_private_key(key.get());
    for (const char* f : {"/ed25519/server.crt", "/ed25519/ca.crt"})
      chain.push_back(sr::tls::cert_der(sr::tls::read_pem_certs(kFixtures + f).at(0).get()));
  }
};

const Bytes kSndId(16, 's');
const Bytes kRcvId(16, 'r');

struct FakeConn {
  Bytes session_id;
  sr::crypto::X25519KeyPair dh = sr::crypto::x25519_generate();
  int state = 0;  // 0 none, 1 hello sent, 2 accepted (§5.3)
};

// The whole response body for a request (not a coroutine: GCC 12 mishandles braced lists in coroutines).
Bytes fake_reply(FakeXftp& fake, FakeConn& st, bool web_hello, const Bytes& body) {
  const ByteView head = ByteView(body).first(std::min(body.size(), kBlockSize));
  if (st.state == 0 || web_hello) {
    ++fake.hellos;
    auto hello = parse_client_hello(head);
    ServerHandshake h;
    h.session_id = fake.wrong_session ? Bytes(32, 0) : st.session_id;
    h.cert_chain = fake.chain;
    h.signed_dh_key = sr::crypto::sign_signed_key(
        fake.leaf, sr::crypto::PublicKey{sr::crypto::KeyAlg::X25519, Bytes(st.dh.pub.begin(), st.dh.pub.end())});
    if (hello && hello->web_challenge)
      h.web_identity_proof = make_identity_proof(fake.leaf, *hello->web_challenge, h.session_id);
    st.state = 1;
    return encode_server_handshake(h);
  }
  if (st.state == 1) {
    auto ch = parse_client_handshake(head);
    const auto kh = sr::crypto::sha256(fake.chain[1]);
    if (!ch || !accept_client_handshake(*ch, kh)) return encode_handshake_error(Error::Kind::HANDSHAKE);
    st.state = 2;
    return Bytes();
  }
  auto parsed = parse_transmission(st.session_id, head);
  if (auto* te = std::get_if<TransmissionError>(&parsed))
    return encode_response_block(st.session_id, te->corr_id, {}, FRErr{te->err});
  auto& t = std::get<RawTransmission>(parsed);
  const Bytes corr(t.corr_id.begin(), t.corr_id.end()), entity(t.entity_id.begin(), t.entity_id.end());
  auto answer = [&](const Response& r, const Bytes& ent) { return encode_response_block(st.session_id, corr, ent, r); };
  auto cmd = parse_command(t.command);
  if (auto* ce = std::get_if<sr::CmdError>(&cmd)) return answer(FRErr{Error::command(*ce)}, entity);
  auto& c = std::get<Command>(cmd);
  auto signed_by = [&](const AuthKey& k) { return verify_transmission(k, t, st.dh.priv); };
  const Response auth_error = FRErr{Error::of(Error::Kind::AUTH)};
  if (auto* fnew = std::get_if<FNEW>(&c)) {
    if (!signed_by(fnew->file.snd_key)) return answer(auth_error, {});
    fake.snd_key = fnew->file.snd_key;
    fake.rcv_keys = fnew->rcv_keys;
    fake.digest = fnew->file.digest;
    return answer(FRSndIds{kSndId, {kRcvId}}, {});
  }
  if (std::holds_alternative<PING>(c)) return answer(FRPong{}, {});
  if (std::holds_alternative<FPUT>(c)) {
    if (entity != kSndId || !fake.snd_key || !signed_by(*fake.snd_key)) return answer(auth_error, entity);
    const Bytes chunk(body.begin() + static_cast<std::ptrdiff_t>(head.size()), body.end());
    const auto d = sr::crypto::sha256(chunk);
    if (Bytes(d.begin(), d.end()) != fake.digest) return answer(FRErr{Error::of(Error::Kind::DIGEST)}, entity);
    fake.chunk = chunk;
    return answer(FROk{}, entity);
  }
  if (auto* fget = std::get_if<FGET>(&c)) {
    if (entity != kRcvId || fake.rcv_keys.empty() || !signed_by(fake.rcv_keys[0])) return answer(auth_error, entity);
    auto keys = new_download_keys(fget->rcv_dh_key);
    Bytes out = answer(FRFile{sr::crypto::PublicKey{sr::crypto::KeyAlg::X25519,
                                                     Bytes(keys->server.pub.begin(), keys->server.pub.end())},
                              keys->nonce},
                       entity);
    const Bytes enc = encrypt_chunk(keys->k, keys->nonce, fake.chunk);
    out.insert(out.end(), enc.begin(), enc.end());
    return out;
  }
  if (std::holds_alternative<FDEL>(c)) {
    ++fake.fdels;
    std::string what = "OK";
    {
      std::lock_guard l(fake.m);
      if (!fake.fdel_replies.empty()) {
        what = fake.fdel_replies.front();
        fake.fdel_replies.erase(fake.fdel_replies.begin());
      }
    }
    if (what.rfind("bare ", 0) == 0) return *pad_block(bytes(what.substr(5)));
    if (what == "OK") return answer(FROk{}, entity);
    return answer(FRErr{*parse_error(what.substr(4))}, entity);
  }
  return answer(FRErr{Error::command(sr::CmdError::UNKNOWN)}, entity);
}

sr::h2::Handler fake_handler(std::shared_ptr<FakeXftp> fake, sr::net::ConnectionPtr conn) {
  auto st = std::make_shared<FakeConn>();
  st->session_id = conn->session_id();
  return [fake, st](std::shared_ptr<Exchange> ex) -> asio::awaitable<void> {
    const Bytes body = co_await read_all(ex);
    Bytes out = fake_reply(*fake, *st, ex->request().header("xftp-web-hello") != nullptr, body);
    auto responding = ex->respond(200, sr::h2::Headers(), std::move(out));
    co_await std::move(responding);
  };
}

struct FakeServer {
  std::shared_ptr<FakeXftp> fake = std::make_shared<FakeXftp>();
  Running srv{Running::Factory([f = fake](sr::net::ConnectionPtr c) { return fake_handler(f, c); })};
};

}  // namespace

TEST_CASE("XFTP client against a fake server: handshake and every command", "[http2-client][xftp-client]") {
  FakeServer s;
  const auto mode = GENERATE(ClientOptions::Mode::Native, ClientOptions::Mode::Web);
  SyncXftpClient c;
  ClientOptions o;
  o.mode = mode;
  c.connect("127.0.0.1", s.srv.port(), ca_key_hash(), o);
  CHECK(c.session().version == 3);
  CHECK(c.session().alpn == (mode == ClientOptions::Mode::Web ? "h2" : "xftp/1"));
  CHECK(c.session().session_id == c.client().connection().tls_unique());
  CHECK(c.session().server_dh_key.has_value());
  if (mode == ClientOptions::Mode::Web) CHECK(c.session().handshake.web_identity_proof.size() == 64);

  CHECK(c.ping().ok());
  const sr::crypto::PrivateKey snd{sr::crypto::KeyAlg::Ed25519, sr::crypto::random_bytes(32)};
  const sr::crypto::PrivateKey rcv{sr::crypto::KeyAlg::Ed25519, sr::crypto::random_bytes(32)};
  const Bytes chunk = pattern_range(0, kChunk);
  const auto d = sr::crypto::sha256(chunk);
  const Bytes digest(d.begin(), d.end());
  FileInfo file{sr::crypto::public_key(snd), static_cast<uint32_t>(kChunk), digest};
  auto ids = c.fnew(file, {sr::crypto::public_key(rcv)}, std::nullopt, snd);
  REQUIRE(ids.ok());
  CHECK(ids.value().sender_id == kSndId);

  // 4 MB up from a file descriptor, 4 MB down through the streamed decryption.
  char path[] = "/tmp/xftp-fake-chunkXXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  unlink(path);
  REQUIRE(write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()));
  CHECK(c.fput(kSndId, snd, ChunkSource::file(fd, 0, kChunk)).ok());
  close(fd);
  Bytes out;
  auto got = c.fget(kRcvId, rcv, kChunk, digest, out);
  REQUIRE(got.ok());
  CHECK(got.value().size == kChunk);
  CHECK(out == chunk);
  // A wrong expected digest is found by the client.
  auto bad = c.fget(kRcvId, rcv, kChunk, Bytes(32, 0), out);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error() == Error::of(Error::Kind::DIGEST));
  // Signed by the wrong key: the server's ERR comes back as an Error.
  auto auth = c.fput(kSndId, rcv, ChunkSource::of(Bytes(16, 1)));
  REQUIRE_FALSE(auth.ok());
  CHECK(auth.error() == Error::of(Error::Kind::AUTH));
  CHECK(c.fdel(kSndId, snd).ok());

  // Raw access: a malformed block gets the server's reply as it is.
  auto raw = c.raw(RawRequest{"POST", "/", {}, Bytes(100, 0)});
  CHECK(raw.status == 200);
  CHECK(describe(read_reply(c.session().session_id, raw.body)) == "ERR BLOCK");
}

TEST_CASE("XFTP client: the V10 retry rule", "[http2-client][xftp-client]") {
  FakeServer s;
  const sr::crypto::PrivateKey snd{sr::crypto::KeyAlg::Ed25519, sr::crypto::random_bytes(32)};
  struct Case {
    std::string reply;
    int fdels;
    int reconnects;
    std::string result;
  };
  const auto c = GENERATE(Case{"ERR SESSION", 3, 2, "ERR SESSION"}, Case{"ERR HANDSHAKE", 3, 2, "ERR HANDSHAKE"},
                          Case{"ERR AUTH", 1, 0, "ERR AUTH"}, Case{"ERR BLOCKED reason=spam", 1, 0, "ERR BLOCKED reason=spam"},
                          Case{"ERR NO_FILE", 1, 0, "ERR NO_FILE"}, Case{"ERR CMD SYNTAX", 1, 0, "ERR CMD SYNTAX"},
                          Case{"bare SESSION", 3, 2, "ERR SESSION"}, Case{"bare HANDSHAKE", 3, 2, "ERR HANDSHAKE"});
  INFO(c.reply);
  {
    std::lock_guard l(s.fake->m);
    s.fake->fdel_replies = {c.reply, c.reply, c.reply};
  }
  SyncXftpClient client;
  ClientOptions o;
  o.attempts = 3;
  client.connect("127.0.0.1", s.srv.port(), ca_key_hash(), o);
  const int hellos = s.fake->hellos;
  auto r = client.fdel(kSndId, snd);
  REQUIRE_FALSE(r.ok());
  CHECK("ERR " + error_text(r.error()) == c.result);
  CHECK(s.fake->fdels == c.fdels);
  CHECK(s.fake->hellos - hellos == c.reconnects);

  SECTION("a retriable error then success") {
    if (c.fdels == 3) {
      {
        std::lock_guard l(s.fake->m);
        s.fake->fdel_replies = {c.reply};
      }
      CHECK(client.fdel(kSndId, snd).ok());
    }
  }
}

TEST_CASE("XFTP client: handshake failures", "[http2-client][xftp-client]") {
  FakeServer s;
  SyncXftpClient c;
  auto failure = [&](const Bytes& key_hash, ClientOptions o) -> std::string {
    try {
      c.connect("127.0.0.1", s.srv.port(), key_hash, o);
    } catch (const ClientError& e) {
      return e.what();
    }
    return "connected";
  };
  SECTION("another identity") { CHECK(failure(Bytes(32, 7), {}) == "HANDSHAKE IDENTITY"); }
  SECTION("another identity, web mode (only the handshake chain is checked)") {
    ClientOptions o;
    o.mode = ClientOptions::Mode::Web;
    CHECK(failure(Bytes(32, 7), o) == "HANDSHAKE IDENTITY");
  }
  SECTION("sessionId is not the TLS channel's") {
    s.fake->wrong_session = true;
    CHECK(failure(ca_key_hash(), {}) == "SESSION");
  }
  SECTION("an unsupported version is refused by the server") {
    ClientOptions o;
    o.handshake_version = 9;
    CHECK(failure(ca_key_hash(), o) == "HANDSHAKE");
  }
  SECTION("no common version") {
    ClientOptions o;
    o.versions = {4, 5};
    CHECK(failure(ca_key_hash(), o) == "VERSION");
  }
}

TEST_CASE("XFTP client: raw exchanges without the XFTP handshake", "[http2-client][xftp-client]") {
  FakeServer s;
  SyncXftpClient c;
  ClientOptions o;
  o.xftp_handshake = false;
  c.connect("127.0.0.1", s.srv.port(), ca_key_hash(), o);
  CHECK(s.fake->hellos == 0);
  CHECK(c.session().session_id == c.client().connection().tls_unique());
  // The hello, sent by hand: the server handshake comes back with this connection's sessionId.
  auto hello = c.raw(RawRequest{});
  CHECK(hello.status == 200);
  auto sh = parse_server_handshake(hello.body);
  REQUIRE(sh);
  CHECK(sh->session_id == c.session().session_id);
  CHECK(s.fake->hellos == 1);
}
