#include "xftp/session.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/web_server.hpp"

namespace sr::xftp {

namespace {

using h2::Exchange;
using h2::Headers;
using ExchangePtr = std::shared_ptr<Exchange>;

// §4.3: every POST answer on a web connection, and the OPTIONS preflight.
Headers cors_headers(bool web) {
  if (!web) return {};
  return {{"access-control-allow-origin", "*"}, {"access-control-expose-headers", "*"}};
}
Headers preflight_headers() {
  return {{"access-control-allow-origin", "*"},
          {"access-control-allow-methods", "POST, OPTIONS"},
          {"access-control-allow-headers", "*"},
          {"access-control-max-age", "86400"}};
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The first block of the body (fewer bytes when the body is shorter); the rest stays unread.
asio::awaitable<Bytes> read_head(const ExchangePtr& ex, net::Clock::time_point deadline) {
  Bytes head(kBlockSize);
  size_t got = 0;
  while (got < head.size()) {
    const size_t n = co_await ex->read_body(std::span<uint8_t>(head.data() + got, head.size() - got), deadline);
    if (n == 0) break;
    got += n;
  }
  head.resize(got);
  co_return head;
}

// One connection: its tls-unique, handshake state and the shared context.
struct Conn : std::enable_shared_from_this<Conn> {
  net::ConnectionPtr conn;
  std::shared_ptr<const ServerContext> ctx;
  HandshakeState handshake;

  asio::awaitable<void> on_exchange(ExchangePtr ex);
  asio::awaitable<void> static_page(const ExchangePtr& ex);
  asio::awaitable<void> command(const ExchangePtr& ex, const Bytes& head, const ProcessCommand& p);
  asio::awaitable<Response> receive_put(const ExchangePtr& ex, Put put);
  asio::awaitable<void> send_get(const ExchangePtr& ex, Bytes block, Get get);
  asio::awaitable<bool> reply_block(const ExchangePtr& ex, Bytes block) {
    auto r = ex->respond(200, cors_headers(conn->sni_used()), std::move(block));
    co_return co_await std::move(r);
  }
  int64_t now() const { return ctx->now ? ctx->now() : unix_now(); }
};

asio::awaitable<void> Conn::on_exchange(ExchangePtr ex) {
  const auto& req = ex->request();
  const bool web = conn->sni_used();
  // §4.2: the reference enables CORS exactly when a web certificate is configured, i.e. on every web connection.
  if (web && req.method == "OPTIONS") {
    auto r = ex->respond(200, preflight_headers(), Bytes());
    co_await std::move(r);
    co_return;
  }
  if (web && req.method == "GET") {
    co_await static_page(ex);
    co_return;
  }
  const Bytes head = co_await read_head(ex, net::Clock::now() + ctx->block_timeout);
  if (ex->closed()) co_return;
  RequestRoute route;
  route.alpn = conn->alpn();
  route.web = web;
  route.hello_header = web && req.header("xftp-web-hello") != nullptr;
  route.handshake_header = web && req.header("xftp-handshake") != nullptr;
  auto step = handshake.on_request(route, head, conn->session_id(), ctx->identity);
  if (auto* reply = std::get_if<HandshakeReply>(&step)) {
    co_await reply_block(ex, std::move(reply->body));
    co_return;
  }
  co_await command(ex, head, std::get<ProcessCommand>(step));
}

asio::awaitable<void> Conn::static_page(const ExchangePtr& ex) {
  // The reference leaves an unknown path unanswered (§4.2); a 404 lets the client move on.
  const auto& req = ex->request();
  const std::string* accept = req.header("accept-encoding");
  web::Response r = ctx->static_path
                        ? web::static_response(*ctx->static_path, "GET", req.path,
                                               accept != nullptr && accept->find("gzip") != std::string::npos)
                        : web::Response{404, {{"content-type", "text/plain"}}, {}};
  if (r.status != 200) r = web::Response{404, {{"content-type", "text/plain"}}, {}};
  auto done = ex->respond(r.status, Headers(r.headers.begin(), r.headers.end()), Bytes(r.body.begin(), r.body.end()));
  co_await std::move(done);
}

asio::awaitable<void> Conn::command(const ExchangePtr& ex, const Bytes& head, const ProcessCommand& p) {
  const auto& sid = conn->session_id();
  auto parsed = parse_transmission(sid, head);
  if (auto* e = std::get_if<TransmissionError>(&parsed)) {
    co_await reply_block(ex, encode_response_block(sid, e->corr_id, {}, FRErr{e->err}, p.version));
    co_return;
  }
  const auto& t = std::get<RawTransmission>(parsed);
  Outcome outcome = ctx->state.handle(t, p.server_dh_priv, now());
  if (auto* put = std::get_if<Put>(&outcome)) {
    Response r = co_await receive_put(ex, std::move(*put));
    co_await reply_block(ex, encode_response_block(sid, t.corr_id, t.entity_id, r, p.version));
  } else if (auto* get = std::get_if<Get>(&outcome)) {
    Bytes block = encode_response_block(sid, t.corr_id, t.entity_id, get->response(), p.version);
    co_await send_get(ex, std::move(block), std::move(*get));
  } else {
    co_await reply_block(ex, encode_response_block(sid, t.corr_id, t.entity_id, std::get<Response>(outcome),
                                                   p.version));
  }
}

// §7.2 FPUT: exactly `size` bytes after the block, then the end of the body, within file_timeout.
asio::awaitable<Response> Conn::receive_put(const ExchangePtr& ex, Put put) {
  const auto deadline = net::Clock::now() + ctx->file_timeout;
  PutResult result;
  Bytes buf(kFileBlockSize);
  crypto::Sha256Stream digest;
  uint64_t got = 0;
  bool short_body = false;
  while (got < put.size && !result.io_error) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), put.size - got));
    const size_t n = co_await ex->read_body(std::span<uint8_t>(buf.data(), want), deadline);
    if (n == 0) {
      short_body = true;
      break;
    }
    got += n;
    if (put.discard()) continue;
    const std::span<const uint8_t> slice(buf.data(), n);
    digest.update(slice);
    try {
      if (put.upload->write(slice)) result.io_error = Error::Kind::SIZE;
    } catch (const std::system_error& e) {
      LOG_ERROR("FPUT: writing chunk: {}", e.what());
      result.io_error = Error::Kind::FILE_IO;
    }
  }
  if (result.io_error == Error::Kind::SIZE) {
    result.io_error.reset();  // more bytes than reserved: answered as SIZE below
  } else if (short_body) {
    // The body ended early (SIZE), or it stalled, was reset or the connection went (TIMEOUT).
    if (!ex->body_complete()) result.io_error = Error::Kind::TIMEOUT;
  } else if (!result.io_error) {
    if (put.discard()) {
      result.bytes_ok = true;  // the rest of the body is not read
    } else {
      uint8_t extra = 0;
      const size_t n = co_await ex->read_body(std::span<uint8_t>(&extra, 1), deadline);
      if (n == 0 && !ex->body_complete())
        result.io_error = Error::Kind::TIMEOUT;
      else
        result.bytes_ok = n == 0;
    }
  }
  if (!put.discard() && result.bytes_ok) result.digest = digest.finish();

  // Committing fsyncs the chunk and its directory: off the I/O thread, so other transfers go on meanwhile.
  if (ctx->blocking == nullptr) co_return ctx->state.finish_put(put, result);
  auto& state = ctx->state;
  auto committed = asio::co_spawn(
      *ctx->blocking, [&state, &put, &result]() -> asio::awaitable<Response> { co_return state.finish_put(put, result); },
      asio::use_awaitable);
  co_return co_await std::move(committed);
}

