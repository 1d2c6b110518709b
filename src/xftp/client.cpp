#include "xftp/client.hpp"
#include "core/fsutil.hpp"
#include "core/sync_run.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace sr::xftp {

namespace {

[[noreturn]] void fail(const std::string& what) { throw ClientError(what); }

bool same(ByteView a, ByteView b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

const h2::Headers kWebHelloHeaders = {{"xftp-web-hello", "1"}};
const h2::Headers kWebHandshakeHeaders = {{"xftp-handshake", "1"}};

}  // namespace

// ---- Pure parts ----

Bytes hello_body(const std::optional<Bytes>& web_challenge) {
  if (!web_challenge) return {};  // native hello: empty body (§4.1)
  return encode_client_hello(ClientHello{web_challenge});
}

Bytes client_handshake_body(uint16_t version, ByteView key_hash) {
  return encode_client_handshake(ClientHandshake{version, Bytes(key_hash.begin(), key_hash.end())});
}

std::optional<uint16_t> choose_version(VersionRange server, VersionRange client) {
  const uint16_t lo = std::max(server.min, client.min);
  const uint16_t hi = std::min(server.max, client.max);
  if (lo > hi) return std::nullopt;
  return hi;
}

Bytes command_block(const SessionInfo& s, ByteView entity_id, const Command& c,
                    const std::optional<crypto::PrivateKey>& key) {
  ClientAuth auth{key, s.server_dh_key};
  return encode_command_block(s.session_id, ByteView{}, entity_id, c, auth);
}

h2::BodyProducer fput_body(Bytes block, ChunkSource chunk, size_t slice) {
  struct State {
    Bytes block;
    ChunkSource src;
    uint64_t pos = 0;
    bool block_sent = false;
  };
  auto st = std::make_shared<State>();
  st->block = std::move(block);
  st->src = std::move(chunk);
  if (st->src.fd < 0) st->src.size = st->src.bytes.size();
  return [st, slice]() -> asio::awaitable<std::vector<uint8_t>> {
    if (!st->block_sent) {
      st->block_sent = true;
      co_return st->block;
    }
    const uint64_t n = std::min<uint64_t>(slice, st->src.size - st->pos);
    std::vector<uint8_t> part;
    if (n == 0) co_return part;
    if (st->src.fd < 0) {
      const auto from = st->src.bytes.begin() + static_cast<std::ptrdiff_t>(st->pos);
      part.assign(from, from + static_cast<std::ptrdiff_t>(n));
    } else {
      part.resize(n);
      const ssize_t r = fs::pread_full(st->src.fd, part.data(), n, st->src.offset + st->pos);
      if (r < 0) throw std::runtime_error(std::string("chunk read: ") + std::strerror(errno));
      if (static_cast<size_t>(r) < n) throw std::runtime_error("chunk read: the file ends before the chunk does");
    }
    st->pos += n;
    co_return part;
  };
}

std::variant<Response, Error> read_reply(ByteView session_id, ByteView block) {
  auto t = parse_response_block(session_id, block);
  if (auto* rt = std::get_if<ResponseTransmission>(&t)) {
    if (auto* e = std::get_if<Error>(&rt->response)) return *e;
    auto& r = std::get<Response>(rt->response);
    if (auto* err = std::get_if<FRErr>(&r)) return err->err;
    return r;
  }
  const Error framing = std::get<Error>(t);
  // A handshake error is pad16k(name), not a transmission (§5.3): it fails the framing as a batch count.
  if (framing.kind == Error::Kind::BLOCK) {
    if (auto bare = parse_bare_error(block)) {
      if (auto e = parse_error(*bare)) return *e;
      return Error::of(Error::Kind::HANDSHAKE);
    }
  }
  return framing;
}

bool retriable(const Error& e) { return e.kind == Error::Kind::SESSION || e.kind == Error::Kind::HANDSHAKE; }

bool retriable(const std::variant<Response, Error>& reply) {
  const auto* e = std::get_if<Error>(&reply);
  return e && retriable(*e);
}

// ---- ChunkReceiver ----

struct ChunkReceiver::Impl {
  Impl(const crypto::Key32& k, const crypto::Nonce& nonce, uint64_t sz, std::optional<Bytes> d, Sink s)
      : cipher(k, nonce, ChunkCipher::Mode::Decrypt), size(sz), digest(std::move(d)), sink(std::move(s)) {}
  ChunkCipher cipher;
  uint64_t size;
  std::optional<Bytes> digest;
  Sink sink;
  crypto::Sha256Stream sha;
  Bytes hold;  // the last bytes seen: possibly the tag
  Bytes work;
  uint64_t received = 0;
  bool overflow = false;
};

ChunkReceiver::ChunkReceiver(const crypto::Key32& k, const crypto::Nonce& nonce, uint64_t size,
                             std::optional<Bytes> digest, Sink sink)
    : impl_(std::make_unique<Impl>(k, nonce, size, std::move(digest), std::move(sink))) {}
ChunkReceiver::~ChunkReceiver() = default;

bool ChunkReceiver::feed(std::span<const uint8_t> data) {
  Impl& s = *impl_;
  if (s.overflow) return false;
  s.received += data.size();
  if (s.received > s.size + kAuthTagSize) {
    s.overflow = true;
    return false;
  }
  const size_t total = s.hold.size() + data.size();
  if (total <= kAuthTagSize) {
    s.hold.insert(s.hold.end(), data.begin(), data.end());
    return true;
  }
  // Everything but the last 16 bytes is ciphertext for sure.
  const size_t release = total - kAuthTagSize;
  const size_t from_hold = std::min(release, s.hold.size());
  const size_t from_data = release - from_hold;
  s.work.assign(s.hold.begin(), s.hold.begin() + static_cast<std::ptrdiff_t>(from_hold));
  s.work.insert(s.work.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(from_data));
  s.hold.erase(s.hold.begin(), s.hold.begin() + static_cast<std::ptrdiff_t>(from_hold));
  s.hold.insert(s.hold.end(), data.begin() + static_cast<std::ptrdiff_t>(from_data), data.end());
  s.cipher.update(s.work);
  s.sha.update(s.work);
  if (s.sink) s.sink(s.work);
  return true;
}

std::optional<Error> ChunkReceiver::finish() {
  Impl& s = *impl_;
  if (s.overflow || s.received != s.size + kAuthTagSize) return Error::of(Error::Kind::SIZE);
  if (!s.cipher.verify(s.hold)) return Error::of(Error::Kind::CRYPTO);
  if (s.digest) {
    const auto h = s.sha.finish();
    if (!same(h, *s.digest)) return Error::of(Error::Kind::DIGEST);
  }
  return std::nullopt;
}

// ---- XftpClient ----

struct XftpClient::Impl {
  explicit Impl(asio::any_io_executor e) : ex(std::move(e)) {}

