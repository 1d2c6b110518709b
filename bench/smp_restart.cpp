// smp-restart: how long `simplex-relay smp start` takes to become ready with a large store, and the memory it
// then uses. See bench/README.md ("smp-restart").
//
// 1. A config dir made by the real binary (`smp init -y --ip 127.0.0.1 --no-password --disable-web`: the web
//    page would need HTTPS credentials), its port moved to a free one; an empty start gives the baseline RSS.
// 2. <log>/smp-server-store.log with N CREATE lines of secured messaging queues (random ids and keys), encoded
//    by the server's own codec (encode_store_log_record); <log>/smp-server-messages.journal with M messages
//    spread round-robin over the queues, written from a filled MsgStore by write_snapshot + write_msg_snapshot,
//    so both files are exactly what the server writes.
// 3. R starts of the binary: wall time from exec to a completed SMP handshake (TLS + server/client hello) on its
//    port, the arrival time of its start-up log lines (the phases), VmRSS/VmHWM and CPU time at that moment,
//    then SIGINT and the time to exit. Each start compacts both files in place, so every run loads the same data.
#include "core/crypto.hpp"
#include "core/record_journal.hpp"
#include "smp/client.hpp"
#include "smp/msg_journal.hpp"
#include "smp/msg_store.hpp"
#include "smp/store_log_records.hpp"

#include <cxxopts.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using namespace sr;
using namespace sr::smp;
namespace fsys = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A field of /proc/<pid>/status in KiB ("VmRSS", "VmHWM"), or -1.
int64_t status_kib(pid_t pid, const std::string& field) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  return -1;
}

// CPU seconds (user + system) of a process so far, or -1.
double cpu_seconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  std::getline(in, stat);
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> f; ++i)
    if (i == 14 || i == 15) ticks += std::stod(f);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

uint16_t free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free port");
  close(s);
  return ntohs(a.sin_port);
}

// The binary started with stdout and stderr on one pipe; a thread stamps each line with its arrival time.
class Server {
 public:
  Server(const std::string& binary, const std::vector<std::string>& args) : t0_(Clock::now()) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    std::vector<std::string> all = {binary};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    t0_ = Clock::now();
    const int rc = posix_spawn(&pid_, binary.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      throw std::runtime_error(fmt::format("cannot run {}: {}", binary, std::strerror(rc)));
    }
    reader_ = std::thread([this, fd = fds[0]] { read_lines(fd); });
  }
  ~Server() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      wait_exit();
    }
    if (reader_.joinable()) reader_.join();
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  pid_t pid() const { return pid_; }
  Clock::time_point started() const { return t0_; }
  // Seconds from exec to the first line containing `part`, if it came.
  std::optional<double> line_time(const std::string& part) const {
    std::lock_guard lock(m_);
    for (const auto& [t, line] : lines_)
      if (line.find(part) != std::string::npos) return t;
    return std::nullopt;
  }
  // The text of the first line containing `part` after it ("" if none).
  std::string line_after(const std::string& part) const {
    std::lock_guard lock(m_);
    for (const auto& [t, line] : lines_)
      if (auto p = line.find(part); p != std::string::npos) return line.substr(p);
    return {};
  }
  std::string output() const {
    std::lock_guard lock(m_);
    std::string s;
    for (const auto& l : lines_) s += l.second + "\n";
    return s;
  }
  bool running() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
    }
    return !exited_;
  }
  int wait_exit() {
    if (!exited_) {
      waitpid(pid_, &status_, 0);
      exited_ = true;
    }
    if (reader_.joinable()) reader_.join();
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

 private:
  void read_lines(int fd) {
    std::string buf;
    char chunk[4096];
    for (;;) {
      const ssize_t n = read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      const double t = seconds_since(t0_);
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::lock_guard lock(m_);
        lines_.emplace_back(t, buf.substr(0, nl));
        buf.erase(0, nl + 1);
      }
    }
    close(fd);
  }
  pid_t pid_ = -1;
  Clock::time_point t0_;
  bool exited_ = false;
  int status_ = 0;
  mutable std::mutex m_;
  std::vector<std::pair<double, std::string>> lines_;
  std::thread reader_;
};