// §9: the FILE block, then the chunk encrypted slice by slice, then the 16-byte tag.
asio::awaitable<void> Conn::send_get(const ExchangePtr& ex, Bytes block, Get get) {
  struct Stream {
    Bytes block;
    Get get;
    ChunkCipher cipher;
    uint64_t left;
    bool tag_sent = false;
    Stream(Bytes b, Get g)
        : block(std::move(b)),
          get(std::move(g)),
          cipher(get.keys.k, get.keys.nonce, ChunkCipher::Mode::Encrypt),
          left(get.size) {}
  };
  auto s = std::make_shared<Stream>(std::move(block), std::move(get));
  Exchange::Producer next = [s]() -> asio::awaitable<std::vector<uint8_t>> {
    if (!s->block.empty()) co_return std::exchange(s->block, Bytes());
    if (s->left > 0) {
      Bytes part(static_cast<size_t>(std::min<uint64_t>(s->left, 4 * kFileBlockSize)));
      size_t got = 0;
      while (got < part.size()) {
        const size_t n = s->get.reader.read(std::span<uint8_t>(part.data() + got, part.size() - got));
        if (n == 0) throw std::runtime_error("chunk file ended early");
        got += n;
      }
      s->cipher.update(part);
      s->left -= part.size();
      co_return part;
    }
    if (!s->tag_sent) {
      s->tag_sent = true;
      const auto tag = s->cipher.tag();
      co_return Bytes(tag.begin(), tag.end());
    }
    co_return Bytes();
  };
  try {
    auto r = ex->respond(200, cors_headers(conn->sni_used()), std::move(next));
    co_await std::move(r);
  } catch (const std::exception& e) {
    // A chunk file that fails while streaming: the stream is reset, the client retries.
    LOG_ERROR("FGET: reading chunk: {}", e.what());
  }
}

}  // namespace

asio::awaitable<void> serve_connection(net::ConnectionPtr conn, std::shared_ptr<const ServerContext> ctx) {
  auto c = std::make_shared<Conn>();
  c->conn = conn;
  c->ctx = ctx;
  h2::Handler handler = [c](ExchangePtr ex) { return c->on_exchange(std::move(ex)); };
  auto serving = h2::serve(std::move(conn), std::move(handler), ctx->http2);
  co_await std::move(serving);
}

}  // namespace sr::xftp
