#include "core/http2_client.hpp"

#include <nghttp2/nghttp2.h>

#include "core/http2_buffers.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <cstring>
#include <deque>
#include <map>

#include "core/server.hpp"
#include "core/tls.hpp"
#include "core/tls_socket.hpp"

namespace sr::h2 {

namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kReadSize = 16384;   // one TLS record
constexpr size_t kWriteSize = 32768;  // output is coalesced into writes of about this size

[[noreturn]] void fail(const std::string& what) { throw ClientError(what); }

using detail::lower;
using detail::take;

}  // namespace

const std::string* ClientResponse::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name) return &v;
  return nullptr;
}

struct Stream::State {
  State(std::shared_ptr<Connection::Impl> c, asio::any_io_executor ex) : conn(std::move(c)), changed(ex), pump_wake(ex) {}

  std::shared_ptr<Connection::Impl> conn;
  int32_t id = -1;
  Clock::time_point deadline;

  int status = 0;
  Headers headers;
  bool head_done = false;

  // Response body received, not yet read.
  std::deque<std::vector<uint8_t>> in;
  size_t in_offset = 0;
  size_t in_bytes = 0;
  bool body_end = false;

  // Request body produced, not yet framed.
  BodyProducer producer;
  std::deque<std::vector<uint8_t>> out;
  size_t out_offset = 0;
  size_t out_bytes = 0;
  bool out_end = false;

  bool stream_closed = false;      // nghttp2 closed the stream (normally or not)
  std::optional<std::string> failure;  // why the exchange cannot complete
  bool abandoned = false;          // cancel(): later body data is dropped
  size_t max_buffered = 0;

  asio::steady_timer changed;    // the reader waits on this one
  asio::steady_timer pump_wake;  // the request body pump on this one (one waiter per timer: expires_at cancels)

  void note_buffered() { max_buffered = std::max(max_buffered, in_bytes + out_bytes); }
  void notify() {
    changed.cancel();
    pump_wake.cancel();
  }
  // False at the deadline.
  asio::awaitable<bool> wait() {
    changed.expires_at(deadline);
    auto [ec] = co_await changed.async_wait(use_nothrow);
    co_return ec || Clock::now() < deadline;
  }
  void reset(uint32_t code);
};

struct Connection::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor e, ConnectOptions o) : ex(e), options(std::move(o)), writer_wake(e) {}
  ~Impl() {
    if (ng) nghttp2_session_del(ng);
  }

  asio::any_io_executor ex;
  ConnectOptions options;
  std::string authority;
  tls::CtxPtr ctx;
  std::optional<asio::ip::tcp::socket> raw;  // during connect, before TLS owns it
  std::unique_ptr<net::SslSocket> stream;
  nghttp2_session* ng = nullptr;
  std::string alpn;
  std::vector<uint8_t> tls_unique;
  std::vector<std::vector<uint8_t>> chain;

  std::map<int32_t, std::shared_ptr<Stream::State>> streams;
  std::vector<std::shared_ptr<Stream::State>> to_notify;
  std::vector<std::pair<int32_t, size_t>> discarded;
  asio::steady_timer writer_wake;
  bool ended = false;
  std::string end_reason = "CLOSED";

  void wake_writer() { writer_wake.cancel(); }

  void close_sockets() {
    asio::error_code ec;
    if (raw) raw->close(ec);
    if (stream) stream->lowest_layer().close(ec);
  }

  // The connection is over: every open exchange fails with `reason`.
  void end(std::string reason) {
    if (ended) return;
    ended = true;
    end_reason = std::move(reason);
    close_sockets();
    auto all = std::move(streams);
    streams.clear();
    for (auto& [id, st] : all) {
      if (!st->failure && !(st->body_end && st->in_bytes == 0)) st->failure = end_reason;
      st->stream_closed = true;
      st->notify();
    }
    wake_writer();
  }

  void after_io() {
    for (auto [id, n] : discarded) nghttp2_session_consume(ng, id, n);
    if (!discarded.empty()) wake_writer();
    discarded.clear();
    auto notify = std::move(to_notify);
    to_notify.clear();
    for (auto& st : notify) st->notify();
  }

  Stream::State* find(int32_t id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second.get();
  }
  void mark(Stream::State* st) { to_notify.push_back(streams.at(st->id)); }

  void init_session();
  static asio::awaitable<void> reader(std::shared_ptr<Impl> s);
  static asio::awaitable<void> writer(std::shared_ptr<Impl> s);
  static asio::awaitable<void> pump(std::shared_ptr<Impl> s, std::shared_ptr<Stream::State> st);

  static Impl& of(void* user_data) { return *static_cast<Impl*>(user_data); }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
    Impl& s = of(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_RESPONSE) return 0;  // trailers
    Stream::State* st = s.find(frame->hd.stream_id);
    if (!st) return 0;
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      st->status = std::atoi(v.c_str());
      st->headers.clear();  // a final response after 1xx replaces the informational headers
    } else if (!n.empty() && n[0] != ':') {
      st->headers.emplace_back(std::move(n), std::move(v));
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Impl& s = of(user_data);
    Stream::State* st = s.find(frame->hd.stream_id);
    if (!st) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_RESPONSE && st->status >= 200) {
      st->head_done = true;
      s.mark(st);
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      st->body_end = true;
      s.mark(st);
    }
    return 0;
  }

  static int on_data_chunk_recv(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                                void* user_data) {
    Impl& s = of(user_data);
    Stream::State* st = s.find(stream_id);
    if (!st || st->abandoned) {
      s.discarded.emplace_back(stream_id, len);  // nobody reads it: credit the window at once
      return 0;
    }
    st->in.emplace_back(data, data + len);
    st->in_bytes += len;
    st->note_buffered();
    s.mark(st);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user_data) {
    Impl& s = of(user_data);
    auto it = s.streams.find(stream_id);
    if (it == s.streams.end()) return 0;
    auto st = std::move(it->second);
    s.streams.erase(it);
    st->stream_closed = true;
    if (!st->failure && (error_code != NGHTTP2_NO_ERROR || !st->body_end))
      st->failure = std::string("NETWORK: stream reset (") + nghttp2_http2_strerror(error_code) + ")";
    s.to_notify.push_back(std::move(st));
    return 0;
  }

  // nghttp2 data source: frames what the request body pump has put in out.
  static ssize_t read_request(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                              uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    Impl& s = of(user_data);
    Stream::State* st = s.find(stream_id);
    if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t n = take(st->out, st->out_offset, st->out_bytes, std::span<uint8_t>(buf, length));
    if (st->out_bytes == 0 && st->out_end) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
      return NGHTTP2_ERR_DEFERRED;
    }
    s.mark(st);  // room for the producer's next part
    return static_cast<ssize_t>(n);
  }
};