  asio::any_io_executor ex;
  std::string host;
  uint16_t port = 0;
  Bytes key_hash;
  ClientOptions options;
  std::shared_ptr<h2::Connection> conn;
  SessionInfo session;
  bool connected = false;

  // A command on the wire: the open response stream and how its first block reads.
  struct Sent {
    std::unique_ptr<h2::Stream> stream;
    std::variant<Response, Error> reply;
  };

  asio::awaitable<void> handshake();
  asio::awaitable<Sent> send_once(const Bytes& entity, const Command& c, const std::optional<crypto::PrivateKey>& key,
                                  const ChunkSource* chunk);
  asio::awaitable<Sent> send(Bytes entity, Command c, std::optional<crypto::PrivateKey> key,
                             std::optional<ChunkSource> chunk);

  h2::ClientRequest post(Bytes body, h2::Headers headers) const {
    h2::ClientRequest r;
    r.headers = std::move(headers);
    r.body = std::move(body);
    r.timeout = options.timeout;
    return r;
  }
  h2::Connection& live() {
    if (!conn || !connected) fail("CLOSED");
    return *conn;
  }
};

asio::awaitable<void> XftpClient::Impl::handshake() {
  connected = false;
  if (conn) conn->close();
  const bool web = options.mode == ClientOptions::Mode::Web;
  h2::ConnectOptions co;
  co.alpn = options.alpn.value_or(web ? std::vector<std::string>{"h2"} : std::vector<std::string>{std::string(kAlpnXftp)});
  if (web) {
    co.sni = options.sni.value_or(host);
    co.https = true;  // a web connection may present an ordinary HTTPS certificate (§3.2)
  }
  co.timeout = options.timeout;
  co.socks = options.socks;
  conn = co_await h2::Connection::connect(ex, host, port, co);

  // Native clients check the TLS chain first: 2..4 certificates, SHA-256(2nd) == key hash (§3.3).
  const auto& tls_chain = conn->peer_chain();
  if (!web) {
    if (tls_chain.size() < 2 || tls_chain.size() > 4 || !same(crypto::sha256(tls_chain[1]), key_hash))
      fail("HANDSHAKE IDENTITY");
  }

  if (!options.xftp_handshake) {
    session = SessionInfo{};
    session.session_id = conn->tls_unique();
    session.alpn = conn->alpn();
    connected = true;
    co_return;
  }
  std::optional<Bytes> challenge;
  if (web) challenge = options.web_challenge.value_or(crypto::random_bytes(kWebChallengeSize));
  // Locals, not temporaries, in co_await expressions (GCC 12 coroutine bugs).
  const h2::BodySink collect;
  h2::ClientRequest hello_req = post(hello_body(challenge), web ? kWebHelloHeaders : h2::Headers());
  auto hello = co_await conn->request(std::move(hello_req), collect, kBlockSize * 4);
  if (hello.status != 200) fail("HANDSHAKE HTTP status " + std::to_string(hello.status));
  if (auto bare = parse_bare_error(hello.body)) fail(*bare);
  auto sh = parse_server_handshake(hello.body);
  if (!sh) fail("HANDSHAKE PARSE");
  if (!web && !same(sh->session_id, conn->tls_unique())) fail("SESSION");
  auto dh = verify_server_handshake(*sh, key_hash, challenge);
  if (!dh || dh->raw.size() != 32) fail("HANDSHAKE IDENTITY");
  // Native clients verify the signed key with the TLS leaf: it must be the handshake's leaf.
  if (!web && !same(tls_chain[0], sh->cert_chain[0])) fail("HANDSHAKE IDENTITY");
  auto v = choose_version(sh->versions, options.versions);
  if (!v) fail("VERSION");

  h2::ClientRequest hs_req = post(client_handshake_body(options.handshake_version.value_or(*v), key_hash),
                                  web ? kWebHandshakeHeaders : h2::Headers());
  auto accepted = co_await conn->request(std::move(hs_req), collect, kBlockSize * 4);
  if (accepted.status != 200) fail("HANDSHAKE HTTP status " + std::to_string(accepted.status));
  if (!accepted.body.empty()) {
    auto bare = parse_bare_error(accepted.body);
    fail(bare ? *bare : std::string("HANDSHAKE PARSE"));
  }
  session = SessionInfo{};
  session.version = *v;
  session.session_id = sh->session_id;
  crypto::Key32 k{};
  std::copy(dh->raw.begin(), dh->raw.end(), k.begin());
  session.server_dh_key = k;
  session.handshake = std::move(*sh);
  session.alpn = conn->alpn();
  connected = true;
}

asio::awaitable<XftpClient::Impl::Sent> XftpClient::Impl::send_once(const Bytes& entity, const Command& c,
                                                                    const std::optional<crypto::PrivateKey>& key,
                                                                    const ChunkSource* chunk) {
  h2::Connection& cn = live();
  Bytes block = command_block(session, entity, c, key);
  h2::ClientRequest req = post({}, {});
  if (chunk)
    req.producer = fput_body(std::move(block), *chunk);
  else
    req.body = std::move(block);
  Sent sent;
  sent.stream = co_await cn.open(std::move(req));
  if (sent.stream->status() != 200) fail("RESPONSE: HTTP status " + std::to_string(sent.stream->status()));
  Bytes head(kBlockSize);
  size_t got = 0;
  while (got < head.size()) {
    const size_t n = co_await sent.stream->read(std::span<uint8_t>(head).subspan(got));
    if (n == 0) break;
    got += n;
  }
  head.resize(got);
  sent.reply = read_reply(session.session_id, head);
  co_return sent;
}

asio::awaitable<XftpClient::Impl::Sent> XftpClient::Impl::send(Bytes entity, Command c,
                                                               std::optional<crypto::PrivateKey> key,
                                                               std::optional<ChunkSource> chunk) {
  const int attempts = std::max(1, options.attempts);
  for (int i = 1;; ++i) {
    Sent sent = co_await send_once(entity, c, key, chunk ? &*chunk : nullptr);
    if (i >= attempts || !retriable(sent.reply)) co_return sent;
    sent.stream.reset();
    co_await handshake();
  }
}

XftpClient::XftpClient(asio::any_io_executor ex) : impl_(std::make_shared<Impl>(std::move(ex))) {}
XftpClient::~XftpClient() { close(); }

asio::awaitable<void> XftpClient::connect(std::string host, uint16_t port, Bytes key_hash, ClientOptions options) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->key_hash = std::move(key_hash);
  impl_->options = std::move(options);
  try {
    co_await impl_->handshake();
  } catch (...) {
    close();
    throw;
  }
}

