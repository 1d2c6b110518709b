#include "core/server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <atomic>
#include <csignal>
#include <deque>
#include <filesystem>
#include <list>
#include <mutex>
#include <optional>

#include "core/log.hpp"

namespace sr::net {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

constexpr int kBacklog = 1024;                 // reference startTCPServer
constexpr Clock::duration kFlushTimeout = 10s;  // once closing, queued data must drain within this
constexpr Clock::duration kShutdownTimeout = 2s;  // close_notify exchange: a dead peer cannot hold a stop
constexpr Clock::duration kAcceptBackoff = 100ms;  // after an accept error such as EMFILE, instead of spinning

// Completion token that reports errors as values: connection errors are normal events, not exceptions.
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

class Conn;
using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;

// State the server and its connections share. Connections and accept loops hold it, so it outlives the TlsServer
// object if coroutines are still pending when that is destroyed.
struct Shared {
  Shared(asio::io_context& io_, tls::CtxPtr ctx_, ServerOptions options_, Handler handler_)
      : io(io_), ctx(std::move(ctx_)), options(std::move(options_)), handler(std::move(handler_)) {}

  asio::io_context& io;
  tls::CtxPtr ctx;
  ServerOptions options;
  Handler handler;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  // One per acceptor, same order; a deque so connections can keep a pointer while more ports are bound.
  std::deque<PortCounters> port_counters;
  bool stopping = false;  // io thread only
  std::atomic<size_t> tls_errors{0};

  // Live connections (socket open). A mutex although the io_context is single-threaded today, so that connections
  // can later run on strands of a multi-threaded io_context.
  std::mutex live_mutex;
  std::list<std::weak_ptr<Conn>> live;
  std::atomic<size_t> live_count{0};
};

// One cancellable operation slot with an optional deadline: the deadline emits the cancellation.
// Used for the read side (handshake, reads) and the write side (writes, close_notify) of a connection.
struct Guard {
  explicit Guard(const asio::any_io_executor& ex) : timer(ex) {}

  void arm(Clock::duration timeout, std::shared_ptr<void> keep_alive) {
    expired = false;
    timer.expires_after(timeout);
    timer.async_wait([this, gen = ++generation, keep_alive = std::move(keep_alive)](const asio::error_code& ec) {
      // A stale expiry (re-armed or disarmed meanwhile) must not cancel a later operation.
      if (ec || gen != generation) return;
      expired = true;
      signal.emit(asio::cancellation_type::terminal);
    });
  }
  void disarm() {
    ++generation;
    timer.cancel();
  }
  void cancel_now() { signal.emit(asio::cancellation_type::terminal); }
  auto token() { return asio::bind_cancellation_slot(signal.slot(), use_nothrow); }

  asio::steady_timer timer;
  asio::cancellation_signal signal;
  uint64_t generation = 0;
  bool expired = false;
};

std::string endpoint_text(const tcp::endpoint& ep) {
  asio::ip::address a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), ep.port()) : fmt::format("{}:{}", a.to_string(), ep.port());
}

class Conn final : public Connection {
 public:
  Conn(std::shared_ptr<Shared> shared, Socket socket, SslPtr ssl, PortCounters* counters)
      : shared_(std::move(shared)),
        counters_(counters),
        stream_(std::move(socket), ssl.release()),  // the stream owns the SSL from here
        read_(stream_.get_executor()),
        write_(stream_.get_executor()),
        changed_(stream_.get_executor(), Clock::time_point::max()) {
    asio::error_code ec;
    auto remote = stream_.lowest_layer().remote_endpoint(ec);
    peer_ = ec ? std::string("?") : endpoint_text(remote);
    auto local = stream_.lowest_layer().local_endpoint(ec);
    local_port_ = ec ? 0 : local.port();
  }

  void register_live() {
    std::lock_guard lock(shared_->live_mutex);
    live_it_ = shared_->live.insert(shared_->live.end(), std::static_pointer_cast<Conn>(shared_from_this()));
    registered_ = true;
    shared_->live_count.fetch_add(1);
    counters_->active.fetch_add(1);
  }

