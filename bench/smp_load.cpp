// smp-load: drives an SMP relay with real clients (TLS, v18 block encryption, signed commands) and prints
// throughput, latency percentiles and the server's memory. See bench/README.md.
//
// Modes:
//   messages (default)  per queue: recipient subscribed (NEW), sender secures it (SKEY), then a closed loop of
//                       SEND -> MSG (recipient) -> ACK; latency = SEND written .. MSG received.
//   --proxied           the same loops with every sender command (SKEY, SEND) routed through the server as a
//                       proxy (PRXY once per sender connection, then PFWD) to a destination relay (--dest, by
//                       default the server itself), where the recipients are.
//   --ping-only         PING -> PONG round trips (one full block each way), for transport comparisons.
//   --nats URL          the same closed loops as --ping-only, as NATS request/reply (libnats, TLS) through a
//                       responder connection in this process; built only when libnats is found.
//   --ceiling           no server: this core's Ed25519 verify rate and X25519 authenticator rate, and the
//                       delivered-message ceiling they set (2 verifications per SEND -> MSG -> ACK).
//   --idle N            N idle connections (handshake only): the server's RSS growth per connection.
//   --subs M            M queues created (NEW, not subscribed) then subscribed (SUB), batched over -c
//                       connections: the server's RSS growth per stored queue and per subscription.
// A new mode is a function Setup + Worker pair (see struct Mode) run by the same driver.
#include "smp/client.hpp"
#include "bench_options.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <cxxopts.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <sstream>
#include <thread>

#include <unistd.h>

#include <sodium.h>

#ifdef SR_BENCH_NATS
#include <nats/nats.h>
#endif

