// xftp-load: drives an XFTP relay with real clients (TLS 1.3, HTTP/2, XFTP v3, src/xftp/client.hpp) and prints
// upload and download throughput of 4 MB chunks, per-client latency and the server's CPU and memory. Driven by
// bench/run_xftp.sh; the figures and how they are taken: BENCHMARKS.md "XFTP".
//
// Modes:
//   throughput (default)  -c clients (one connection each, one transfer at a time), all on one io thread:
//                         upload phase: closed loops of FNEW + FPUT for -d seconds (or -n chunks each), then
//                         download phase: closed loops of FGET of chunks made before the phase (the phase's own
//                         timer starts after them), so the two are measured apart.
//                         --get decrypt: the client decrypts (§9) and checks tag and digest, as an app does;
//                         --get raw: the FGET response is received and counted only, as h2load treats nginx's.
//   --transfers K         K connections, then K uploads at once, then K downloads at once, sampling the server's
//                         VmRSS every 10 ms: its peak under K parallel transfers.
//   --ceiling             no server: this core's rates for the server's per-byte work (§9 ChunkCipher on 64 KB
//                         slices, SHA-256 of uploads).
#include "xftp/client.hpp"
#include "bench_options.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <cxxopts.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>

#include <unistd.h>

namespace {

using namespace sr;
using namespace sr::xftp;
using Ms = std::chrono::duration<double, std::milli>;
using Secs = std::chrono::duration<double>;
constexpr double kMiB = 1024.0 * 1024.0;

struct Config {
  std::string host = "127.0.0.1";
  uint16_t port = 443;
  Bytes key_hash;
  int clients = 1;
  double duration = 10;   // seconds per phase; 0: use count
  int64_t count = 0;      // chunks per client per phase when duration is 0
  uint32_t size = 4194304;
  bool upload = true;
  bool download = true;
  bool raw_get = false;
  std::optional<std::string> create_auth;  // FNEW basic auth (the server's create_password)
  int64_t pid = 0;                         // the server, for CPU and memory
};

// /proc/<pid>/status field in KiB (VmRSS, VmHWM), or -1.
int64_t status_kib(int64_t pid, const std::string& field) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  return -1;
}

// CPU seconds (utime + stime) the process has used so far, or -1.
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
    if (i == 14 || i == 15) ticks += std::stod(f);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

crypto::PrivateKey new_key() { return crypto::PrivateKey{crypto::KeyAlg::Ed25519, crypto::random_bytes(32)}; }

// One chunk on the server: its keys and ids.
struct Chunk {
  crypto::PrivateKey snd = new_key();
  crypto::PrivateKey rcv = new_key();
  Bytes sender_id;
  Bytes recipient_id;
};

struct Client {
  std::unique_ptr<XftpClient> x;
  std::vector<Chunk> chunks;  // uploaded, not yet deleted
  std::vector<double> latency_ms;
  uint64_t bytes = 0;
};

// What all clients share (one io thread, no locking).
struct Run {
  const Config& cfg;
  Bytes data;    // every chunk's content
  Bytes digest;  // its SHA-256
  int64_t errors = 0;
  std::string first_error;
  void error(const std::string& what) {
    if (errors++ == 0) first_error = what;
  }
};

template <class T>
const T& ok_or_throw(const Result<T>& r, const char* what) {
  if (!r.ok()) throw std::runtime_error(std::string(what) + ": ERR " + error_text(r.error()));
  return r.value();
}

// FNEW + FPUT of one chunk.
asio::awaitable<void> upload(Run& run, Client& c) {
  Chunk f;
  std::vector<AuthKey> rcv_keys;
  rcv_keys.push_back(crypto::public_key(f.rcv));
  FileInfo info{crypto::public_key(f.snd), run.cfg.size, run.digest};
  const auto ids = co_await c.x->fnew(std::move(info), std::move(rcv_keys), run.cfg.create_auth, f.snd);
  f.sender_id = ok_or_throw(ids, "FNEW").sender_id;
  f.recipient_id = ids.value().recipient_ids.at(0);
  const auto put = co_await c.x->fput(f.sender_id, f.snd, ChunkSource::of(run.data));
  ok_or_throw(put, "FPUT");
  c.chunks.push_back(std::move(f));
}

