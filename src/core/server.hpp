// The coroutine-per-connection TLS server shared by both roles (Asio C++20 coroutines).
// One awaitable per connection: TLS handshake under a deadline, then the role's handler runs with a reader API
// and a bounded outgoing queue drained by a writer coroutine. Timeouts are cancellations. stop() is graceful:
// no new accepts, pending reads are cancelled, queued replies are flushed, TLS close_notify, socket closed.
#pragma once
// A standard header first: Asio 1.22 decides ASIO_HAS_STD_ALIGNED_ALLOC from libstdc++'s config macros, and a
// translation unit that includes <asio.hpp> before any standard header would pick operator new where others pick
// aligned_alloc (an ODR mismatch that frees coroutine frames with the wrong function; ASan reports it).
#include <cstddef>

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/socket_counts.hpp"
#include "core/tls.hpp"
#include "core/tls_socket.hpp"

namespace sr::net {

using Socket = asio::ip::tcp::socket;
using TlsStream = SslSocket;
using Clock = std::chrono::steady_clock;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  virtual ~Connection() = default;
  const std::vector<uint8_t>& session_id() const { return session_id_; }  // tls-unique (transport §3.6)
  const std::string& alpn() const { return alpn_; }                       // empty: no ALPN negotiated
  const std::string& peer() const { return peer_; }                       // "ip:port", for logs
  // The client's certificate chain as DER, leaf first (empty for ordinary clients; SMP services, §3.8).
  const std::vector<std::vector<uint8_t>>& peer_chain() const { return peer_chain_; }
  uint16_t local_port() const { return local_port_; }
  // The client sent SNI and got the web certificate (tls::ServerOptions::web): a browser-style connection.
  bool sni_used() const { return sni_used_; }

  // All members run on the connection's executor (today the single io_context thread). One reader at a time.
  // Reads exactly buf.size() bytes; false on EOF, error, server stop or timeout (timeout: if given). After a
  // timeout part of the bytes may have been consumed: the caller closes the connection.
  virtual asio::awaitable<bool> read_exact(std::span<uint8_t> buf) = 0;
  virtual asio::awaitable<bool> read_exact(std::span<uint8_t> buf, Clock::duration timeout) = 0;
  // Reads whatever is available, at least one byte, at most buf.size() (non-empty); 0 on EOF, error or server stop
  // (stop and close() cancel it as they cancel read_exact). For byte-stream protocols such as HTTP/2.
  virtual asio::awaitable<size_t> read_some(std::span<uint8_t> buf) = 0;
  // Queues bytes for the writer coroutine; waits while the queue is full. False once the connection closes.
  virtual asio::awaitable<bool> send(std::vector<uint8_t> data) = 0;
  // Non-waiting variant for deliveries from other connections; false when full or closing.
  virtual bool try_send(std::vector<uint8_t> data) = 0;
  // Ask to close: queued data is flushed first, then TLS close_notify and socket close.
  virtual void close() = 0;
  virtual bool closing() const = 0;

 protected:
  std::vector<uint8_t> session_id_;
  std::string alpn_;
  std::string peer_;
  std::vector<std::vector<uint8_t>> peer_chain_;
  uint16_t local_port_ = 0;
  bool sni_used_ = false;
};

using ConnectionPtr = std::shared_ptr<Connection>;
// Runs after a completed TLS handshake; the connection closes when it returns.
using Handler = std::function<asio::awaitable<void>(ConnectionPtr)>;

struct ServerOptions {
  std::vector<uint16_t> ports;
  Clock::duration tls_handshake_timeout = std::chrono::seconds(60);  // reference tlsSetupTimeout
  size_t out_queue_capacity = 64;  // blocks; bounded so a slow reader cannot grow our memory
  bool log_tls_errors = false;     // [TRANSPORT] log_tls_errors: stdout "TLS error: <description>"
  bool ipv6 = true;                // bind [::] dual stack when the host has IPv6, else 0.0.0.0
};

struct PortCounters {
  uint16_t port = 0;
  std::atomic<uint64_t> accepted{0}, closed{0}, active{0};
};

struct BindError : std::runtime_error {
  BindError(uint16_t p, const std::string& what) : std::runtime_error(what), port(p) {}
  uint16_t port;
};

class TlsServer {
 public:
  TlsServer(asio::io_context& io, tls::CtxPtr ctx, ServerOptions options, Handler handler);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  // Binds every port now (SO_REUSEADDR, backlog 1024) and logs NOTE "binding to [::]:<port>".
  // Throws BindError with a message naming the port and the fix ("port 5223 is already in use: ...").
  void listen();
  void start();  // spawns the acceptors
  void stop();   // graceful, see above; safe to call more than once and from any thread (runs on the io thread)
  size_t connection_count() const;
  std::vector<uint16_t> bound_ports() const;  // actual ports (port 0 in options binds an ephemeral one)
  size_t tls_error_count() const;             // failed or timed-out TLS handshakes so far
  std::vector<SocketCounts> socket_counts() const;  // one per bound port, in `ports` order

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Waits for SIGINT/SIGTERM; on the first one logs NOTE "Received SIGINT, stopping server..." (or SIGTERM) and
// calls on_signal. A second signal while stopping ends the process at once (the reference's escape hatch).
// The second signal runs _exit(128 + signal) from a plain signal handler.
void on_shutdown_signal(asio::io_context& io, std::function<void()> on_signal);
// Stops waiting for the signals (the wait keeps io_context::run() busy) when the server stops for another reason.
void cancel_shutdown_signal();

// Waits until the timer is cancelled: a timer that never expires serves as a condition variable for coroutines on
// one thread (the waker calls cancel()).
inline asio::awaitable<void> wait_signal(asio::steady_timer& t) {
  t.expires_at(asio::steady_timer::time_point::max());
  asio::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace sr::net