struct Options {
  size_t queues = 1000000;
  size_t messages = 1000000;
  size_t body = 200;
  int runs = 5;
  std::string binary;
  std::string dir;  // work dir; default a new one under /tmp, removed at the end
  bool keep = false;
};

struct Setup {
  fsys::path root, cfg, log;
  uint16_t port = 0;
  Bytes key_hash;
};

void run_init(const Options& o, Setup& s) {
  s.cfg = s.root / "cfg";
  s.log = s.root / "log";
  setenv("SMP_SERVER_CFG_PATH", s.cfg.c_str(), 1);
  setenv("SMP_SERVER_LOG_PATH", s.log.c_str(), 1);
  Server init(o.binary, {"smp", "init", "-y", "--ip", "127.0.0.1", "--no-password", "--disable-web"});
  if (int rc = init.wait_exit(); rc != 0) throw std::runtime_error("init failed: " + init.output());
  // The INI's ports (5223,443) become one free port.
  const fsys::path ini = s.cfg / "smp-server.ini";
  std::ifstream in(ini);
  std::stringstream text;
  text << in.rdbuf();
  std::string t = text.str();
  const std::string from = "\nport = 5223,443\n";
  const auto pos = t.find(from);
  if (pos == std::string::npos) throw std::runtime_error("no line 'port = 5223,443' in " + ini.string());
  s.port = free_port();
  t.replace(pos, from.size(), fmt::format("\nport = {}\n", s.port));
  std::ofstream(ini) << t;
  std::ifstream fpin(s.cfg / "fingerprint");
  std::string fp;
  std::getline(fpin, fp);
  fp.erase(fp.find_last_not_of(" \r\n\t") + 1);
  auto kh = base64url_decode(fp);
  if (!kh || kh->size() != 32) throw std::runtime_error("bad fingerprint file");
  s.key_hash = *kh;
  fsys::create_directories(s.log);
}

Id random_id() {
  Id id;
  crypto::random_bytes(id);
  return id;
}

crypto::PublicKey random_ed25519() { return {crypto::KeyAlg::Ed25519, crypto::random_bytes(32)}; }

// N secured messaging queues (what NEW + SKEY leave behind), as the server writes them at compaction.
std::vector<Id> write_store_log(const Setup& s, size_t n) {
  std::vector<Id> rids;
  rids.reserve(n);
  const int64_t today = std::time(nullptr) / 86400 * 86400;
  const fsys::path f = s.log / "smp-server-store.log";
  std::ofstream out(f, std::ios::binary | std::ios::trunc);
  for (size_t i = 0; i < n; ++i) {
    CreateRecord c;
    const Id rid = random_id(), sid = random_id();
    c.recipient_id.assign(rid.begin(), rid.end());
    c.rcv_keys = {random_ed25519()};
    crypto::random_bytes(c.rcv_dh_secret);
    c.sender_id.assign(sid.begin(), sid.end());
    c.sender_key = random_ed25519();
    c.queue_mode = QueueMode::Messaging;
    c.updated_at = today;
    out << encode_store_log_record(StoreLogRecord{std::move(c)}) << '\n';
    rids.push_back(rid);
  }
  out.flush();
  if (!out) throw std::runtime_error("cannot write " + f.string());
  return rids;
}

// M messages round-robin over the queues, through a MsgStore and the server's snapshot writer.
void write_journal(const Setup& s, const std::vector<Id>& rids, size_t m, size_t body, size_t quota) {
  MsgStore store(quota);
  const int64_t now = std::time(nullptr);
  Bytes b(body);
  for (size_t i = 0; i < m; ++i) {
    Message msg;
    msg.msg_id = random_id();
    msg.ts = now;
    crypto::random_bytes(b);
    msg.body = b;
    if (!store.write(rids[i % rids.size()], std::move(msg)).accepted)
      throw std::runtime_error("over the queue quota: use more queues or fewer messages");
  }
  NtfStore ntfs;
  journal::write_snapshot(s.log / "smp-server-messages.journal",
                          [&](const auto& emit) { write_msg_snapshot(emit, store, ntfs); });
}