  // TLS handshake under the deadline; fills the session fields. False: the connection must be finished.
  asio::awaitable<bool> handshake() {
    if (closing_) co_return false;  // accepted just before stop()
    tls::prepare(stream_.native_handle());
    read_.arm(shared_->options.tls_handshake_timeout, shared_from_this());
    auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, read_.token());
    const bool timed_out = read_.expired;
    read_.disarm();
    if (closing_) co_return false;  // server stopping: not a TLS failure
    std::string failure;
    if (timed_out) {
      failure = "handshake timeout";
    } else if (ec) {
      failure = ec.message();
    } else {
      session_id_ = tls::session_id(stream_.native_handle());
      alpn_ = tls::alpn_selected(stream_.native_handle());
      peer_chain_ = tls::peer_chain_der(stream_.native_handle());
      sni_used_ = tls::sni_used(stream_.native_handle());
      // The reference closes when tls-unique is unavailable: the SMP handshake signs over it.
      if (session_id_.empty()) failure = "no tls-unique (Finished message) available";
    }
    if (failure.empty()) co_return true;
    shared_->tls_errors.fetch_add(1);
    if (shared_->options.log_tls_errors) log::out_line("TLS error: " + failure);
    LOG_DEBUG("TLS handshake with {} failed: {}", peer_, failure);
    co_return false;
  }

  void start_writer() {
    writer_running_ = true;
    asio::co_spawn(stream_.get_executor(), writer(std::static_pointer_cast<Conn>(shared_from_this())),
                   asio::detached);
  }

  asio::awaitable<bool> read_exact(std::span<uint8_t> buf) override { return read(buf, std::nullopt); }
  asio::awaitable<bool> read_exact(std::span<uint8_t> buf, Clock::duration timeout) override {
    return read(buf, timeout);
  }

  asio::awaitable<size_t> read_some(std::span<uint8_t> buf) override {
    if (closing_ || reading_ || buf.empty()) co_return 0;  // one reader at a time
    auto self = shared_from_this();
    reading_ = true;
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf.data(), buf.size()), read_.token());
    reading_ = false;
    if (closing_) notify();  // the writer waits for the reader to leave before close_notify
    if (ec) LOG_TRACE("read from {} ended: {}", peer_, ec.message());
    co_return ec ? 0 : n;
  }

  asio::awaitable<bool> send(std::vector<uint8_t> data) override {
    auto self = shared_from_this();
    while (!closing_ && queue_.size() >= capacity()) co_await wait_changed();
    if (closing_) co_return false;
    queue_.push_back(std::move(data));
    notify();
    co_return true;
  }

  bool try_send(std::vector<uint8_t> data) override {
    if (closing_ || queue_.size() >= capacity()) return false;
    queue_.push_back(std::move(data));
    notify();
    return true;
  }

  void close() override {
    if (closing_) return;
    closing_ = true;
    read_.cancel_now();  // a pending read (or handshake) returns, so the handler can finish
    if (writer_running_) write_.arm(kFlushTimeout, shared_from_this());
    notify();
  }

  bool closing() const override { return closing_; }
  bool writer_started() const { return writer_running_; }

  // Closes the socket and leaves the live list. Idempotent.
  void finish() {
    if (finished_) return;
    finished_ = closing_ = true;
    asio::error_code ec;
    stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
    stream_.lowest_layer().close(ec);
    read_.disarm();
    write_.disarm();
    queue_.clear();
    notify();  // senders waiting for room see closing_
    if (!registered_) return;
    std::lock_guard lock(shared_->live_mutex);
    shared_->live.erase(live_it_);
    registered_ = false;
    shared_->live_count.fetch_sub(1);
    counters_->active.fetch_sub(1);
    counters_->closed.fetch_add(1);
  }

 private:
  size_t capacity() const { return std::max<size_t>(1, shared_->options.out_queue_capacity); }

  // changed_ is a condition variable: it never expires, cancel() wakes every waiter to re-check its condition.
  void notify() { changed_.cancel(); }
  asio::awaitable<void> wait_changed() { co_await changed_.async_wait(use_nothrow); }

  asio::awaitable<bool> read(std::span<uint8_t> buf, std::optional<Clock::duration> timeout) {
    if (closing_ || reading_) co_return false;  // one reader at a time
    auto self = shared_from_this();
    reading_ = true;
    if (timeout) read_.arm(*timeout, self);
    auto [ec, n] = co_await asio::async_read(stream_, asio::buffer(buf.data(), buf.size()), read_.token());
    if (timeout) read_.disarm();
    reading_ = false;
    if (closing_) notify();  // the writer waits for the reader to leave before close_notify
    if (ec) LOG_TRACE("read from {} ended: {}", peer_, ec.message());
    co_return !ec;
  }

  // Drains the queue; once closing and drained (or failed): TLS close_notify, socket close.
  static asio::awaitable<void> writer(std::shared_ptr<Conn> self) {
    bool ok = true;
    try {
      for (;;) {
        if (self->queue_.empty()) {
          if (self->closing_) break;
          co_await self->wait_changed();
          continue;
        }
        std::vector<uint8_t> data = std::move(self->queue_.front());
        self->queue_.pop_front();
        self->notify();  // room for a waiting send()
        auto [ec, n] = co_await asio::async_write(self->stream_, asio::buffer(data), self->write_.token());
        if (ec) {
          LOG_DEBUG("write to {} failed: {}", self->peer_, ec.message());
          ok = false;
          break;
        }
      }
      self->close();  // a failed write also ends the handler's reads
      while (self->reading_) co_await self->wait_changed();
      if (ok) {
        self->write_.arm(kShutdownTimeout, self);
        auto [ec] = co_await self->stream_.async_shutdown(self->write_.token());
        if (ec) LOG_TRACE("TLS shutdown with {}: {}", self->peer_, ec.message());
      }
    } catch (const std::exception& e) {
      LOG_DEBUG("connection {} writer: {}", self->peer_, e.what());
    }
    self->finish();
  }

  std::shared_ptr<Shared> shared_;
  PortCounters* counters_;  // owned by shared_
  TlsStream stream_;
  Guard read_;
  Guard write_;
  asio::steady_timer changed_;
  std::deque<std::vector<uint8_t>> queue_;
  std::list<std::weak_ptr<Conn>>::iterator live_it_;
  bool closing_ = false;
  bool reading_ = false;
  bool writer_running_ = false;
  bool finished_ = false;
  bool registered_ = false;
};