namespace {

using namespace sr;
using namespace sr::smp;
using Ms = std::chrono::duration<double, std::milli>;

struct Config {
  std::string host = "127.0.0.1";
  uint16_t port = 5223;
  Bytes key_hash;
  int connections = 1;
  int queues = 1;
  int64_t messages = 1000;  // per queue; ignored with duration
  double duration = 0;      // seconds; 0: use messages
  crypto::KeyAlg auth = crypto::KeyAlg::Ed25519;
  size_t body_size = 256;
  int64_t rss_pid = 0;
  int concurrency = 64;  // --idle: handshakes in flight
  int batch = 128;       // --subs: commands per request_batch
  std::string nats_url;
  // --proxied: senders use `host:port` as the proxy; recipients connect to the destination.
  bool proxied = false;
  std::string dest_host;
  uint16_t dest_port = 0;
  Bytes dest_key_hash;
  std::optional<std::string> proxy_auth;  // PRXY basic auth (the proxy's create_password)
  int64_t dest_pid = 0;                   // the destination's pid when it is another process
};

// VmRSS in KiB, or -1.
int64_t vm_rss_kib(int64_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

// CPU seconds (user + system) the process has used so far, or -1.
double cpu_seconds(int64_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  std::getline(in, stat);
  const auto close = stat.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> f; ++i)
    if (i == 14 || i == 15) ticks += std::stod(f);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::optional<std::string> vm_rss(int64_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) {
      auto v = line.substr(6);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return std::nullopt;
}

// Latency samples and counters shared by all workers (one io thread, no locking).
struct Stats {
  std::vector<double> latency_ms;
  int64_t ops = 0;
  int64_t errors = 0;
  std::string first_error;
  void error(const std::string& what) {
    if (errors++ == 0) first_error = what;
  }
  double percentile(double p) {
    if (latency_ms.empty()) return 0;
    const size_t i = std::min(latency_ms.size() - 1, static_cast<size_t>(p * static_cast<double>(latency_ms.size())));
    std::nth_element(latency_ms.begin(), latency_ms.begin() + static_cast<std::ptrdiff_t>(i), latency_ms.end());
    return latency_ms[i];
  }
};

// Events (MSG) of one recipient connection routed to the waiting queue worker by recipient id.
struct Mailbox {
  std::deque<resp::MSG> msgs;
  asio::steady_timer* waiter = nullptr;
  void push(resp::MSG m) {
    msgs.push_back(std::move(m));
    if (waiter) waiter->cancel();
  }
  asio::awaitable<std::optional<resp::MSG>> pop(Clock::duration timeout) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer t(ex, Clock::now() + timeout);
    while (msgs.empty()) {
      if (Clock::now() >= t.expiry()) co_return std::nullopt;
      waiter = &t;
      co_await t.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      waiter = nullptr;
    }
    auto m = std::move(msgs.front());
    msgs.pop_front();
    co_return m;
  }
};

struct Queue {
  QueueCreds creds;
  AuthKeyPair sender;
  Mailbox mailbox;
};

#ifdef SR_BENCH_NATS
// libnats delivers on its own threads: a reply is posted to the io thread, which wakes the waiting loop.
struct NatsSlot {
  int64_t arrived = 0;
  size_t last_len = 0;
  asio::steady_timer* waiter = nullptr;
};
struct NatsPair {
  asio::io_context* io = nullptr;
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  std::string prefix;  // reply subjects: prefix + loop index
  std::vector<NatsSlot> slots;
  ~NatsPair() {
    if (sub) natsSubscription_Destroy(sub);
    if (nc) natsConnection_Destroy(nc);
  }
};
#endif

// One connection pair: the recipient's connection and the senders' connection, with their queues.
struct Pair {
  std::unique_ptr<SmpClient> rcv;
  std::unique_ptr<SmpClient> snd;
  std::vector<std::unique_ptr<Queue>> queues;
  std::map<Bytes, Queue*> by_rcv_id;
  std::optional<ProxiedRelay> relay;  // --proxied: the destination's session through the sender's server
  bool stop = false;
#ifdef SR_BENCH_NATS
  std::unique_ptr<NatsPair> nats;
#endif
};

struct Mode {
  std::function<asio::awaitable<void>(const Config&, Pair&)> setup;
  std::function<asio::awaitable<void>(const Config&, Pair&, size_t queue, Stats&, Clock::time_point end)> worker;
};

ClientAuth signed_by(const crypto::PrivateKey& k) {
  ClientAuth a;
  a.key = k;
  return a;
}

template <class T>
T expect(Response r, const char* what) {
  if (auto* v = std::get_if<T>(&r)) return std::move(*v);
  throw ClientError(fmt::format("{}: unexpected {}", what, describe(r)));
}

asio::awaitable<void> connect_pair(const Config& cfg, Pair& p, bool both) {
  auto ex = co_await asio::this_coro::executor;
  const ClientOptions options;  // not a default argument: GCC 12 miscompiles those in co_await expressions
  p.rcv = std::make_unique<SmpClient>(ex);
  if (cfg.proxied)
    co_await p.rcv->connect(cfg.dest_host, cfg.dest_port, cfg.dest_key_hash, options);
  else
    co_await p.rcv->connect(cfg.host, cfg.port, cfg.key_hash, options);
  if (both) {
    p.snd = std::make_unique<SmpClient>(ex);
    co_await p.snd->connect(cfg.host, cfg.port, cfg.key_hash, options);
  }
}

// Routes MSG events of the recipient connection until the pair stops.
asio::awaitable<void> route_events(Pair& p, Stats& stats) {
  while (!p.stop) {
    std::optional<Received> ev;
    try {
      ev = co_await p.rcv->next_event(std::chrono::milliseconds(200));
    } catch (const ClientError& e) {
      if (!p.stop) stats.error(std::string("recipient connection: ") + e.what());
      co_return;
    }
    if (!ev) continue;
    auto it = p.by_rcv_id.find(ev->entity_id);
    auto* msg = ev->response ? std::get_if<resp::MSG>(&*ev->response) : nullptr;
    if (it == p.by_rcv_id.end() || msg == nullptr) {
      stats.error("unexpected event " + (ev->response ? describe(*ev->response) : std::string("(unparsable)")));
      continue;
    }
    it->second->mailbox.push(std::move(*msg));
  }
}

// PRXY on the sender's connection, PKEY checked against the destination's key hash as an app checks it.
asio::awaitable<void> connect_relay(const Config& cfg, Pair& p) {
  cmd::SMPServer dest{{cfg.dest_host}, std::to_string(cfg.dest_port), cfg.dest_key_hash};
  std::optional<std::string> basic_auth = cfg.proxy_auth;
  std::optional<Clock::duration> timeout;
  Response r = co_await p.snd->proxy_relay(std::move(dest), std::move(basic_auth), timeout);
  auto relay = proxied_relay(expect<resp::PKEY>(std::move(r), "PRXY"), cfg.dest_key_hash);
  if (!relay) throw ClientError("PRXY: PKEY does not check against the destination's key hash");
  p.relay = std::move(*relay);
}

// A sender command: on the sender's connection, or forwarded in PFWD (the inner reply is returned).
asio::awaitable<Response> sender_request(Pair& p, const Bytes& snd_id, Command c, ClientAuth auth) {
  std::optional<Clock::duration> timeout;
  if (p.relay) {
    Response r = co_await p.snd->proxied_request(*p.relay, snd_id, std::move(c), std::move(auth), timeout);
    co_return r;
  }
  Response r = co_await p.snd->request(snd_id, std::move(c), std::move(auth), timeout);
  co_return r;
}

Mode messages_mode(Stats& stats) {
  Mode m;
  m.setup = [&stats](const Config& cfg, Pair& p) -> asio::awaitable<void> {
    co_await connect_pair(cfg, p, true);
    if (cfg.proxied) co_await connect_relay(cfg, p);
    for (int i = 0; i < cfg.queues; ++i) {
      auto q = std::make_unique<Queue>();
      q->creds.rcv_auth = generate_auth_key(cfg.auth);
      q->creds.rcv_dh = generate_dh_key();
      // Named locals, no temporaries inside co_await expressions: GCC 12 destroys some of those twice.
      Command new_cmd = cmd::NEW{q->creds.rcv_auth.pub, q->creds.rcv_dh.pub, std::nullopt, true, QueueReqData{},
                                 std::nullopt};
      ClientAuth rcv_auth = signed_by(q->creds.rcv_auth.priv);
      Response r = co_await p.rcv->request(ByteView{}, std::move(new_cmd), std::move(rcv_auth));
      auto ids = expect<resp::IDS>(std::move(r), "NEW");
      q->creds.rcv_id = ids.rcv_id;
      q->creds.snd_id = ids.snd_id;
      q->creds.srv_dh_key = ids.srv_dh_key;
      auto secret = crypto::x25519_dh(x25519_private(q->creds.rcv_dh.priv), ids.srv_dh_key.raw);
      if (!secret) throw ClientError("NEW: bad server DH key");
      q->creds.rcv_dh_secret = *secret;
      q->sender = generate_auth_key(cfg.auth);
      Command skey = cmd::SKEY{q->sender.pub};
      ClientAuth snd_auth = signed_by(q->sender.priv);
      r = co_await sender_request(p, q->creds.snd_id, std::move(skey), std::move(snd_auth));
      expect<resp::OK>(std::move(r), "SKEY");
      p.by_rcv_id[q->creds.rcv_id] = q.get();
      p.queues.push_back(std::move(q));
    }
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, route_events(p, stats), asio::detached);
  };
  m.worker = [](const Config& cfg, Pair& p, size_t qi, Stats& st, Clock::time_point end) -> asio::awaitable<void> {
    Queue& q = *p.queues[qi];
    Bytes body(cfg.body_size, '#');
    for (int64_t k = 0; cfg.duration > 0 ? Clock::now() < end : k < cfg.messages; ++k) {
      Bytes seq;  // a sequence number up front makes every body distinct
      Encoder(seq).int64(k);
      std::copy(seq.begin(), seq.end(), body.begin());
      const auto t0 = Clock::now();
      Command send = cmd::SEND{false, body};
      ClientAuth snd_auth = signed_by(q.sender.priv);
      Response r = co_await sender_request(p, q.creds.snd_id, std::move(send), std::move(snd_auth));
      expect<resp::OK>(std::move(r), "SEND");
      auto msg = co_await q.mailbox.pop(std::chrono::seconds(10));
      if (!msg) throw ClientError("MSG not received within 10 s");
      st.latency_ms.push_back(Ms(Clock::now() - t0).count());
      auto plain = decrypt_msg(q.creds, *msg);
      if (!plain || plain->body != body) throw ClientError("MSG body does not decrypt to what was sent");
      Command ack = cmd::ACK{msg->msg_id};
      ClientAuth rcv_auth = signed_by(q.creds.rcv_auth.priv);
      r = co_await p.rcv->request(q.creds.rcv_id, std::move(ack), std::move(rcv_auth));
      expect<resp::OK>(std::move(r), "ACK");
      ++st.ops;
    }
  };
  return m;
}