// FGET of one chunk: decrypted and checked as a client does, or (raw) received and counted only.
asio::awaitable<void> download(Run& run, Client& c, const Chunk& f) {
  if (!run.cfg.raw_get) {
    const auto got = co_await c.x->fget(f.recipient_id, f.rcv, run.cfg.size, run.digest, ChunkReceiver::Sink());
    if (ok_or_throw(got, "FGET").size != run.cfg.size) throw std::runtime_error("FGET: short chunk");
    co_return;
  }
  const auto own = crypto::x25519_generate();
  Command cmd = FGET{DhKey{crypto::KeyAlg::X25519, Bytes(own.pub.begin(), own.pub.end())}};
  h2::ClientRequest req;
  req.body = command_block(c.x->session(), f.recipient_id, cmd, f.rcv);
  req.timeout = std::chrono::seconds(120);
  Bytes head;
  uint64_t n = 0;
  const auto resp = co_await c.x->connection().request(std::move(req), [&](std::span<const uint8_t> part) {
    const size_t want = std::min(part.size(), kBlockSize - std::min(kBlockSize, head.size()));
    head.insert(head.end(), part.begin(), part.begin() + static_cast<std::ptrdiff_t>(want));
    n += part.size();
  });
  const auto reply = read_reply(c.x->session().session_id, head);
  const auto* r = std::get_if<Response>(&reply);
  if (resp.status != 200 || !r || !std::holds_alternative<FRFile>(*r))
    throw std::runtime_error(fmt::format("FGET: status {} {}", resp.status, describe(reply)));
  if (n != kBlockSize + run.cfg.size + kAuthTagSize) throw std::runtime_error(fmt::format("FGET: {} bytes", n));
}

// Runs one coroutine per index on io until all end; exceptions are counted as errors.
void run_all(asio::io_context& io, size_t n, const std::function<asio::awaitable<void>(size_t)>& spawn, Run& run) {
  size_t done = 0;
  for (size_t i = 0; i < n; ++i)
    asio::co_spawn(io, spawn(i), [&](std::exception_ptr e) {
      ++done;
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        run.error(x.what());
      }
    });
  while (done < n) {
    if (io.stopped()) io.restart();
    io.run_one();
  }
}

void connect_all(asio::io_context& io, Run& run, std::vector<Client>& clients, size_t in_flight = 16) {
  const size_t workers = std::min(clients.size(), in_flight);
  run_all(io, workers, [&](size_t w) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    for (size_t i = w; i < clients.size(); i += workers) {
      clients[i].x = std::make_unique<XftpClient>(ex);
      ClientOptions o;
      o.timeout = std::chrono::seconds(120);  // a command under heavy load, not a failure
      co_await clients[i].x->connect(run.cfg.host, run.cfg.port, run.cfg.key_hash, o);
    }
  }, run);
  if (run.errors) throw std::runtime_error("connect: " + run.first_error);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

// One timed phase: every client runs `op` in a closed loop until the end time (or count); prints throughput
// (wall clock and per server CPU second) and latency.
void phase(asio::io_context& io, Run& run, std::vector<Client>& clients, const char* name, const char* op_name,
           const std::function<asio::awaitable<void>(Client&, int64_t)>& op) {
  const auto& cfg = run.cfg;
  for (auto& c : clients) {
    c.latency_ms.clear();
    c.bytes = 0;
  }
  const double cpu0 = cfg.pid ? cpu_seconds(cfg.pid) : 0;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(Secs(cfg.duration));
  run_all(io, clients.size(), [&](size_t i) -> asio::awaitable<void> {
    auto& c = clients[i];
    for (int64_t k = 0; cfg.duration > 0 ? Clock::now() < end : k < cfg.count; ++k) {
      const auto s = Clock::now();
      co_await op(c, k);
      c.latency_ms.push_back(Ms(Clock::now() - s).count());
      c.bytes += cfg.size;
    }
  }, run);
  const double secs = Secs(Clock::now() - t0).count();
  const double cpu = cfg.pid ? cpu_seconds(cfg.pid) - cpu0 : 0;
  uint64_t bytes = 0;
  size_t ops = 0;
  std::vector<double> all, client_p50;
  for (const auto& c : clients) {
    bytes += c.bytes;
    ops += c.latency_ms.size();
    all.insert(all.end(), c.latency_ms.begin(), c.latency_ms.end());
    if (!c.latency_ms.empty()) client_p50.push_back(percentile(c.latency_ms, 0.5));
  }
  const double mbs = static_cast<double>(bytes) / kMiB / secs;
  fmt::print("{}: {} chunks of {} B by {} clients in {:.2f} s = {:.1f} MB/s", name, ops, cfg.size, clients.size(),
             secs, mbs);
  if (cfg.pid && cpu > 0)
    fmt::print("; per server core: {:.1f} MB/s (server CPU {:.0f}%)", static_cast<double>(bytes) / kMiB / cpu,
               100 * cpu / secs);
  fmt::print("\n");
  std::sort(client_p50.begin(), client_p50.end());
  fmt::print("{} latency {} ms: per-client p50 median {:.1f} (min {:.1f} max {:.1f}); all p50 {:.1f} p99 {:.1f}\n", name,
             op_name, percentile(client_p50, 0.5), client_p50.empty() ? 0.0 : client_p50.front(),
             client_p50.empty() ? 0.0 : client_p50.back(), percentile(all, 0.5), percentile(all, 0.99));
  if (run.errors) fmt::print(stderr, "{}: {} errors, first: {}\n", name, run.errors, run.first_error);
}