asio::awaitable<void> XftpClient::reconnect() { co_await impl_->handshake(); }

const SessionInfo& XftpClient::session() const { return impl_->session; }
h2::Connection& XftpClient::connection() {
  if (!impl_->conn) fail("CLOSED");
  return *impl_->conn;
}
bool XftpClient::connected() const { return impl_->connected && impl_->conn && !impl_->conn->closed(); }

void XftpClient::close() {
  if (impl_ && impl_->conn) impl_->conn->close();
  if (impl_) impl_->connected = false;
}

namespace {
template <class T>
Result<T> expect(std::variant<Response, Error> reply, const char* what) {
  if (auto* e = std::get_if<Error>(&reply)) return Result<T>{*e};
  if (auto* v = std::get_if<T>(&std::get<Response>(reply))) return Result<T>{std::move(*v)};
  fail(std::string("RESPONSE: ") + what + ": " + describe(reply));
}
}  // namespace

asio::awaitable<std::variant<Response, Error>> XftpClient::command(Bytes entity_id, Command c,
                                                                   std::optional<crypto::PrivateKey> key) {
  std::optional<ChunkSource> no_chunk;
  auto sent = co_await impl_->send(std::move(entity_id), std::move(c), std::move(key), std::move(no_chunk));
  co_return std::move(sent.reply);
}