Mode ping_mode() {
  Mode m;
  m.setup = [](const Config& cfg, Pair& p) -> asio::awaitable<void> { co_await connect_pair(cfg, p, false); };
  m.worker = [](const Config& cfg, Pair& p, size_t, Stats& st, Clock::time_point end) -> asio::awaitable<void> {
    for (int64_t k = 0; cfg.duration > 0 ? Clock::now() < end : k < cfg.messages; ++k) {
      const auto t0 = Clock::now();
      Command ping = cmd::PING{};
      ClientAuth none;
      Response r = co_await p.rcv->request(ByteView{}, std::move(ping), std::move(none));
      expect<resp::PONG>(std::move(r), "PING");
      st.latency_ms.push_back(Ms(Clock::now() - t0).count());
      ++st.ops;
    }
  };
  return m;
}

#ifdef SR_BENCH_NATS
constexpr const char* kNatsSubject = "bench.req";

void nats_check(natsStatus st, const char* what) {
  if (st != NATS_OK) throw std::runtime_error(fmt::format("{}: {}", what, natsStatus_GetText(st)));
}

// TLS without certificate checks: the throwaway certificate of run_smp.sh (SMP checks the key hash instead).
natsConnection* nats_connect(const std::string& url) {
  natsOptions* o = nullptr;
  nats_check(natsOptions_Create(&o), "natsOptions_Create");
  natsOptions_SetURL(o, url.c_str());
  natsOptions_SetSecure(o, true);
  natsOptions_SkipServerVerification(o, true);
  natsConnection* nc = nullptr;
  const natsStatus st = natsConnection_Connect(&nc, o);
  natsOptions_Destroy(o);
  nats_check(st, "natsConnection_Connect");
  return nc;
}