// FDEL of every chunk but the first `keep` of each client (the disk is not filled by long runs).
void delete_chunks(asio::io_context& io, Run& run, std::vector<Client>& clients, size_t keep) {
  run_all(io, clients.size(), [&](size_t i) -> asio::awaitable<void> {
    auto& c = clients[i];
    while (c.chunks.size() > keep) {
      const Chunk f = c.chunks.back();
      c.chunks.pop_back();
      ok_or_throw(co_await c.x->fdel(f.sender_id, f.snd), "FDEL");
    }
  }, run);
}

Run make_run(const Config& cfg) {
  Run run{cfg, crypto::random_bytes(cfg.size), {}, 0, {}};
  const auto d = crypto::sha256(run.data);
  run.digest.assign(d.begin(), d.end());
  return run;
}

int run_throughput(const Config& cfg) {
  asio::io_context io;
  Run run = make_run(cfg);
  std::vector<Client> clients(static_cast<size_t>(cfg.clients));
  const auto s0 = Clock::now();
  connect_all(io, run, clients);
  fmt::print("setup: {} connection(s) in {:.0f} ms{}\n", clients.size(), Ms(Clock::now() - s0).count(),
             cfg.raw_get ? "; downloads raw (received, not decrypted)" : "; downloads decrypted and checked");
  if (cfg.pid) fmt::print("server VmRSS after setup: {} KiB\n", status_kib(cfg.pid, "VmRSS"));
  if (cfg.upload) {
    phase(io, run, clients, "upload", "FNEW+FPUT", [&](Client& c, int64_t) { return upload(run, c); });
    if (run.errors) return 1;
    delete_chunks(io, run, clients, 1);
  }
  if (cfg.download) {
    // Chunks made before the phase: one per client.
    run_all(io, clients.size(), [&](size_t i) -> asio::awaitable<void> {
      if (clients[i].chunks.empty()) co_await upload(run, clients[i]);
    }, run);
    if (run.errors) throw std::runtime_error("upload before download: " + run.first_error);
    phase(io, run, clients, "download", "FGET", [&](Client& c, int64_t k) {
      return download(run, c, c.chunks[static_cast<size_t>(k) % c.chunks.size()]);
    });
  }
  if (cfg.pid)
    fmt::print("server VmRSS after: {} KiB, VmHWM {} KiB\n", status_kib(cfg.pid, "VmRSS"),
               status_kib(cfg.pid, "VmHWM"));
  const int64_t errors = run.errors;
  delete_chunks(io, run, clients, 0);
  for (auto& c : clients) c.x->close();
  io.run_for(std::chrono::milliseconds(200));
  return errors ? 1 : 0;
}

// K uploads at once, then K downloads at once; the server's VmRSS sampled every 10 ms meanwhile.
int run_transfers(const Config& cfg, size_t k) {
  if (!cfg.pid) throw std::runtime_error("--transfers needs --pid");
  asio::io_context io;
  Run run = make_run(cfg);
  std::vector<Client> clients(k);
  connect_all(io, run, clients);
  io.run_for(std::chrono::milliseconds(500));
  const int64_t base = status_kib(cfg.pid, "VmRSS");
  fmt::print("server VmRSS with {} idle connections: {} KiB\n", k, base);
  auto sampled = [&](const char* name, const std::function<asio::awaitable<void>(Client&)>& op) {
    int64_t peak = 0;
    bool running = true;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor);
      while (running) {
        peak = std::max(peak, status_kib(cfg.pid, "VmRSS"));
        t.expires_after(std::chrono::milliseconds(10));
        co_await t.async_wait(asio::use_awaitable);
      }
    }, asio::detached);
    const auto t0 = Clock::now();
    run_all(io, clients.size(), [&](size_t i) { return op(clients[i]); }, run);
    running = false;
    const double secs = Secs(Clock::now() - t0).count();
    fmt::print("{} x{}: {:.2f} s ({:.1f} MB/s); server VmRSS peak {} KiB (+{} KiB over idle, {:.1f} KiB per transfer)\n",
               name, k, secs, static_cast<double>(k) * cfg.size / kMiB / secs, peak, peak - base,
               static_cast<double>(peak - base) / static_cast<double>(k));
    if (run.errors) throw std::runtime_error(std::string(name) + ": " + run.first_error);
  };
  sampled("uploads", [&](Client& c) { return upload(run, c); });
  sampled("downloads", [&](Client& c) { return download(run, c, c.chunks.front()); });
  io.run_for(std::chrono::milliseconds(500));
  fmt::print("server VmRSS after: {} KiB, VmHWM {} KiB\n", status_kib(cfg.pid, "VmRSS"), status_kib(cfg.pid, "VmHWM"));
  delete_chunks(io, run, clients, 0);
  for (auto& c : clients) c.x->close();
  io.run_for(std::chrono::milliseconds(200));
  return run.errors ? 1 : 0;
}

