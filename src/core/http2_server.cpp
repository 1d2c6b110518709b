#include "core/http2_server.hpp"

#include <nghttp2/nghttp2.h>

#include "core/http2_buffers.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <cstring>
#include <map>

#include "core/log.hpp"

namespace sr::h2 {

namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kReadSize = 16384;   // one TLS record
constexpr size_t kWriteSize = 32768;  // output is coalesced into sends of about this size

using detail::lower;
using detail::take;

}  // namespace

const std::string* Request::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name) return &v;
  return nullptr;
}

// The nghttp2 session of one connection. Callbacks only change state and note which exchanges to wake; after
// each mem_recv/mem_send the loops run after_io(), which wakes them, spawns handlers and applies deferred calls.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(net::ConnectionPtr conn, Handler handler, Options options, asio::any_io_executor ex)
      : conn_(std::move(conn)),
        handler_(std::move(handler)),
        options_(options),
        ex_(ex),
        writer_wake_(ex),
        idle_timer_(ex),
        changed_(ex) {}

  ~Session() {
    if (ng_) nghttp2_session_del(ng_);
  }

  const asio::any_io_executor& executor() const { return ex_; }
  nghttp2_session* ng() const { return ng_; }
  const Options& options() const { return options_; }
  bool ended() const { return ended_; }

  void init() {
    nghttp2_session_callbacks* cb = nullptr;
    if (nghttp2_session_callbacks_new(&cb) != 0) throw std::bad_alloc();
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_option* opt = nullptr;
    if (nghttp2_option_new(&opt) != 0) {
      nghttp2_session_callbacks_del(cb);
      throw std::bad_alloc();
    }
    // Windows reopen only as handlers read (Exchange::read_body), which bounds what a stream buffers.
    nghttp2_option_set_no_auto_window_update(opt, 1);
    const int rv = nghttp2_session_server_new2(&ng_, cb, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0) throw std::runtime_error(std::string("nghttp2_session_server_new: ") + nghttp2_strerror(rv));
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.stream_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(options_.max_header_bytes)},
    };
    nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    if (options_.connection_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
      nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0,
                                            static_cast<int32_t>(options_.connection_window));
  }

  // The read loop: feeds nghttp2 until the connection or the session ends, then closes every exchange and waits
  // for the handlers.
  asio::awaitable<void> run() {
    auto self = shared_from_this();
    last_activity_ = Clock::now();
    asio::co_spawn(ex_, writer(self), asio::detached);
    writer_running_ = true;
    if (options_.idle_timeout > Clock::duration::zero()) asio::co_spawn(ex_, idle_watch(self), asio::detached);
    std::vector<uint8_t> buf(kReadSize);
    for (;;) {
      const size_t n = co_await conn_->read_some(buf);
      if (n == 0 || ended_) break;
      last_activity_ = Clock::now();
      const ssize_t rv = nghttp2_session_mem_recv(ng_, buf.data(), n);
      after_io();
      if (rv < 0) {
        // Fatal for the session (bad preface, flooding, ...); nothing more can be framed.
        LOG_DEBUG("HTTP/2 from {}: {}", conn_->peer(), nghttp2_strerror(static_cast<int>(rv)));
        fatal_ = true;
        break;
      }
      wake_writer();
      if (!nghttp2_session_want_read(ng_) && !nghttp2_session_want_write(ng_)) break;
    }
    ended_ = true;
    for (auto& [id, ex] : streams_) {
      ex->closed_ = true;
      ex->notify();
    }
    while (handlers_ > 0) co_await net::wait_signal(changed_);
    streams_.clear();  // exchanges hold the session: no cycle once they are out of the map
    wake_writer();
    while (writer_running_) co_await net::wait_signal(changed_);
    idle_timer_.cancel();
    conn_->close();
  }

  void wake_writer() { writer_wake_.cancel(); }

  // Applies what the callbacks recorded: deferred flow-control credits, new requests, waking exchanges. True when
  // that may have queued frames (WINDOW_UPDATE, RST_STREAM).
  bool after_io() {
    const bool queued = !discarded_.empty() || !ready_.empty();
    for (auto [id, n] : discarded_) nghttp2_session_consume(ng_, id, n);
    discarded_.clear();
    for (auto& ex : to_notify_) ex->notify();
    to_notify_.clear();
    auto ready = std::move(ready_);
    ready_.clear();
    for (auto& ex : ready) {
      if (ex->closed_) continue;
      if (handlers_ >= options_.max_concurrent_streams) {
        nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, ex->stream_id_, NGHTTP2_REFUSED_STREAM);
        continue;
      }
      ++handlers_;
      asio::co_spawn(ex_, run_handler(shared_from_this(), ex), asio::detached);
    }
    if (queued) wake_writer();
    return queued;
  }

  // The handler returned: drop unread body bytes (crediting the window) and end the stream if still open.
  void finish(Exchange& ex) {
    ex.finished_ = true;
    if (ended_) return;
    if (ex.in_bytes_ > 0) nghttp2_session_consume(ng_, ex.stream_id_, ex.in_bytes_);
    ex.in_.clear();
    ex.in_offset_ = ex.in_bytes_ = 0;
    if (!ex.closed_ && !ex.body_end_)  // after the complete response: the rest of the body is not needed
      nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, ex.stream_id_, NGHTTP2_NO_ERROR);
    wake_writer();
  }

 private:
  static asio::awaitable<void> run_handler(std::shared_ptr<Session> s, std::shared_ptr<Exchange> ex) {
    bool failed = false;
    try {
      // The awaitable first, then co_await: GCC 12 destroys temporaries of a co_await operand twice.
      auto handling = s->handler_(ex);
      co_await std::move(handling);
    } catch (const std::exception& e) {
      LOG_DEBUG("HTTP/2 handler for {} stream {}: {}", s->conn_->peer(), ex->stream_id_, e.what());
      failed = true;
    }
    if (!s->ended_ && !ex->closed_) {
      if (!ex->responded_) {
        auto responding = ex->respond(500, Headers(), std::vector<uint8_t>());
        co_await std::move(responding);
      } else if (failed && !ex->out_sent_) {
        nghttp2_submit_rst_stream(s->ng_, NGHTTP2_FLAG_NONE, ex->stream_id_, NGHTTP2_INTERNAL_ERROR);
        ex->closed_ = true;
      }
    }
    s->finish(*ex);
    --s->handlers_;
    s->changed_.cancel();
  }

  // The only caller of mem_send, so frames reach the connection in order. Ends once the session has ended and
  // everything is flushed, or the connection refuses data.
  static asio::awaitable<void> writer(std::shared_ptr<Session> s) {
    std::vector<uint8_t> out;
    for (;;) {
      out.clear();
      bool failed = false;
      bool queued = false;  // after_io() may have queued frames after mem_send returned nothing
      if (!s->fatal_) {
        while (out.size() < kWriteSize) {
          const uint8_t* data = nullptr;
          const ssize_t n = nghttp2_session_mem_send(s->ng_, &data);
          if (n < 0) {
            LOG_DEBUG("HTTP/2 to {}: {}", s->conn_->peer(), nghttp2_strerror(static_cast<int>(n)));
            failed = true;
            break;
          }
          if (n == 0) break;
          out.insert(out.end(), data, data + n);
        }
        queued = s->after_io();
      }
      const bool wrote = !out.empty();
      if (wrote) {
        auto sending = s->conn_->send(std::move(out));
        if (!co_await std::move(sending)) break;
      }
      if (failed) break;
      if (wrote || queued) continue;
      if (s->ended_ && s->handlers_ == 0) break;
      if (!s->fatal_ && !nghttp2_session_want_read(s->ng_) && !nghttp2_session_want_write(s->ng_)) {
        s->conn_->close();  // GOAWAY sent (idle timeout, or the peer's): the read loop ends
        break;
      }
      co_await net::wait_signal(s->writer_wake_);
    }
    if (!s->ended_) s->conn_->close();
    s->writer_running_ = false;
    s->changed_.cancel();
  }

  static asio::awaitable<void> idle_watch(std::shared_ptr<Session> s) {
    while (!s->ended_) {
      s->idle_timer_.expires_at(s->last_activity_ + s->options_.idle_timeout);
      auto [ec] = co_await s->idle_timer_.async_wait(use_nothrow);
      if (s->ended_) break;
      if (ec || Clock::now() < s->last_activity_ + s->options_.idle_timeout) continue;
      if (!s->streams_.empty()) {
        s->last_activity_ = Clock::now();
        continue;
      }
      LOG_DEBUG("HTTP/2 connection {} idle, closing", s->conn_->peer());
      nghttp2_session_terminate_session(s->ng_, NGHTTP2_NO_ERROR);
      s->wake_writer();
      break;
    }
  }

  static Session& of(void* user_data) { return *static_cast<Session*>(user_data); }

  Exchange* find(int32_t stream_id) {
    auto it = streams_.find(stream_id);
    return it == streams_.end() ? nullptr : it->second.get();
  }
  void mark(Exchange* ex) { to_notify_.push_back(ex->shared_from_this()); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Session& s = of(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    s.streams_[frame->hd.stream_id] = std::make_shared<Exchange>(s.shared_from_this(), frame->hd.stream_id);
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
    Session& s = of(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers
    Exchange* ex = s.find(frame->hd.stream_id);
    if (!ex) return 0;
    ex->header_bytes_ += namelen + valuelen;
    if (ex->header_bytes_ > s.options_.max_header_bytes) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    Request& r = ex->request_;
    if (n == ":method")
      r.method = std::move(v);
    else if (n == ":path")
      r.path = std::move(v);
    else if (n == ":authority")
      r.authority = std::move(v);
    else if (n == ":scheme")
      r.scheme = std::move(v);
    else if (!n.empty() && n[0] != ':')
      r.headers.emplace_back(std::move(n), std::move(v));
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Session& s = of(user_data);
    Exchange* ex = s.find(frame->hd.stream_id);
    if (!ex) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
      s.ready_.push_back(ex->shared_from_this());
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      ex->body_end_ = true;
      s.mark(ex);
    }
    return 0;
  }

  // The response's last frame is out: from here a RST_STREAM (finish()) cannot overtake it.
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Session& s = of(user_data);
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
      if (Exchange* ex = s.find(frame->hd.stream_id)) {
        ex->out_sent_ = true;
        s.mark(ex);
      }
    return 0;
  }

  static int on_data_chunk_recv(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                                void* user_data) {
    Session& s = of(user_data);
    Exchange* ex = s.find(stream_id);
    if (!ex || ex->finished_) {
      s.discarded_.emplace_back(stream_id, len);  // nobody reads it: credit the window at once
      return 0;
    }
    ex->in_.emplace_back(data, data + len);
    ex->in_bytes_ += len;
    ex->note_buffered();
    s.mark(ex);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user_data) {
    Session& s = of(user_data);
    auto it = s.streams_.find(stream_id);
    if (it == s.streams_.end()) return 0;
    auto ex = std::move(it->second);
    s.streams_.erase(it);
    // A normal close after the whole exchange is not a failure; anything else ends reads and writes.
    if (error_code != NGHTTP2_NO_ERROR || !ex->body_end_ || !ex->out_sent_) ex->closed_ = true;
    s.to_notify_.push_back(ex);
    if (s.streams_.empty()) s.last_activity_ = Clock::now();
    return 0;
  }

 public:
  // nghttp2 data source: frames what the exchange's producer has put in out_.
  static ssize_t read_response(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* data_flags,
                               nghttp2_data_source*, void* user_data) {
    Session& s = of(user_data);
    Exchange* ex = s.find(stream_id);
    if (!ex) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t n = take(ex->out_, ex->out_offset_, ex->out_bytes_, std::span<uint8_t>(buf, length));
    if (ex->out_bytes_ == 0 && ex->out_end_) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
      return NGHTTP2_ERR_DEFERRED;
    }
    s.mark(ex);  // room for the producer's next part
    return static_cast<ssize_t>(n);
  }

 private:
  net::ConnectionPtr conn_;
  Handler handler_;
  Options options_;
  asio::any_io_executor ex_;
  nghttp2_session* ng_ = nullptr;
  std::map<int32_t, std::shared_ptr<Exchange>> streams_;
  std::vector<std::shared_ptr<Exchange>> ready_;      // request headers complete: handler to spawn
  std::vector<std::shared_ptr<Exchange>> to_notify_;  // state changed in a callback
  std::vector<std::pair<int32_t, size_t>> discarded_;
  asio::steady_timer writer_wake_;
  asio::steady_timer idle_timer_;
  asio::steady_timer changed_;  // handlers_ / writer_running_ changed
  Clock::time_point last_activity_;
  size_t handlers_ = 0;
  bool writer_running_ = false;
  bool ended_ = false;
  bool fatal_ = false;
};