struct Run {
  double ready = 0;    // s from exec to a completed SMP handshake
  double bound = 0;    // s to "binding to"
  double cpu = 0;      // server CPU seconds at ready
  int64_t rss = 0, hwm = 0;  // KiB at ready
  double stop = 0;     // s from SIGINT to exit
  std::vector<std::pair<std::string, double>> phases;
  std::string loaded;  // what the server says it loaded
};

// Starts the server and polls its port until an SMP handshake completes.
Run start_once(const Options& o, const Setup& s) {
  Run r;
  Server srv(o.binary, {"smp", "start"});
  ClientOptions copt;
  copt.timeout = std::chrono::seconds(600);
  for (;;) {
    if (!srv.running()) throw std::runtime_error("server exited:\n" + srv.output());
    try {
      SyncSmpClient c;
      c.connect("127.0.0.1", s.port, s.key_hash, copt);
      r.ready = seconds_since(srv.started());
      break;
    } catch (const ClientError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (seconds_since(srv.started()) > 1800) throw std::runtime_error("not ready after 30 min:\n" + srv.output());
  }
  r.cpu = cpu_seconds(srv.pid());
  r.rss = status_kib(srv.pid(), "VmRSS");
  r.hwm = status_kib(srv.pid(), "VmHWM");
  r.bound = srv.line_time("binding to").value_or(0);
  static const std::vector<std::pair<std::string, std::string>> kPhases = {
      {"store log read", "Processed:"},
      {"journal replay start", "restoring messages from journal"},
      {"journal replayed", "messages restored:"},
      {"journal snapshot written", "message journal "},
      {"listening", "binding to"},
  };
  for (const auto& [name, part] : kPhases)
    if (auto t = srv.line_time(part)) r.phases.emplace_back(name, *t);
  r.loaded = srv.line_after("Processed:") + "; " + srv.line_after("messages restored:");
  for (const char* problem : {"did not apply", "damaged", "Error parsing", "dropped "})
    if (auto l = srv.line_after(problem); !l.empty()) r.loaded += "; " + l;
  const auto t_stop = Clock::now();
  kill(srv.pid(), SIGINT);
  if (int rc = srv.wait_exit(); rc != 0) std::cerr << "server exit status " << rc << ":\n" << srv.output();
  r.stop = seconds_since(t_stop);
  // Each start keeps the previous store log as smp-server-store.log.<time>; drop them so disk use stays flat.
  for (const auto& e : fsys::directory_iterator(s.log)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("smp-server-store.log.", 0) == 0) fsys::remove(e.path());
  }
  return r;
}

std::string mb(int64_t kib) { return fmt::format("{:.1f} MB", static_cast<double>(kib) / 1024); }