// Rates of this thread's CPU time for the server's per-byte work on a chunk.
int run_ceiling(const Config& cfg) {
  auto rate = [&](const std::function<void()>& f) {
    auto cpu = [] {
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
    };
    const double t0 = cpu();
    int64_t n = 0;
    while (cpu() - t0 < std::max(0.2, cfg.duration)) {
      f();
      ++n;
    }
    return static_cast<double>(n) * cfg.size / kMiB / (cpu() - t0);
  };
  Bytes data = crypto::random_bytes(cfg.size);
  crypto::Key32 k{};
  crypto::Nonce nonce{};
  const double cipher = rate([&] {
    ChunkCipher c(k, nonce, ChunkCipher::Mode::Encrypt);
    for (size_t off = 0; off < data.size(); off += 4 * kFileBlockSize)
      c.update(std::span<uint8_t>(data.data() + off, std::min<size_t>(4 * kFileBlockSize, data.size() - off)));
    (void)c.tag();
  });
  const double sha = rate([&] { (void)crypto::sha256(data); });
  fmt::print("ceiling: chunk cipher (XSalsa20-Poly1305, 64 KB slices): {:.0f} MB/s per core\n", cipher);
  fmt::print("ceiling: sha256: {:.0f} MB/s per core\n", sha);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("xftp-load", "XFTP relay load generator");
  sr::bench::add_server_options(opts, 443);
  opts.add_options()
    ("c,clients", "parallel clients (one connection, one transfer at a time each)", cxxopts::value<int>()->default_value("1"))
    ("d,duration", "seconds per phase (0: use -n)", cxxopts::value<double>()->default_value("10"))
    ("n,count", "chunks per client per phase when -d 0", cxxopts::value<int64_t>()->default_value("10"))
    ("size", "chunk size in bytes", cxxopts::value<uint32_t>()->default_value("4194304"))
    ("phases", "up, down or up,down", cxxopts::value<std::string>()->default_value("up,down"))
    ("get", "downloads: decrypt (check tag and digest, as a client) | raw (count the bytes only)",
     cxxopts::value<std::string>()->default_value("decrypt"))
    ("create-auth", "FNEW basic auth (the server's create_password)", cxxopts::value<std::string>())
    ("pid", "the server's pid: its CPU use per phase and its memory", cxxopts::value<int64_t>())
    ("transfers", "K uploads then K downloads at once; the server's VmRSS peak", cxxopts::value<size_t>())
    ("ceiling", "no server: this core's chunk cipher and SHA-256 rates (-d CPU seconds each)")
    ("h,help", "this help");
  try {
    auto r = opts.parse(argc, argv);
    if (r.count("help")) {
      std::cout << opts.help() << "\n";
      return 0;
    }
    Config cfg;
    cfg.size = r["size"].as<uint32_t>();
    cfg.duration = r["duration"].as<double>();
    if (r.count("ceiling")) return run_ceiling(cfg);
    cfg.host = r["host"].as<std::string>();
    cfg.port = r["port"].as<uint16_t>();
    auto kh = sr::bench::server_key_hash(r);
    if (!kh) {
      std::cerr << "xftp-load: give --fingerprint <base64url key hash> or --cfg <server config dir>\n";
      return 2;
    }
    cfg.key_hash = *kh;
    cfg.clients = std::max(1, r["clients"].as<int>());
    cfg.count = r["count"].as<int64_t>();
    const auto phases = r["phases"].as<std::string>();
    cfg.upload = phases.find("up") != std::string::npos;
    cfg.download = phases.find("down") != std::string::npos;
    const auto get = r["get"].as<std::string>();
    if (get != "decrypt" && get != "raw") {
      std::cerr << "xftp-load: --get is decrypt or raw\n";
      return 2;
    }
    cfg.raw_get = get == "raw";
    if (r.count("create-auth")) cfg.create_auth = r["create-auth"].as<std::string>();
    if (r.count("pid")) cfg.pid = r["pid"].as<int64_t>();
    if (r.count("transfers")) return run_transfers(cfg, r["transfers"].as<size_t>());
    return run_throughput(cfg);
  } catch (const std::exception& e) {
    std::cerr << "xftp-load: " << e.what() << "\n";
    return 2;
  }
}