void nats_on_reply(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* np = static_cast<NatsPair*>(closure);
  const std::string subject = natsMsg_GetSubject(msg);
  const size_t len = static_cast<size_t>(natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
  const size_t slot = std::stoul(subject.substr(np->prefix.size()));
  asio::post(*np->io, [np, slot, len] {
    auto& s = np->slots.at(slot);
    ++s.arrived;
    s.last_len = len;
    if (s.waiter) s.waiter->cancel();
  });
}

// The responder: echoes every request to its reply subject.
void nats_on_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  if (const char* reply = natsMsg_GetReply(msg))
    natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
}

Mode nats_mode(asio::io_context& io) {
  Mode m;
  m.setup = [&io](const Config& cfg, Pair& p) -> asio::awaitable<void> {
    static int next_pair = 0;
    p.nats = std::make_unique<NatsPair>();
    auto& np = *p.nats;
    np.io = &io;
    np.prefix = fmt::format("bench.rep.{}.", next_pair++);
    np.slots.resize(static_cast<size_t>(cfg.queues));
    np.nc = nats_connect(cfg.nats_url);
    nats_check(natsConnection_Subscribe(&np.sub, np.nc, (np.prefix + "*").c_str(), nats_on_reply, &np),
               "subscribe replies");
    nats_check(natsConnection_Flush(np.nc), "flush");
    co_return;
  };
  m.worker = [](const Config& cfg, Pair& p, size_t qi, Stats& st, Clock::time_point end) -> asio::awaitable<void> {
    auto& np = *p.nats;
    auto& slot = np.slots[qi];
    const std::string reply = np.prefix + std::to_string(qi);
    const Bytes payload(cfg.body_size, '#');
    auto ex = co_await asio::this_coro::executor;
    for (int64_t k = 0; cfg.duration > 0 ? Clock::now() < end : k < cfg.messages; ++k) {
      const auto t0 = Clock::now();
      nats_check(natsConnection_PublishRequest(np.nc, kNatsSubject, reply.c_str(), payload.data(),
                                               static_cast<int>(payload.size())),
                 "publish");
      asio::steady_timer t(ex, t0 + std::chrono::seconds(10));
      while (slot.arrived <= k) {
        if (Clock::now() >= t.expiry()) throw std::runtime_error("NATS reply not received within 10 s");
        slot.waiter = &t;
        co_await t.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        slot.waiter = nullptr;
      }
      if (slot.last_len != payload.size()) throw std::runtime_error("NATS reply of the wrong size");
      st.latency_ms.push_back(Ms(Clock::now() - t0).count());
      ++st.ops;
    }
  };
  return m;
}
#endif

// Runs `spawn(i)` for i in [0, n) concurrently and drives io until all finished (SMP readers keep io busy, so
// io.run() would not return).
void run_all(asio::io_context& io, size_t n, const std::function<asio::awaitable<void>(size_t)>& spawn, Stats& stats) {
  size_t done = 0;
  for (size_t i = 0; i < n; ++i)
    asio::co_spawn(io, spawn(i), [&](std::exception_ptr e) {
      ++done;
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        stats.error(x.what());
      }
    });
  while (done < n) {
    if (io.stopped()) io.restart();  // ran out of work earlier (e.g. a setup without sockets)
    io.run_one();
  }
}