int run(const Options& o) {
  Setup s;
  s.root = o.dir.empty() ? fsys::path(fmt::format("/tmp/smp-restart.{}", getpid())) : fsys::path(o.dir);
  if (fsys::exists(s.root / "cfg")) throw std::runtime_error(s.root.string() + "/cfg exists: give an empty --dir");
  fsys::create_directories(s.root);
  run_init(o, s);
  fmt::print("binary: {}\nwork dir: {}, port {}\n", o.binary, s.root.string(), s.port);

  const Run base = start_once(o, s);
  fmt::print("empty server: ready in {:.3f} s, VmRSS {}, VmHWM {}\n", base.ready, mb(base.rss), mb(base.hwm));

  auto t0 = Clock::now();
  std::vector<Id> rids = write_store_log(s, o.queues);
  const double t_queues = seconds_since(t0);
  const auto log_size = fsys::file_size(s.log / "smp-server-store.log");
  t0 = Clock::now();
  const size_t per_queue = o.queues ? (o.messages + o.queues - 1) / o.queues : 0;
  if (o.messages && !o.queues) throw std::runtime_error("messages need queues");
  if (o.messages) write_journal(s, rids, o.messages, o.body, std::max<size_t>(128, per_queue));
  else journal::write_snapshot(s.log / "smp-server-messages.journal", [](const auto&) {});
  const double t_msgs = seconds_since(t0);
  const auto journal_size = fsys::file_size(s.log / "smp-server-messages.journal");
  rids = {};
  fmt::print("generated: {} queues (store log {:.1f} MB) in {:.1f} s; {} messages of {} B bodies, up to {} per queue "
             "(journal {:.1f} MB) in {:.1f} s\n",
             o.queues, log_size / 1e6, t_queues, o.messages, o.body, per_queue, journal_size / 1e6, t_msgs);
  if (per_queue > 128) fmt::print("note: more than 128 messages per queue (the default msg_queue_quota)\n");
  std::fflush(stdout);

  std::vector<double> ready, bound, cpu, rss, hwm, stop;
  for (int i = 1; i <= o.runs; ++i) {
    const Run r = start_once(o, s);
    std::string phases;
    for (const auto& [name, t] : r.phases) phases += fmt::format("{}{} {:.2f}", phases.empty() ? "" : ", ", name, t);
    fmt::print("run {}: ready {:.3f} s (listening at {:.3f} s; server CPU {:.2f} s), VmRSS {}, VmHWM {}, stop {:.2f} s\n"
               "       phases (s from exec): {}\n       server: {}\n",
               i, r.ready, r.bound, r.cpu, mb(r.rss), mb(r.hwm), r.stop, phases, r.loaded);
    std::fflush(stdout);
    ready.push_back(r.ready), bound.push_back(r.bound), cpu.push_back(r.cpu), stop.push_back(r.stop);
    rss.push_back(static_cast<double>(r.rss)), hwm.push_back(static_cast<double>(r.hwm));
  }
  const double rss_m = median(rss), hwm_m = median(hwm);
  const double grown = (rss_m - static_cast<double>(base.rss)) * 1024;
  const size_t items = o.queues + o.messages;
  fmt::print("median of {} runs: ready {:.3f} s, listening {:.3f} s, server CPU {:.2f} s, VmRSS {}, VmHWM {}, stop {:.2f} s\n",
             o.runs, median(ready), median(bound), median(cpu), mb(static_cast<int64_t>(rss_m)),
             mb(static_cast<int64_t>(hwm_m)), median(stop));
  fmt::print("VmRSS above the empty server ({}): {:.1f} MB = {:.0f} B per queue, {:.0f} B per (queue + message) "
             "item of {} items\n",
             mb(base.rss), grown / 1048576, o.queues ? grown / static_cast<double>(o.queues) : 0.0,
             items ? grown / static_cast<double>(items) : 0.0, items);
  if (!o.keep && o.dir.empty()) fsys::remove_all(s.root);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("smp-restart", "Start-up time and memory of the SMP relay with a large store");
  // clang-format off
  opts.add_options()
    ("queues", "queues in the store log", cxxopts::value<size_t>()->default_value("1000000"))
    ("messages", "messages in the journal, round-robin over the queues", cxxopts::value<size_t>()->default_value("1000000"))
    ("body", "message body bytes", cxxopts::value<size_t>()->default_value("200"))
    ("runs", "starts to measure", cxxopts::value<int>()->default_value("5"))
    ("binary", "simplex-relay (default: ../src/simplex-relay next to this program)", cxxopts::value<std::string>())
    ("dir", "work dir (default /tmp/smp-restart.<pid>, removed at the end)", cxxopts::value<std::string>())
    ("keep", "keep the default work dir")
    ("h,help", "help");
  // clang-format on
  try {
    auto r = opts.parse(argc, argv);
    if (r.count("help")) {
      std::cout << opts.help() << "\n";
      return 0;
    }
    Options o;
    o.queues = r["queues"].as<size_t>();
    o.messages = r["messages"].as<size_t>();
    o.body = r["body"].as<size_t>();
    o.runs = std::max(1, r["runs"].as<int>());
    o.keep = r.count("keep") > 0;
    if (r.count("dir")) o.dir = r["dir"].as<std::string>();
    if (r.count("binary")) {
      o.binary = r["binary"].as<std::string>();
    } else {
      o.binary = (fsys::read_symlink("/proc/self/exe").parent_path() / ".." / "src" / "simplex-relay").lexically_normal();
    }
    o.binary = fsys::absolute(o.binary).string();
    signal(SIGPIPE, SIG_IGN);
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "smp-restart: " << e.what() << "\n";
    return 1;
  }
}