asio::awaitable<Result<FRSndIds>> XftpClient::fnew(FileInfo file, std::vector<AuthKey> rcv_keys,
                                                   std::optional<std::string> basic_auth, crypto::PrivateKey snd_key) {
  Command c = FNEW{std::move(file), std::move(rcv_keys), std::move(basic_auth)};
  Bytes no_entity;
  auto r = co_await command(std::move(no_entity), std::move(c), std::move(snd_key));
  co_return expect<FRSndIds>(std::move(r), "FNEW");
}

asio::awaitable<Result<FRRcvIds>> XftpClient::fadd(Bytes sender_id, std::vector<AuthKey> rcv_keys,
                                                   crypto::PrivateKey snd_key) {
  Command c = FADD{std::move(rcv_keys)};
  auto r = co_await command(std::move(sender_id), std::move(c), std::move(snd_key));
  co_return expect<FRRcvIds>(std::move(r), "FADD");
}

asio::awaitable<Result<FROk>> XftpClient::fput(Bytes sender_id, crypto::PrivateKey snd_key, ChunkSource chunk) {
  Command c = FPUT{};
  auto sent = co_await impl_->send(std::move(sender_id), std::move(c), std::move(snd_key), std::move(chunk));
  co_return expect<FROk>(std::move(sent.reply), "FPUT");
}