int run(const Config& cfg, bool ping) {
  asio::io_context io;
  Stats stats;
  const bool nats = !cfg.nats_url.empty();
  Mode mode = ping ? ping_mode() : messages_mode(stats);
#ifdef SR_BENCH_NATS
  std::unique_ptr<NatsPair> responder;
  if (nats) {
    mode = nats_mode(io);
    responder = std::make_unique<NatsPair>();
    responder->nc = nats_connect(cfg.nats_url);
    nats_check(natsConnection_Subscribe(&responder->sub, responder->nc, kNatsSubject, nats_on_request, nullptr),
               "subscribe requests");
    nats_check(natsConnection_Flush(responder->nc), "flush");
  }
#endif
  std::vector<Pair> pairs(static_cast<size_t>(cfg.connections));

  if (cfg.rss_pid) fmt::print("server VmRSS before: {}\n", vm_rss(cfg.rss_pid).value_or("?"));
  const auto s0 = Clock::now();
  run_all(io, pairs.size(), [&](size_t i) { return mode.setup(cfg, pairs[i]); }, stats);
  fmt::print("setup: {} connection(s){}, {} {} each, {:.0f} ms\n", pairs.size(),
             nats ? " + 1 responder" : ping ? "" : cfg.proxied ? " x2 (senders via the proxy)" : " x2", cfg.queues, ping || nats ? "loop(s)" : "queue(s)",
             Ms(Clock::now() - s0).count());
  if (stats.errors) {
    fmt::print(stderr, "setup failed ({} errors), first: {}\n", stats.errors, stats.first_error);
    return 1;
  }
  if (cfg.rss_pid) fmt::print("server VmRSS after setup: {}\n", vm_rss(cfg.rss_pid).value_or("?"));

  const size_t per = static_cast<size_t>(cfg.queues);
  const double server_cpu0 = cfg.rss_pid ? cpu_seconds(cfg.rss_pid) : 0, own_cpu0 = cpu_seconds(getpid());
  const double dest_cpu0 = cfg.dest_pid ? cpu_seconds(cfg.dest_pid) : 0;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg.duration));
  run_all(io, pairs.size() * per,
          [&](size_t i) { return mode.worker(cfg, pairs[i / per], i % per, stats, end); }, stats);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double own_cpu = (cpu_seconds(getpid()) - own_cpu0) / secs;
  if (cfg.rss_pid) {
    // Throughput per fully used server core: the honest figure when the generator, not the server, is the limit.
    const double server_cpu = (cpu_seconds(cfg.rss_pid) - server_cpu0) / secs;
    fmt::print("server CPU {:.0f}% of a core, generator CPU {:.0f}%; per server core: {:.0f} /s\n",
               100 * server_cpu, 100 * own_cpu, static_cast<double>(stats.ops) / secs / server_cpu);
    if (cfg.dest_pid) {
      // A separate destination: the relay work of a message is split over two processes.
      const double dest_cpu = (cpu_seconds(cfg.dest_pid) - dest_cpu0) / secs;
      fmt::print("destination CPU {:.0f}% of a core; per core of proxy + destination: {:.0f} /s\n", 100 * dest_cpu,
                 static_cast<double>(stats.ops) / secs / (server_cpu + dest_cpu));
    }
  } else {
    fmt::print("generator CPU {:.0f}%\n", 100 * own_cpu);
  }

  if (cfg.rss_pid) fmt::print("server VmRSS after: {}\n", vm_rss(cfg.rss_pid).value_or("?"));
  fmt::print("{}: {} in {:.2f} s = {:.0f} /s; latency ms p50 {:.3f} p99 {:.3f} max {:.3f}; errors {}\n",
             nats ? "NATS request/reply" : ping ? "PING/PONG" : cfg.proxied ? "SEND/MSG/ACK via proxy" : "SEND/MSG/ACK", stats.ops, secs, static_cast<double>(stats.ops) / secs,
             stats.percentile(0.50), stats.percentile(0.99), stats.percentile(1.0), stats.errors);
  if (stats.errors) fmt::print(stderr, "first error: {}\n", stats.first_error);

  for (auto& p : pairs) {
    p.stop = true;
    if (p.rcv) p.rcv->close();
    if (p.snd) p.snd->close();
  }
  io.run_for(std::chrono::seconds(2));
#ifdef SR_BENCH_NATS
  for (auto& p : pairs) p.nats.reset();
  responder.reset();
#endif
  return stats.errors ? 1 : 0;
}


double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Calls f() for about `secs` seconds of this thread's CPU time; returns calls per CPU second. CPU time, not wall
// time: on a shared machine other processes' load must not lower the ceiling.
template <class F>
double rate(double secs, F&& f) {
  int64_t n = 0;
  const double t0 = thread_cpu_seconds();
  double t = t0;
  do {
    for (int i = 0; i < 16; ++i) f();
    n += 16;
    t = thread_cpu_seconds();
  } while (t - t0 < secs);
  return static_cast<double>(n) / (t - t0);
}