void Stream::State::reset(uint32_t code) {
  if (!stream_closed && !conn->ended && id > 0) {
    nghttp2_submit_rst_stream(conn->ng, NGHTTP2_FLAG_NONE, id, code);
    conn->wake_writer();
  }
}

void Connection::Impl::init_session() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) throw std::bad_alloc();
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cb);
    throw std::bad_alloc();
  }
  // Windows reopen only as the response body is read (Stream::read), which bounds what a stream buffers.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  const int rv = nghttp2_session_client_new2(&ng, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) fail(std::string("NETWORK: nghttp2_session_client_new: ") + nghttp2_strerror(rv));
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options.stream_window},
  };
  nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  if (options.connection_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
    nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, 0, static_cast<int32_t>(options.connection_window));
}

asio::awaitable<void> Connection::Impl::reader(std::shared_ptr<Impl> s) {
  std::vector<uint8_t> buf(kReadSize);
  while (!s->ended) {
    auto [ec, n] = co_await s->stream->async_read_some(asio::buffer(buf), use_nothrow);
    if (s->ended) break;
    if (ec) {
      s->end(ec == asio::error::eof ? "CLOSED" : "NETWORK: " + ec.message());
      break;
    }
    const ssize_t rv = nghttp2_session_mem_recv(s->ng, buf.data(), n);
    s->after_io();
    if (rv < 0) {
      s->end(std::string("NETWORK: HTTP/2: ") + nghttp2_strerror(static_cast<int>(rv)));
      break;
    }
    s->wake_writer();
    if (!nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng)) {
      s->end("CLOSED");  // GOAWAY exchanged
      break;
    }
  }
}

// The only caller of mem_send, so frames reach the socket in order. It only waits right after mem_send returned
// nothing, so a wake_writer() while it writes is never lost.
asio::awaitable<void> Connection::Impl::writer(std::shared_ptr<Impl> s) {
  std::vector<uint8_t> out;
  while (!s->ended) {
    out.clear();
    while (out.size() < kWriteSize) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(s->ng, &data);
      if (n < 0) {
        s->end(std::string("NETWORK: HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
        co_return;
      }
      if (n == 0) break;
      out.insert(out.end(), data, data + n);
    }
    s->after_io();
    if (!out.empty()) {
      auto [ec, n] = co_await asio::async_write(*s->stream, asio::buffer(out), use_nothrow);
      if (ec) {
        s->end(s->ended ? s->end_reason : "NETWORK: " + ec.message());
        break;
      }
      continue;
    }
    if (!nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng)) {
      s->end("CLOSED");
      break;
    }
    co_await net::wait_signal(s->writer_wake);
  }
}