Exchange::Exchange(std::shared_ptr<Session> session, int32_t stream_id)
    : session_(std::move(session)), stream_id_(stream_id), changed_(session_->executor()) {}

void Exchange::note_buffered() { max_buffered_ = std::max(max_buffered_, in_bytes_ + out_bytes_); }

void Exchange::notify() { changed_.cancel(); }

asio::awaitable<bool> Exchange::wait(Clock::time_point deadline) {
  changed_.expires_at(deadline);
  auto [ec] = co_await changed_.async_wait(use_nothrow);
  co_return ec || Clock::now() < deadline;
}

asio::awaitable<size_t> Exchange::read_body(std::span<uint8_t> buf) { return read_body(buf, Clock::time_point::max()); }

asio::awaitable<size_t> Exchange::read_body(std::span<uint8_t> buf, Clock::time_point deadline) {
  for (;;) {
    if (buf.empty()) co_return 0;
    if (in_bytes_ > 0) {
      const size_t n = take(in_, in_offset_, in_bytes_, buf);
      if (!session_->ended()) {
        nghttp2_session_consume(session_->ng(), stream_id_, n);
        session_->wake_writer();  // a WINDOW_UPDATE may be due
      }
      co_return n;
    }
    if (body_end_ || closed_ || session_->ended()) co_return 0;
    if (!co_await wait(deadline)) co_return 0;
  }
}