asio::awaitable<Result<Download>> XftpClient::fget(Bytes recipient_id, crypto::PrivateKey rcv_key, uint64_t size,
                                                   std::optional<Bytes> digest, ChunkReceiver::Sink sink) {
  const int attempts = std::max(1, impl_->options.attempts);
  for (int i = 1;; ++i) {
    const auto own = crypto::x25519_generate();  // fresh per request, as the reference clients do
    Command c = FGET{DhKey{crypto::KeyAlg::X25519, Bytes(own.pub.begin(), own.pub.end())}};
    auto sent = co_await impl_->send_once(recipient_id, c, rcv_key, nullptr);
    if (i < attempts && retriable(sent.reply)) {
      sent.stream.reset();
      co_await impl_->handshake();
      continue;
    }
    auto file = expect<FRFile>(std::move(sent.reply), "FGET");
    if (!file) co_return Result<Download>{file.error()};
    const auto k = crypto::box_beforenm(own.priv, file.value().srv_dh_key.raw);
    if (!k) co_return Result<Download>{Error::of(Error::Kind::CRYPTO)};
    uint64_t delivered = 0;
    ChunkReceiver rcv(*k, file.value().nonce, size, std::move(digest), [&](std::span<const uint8_t> part) {
      delivered += part.size();
      if (sink) sink(part);
    });
    std::vector<uint8_t> buf(kFileBlockSize);
    for (;;) {
      const size_t n = co_await sent.stream->read(buf);
      if (n == 0) break;
      if (!rcv.feed(std::span<const uint8_t>(buf.data(), n))) {
        sent.stream->cancel();  // longer than the chunk: the rest is not read
        break;
      }
    }
    if (auto e = rcv.finish()) co_return Result<Download>{*e};
    co_return Result<Download>{Download{delivered}};
  }
}

asio::awaitable<Result<FROk>> XftpClient::fdel(Bytes sender_id, crypto::PrivateKey snd_key) {
  Command c = FDEL{};
  auto r = co_await command(std::move(sender_id), std::move(c), std::move(snd_key));
  co_return expect<FROk>(std::move(r), "FDEL");
}

asio::awaitable<Result<FROk>> XftpClient::fack(Bytes recipient_id, crypto::PrivateKey rcv_key) {
  Command c = FACK{};
  auto r = co_await command(std::move(recipient_id), std::move(c), std::move(rcv_key));
  co_return expect<FROk>(std::move(r), "FACK");
}

asio::awaitable<Result<FRPong>> XftpClient::ping() {
  Command c = PING{};
  Bytes no_entity;
  std::optional<crypto::PrivateKey> no_key;
  auto r = co_await command(std::move(no_entity), std::move(c), std::move(no_key));
  co_return expect<FRPong>(std::move(r), "PING");
}

asio::awaitable<h2::ClientResponse> XftpClient::raw(RawRequest req) {
  h2::ClientRequest r;
  r.method = std::move(req.method);
  r.path = std::move(req.path);
  r.headers = std::move(req.headers);
  r.body = std::move(req.body);
  r.timeout = impl_->options.timeout;
  if (!impl_->conn) fail("CLOSED");
  const h2::BodySink collect;
  auto resp = co_await impl_->conn->request(std::move(r), collect, 64 << 20);
  co_return resp;
}