// Pulls the request body from the producer, keeping at most request_buffer bytes waiting for the peer's window.
asio::awaitable<void> Connection::Impl::pump(std::shared_ptr<Impl> s, std::shared_ptr<Stream::State> st) {
  auto stopped = [&] { return st->stream_closed || st->failure.has_value() || s->ended; };
  while (!st->out_end && !stopped()) {
    while (st->out_bytes >= s->options.request_buffer && !stopped()) co_await net::wait_signal(st->pump_wake);
    if (stopped()) break;
    std::vector<uint8_t> part;
    try {
      part = co_await st->producer();
    } catch (const std::exception& e) {
      if (!stopped()) {
        st->failure = std::string("NETWORK: request body: ") + e.what();
        st->reset(NGHTTP2_INTERNAL_ERROR);
      }
      st->notify();
      break;
    }
    if (stopped()) break;
    if (part.empty()) {
      st->out_end = true;
    } else {
      st->out_bytes += part.size();
      st->out.push_back(std::move(part));
      st->note_buffered();
    }
    nghttp2_session_resume_data(s->ng, st->id);
    s->wake_writer();
  }
  st->producer = nullptr;  // releases what it captured (a file, a buffer)
}

// ---- Stream ----

int Stream::status() const { return s_->status; }
const Headers& Stream::headers() const { return s_->headers; }
int32_t Stream::id() const { return s_->id; }
size_t Stream::max_buffered() const { return s_->max_buffered; }

void Stream::cancel() {
  if (s_->abandoned) return;
  s_->abandoned = true;
  s_->reset(NGHTTP2_CANCEL);
  if (s_->in_bytes > 0 && !s_->conn->ended) {
    nghttp2_session_consume(s_->conn->ng, s_->id, s_->in_bytes);
    s_->conn->wake_writer();
  }
  s_->in.clear();
  s_->in_offset = s_->in_bytes = 0;
  if (!s_->failure) s_->failure = "CLOSED";
  s_->notify();
}

Stream::~Stream() {
  if (s_ && !(s_->body_end && s_->in_bytes == 0)) cancel();
}

asio::awaitable<size_t> Stream::read(std::span<uint8_t> buf) {
  State& st = *s_;
  for (;;) {
    if (buf.empty()) co_return 0;
    if (st.in_bytes > 0) {
      const size_t n = take(st.in, st.in_offset, st.in_bytes, buf);
      if (!st.conn->ended) {  // (the connection's share also after the stream closed)
        nghttp2_session_consume(st.conn->ng, st.id, n);
        st.conn->wake_writer();  // a WINDOW_UPDATE may be due
      }
      co_return n;
    }
    if (st.body_end) co_return 0;
    if (st.failure) fail(*st.failure);
    if (st.stream_closed) fail("NETWORK: stream closed before the end of the response");
    if (!co_await st.wait()) {
      cancel();
      s_->failure = "TIMEOUT";
      fail("TIMEOUT");
    }
  }
}

// ---- Connection ----

asio::awaitable<std::shared_ptr<Connection>> Connection::connect(asio::any_io_executor ex, std::string host,
                                                                  uint16_t port, ConnectOptions options) {
  auto impl = std::make_shared<Impl>(ex, std::move(options));
  const ConnectOptions& o = impl->options;
  impl->authority = (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                    (port == 443 ? std::string() : ":" + std::to_string(port));
  // The deadline closes the socket, which ends whatever step is waiting.
  auto expired = std::make_shared<bool>(false);
  asio::steady_timer guard(ex);
  guard.expires_after(o.timeout);
  guard.async_wait([impl, expired](const asio::error_code& ec) {
    if (ec) return;
    *expired = true;
    impl->close_sockets();
  });
  auto failed = [&](const std::string& what) -> std::string { return *expired ? "TIMEOUT" : what; };

  impl->raw.emplace(ex);
  if (o.socks) {
    const std::string e = co_await socks::connect(*impl->raw, *o.socks, host, port, o.timeout);
    if (!e.empty()) fail(failed("NETWORK: " + e));
  } else {
    asio::ip::tcp::resolver resolver(ex);
    auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), use_nothrow);
    if (rec) fail(failed("NETWORK: resolve " + host + ": " + rec.message()));
    if (*expired) fail("TIMEOUT");
    auto [cec, ep] = co_await asio::async_connect(*impl->raw, endpoints, use_nothrow);
    if (cec) fail(failed("NETWORK: connect: " + cec.message()));
  }
  if (*expired) fail("TIMEOUT");
  asio::error_code nec;
  impl->raw->set_option(asio::ip::tcp::no_delay(true), nec);

  impl->ctx = tls::make_client_context(o.alpn, o.https);
  SSL* ssl = SSL_new(impl->ctx.get());
  if (ssl == nullptr) fail("NETWORK: SSL_new: " + tls::last_error());
  tls::prepare(ssl);
  if (o.sni && SSL_set_tlsext_host_name(ssl, o.sni->c_str()) != 1) {
    SSL_free(ssl);
    fail("NETWORK: SNI: " + tls::last_error());
  }
  impl->stream = std::make_unique<net::SslSocket>(std::move(*impl->raw), ssl);  // the stream owns ssl
  impl->raw.reset();
  auto [hec] = co_await impl->stream->async_handshake(asio::ssl::stream_base::client, use_nothrow);
  guard.cancel();
  if (hec || *expired) fail(failed("NETWORK: TLS handshake: " + hec.message()));
  SSL* h = impl->stream->native_handle();
  impl->tls_unique = tls::session_id(h);
  impl->alpn = tls::alpn_selected(h);
  impl->chain = tls::peer_chain_der(h);

  impl->init_session();
  asio::co_spawn(ex, Impl::reader(impl), asio::detached);
  asio::co_spawn(ex, Impl::writer(impl), asio::detached);  // sends the preface and SETTINGS now
  co_return std::make_shared<Connection>(impl);
}