asio::awaitable<bool> Exchange::start_response(int status, const Headers& headers, bool with_body) {
  if (responded_) throw std::logic_error("HTTP/2: second response on one stream");
  responded_ = true;
  if (closed_ || session_->ended()) co_return false;
  const std::string status_text = std::to_string(status);
  std::vector<std::string> names;
  names.reserve(headers.size());
  for (auto& h : headers) names.push_back(lower(h.first));
  std::vector<nghttp2_nv> nva;
  auto nv = [](const std::string& n, const std::string& v) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                      NGHTTP2_NV_FLAG_NONE};
  };
  static const std::string status_name = ":status";
  nva.push_back(nv(status_name, status_text));
  for (size_t i = 0; i < headers.size(); ++i) nva.push_back(nv(names[i], headers[i].second));
  nghttp2_data_provider provider{};
  provider.read_callback = &Session::read_response;
  const int rv =
      nghttp2_submit_response(session_->ng(), stream_id_, nva.data(), nva.size(), with_body ? &provider : nullptr);
  if (rv != 0) {
    LOG_DEBUG("HTTP/2 response on stream {}: {}", stream_id_, nghttp2_strerror(rv));
    closed_ = true;
    co_return false;
  }
  if (!with_body) out_end_ = true;
  session_->wake_writer();
  co_return true;
}