// What the relay must verify per delivered message: SEND (signed over its whole transmission, the body included)
// and ACK. Measured on this core with the library calls the relay makes, per CPU second.
int run_ceiling(const Config& cfg) {
  if (sodium_init() < 0) return 2;
  const double secs = cfg.duration > 0 ? cfg.duration : 2.0;
  // authorized = sessionId corrId entityId command: ~100 bytes around the body.
  const size_t send_len = cfg.body_size + 110, ack_len = 110;
  const Bytes send_tx = crypto::random_bytes(send_len), ack_tx = crypto::random_bytes(ack_len),
              short_tx = crypto::random_bytes(128);
  uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  auto sig_of = [&](const Bytes& m) {
    Bytes sig(crypto_sign_BYTES);
    crypto_sign_detached(sig.data(), nullptr, m.data(), m.size(), sk);
    return sig;
  };
  const Bytes sig_send = sig_of(send_tx), sig_ack = sig_of(ack_tx), sig_short = sig_of(short_tx);
  int bad = 0;
  auto ed = [&](const Bytes& m, const Bytes& sig) {
    return rate(secs, [&] { bad += crypto_sign_verify_detached(sig.data(), m.data(), m.size(), pk) != 0; });
  };
  const double ed_short = ed(short_tx, sig_short), ed_send = ed(send_tx, sig_send), ed_ack = ed(ack_tx, sig_ack);

  // X25519 authenticators: the relay's verify_auth (a DH with the session key, SHA-512, crypto_box open).
  const auto session = crypto::x25519_generate();
  const auto queue_key = generate_auth_key(crypto::KeyAlg::X25519);
  const Bytes corr_id = crypto::random_bytes(24);
  DhCache* cache = nullptr;
  auto x = [&](const Bytes& m) {
    const auto auth = make_authenticator(x25519_private(queue_key.priv), session.pub, corr_id, m);
    if (!auth) throw std::runtime_error("make_authenticator failed");
    return rate(secs, [&] { bad += !verify_auth(queue_key.pub, *auth, m, corr_id, session.priv, cache); });
  };
  const double x_send = x(send_tx), x_ack = x(ack_tx);
  // The relay keeps each connection's DH results (DhCache), so after a queue's first command the check is
  // SHA-512 and a crypto_box open with the cached secret: that is its ceiling under steady load.
  DhCache dh_cache;
  cache = &dh_cache;
  const double xc_send = x(send_tx), xc_ack = x(ack_tx);
  // The rest of a delivered message's crypto at the relay, for the breakdown: 16 KB XSalsa20-Poly1305 (block
  // encryption and the MSG box use it).
  Bytes block(kBlockSize), out(kBlockSize + crypto_secretbox_MACBYTES);
  uint8_t key[crypto_secretbox_KEYBYTES], nonce[crypto_secretbox_NONCEBYTES];
  randombytes_buf(key, sizeof key);
  randombytes_buf(nonce, sizeof nonce);
  const double sbox =
      rate(secs, [&] { crypto_secretbox_easy(out.data(), block.data(), block.size(), nonce, key); });
  if (bad) {
    fmt::print(stderr, "ceiling: {} verifications failed\n", bad);
    return 1;
  }
  const double ceil_ed = 1.0 / (1.0 / ed_send + 1.0 / ed_ack), ceil_x = 1.0 / (1.0 / x_send + 1.0 / x_ack),
               ceil_xc = 1.0 / (1.0 / xc_send + 1.0 / xc_ack);
  fmt::print("ed25519 verify/s: {:.0f} (128 B), {:.0f} ({} B SEND), {:.0f} ({} B ACK)\n", ed_short, ed_send,
             send_len, ed_ack, ack_len);
  fmt::print("x25519 authenticator verify/s: {:.0f} ({} B SEND), {:.0f} ({} B ACK)\n", x_send, send_len, x_ack,
             ack_len);
  fmt::print("x25519 authenticator verify/s, cached DH: {:.0f} ({} B SEND), {:.0f} ({} B ACK)\n", xc_send, send_len,
             xc_ack, ack_len);
  fmt::print("xsalsa20poly1305 16 KB/s: {:.0f}\n", sbox);
  fmt::print("ceiling_half_verify_rate: {:.0f} msgs/s\n", ed_short / 2);
  fmt::print("ceiling_ed25519: {:.0f} msgs/s\n", ceil_ed);
  fmt::print("ceiling_x25519: {:.0f} msgs/s\n", ceil_x);
  fmt::print("ceiling_x25519_cached: {:.0f} msgs/s\n", ceil_xc);
  return 0;
}

// Opens `n` connections with cfg.concurrency handshakes in flight; they stay open while `pairs` lives.
void open_connections(asio::io_context& io, const Config& cfg, std::vector<Pair>& pairs, Stats& stats) {
  const size_t workers = std::min(pairs.size(), static_cast<size_t>(std::max(1, cfg.concurrency)));
  run_all(io, workers, [&](size_t w) -> asio::awaitable<void> {
    for (size_t i = w; i < pairs.size(); i += workers) co_await connect_pair(cfg, pairs[i], false);
  }, stats);
}

void print_growth(const char* what, int64_t before_kib, int64_t after_kib, size_t n) {
  const double per = static_cast<double>(after_kib - before_kib) * 1024.0 / static_cast<double>(n);
  fmt::print("{}: {} -> {} KiB over {} = {:.0f} B each\n", what, before_kib, after_kib, n, per);
}

// Waits so the server finishes the work it was given before RSS is read (its replies arrived already; this
// only lets the allocator settle).
void settle(asio::io_context& io) { io.run_for(std::chrono::seconds(2)); }

