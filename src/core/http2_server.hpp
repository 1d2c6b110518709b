// HTTP/2 server side (libnghttp2) over an established net::Connection, for the XFTP relay (xftp-protocol.md §4).
// Always HTTP/2 with prior knowledge, whatever ALPN said (§3.4 trap). Streams run concurrently, one handler
// coroutine each; request and response bodies are streamed with bounded buffering: the peer's flow-control window
// only reopens as the handler reads (a 4 MB FPUT is never held whole), and a response body is pulled from the
// handler's producer part by part as the peer's window allows (a 4 MB FGET likewise).
// Everything runs on the connection's executor; nghttp2 callbacks only record events, coroutines are resumed
// after nghttp2_session_mem_recv/mem_send return.
#pragma once
#include <cstddef>

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/server.hpp"

namespace sr::h2 {

using Clock = net::Clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method, path, authority, scheme;
  Headers headers;  // regular headers (lower-case names, as HTTP/2 requires), in arrival order
  // The first header with this (lower-case) name, or nullptr.
  const std::string* header(std::string_view name) const;
};

struct Options {
  uint32_t max_concurrent_streams = 100;
  // Receive windows. A stream buffers at most stream_window unread body bytes, a connection at most
  // connection_window over all its streams. Larger than HTTP/2's 64 KiB default for upload throughput (§16).
  uint32_t stream_window = 1 << 20;
  uint32_t connection_window = 4 << 20;
  // A response producer is asked for its next part while less than this is waiting for the peer's window.
  size_t response_buffer = 64 << 10;
  size_t max_header_bytes = 64 << 10;  // per request (names + values); larger requests are reset
  // No stream open and nothing received for this long: GOAWAY and close. Zero (the default) disables it: the
  // reference expires inactive clients only when configured ([INACTIVE_CLIENTS] disconnect = on, ttl).
  Clock::duration idle_timeout = Clock::duration::zero();
};

class Session;

// One HTTP/2 stream: a request and its response. Methods run on the connection's executor.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  using Producer = std::function<asio::awaitable<std::vector<uint8_t>>()>;

  Exchange(std::shared_ptr<Session> session, int32_t stream_id);
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  const Request& request() const { return request_; }
  int32_t stream_id() const { return stream_id_; }

  // Reads up to buf.size() bytes of the request body; 0 at its end, or when the stream or connection closed, or
  // at the deadline (see body_complete()). The bytes read reopen the peer's window.
  asio::awaitable<size_t> read_body(std::span<uint8_t> buf);
  asio::awaitable<size_t> read_body(std::span<uint8_t> buf, Clock::time_point deadline);
  // True once the whole body (END_STREAM) was received and read.
  bool body_complete() const { return body_end_ && in_bytes_ == 0; }

  // Sends status and headers, then the parts `next` produces until it returns an empty vector. A producer that
  // throws resets the stream (the exception propagates). True when the whole response was handed to the
  // connection; false when the stream or connection closed first. Only one response per exchange.
  asio::awaitable<bool> respond(int status, Headers headers, Producer next);
  // A response with a body known in full (empty: no body).
  asio::awaitable<bool> respond(int status, Headers headers, std::vector<uint8_t> body);
  bool responded() const { return responded_; }
  // The stream was reset or the connection closed before the exchange completed.
  bool closed() const { return closed_; }

  // Largest number of body bytes this exchange held at once (unread request bytes + unsent response bytes).
  size_t max_buffered() const { return max_buffered_; }

 private:
  friend class Session;
  void note_buffered();
  asio::awaitable<bool> wait(Clock::time_point deadline);  // false at the deadline
  void notify();
  asio::awaitable<bool> start_response(int status, const Headers& headers, bool with_body);

  std::shared_ptr<Session> session_;
  int32_t stream_id_;
  Request request_;
  size_t header_bytes_ = 0;
  asio::steady_timer changed_;

  // Request body received, not yet read.
  std::deque<std::vector<uint8_t>> in_;
  size_t in_offset_ = 0;  // into in_.front()
  size_t in_bytes_ = 0;
  bool body_end_ = false;

  // Response body produced, not yet framed.
  std::deque<std::vector<uint8_t>> out_;
  size_t out_offset_ = 0;
  size_t out_bytes_ = 0;
  bool out_end_ = false;   // the producer finished
  bool out_sent_ = false;  // the frame ending the response (END_STREAM) was serialized

  bool responded_ = false;
  bool closed_ = false;
  bool finished_ = false;  // the handler returned: further body data is discarded
  size_t max_buffered_ = 0;
};

using Handler = std::function<asio::awaitable<void>(std::shared_ptr<Exchange>)>;

// Runs the server side of HTTP/2 on conn (after TLS) until the connection ends: the client preface is expected,
// every request stream gets its own handler coroutine. Returns after every handler returned; the caller (the
// TlsServer handler) returning then closes the connection. A handler that returns without responding gets a 500
// with no body.
asio::awaitable<void> serve(net::ConnectionPtr conn, Handler handler, Options options = {});

}  // namespace sr::h2