Connection::~Connection() { close(); }

const std::string& Connection::alpn() const { return impl_->alpn; }
const std::vector<uint8_t>& Connection::tls_unique() const { return impl_->tls_unique; }
const std::vector<std::vector<uint8_t>>& Connection::peer_chain() const { return impl_->chain; }
bool Connection::closed() const { return impl_->ended; }
const ConnectOptions& Connection::options() const { return impl_->options; }

void Connection::close() {
  if (impl_ && !impl_->ended) {
    nghttp2_session_terminate_session(impl_->ng, NGHTTP2_NO_ERROR);
    impl_->end("CLOSED");
  }
}

asio::awaitable<std::unique_ptr<Stream>> Connection::open(ClientRequest req) {
  auto c = impl_;
  if (c->ended) fail(c->end_reason);
  auto st = std::make_shared<Stream::State>(c, c->ex);
  st->deadline = Clock::now() + req.timeout.value_or(c->options.timeout);

  std::vector<std::string> names;
  names.reserve(req.headers.size());
  for (auto& h : req.headers) names.push_back(lower(h.first));
  static const std::string kMethod = ":method", kScheme = ":scheme", kAuthority = ":authority", kPath = ":path",
                           kHttps = "https";
  auto nv = [](const std::string& n, const std::string& v) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                      NGHTTP2_NV_FLAG_NONE};
  };
  std::vector<nghttp2_nv> nva;
  nva.push_back(nv(kMethod, req.method));
  nva.push_back(nv(kScheme, kHttps));
  nva.push_back(nv(kAuthority, c->authority));
  nva.push_back(nv(kPath, req.path));
  for (size_t i = 0; i < req.headers.size(); ++i) nva.push_back(nv(names[i], req.headers[i].second));

  const bool with_body = req.producer || !req.body.empty();
  if (req.producer) {
    st->producer = std::move(req.producer);
  } else if (with_body) {
    st->out_bytes = req.body.size();
    st->out.push_back(std::move(req.body));
    st->out_end = true;
    st->note_buffered();
  }
  nghttp2_data_provider provider{};
  provider.read_callback = &Impl::read_request;
  const int32_t id = nghttp2_submit_request(c->ng, nullptr, nva.data(), nva.size(), with_body ? &provider : nullptr,
                                            nullptr);
  if (id < 0) fail(std::string("NETWORK: HTTP/2: ") + nghttp2_strerror(id));
  st->id = id;
  c->streams[id] = st;
  if (st->producer) asio::co_spawn(c->ex, Impl::pump(c, st), asio::detached);
  c->wake_writer();

  auto stream = std::make_unique<Stream>(st);
  while (!st->head_done) {
    if (st->failure) fail(*st->failure);
    if (st->stream_closed) fail("NETWORK: stream closed without a response");
    if (!co_await st->wait()) {
      stream->cancel();
      st->failure = "TIMEOUT";
      fail("TIMEOUT");
    }
  }
  co_return stream;
}

asio::awaitable<ClientResponse> Connection::request(ClientRequest req, BodySink sink, size_t max_body) {
  auto stream = co_await open(std::move(req));
  ClientResponse r;
  r.status = stream->status();
  r.headers = stream->headers();
  std::vector<uint8_t> buf(kReadSize);
  for (;;) {
    const size_t n = co_await stream->read(buf);
    if (n == 0) break;
    if (sink) {
      sink(std::span<const uint8_t>(buf.data(), n));
    } else {
      if (r.body.size() + n > max_body) {
        stream->cancel();
        fail("RESPONSE: body too large");
      }
      r.body.insert(r.body.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
  }
  co_return r;
}

}  // namespace sr::h2