std::string describe(const std::variant<Response, Error>& reply) {
  if (auto* e = std::get_if<Error>(&reply)) return "ERR " + error_text(*e);
  const auto& r = std::get<Response>(reply);
  if (auto* e = std::get_if<FRErr>(&r)) return "ERR " + error_text(e->err);
  if (std::holds_alternative<FRSndIds>(r)) return "SIDS";
  if (std::holds_alternative<FRRcvIds>(r)) return "RIDS";
  if (std::holds_alternative<FRFile>(r)) return "FILE";
  if (std::holds_alternative<FROk>(r)) return "OK";
  return "PONG";
}

// ---- SyncXftpClient ----

SyncXftpClient::SyncXftpClient() : client_(std::make_unique<XftpClient>(io_.get_executor())) {}

SyncXftpClient::~SyncXftpClient() {
  client_->close();
  client_.reset();
  // Let the reader and writer see the closed socket and release the connection.
  io_.restart();
  io_.run_for(std::chrono::seconds(2));
}

template <class T>
T SyncXftpClient::run(asio::awaitable<T> op) {
  return run_blocking<ClientError>(io_, std::move(op), timeout_ + std::chrono::seconds(30), [this] { client_->close(); });
}

void SyncXftpClient::connect(const std::string& host, uint16_t port, const Bytes& key_hash, ClientOptions options) {
  timeout_ = options.timeout;
  auto op = [](XftpClient& c, std::string h, uint16_t p, Bytes k, ClientOptions o) -> asio::awaitable<bool> {
    co_await c.connect(std::move(h), p, std::move(k), std::move(o));
    co_return true;
  };
  run(op(*client_, host, port, key_hash, std::move(options)));
}

void SyncXftpClient::reconnect() {
  auto op = [](XftpClient& c) -> asio::awaitable<bool> {
    co_await c.reconnect();
    co_return true;
  };
  run(op(*client_));
}

Result<FRSndIds> SyncXftpClient::fnew(const FileInfo& file, const std::vector<AuthKey>& rcv_keys,
                                      const std::optional<std::string>& basic_auth, const crypto::PrivateKey& snd_key) {
  return run(client_->fnew(file, rcv_keys, basic_auth, snd_key));
}
Result<FRRcvIds> SyncXftpClient::fadd(const Bytes& sender_id, const std::vector<AuthKey>& rcv_keys,
                                      const crypto::PrivateKey& snd_key) {
  return run(client_->fadd(sender_id, rcv_keys, snd_key));
}
Result<FROk> SyncXftpClient::fput(const Bytes& sender_id, const crypto::PrivateKey& snd_key, ChunkSource chunk) {
  return run(client_->fput(sender_id, snd_key, std::move(chunk)));
}
Result<Download> SyncXftpClient::fget(const Bytes& recipient_id, const crypto::PrivateKey& rcv_key, uint64_t size,
                                      const std::optional<Bytes>& digest, Bytes& out) {
  out.clear();
  auto sink = [&out](std::span<const uint8_t> part) { out.insert(out.end(), part.begin(), part.end()); };
  return run(client_->fget(recipient_id, rcv_key, size, digest, sink));
}
Result<FROk> SyncXftpClient::fdel(const Bytes& sender_id, const crypto::PrivateKey& snd_key) {
  return run(client_->fdel(sender_id, snd_key));
}
Result<FROk> SyncXftpClient::fack(const Bytes& recipient_id, const crypto::PrivateKey& rcv_key) {
  return run(client_->fack(recipient_id, rcv_key));
}
Result<FRPong> SyncXftpClient::ping() { return run(client_->ping()); }
std::variant<Response, Error> SyncXftpClient::command(const Bytes& entity_id, Command c,
                                                      std::optional<crypto::PrivateKey> key) {
  return run(client_->command(entity_id, std::move(c), std::move(key)));
}
h2::ClientResponse SyncXftpClient::raw(RawRequest req) { return run(client_->raw(std::move(req))); }
void SyncXftpClient::close() { client_->close(); }

}  // namespace sr::xftp