asio::awaitable<void> run_connection(std::shared_ptr<Shared> s, Socket socket, PortCounters* counters) {
  std::shared_ptr<Conn> conn;
  try {
    SslPtr ssl(SSL_new(s->ctx.get()), SSL_free);
    if (!ssl) throw tls::TlsError("SSL_new: " + tls::last_error());
    conn = std::make_shared<Conn>(s, std::move(socket), std::move(ssl), counters);
    conn->register_live();
    if (s->stopping) conn->close();  // stop() ran between accept and registration
    if (co_await conn->handshake()) {
      conn->start_writer();
      co_await s->handler(conn);
    }
  } catch (const std::exception& e) {
    LOG_DEBUG("connection {}: {}", conn ? conn->peer() : std::string("?"), e.what());
  }
  if (!conn) co_return;
  conn->close();  // the writer flushes and finishes
  if (!conn->writer_started()) conn->finish();
}

asio::awaitable<void> accept_loop(std::shared_ptr<Shared> s, std::shared_ptr<tcp::acceptor> acceptor,
                                  PortCounters* counters) {
  for (;;) {
    // Connections share the io_context's executor for now; one thread per core comes with the protocol issues and
    // will accept onto a strand per connection (async_accept(asio::make_strand(io))).
    auto [ec, socket] = co_await acceptor->async_accept(use_nothrow);
    if (s->stopping || !acceptor->is_open()) co_return;
    if (ec) {
      LOG_WARN("accept failed: {}", ec.message());
      asio::steady_timer backoff(acceptor->get_executor(), kAcceptBackoff);
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    // Blocks are written whole and answered at once: Nagle's delay would add tens of milliseconds per round trip.
    // Keep-alive as the reference's transport has it, so dead peers are found while idle.
    asio::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    socket.set_option(asio::socket_base::keep_alive(true), opt_ec);
    counters->accepted.fetch_add(1);
    asio::co_spawn(acceptor->get_executor(), run_connection(s, std::move(socket), counters), asio::detached);
  }
}

std::string self_binary() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("<binary>") : p.string();
}

BindError bind_error(uint16_t port, const asio::error_code& ec) {
  if (ec == asio::error::address_in_use)
    return BindError(port, fmt::format("port {} is already in use (another server running?): stop that process or "
                                       "set another port in [TRANSPORT] port",
                                       port));
  if (ec == asio::error::access_denied)
    return BindError(port, fmt::format("permission denied to bind port {}: ports below 1024 need root or the "
                                       "capability (`setcap cap_net_bind_service=+ep {}`); or use ports >= 1024 "
                                       "in [TRANSPORT] port",
                                       port, self_binary()));
  return BindError(port, fmt::format("cannot bind port {}: {}", port, ec.message()));
}