int run_idle(const Config& cfg, size_t n) {
  if (!cfg.rss_pid) throw std::runtime_error("--idle needs --rss-pid");
  asio::io_context io;
  Stats stats;
  std::vector<Pair> pairs(n);
  settle(io);
  const int64_t before = vm_rss_kib(cfg.rss_pid);
  const auto t0 = Clock::now();
  open_connections(io, cfg, pairs, stats);
  fmt::print("connected {} in {:.1f} s\n", n, std::chrono::duration<double>(Clock::now() - t0).count());
  settle(io);
  const int64_t after = vm_rss_kib(cfg.rss_pid);
  if (stats.errors) fmt::print(stderr, "{} errors, first: {}\n", stats.errors, stats.first_error);
  print_growth("idle_connection", before, after, n);
  for (auto& p : pairs) p.rcv->close();
  io.run_for(std::chrono::seconds(2));
  return stats.errors ? 1 : 0;
}

// Batched NEW (create only) then batched SUB. One recipient key for all queues keeps the generator's key
// generation out of the way; the relay stores and checks it per queue all the same.
int run_subs(const Config& cfg, size_t total) {
  if (!cfg.rss_pid) throw std::runtime_error("--subs needs --rss-pid");
  asio::io_context io;
  Stats stats;
  std::vector<Pair> pairs(static_cast<size_t>(cfg.connections));
  open_connections(io, cfg, pairs, stats);
  if (stats.errors) throw std::runtime_error("connect: " + stats.first_error);
  const auto rcv_auth = generate_auth_key(crypto::KeyAlg::Ed25519);
  const auto rcv_dh = generate_dh_key();
  std::vector<std::vector<Bytes>> rcv_ids(pairs.size());
  const size_t batch = static_cast<size_t>(std::max(1, cfg.batch));
  auto share = [&](size_t i) { return total / pairs.size() + (i < total % pairs.size() ? 1 : 0); };

  auto phase = [&](const char* name, bool create) {
    const auto t0 = Clock::now();
    run_all(io, pairs.size(), [&](size_t i) -> asio::awaitable<void> {
      auto& ids = rcv_ids[i];
      const size_t n = share(i);
      for (size_t done = 0; done < n;) {
        const size_t k = std::min(batch, n - done);
        std::vector<Request> reqs;
        reqs.reserve(k);
        for (size_t j = 0; j < k; ++j) {
          Request r;
          if (create) {
            r.command = cmd::NEW{rcv_auth.pub, rcv_dh.pub, std::nullopt, false, QueueReqData{}, std::nullopt};
          } else {
            r.entity_id = ids[done + j];
            r.command = cmd::SUB{};
          }
          r.auth = signed_by(rcv_auth.priv);
          reqs.push_back(std::move(r));
        }
        auto replies = co_await pairs[i].rcv->request_batch(std::move(reqs));
        for (auto& r : replies) {
          if (create) {
            ids.push_back(expect<resp::IDS>(std::move(r), "NEW").rcv_id);
          } else if (std::holds_alternative<resp::ERR>(r)) {
            throw ClientError("SUB: " + describe(r));
          }
        }
        done += k;
      }
    }, stats);
    fmt::print("{}: {} in {:.1f} s\n", name, total, std::chrono::duration<double>(Clock::now() - t0).count());
    if (stats.errors) throw std::runtime_error(std::string(name) + ": " + stats.first_error);
  };

  settle(io);
  const int64_t r0 = vm_rss_kib(cfg.rss_pid);
  phase("NEW", true);
  settle(io);
  const int64_t r1 = vm_rss_kib(cfg.rss_pid);
  phase("SUB", false);
  settle(io);
  const int64_t r2 = vm_rss_kib(cfg.rss_pid);
  print_growth("queue_record", r0, r1, total);
  print_growth("subscription", r1, r2, total);
  for (auto& p : pairs) p.rcv->close();
  io.run_for(std::chrono::seconds(2));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("smp-load", "SMP relay load generator");
  sr::bench::add_server_options(opts, 5223);
  opts.add_options()
    ("c,connections", "connection pairs (recipient + sender)", cxxopts::value<int>()->default_value("1"))
    ("q,queues", "queues per connection", cxxopts::value<int>()->default_value("1"))
    ("n,messages", "messages (or pings) per queue", cxxopts::value<int64_t>()->default_value("1000"))
    ("d,duration", "run for this many seconds instead of -n", cxxopts::value<double>()->default_value("0"))
    ("auth", "queue auth keys: ed25519 | x25519", cxxopts::value<std::string>()->default_value("ed25519"))
    ("size", "message body bytes (8..16048)", cxxopts::value<size_t>()->default_value("256"))
    ("ping-only", "PING/PONG round trips only")
    ("nats", "NATS request/reply against this URL (tls://host:port) instead of SMP", cxxopts::value<std::string>())
    ("ceiling", "measure this core's Ed25519 / X25519 authenticator verify rates (no server)")
    ("idle", "open this many idle connections; print the server's RSS growth per connection", cxxopts::value<size_t>())
    ("subs", "create this many queues, then subscribe them; print RSS growth per queue", cxxopts::value<size_t>())
    ("concurrency", "--idle/--subs: handshakes in flight", cxxopts::value<int>()->default_value("64"))
    ("batch", "--subs: commands per batch", cxxopts::value<int>()->default_value("128"))
    ("rss-pid", "print VmRSS of this process (the server) before and after", cxxopts::value<int64_t>())
    ("proxied", "messages mode with every sender command forwarded through the server (PRXY, PFWD)")
    ("dest", "--proxied: destination relay host:port (default: the server itself)", cxxopts::value<std::string>())
    ("dest-fingerprint", "--proxied: the destination's key hash (base64url)", cxxopts::value<std::string>())
    ("dest-cfg", "--proxied: the destination's config dir: read its fingerprint file", cxxopts::value<std::string>())
    ("proxy-auth", "--proxied: PRXY basic auth (the proxy's create_password)", cxxopts::value<std::string>())
    ("dest-pid", "--proxied: the destination's pid, for its CPU use", cxxopts::value<int64_t>())
    ("h,help", "this help");
  try {
    auto r = opts.parse(argc, argv);
    if (r.count("help")) {
      std::cout << opts.help() << "\n";
      return 0;
    }
    Config cfg;
    cfg.body_size = std::clamp<size_t>(r["size"].as<size_t>(), 8, max_message_length(kMaxVersion));
    cfg.duration = r["duration"].as<double>();
    if (r.count("ceiling")) return run_ceiling(cfg);
    if (r.count("nats")) {
#ifdef SR_BENCH_NATS
      cfg.nats_url = r["nats"].as<std::string>();
      cfg.body_size = r["size"].as<size_t>();
      cfg.connections = std::max(1, r["connections"].as<int>());
      cfg.queues = std::max(1, r["queues"].as<int>());
      cfg.messages = r["messages"].as<int64_t>();
      if (r.count("rss-pid")) cfg.rss_pid = r["rss-pid"].as<int64_t>();
      return run(cfg, true);
#else
      std::cerr << "smp-load: built without libnats\n";
      return 2;
#endif
    }
    cfg.host = r["host"].as<std::string>();
    cfg.port = r["port"].as<uint16_t>();
    auto kh = sr::bench::server_key_hash(r);
    if (!kh) {
      std::cerr << "smp-load: give --fingerprint <base64url key hash> or --cfg <server config dir>\n";
      return 2;
    }
    cfg.key_hash = *kh;
    cfg.proxied = r.count("proxied") > 0;
    cfg.dest_host = cfg.host;
    cfg.dest_port = cfg.port;
    cfg.dest_key_hash = cfg.key_hash;
    if (r.count("dest")) {
      const auto d = r["dest"].as<std::string>();
      const auto colon = d.rfind(':');
      if (colon == std::string::npos) {
        std::cerr << "smp-load: --dest is host:port\n";
        return 2;
      }
      cfg.dest_host = d.substr(0, colon);
      cfg.dest_port = static_cast<uint16_t>(std::stoul(d.substr(colon + 1)));
      auto dkh = sr::bench::server_key_hash(r, "dest-fingerprint", "dest-cfg");
      if (!dkh) {
        std::cerr << "smp-load: --dest needs --dest-fingerprint or --dest-cfg\n";
        return 2;
      }
      cfg.dest_key_hash = *dkh;
    }
    if (r.count("proxy-auth")) cfg.proxy_auth = r["proxy-auth"].as<std::string>();
    if (r.count("dest-pid")) cfg.dest_pid = r["dest-pid"].as<int64_t>();
    cfg.connections = std::max(1, r["connections"].as<int>());
    cfg.queues = std::max(1, r["queues"].as<int>());
    cfg.messages = r["messages"].as<int64_t>();
    cfg.duration = r["duration"].as<double>();
    cfg.body_size = std::clamp<size_t>(r["size"].as<size_t>(), 8, max_message_length(kMaxVersion));
    const auto auth = r["auth"].as<std::string>();
    if (auth == "x25519") {
      cfg.auth = crypto::KeyAlg::X25519;
    } else if (auth != "ed25519") {
      std::cerr << "smp-load: --auth is ed25519 or x25519\n";
      return 2;
    }
    if (r.count("rss-pid")) cfg.rss_pid = r["rss-pid"].as<int64_t>();
    cfg.concurrency = r["concurrency"].as<int>();
    cfg.batch = r["batch"].as<int>();
    if (r.count("idle")) return run_idle(cfg, r["idle"].as<size_t>());
    if (r.count("subs")) return run_subs(cfg, r["subs"].as<size_t>());
    return run(cfg, r.count("ping-only") > 0);
  } catch (const std::exception& e) {
    std::cerr << "smp-load: " << e.what() << "\n";
    return 2;
  }
}