asio::awaitable<bool> Exchange::respond(int status, Headers headers, std::vector<uint8_t> body) {
  const bool with_body = !body.empty();
  if (with_body) {
    out_bytes_ = body.size();
    out_.push_back(std::move(body));
    out_end_ = true;
    note_buffered();
  }
  if (!co_await start_response(status, headers, with_body)) co_return false;
  while (!out_sent_ && !closed_ && !session_->ended()) co_await wait(Clock::time_point::max());
  co_return out_sent_;
}

asio::awaitable<bool> Exchange::respond(int status, Headers headers, Producer next) {
  if (!co_await start_response(status, headers, true)) co_return false;
  while (!out_end_) {
    // Bounded: the next part is produced only once what is waiting for the peer's window drops below the limit.
    while (out_bytes_ >= session_->options().response_buffer && !closed_ && !session_->ended())
      co_await wait(Clock::time_point::max());
    if (closed_ || session_->ended()) co_return false;
    std::vector<uint8_t> part;
    try {
      part = co_await next();
    } catch (...) {
      if (!closed_ && !session_->ended()) {
        nghttp2_submit_rst_stream(session_->ng(), NGHTTP2_FLAG_NONE, stream_id_, NGHTTP2_INTERNAL_ERROR);
        session_->wake_writer();
      }
      closed_ = true;
      throw;
    }
    if (closed_ || session_->ended()) co_return false;
    if (part.empty()) {
      out_end_ = true;
    } else {
      out_bytes_ += part.size();
      out_.push_back(std::move(part));
      note_buffered();
    }
    nghttp2_session_resume_data(session_->ng(), stream_id_);
    session_->wake_writer();
  }
  while (!out_sent_ && !closed_ && !session_->ended()) co_await wait(Clock::time_point::max());
  co_return out_sent_;
}

asio::awaitable<void> serve(net::ConnectionPtr conn, Handler handler, Options options) {
  auto ex = co_await asio::this_coro::executor;
  auto session = std::make_shared<Session>(std::move(conn), std::move(handler), options, ex);
  session->init();
  co_await session->run();
}

}  // namespace sr::h2