asio::error_code open_and_bind(tcp::acceptor& acceptor, const tcp::endpoint& ep) {
  asio::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (ec) return ec;
  ::fcntl(acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
  // Dual stack: IPv4 clients reach the IPv6 wildcard as v4-mapped addresses. Best effort, as is the default.
  if (ep.protocol() == tcp::v6()) acceptor.set_option(asio::ip::v6_only(false), ec);
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return ec;
  acceptor.bind(ep, ec);
  if (ec) acceptor.close();
  return ec;
}

std::shared_ptr<tcp::acceptor> bind_port(asio::io_context& io, uint16_t port, bool ipv6) {
  auto acceptor = std::make_shared<tcp::acceptor>(io);
  asio::error_code ec;
  tcp::endpoint ep;
  if (ipv6) {
    ep = tcp::endpoint(tcp::v6(), port);
    ec = open_and_bind(*acceptor, ep);
    // A host without IPv6 support: the reference then picks the IPv4 wildcard.
    ipv6 = !(ec == asio::error::address_family_not_supported || ec == std::errc::address_not_available);
  }
  if (!ipv6) {
    ep = tcp::endpoint(tcp::v4(), port);
    ec = open_and_bind(*acceptor, ep);
  }
  // The reference's wording, logged once the port listens (so a client reacting to the line can connect), with the
  // actual port (port 0 binds an ephemeral one).
  if (!ec) ep = acceptor->local_endpoint(ec);
  if (!ec) acceptor->listen(kBacklog, ec);
  LOG_NOTE("binding to {}", endpoint_text(ep));
  if (ec) throw bind_error(port, ec);
  return acceptor;
}

void stop_on_io(const std::shared_ptr<Shared>& s) {
  if (s->stopping) return;
  s->stopping = true;
  asio::error_code ec;
  for (auto& a : s->acceptors) a->close(ec);
  std::vector<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard lock(s->live_mutex);
    for (auto& w : s->live)
      if (auto c = w.lock()) conns.push_back(std::move(c));
  }
  for (auto& c : conns) c->close();
}

}  // namespace

struct TlsServer::Impl {
  std::shared_ptr<Shared> shared;
  bool started = false;
};

TlsServer::TlsServer(asio::io_context& io, tls::CtxPtr ctx, ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->shared = std::make_shared<Shared>(io, std::move(ctx), std::move(options), std::move(handler));
}

TlsServer::~TlsServer() {
  // Pending coroutines keep the shared state; closing the acceptors lets io_context::run() return.
  if (impl_->started) stop();
}

void TlsServer::listen() {
  Shared& s = *impl_->shared;
  for (uint16_t port : s.options.ports) {
    s.acceptors.push_back(bind_port(s.io, port, s.options.ipv6));
    asio::error_code ec;
    const auto ep = s.acceptors.back()->local_endpoint(ec);
    s.port_counters.emplace_back().port = ec ? port : ep.port();
  }
}

void TlsServer::start() {
  Shared& s = *impl_->shared;
  if (impl_->started) return;
  if (s.acceptors.empty()) listen();
  impl_->started = true;
  for (size_t i = 0; i < s.acceptors.size(); ++i)
    asio::co_spawn(s.io, accept_loop(impl_->shared, s.acceptors[i], &s.port_counters[i]), asio::detached);
}

void TlsServer::stop() {
  // Runs on the io_context's thread (inline when already there), so it may be called from any thread.
  asio::dispatch(impl_->shared->io, [s = impl_->shared] { stop_on_io(s); });
}

size_t TlsServer::connection_count() const { return impl_->shared->live_count.load(); }

size_t TlsServer::tls_error_count() const { return impl_->shared->tls_errors.load(); }

std::vector<SocketCounts> TlsServer::socket_counts() const {
  std::vector<SocketCounts> out;
  for (const PortCounters& c : impl_->shared->port_counters) {
    SocketCounts r;
    r.port = c.port;
    r.accepted = c.accepted.load();
    r.closed = c.closed.load();
    r.active = c.active.load();
    // A connection accepted but never registered nor closed (the reference's "leaked" sockets).
    r.leaked = std::max<int64_t>(0, static_cast<int64_t>(r.accepted - r.closed - r.active));
    out.push_back(r);
  }
  return out;
}

std::vector<uint16_t> TlsServer::bound_ports() const {
  std::vector<uint16_t> ports;
  for (auto& a : impl_->shared->acceptors) {
    asio::error_code ec;
    auto ep = a->local_endpoint(ec);
    ports.push_back(ec ? 0 : ep.port());
  }
  return ports;
}

namespace {

std::weak_ptr<asio::signal_set> g_shutdown_signals;

extern "C" void exit_at_once(int sig) { _exit(128 + sig); }

}  // namespace

void on_shutdown_signal(asio::io_context& io, std::function<void()> on_signal) {
  auto signals = std::make_shared<asio::signal_set>(io, SIGINT, SIGTERM);
  g_shutdown_signals = signals;
  signals->async_wait([signals, on_signal = std::move(on_signal)](const asio::error_code& ec, int sig) {
    if (ec) return;  // cancel_shutdown_signal()
    LOG_NOTE("Received {}, stopping server...", sig == SIGINT ? "SIGINT" : "SIGTERM");
    // A second signal while stopping ends the process at once (state may be lost), as in the reference. The set is
    // cleared first (Asio then restores the default action), so it does not keep io_context::run() busy.
    asio::error_code ignored;
    signals->clear(ignored);
    struct sigaction sa {};
    sa.sa_handler = exit_at_once;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    on_signal();
  });
}

void cancel_shutdown_signal() {
  if (auto s = g_shutdown_signals.lock()) {
    asio::error_code ignored;
    s->cancel(ignored);
  }
}

}  // namespace sr::net
