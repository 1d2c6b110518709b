// HTTP/2 client side (libnghttp2) over our TLS client connection, for the XFTP client, tools and tests
// (xftp-protocol.md §3, §4). Always HTTP/2 with prior knowledge: the connection preface is sent whatever ALPN
// said, also for http/1.1 or no ALPN (§3.4). Many concurrent streams on one connection. Bodies are streamed with
// bounded buffering both ways: a request body is pulled from a producer only while less than
// `request_buffer` bytes wait for the peer's window, and the receive window of a stream only reopens as the
// response body is read (at most `stream_window` unread bytes per stream).
// Everything runs on the connection's executor, which must not run handlers concurrently (a single-threaded
// io_context or a strand); nghttp2 callbacks only record events, coroutines are woken after mem_recv/mem_send.
#pragma once
#include <cstddef>

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/socks.hpp"

namespace sr::h2 {

using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

// what(): "NETWORK: <detail>" (connect, TLS, I/O, stream reset by the peer), "TIMEOUT", "CLOSED" (the connection
// ended or close() was called), "RESPONSE: <detail>" (a response the caller's limits do not allow).
struct ClientError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ConnectOptions {
  std::vector<std::string> alpn = {"h2"};  // empty: no ALPN extension
  std::optional<std::string> sni;          // TLS server name; none by default (native XFTP clients send none)
  // Browser-like TLS parameters (AES-GCM, P-256.., ECDSA/RSA signatures) besides the native set, for a server
  // presenting an ordinary HTTPS (web) certificate; false: the native SimpleX set only.
  bool https = false;
  Clock::duration timeout = std::chrono::seconds(10);  // TCP/SOCKS + TLS; and the default per-request timeout
  std::optional<socks::Proxy> socks;  // connect through this SOCKS5 proxy (the host is never resolved here)
  // Receive windows: a stream holds at most stream_window unread response bytes, the connection at most
  // connection_window over all streams. Larger than HTTP/2's 64 KiB default for download throughput.
  uint32_t stream_window = 1 << 20;
  uint32_t connection_window = 4 << 20;
  size_t request_buffer = 64 << 10;  // the producer is asked for more while less than this waits to be framed
};

using BodyProducer = std::function<asio::awaitable<std::vector<uint8_t>>()>;  // an empty part ends the body
using BodySink = std::function<void(std::span<const uint8_t>)>;

struct ClientRequest {
  std::string method = "POST";
  std::string path = "/";
  Headers headers;  // regular headers; names are sent lower-cased
  std::vector<uint8_t> body;
  BodyProducer producer;  // when set, the body is streamed from it (and `body` is ignored)
  std::optional<Clock::duration> timeout;  // the whole exchange; the connection's default when unset
};

struct ClientResponse {
  int status = 0;
  Headers headers;  // regular headers in arrival order
  std::vector<uint8_t> body;
  const std::string* header(std::string_view name) const;  // first header with this lower-case name
};

class Connection;

// One request in flight: the response head is known, the body is read as it arrives.
class Stream {
 public:
  int status() const;
  const Headers& headers() const;
  int32_t id() const;
  // Reads up to buf.size() bytes of the response body; 0 at its end. Throws ClientError on TIMEOUT (the stream
  // is reset), a reset by the peer or a closed connection. The bytes read reopen the window.
  asio::awaitable<size_t> read(std::span<uint8_t> buf);
  // Largest number of body bytes this stream held at once (unread response + unframed request bytes).
  size_t max_buffered() const;
  // Resets the stream (CANCEL) if it is still open: the rest of the response is not wanted.
  void cancel();

  struct State;
  explicit Stream(std::shared_ptr<State> s) : s_(std::move(s)) {}
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

 private:
  std::shared_ptr<State> s_;
};

class Connection {
 public:
  // TCP (or SOCKS5) + TLS client handshake within options.timeout, then the HTTP/2 session starts (preface and
  // SETTINGS are sent at once). Throws ClientError ("NETWORK: ...", "TIMEOUT").
  static asio::awaitable<std::shared_ptr<Connection>> connect(asio::any_io_executor ex, std::string host,
                                                               uint16_t port, ConnectOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& alpn() const;             // negotiated ALPN, empty when none
  const std::vector<uint8_t>& tls_unique() const;  // the client's own Finished (transport §3.6)
  const std::vector<std::vector<uint8_t>>& peer_chain() const;  // DER, leaf first
  bool closed() const;
  const ConnectOptions& options() const;

  // Submits the request and waits for the response head (status and headers). The request body keeps being
  // streamed while the response is read. Throws ClientError.
  asio::awaitable<std::unique_ptr<Stream>> open(ClientRequest req);
  // A whole exchange. Without a sink the body is collected into ClientResponse::body (more than max_body bytes:
  // "RESPONSE: body too large"); with a sink every part goes to it as it arrives and ClientResponse::body stays empty.
  asio::awaitable<ClientResponse> request(ClientRequest req, BodySink sink = {}, size_t max_body = 64 << 20);

  // Ends the connection: every open stream fails with CLOSED. Idempotent.
  void close();

  struct Impl;
  explicit Connection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sr::h2
