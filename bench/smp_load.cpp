// smp-load: drives an SMP relay with real clients (TLS, v18 block encryption, signed commands) and prints
// throughput, latency percentiles and the server's memory. See bench/README.md.
//
// Modes:
//   messages (default)  per queue: recipient subscribed (NEW), sender secures it (SKEY), then a closed loop of
//                       SEND -> MSG (recipient) -> ACK; latency = SEND written .. MSG received.
//   --ping-only         PING -> PONG round trips (one full block each way), for transport comparisons.
// A new mode is a function Setup + Worker pair (see struct Mode) run by the same driver.
#include "smp/client.hpp"

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
};

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

// One connection pair: the recipient's connection and the senders' connection, with their queues.
struct Pair {
  std::unique_ptr<SmpClient> rcv;
  std::unique_ptr<SmpClient> snd;
  std::vector<std::unique_ptr<Queue>> queues;
  std::map<Bytes, Queue*> by_rcv_id;
  bool stop = false;
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

Mode messages_mode(Stats& stats) {
  Mode m;
  m.setup = [&stats](const Config& cfg, Pair& p) -> asio::awaitable<void> {
    co_await connect_pair(cfg, p, true);
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
      r = co_await p.snd->request(q->creds.snd_id, std::move(skey), std::move(snd_auth));
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
      Response r = co_await p.snd->request(q.creds.snd_id, std::move(send), std::move(snd_auth));
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

// Runs `spawn(i)` for i in [0, n) concurrently and drives io until all finished (readers keep io busy, so
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
  while (done < n) io.run_one();
}

int run(const Config& cfg, bool ping) {
  asio::io_context io;
  Stats stats;
  Mode mode = ping ? ping_mode() : messages_mode(stats);
  std::vector<Pair> pairs(static_cast<size_t>(cfg.connections));

  if (cfg.rss_pid) fmt::print("server VmRSS before: {}\n", vm_rss(cfg.rss_pid).value_or("?"));
  const auto s0 = Clock::now();
  run_all(io, pairs.size(), [&](size_t i) { return mode.setup(cfg, pairs[i]); }, stats);
  fmt::print("setup: {} connection(s){}, {} queue(s) each, {:.0f} ms\n", pairs.size(), ping ? "" : " x2",
             cfg.queues, Ms(Clock::now() - s0).count());
  if (stats.errors) {
    fmt::print(stderr, "setup failed ({} errors), first: {}\n", stats.errors, stats.first_error);
    return 1;
  }
  if (cfg.rss_pid) fmt::print("server VmRSS after setup: {}\n", vm_rss(cfg.rss_pid).value_or("?"));

  const size_t per = static_cast<size_t>(cfg.queues);
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg.duration));
  run_all(io, pairs.size() * per,
          [&](size_t i) { return mode.worker(cfg, pairs[i / per], i % per, stats, end); }, stats);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  if (cfg.rss_pid) fmt::print("server VmRSS after: {}\n", vm_rss(cfg.rss_pid).value_or("?"));
  fmt::print("{}: {} in {:.2f} s = {:.0f} /s; latency ms p50 {:.3f} p99 {:.3f} max {:.3f}; errors {}\n",
             ping ? "PING/PONG" : "SEND/MSG/ACK", stats.ops, secs, static_cast<double>(stats.ops) / secs,
             stats.percentile(0.50), stats.percentile(0.99), stats.percentile(1.0), stats.errors);
  if (stats.errors) fmt::print(stderr, "first error: {}\n", stats.first_error);

  for (auto& p : pairs) {
    p.stop = true;
    if (p.rcv) p.rcv->close();
    if (p.snd) p.snd->close();
  }
  io.run_for(std::chrono::seconds(2));
  return stats.errors ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("smp-load", "SMP relay load generator");
  opts.add_options()
    ("host", "server host", cxxopts::value<std::string>()->default_value("127.0.0.1"))
    ("port", "server port", cxxopts::value<uint16_t>()->default_value("5223"))
    ("fingerprint", "server key hash (base64url, the fingerprint file's content)", cxxopts::value<std::string>())
    ("cfg", "server config dir: read its fingerprint file", cxxopts::value<std::string>())
    ("c,connections", "connection pairs (recipient + sender)", cxxopts::value<int>()->default_value("1"))
    ("q,queues", "queues per connection", cxxopts::value<int>()->default_value("1"))
    ("n,messages", "messages (or pings) per queue", cxxopts::value<int64_t>()->default_value("1000"))
    ("d,duration", "run for this many seconds instead of -n", cxxopts::value<double>()->default_value("0"))
    ("auth", "queue auth keys: ed25519 | x25519", cxxopts::value<std::string>()->default_value("ed25519"))
    ("size", "message body bytes (8..16048)", cxxopts::value<size_t>()->default_value("256"))
    ("ping-only", "PING/PONG round trips only")
    ("rss-pid", "print VmRSS of this process (the server) before and after", cxxopts::value<int64_t>())
    ("h,help", "this help");
  try {
    auto r = opts.parse(argc, argv);
    if (r.count("help")) {
      std::cout << opts.help() << "\n";
      return 0;
    }
    Config cfg;
    cfg.host = r["host"].as<std::string>();
    cfg.port = r["port"].as<uint16_t>();
    std::string fp;
    if (r.count("fingerprint")) {
      fp = r["fingerprint"].as<std::string>();
    } else if (r.count("cfg")) {
      std::ifstream in(r["cfg"].as<std::string>() + "/fingerprint");
      std::getline(in, fp);
    }
    fp.erase(fp.find_last_not_of(" \r\n\t") + 1);
    auto kh = base64url_decode(fp);
    if (!kh || kh->size() != 32) {
      std::cerr << "smp-load: give --fingerprint <base64url key hash> or --cfg <server config dir>\n";
      return 2;
    }
    cfg.key_hash = *kh;
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
    return run(cfg, r.count("ping-only") > 0);
  } catch (const std::exception& e) {
    std::cerr << "smp-load: " << e.what() << "\n";
    return 2;
  }
}
