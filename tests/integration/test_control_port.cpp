// The operators' control port of the running servers (server-operations.md §5.4): plain TCP on 127.0.0.1,
// roles from the [AUTH] passwords, and the commands acting on live queues and files. Queues and files are made
// with our SMP / XFTP test clients over real TLS; the control port is spoken over a plain socket.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "smp_client_fixture.hpp"
#include "xftp/client.hpp"
#include "xftp_fixture.hpp"

using namespace sr;
using namespace sr::test;
using namespace std::chrono_literals;
namespace fsys = std::filesystem;

namespace {

constexpr const char* kSmpHelp =
    "commands: stats, stats-rts, clients, sockets, socket-threads, threads, server-info, delete, save, help, quit";
constexpr const char* kXftpHelp = "commands: stats-rts, delete, help, quit";

// One control-port session. A reply is read up to the `help` line sent after each command, since replies have
// no terminator of their own.
class Control {
 public:
  Control(uint16_t port, std::string help) : help_(std::move(help)) {
    for (int i = 0; i < 100 && fd_ < 0; ++i) {  // the NOTE "binding to" precedes the bind by a moment
      fd_ = tcp_connect("127.0.0.1", port);
      if (fd_ < 0) std::this_thread::sleep_for(50ms);
    }
    REQUIRE(fd_ >= 0);
  }
  ~Control() {
    if (fd_ >= 0) ::close(fd_);
  }
  // The bytes received up to and including `needle`; "" when the connection closed first.
  std::string read_until(const std::string& needle) {
    while (buf_.find(needle) == std::string::npos) {
      char b[4096];
      const ssize_t n = ::recv(fd_, b, sizeof b, 0);
      if (n <= 0) return {};
      buf_.append(b, static_cast<size_t>(n));
    }
    const size_t end = buf_.find(needle) + needle.size();
    std::string r = buf_.substr(0, end);
    buf_.erase(0, end);
    return r;
  }
  void write(const std::string& text) { REQUIRE(::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == ssize_t(text.size())); }
  std::string ask(const std::string& line, const std::string& eol = "\n") {
    if (line == "help") {  // its own sentinel
      write(line + eol);
      return read_until(help_ + "\n");
    }
    write(line + eol + "help" + eol);
    std::string r = read_until(help_ + "\n");
    REQUIRE_FALSE(r.empty());
    return r.substr(0, r.size() - help_.size() - 1);
  }
  // true when the server closed the connection (recv returns 0) with nothing more to read.
  bool closed_by_server() {
    char b[64];
    return ::recv(fd_, b, sizeof b, 0) == 0;
  }

 private:
  int fd_ = -1;
  std::string help_;
  std::string buf_;
};

struct SmpControlRelay {
  uint16_t cport = free_port();
  Relay relay;
  explicit SmpControlRelay(std::string extra_auth = "", bool log_stats = false)
      : relay([&](StartDirs& d) {
          d.add_to_section("TRANSPORT", "control_port = " + std::to_string(cport) + "\n");
          d.add_to_section("AUTH", "control_port_admin_password = adminpw\ncontrol_port_user_password = userpw\n" +
                                       extra_auth);
          if (log_stats) d.set_ini_line("log_stats = off", "log_stats = on");
        }) {
    REQUIRE(relay.proc->wait_for("binding to 127.0.0.1:" + std::to_string(cport)));
  }
  std::unique_ptr<Control> control(const char* password = nullptr) {
    auto c = std::make_unique<Control>(cport, kSmpHelp);
    REQUIRE(c->read_until("\n'help' for supported commands\n") ==
            "SMP server control port\n'help' for supported commands\n");
    if (password) REQUIRE(c->ask(std::string("auth ") + password).rfind("Current role is CPR", 0) == 0);
    return c;
  }
  void restart() {
    relay.proc->signal(SIGTERM);
    REQUIRE(relay.proc->wait(30s) == std::optional<int>(0));
    relay.proc = relay.d.start_ready();
    REQUIRE(relay.proc->wait_for("binding to 127.0.0.1:" + std::to_string(cport)));
  }
};

std::string b64(const Bytes& b) { return base64url_encode(b); }

}  // namespace

TEST_CASE("SMP control port: greeting, roles and the commands each role may run", "[control-port]") {
  SmpControlRelay s;
  CHECK(contains(s.relay.proc->err() + s.relay.proc->out(), "binding to 127.0.0.1:" + std::to_string(s.cport)));

  auto none = s.control();
  CHECK(none->ask("help") == std::string(kSmpHelp) + "\n");
  CHECK(none->ask("") == "");
  CHECK(none->ask("bogus") == "error: Failed reading: bad ControlProtocol command\n");
  CHECK(none->ask("auth wrong") == "Current role is CPRNone\n");
  CHECK(none->ask("stats") == "AUTH\n");
  CHECK(none->ask("server-info") == "AUTH\n");
  CHECK_FALSE(none->ask("stats-rts").empty());  // no role needed (quirk 8.Q13)
  CHECK(s.relay.proc->wait_for("ControlPort: \"stats\""));
  CHECK(s.relay.proc->wait_for("Unauthorized control port command"));

  auto user = s.control();
  CHECK(user->ask("auth userpw", "\r\n") == "Current role is CPRUser\n");  // CRLF lines
  CHECK(user->ask("stats", "\r\n").rfind("fromTime: ", 0) == 0);
  CHECK(user->ask("clients") == "AUTH\n");
  CHECK(user->ask("save") == "AUTH\n");
  CHECK(user->ask("delete AAAA") == "AUTH\n");
  CHECK(user->ask("suspend") == "AUTH\n");
  CHECK(user->ask("auth adminpw") == "Current role is CPRUser, start new session to change.\n");
  CHECK(user->ask("clients") == "AUTH\n");

  auto admin = s.control("adminpw");
  const std::string clients = admin->ask("clients");
  CHECK(clients.rfind("clientId,sessionId,connected,createdAt,rcvActiveAt,sndActiveAt,age,subscriptions\n", 0) == 0);
  CHECK(admin->ask("suspend") == "suspend not implemented\n");
  CHECK(contains(admin->ask("stats"), "\nntfCount 2: 0\n"));
  CHECK_FALSE(contains(user->ask("stats"), "ntfCount 2"));

  admin->write("quit\n");
  CHECK(admin->closed_by_server());
}

TEST_CASE("SMP control port: stats and clients show scripted traffic", "[control-port]") {
  SmpControlRelay s;
  auto rcp = s.relay.connect(), snd = s.relay.connect();
  auto q = rcp->create_queue();
  expect<smp::resp::OK>(snd->send(q.snd_id, std::nullopt, text("hello")));
  expect_msg_event(*rcp, q.rcv_id);

  auto c = s.control("userpw");
  const std::string stats = c->ask("stats");
  CHECK(contains(stats, "\nqCreated: 1\n"));
  CHECK(contains(stats, "\nmsgSent: 1\n"));
  CHECK(contains(stats, "\nqCount 2: 1\n"));
  CHECK(contains(stats, "\nmsgCount: 1\n"));  // delivered, not yet acknowledged
  CHECK(contains(c->ask("server-info"), "\nClients: 2\n"));
  // Per listening port: the two clients on the first port, nothing on the second.
  CHECK(c->ask("sockets") == "Sockets for port " + std::to_string(s.relay.d.p1) +
                                 ":\naccepted: 2\nclosed: 0\nactive: 2\nleaked: 0\n"
                                 "Sockets for port " + std::to_string(s.relay.d.p2) +
                                 ":\naccepted: 0\nclosed: 0\nactive: 0\nleaked: 0\n");

  auto a = s.control("adminpw");
  const auto rows = lines_of(a->ask("clients"));
  REQUIRE(rows.size() == 3);  // header and the two connections
  // The recipient's row shows its one subscription.
  CHECK((rows[1].substr(rows[1].rfind(',')) == ",1" || rows[2].substr(rows[2].rfind(',')) == ",1"));
}

TEST_CASE("SMP control port: block sends ERR BLOCKED, refuses SEND, survives a restart; unblock", "[control-port]") {
  SmpControlRelay s;
  auto rcp = s.relay.connect(), snd = s.relay.connect();
  auto q = rcp->create_queue();
  auto c = s.control("userpw");

  CHECK(c->ask("status " + b64(q.snd_id)).rfind("status: EntityActive, updatedAt: ", 0) == 0);
  CHECK(c->ask("status " + b64(q.rcv_id)) == "error: AUTH\n");
  CHECK(c->ask("block " + b64(q.snd_id) + " reason=spam") ==
        "ok, queue blocked: EntityBlocked (BlockingInfo {reason = BRSpam, notice = Nothing})\n");

  auto ev = rcp->next_event(5s);
  REQUIRE(ev);
  CHECK(ev->entity_id == q.rcv_id);
  REQUIRE(ev->response);
  CHECK(expect_err(*ev->response).kind == smp::ErrorType::Kind::BLOCKED);
  const auto refused = expect_err(snd->send(q.snd_id, std::nullopt, text("spam")));
  CHECK(refused.kind == smp::ErrorType::Kind::BLOCKED);
  CHECK(contains(read_text(s.relay.d.log / "smp-server-store.log"), "BLOCK " + b64(q.rcv_id) + " reason=spam"));

  rcp.reset();
  snd.reset();
  c.reset();
  s.restart();
  c = s.control("userpw");
  CHECK(c->ask("status " + b64(q.snd_id)).rfind("status: EntityBlocked (BlockingInfo {reason = BRSpam", 0) == 0);
  snd = s.relay.connect();
  CHECK(expect_err(snd->send(q.snd_id, std::nullopt, text("spam"))).kind == smp::ErrorType::Kind::BLOCKED);

  CHECK(c->ask("unblock " + b64(q.snd_id)) ==
        "ok, queue unblocked, reason to block was: BlockingInfo {reason = BRSpam, notice = Nothing}\n");
  CHECK(c->ask("unblock " + b64(q.snd_id)) == "ok, queue was active\n");
  expect<smp::resp::OK>(snd->send(q.snd_id, std::nullopt, text("welcome back")));
}

TEST_CASE("SMP control port: the daily block quota", "[control-port]") {
  SmpControlRelay s("daily_block_queue_quota = 1\n");
  auto rcp = s.relay.connect();
  auto q1 = rcp->create_queue(), q2 = rcp->create_queue();
  auto c = s.control("userpw");
  CHECK(c->ask("block " + b64(q1.snd_id) + " reason=content").rfind("ok, queue blocked: ", 0) == 0);
  CHECK(c->ask("block " + b64(q2.snd_id) + " reason=spam") == "error: reached limit of 1 queues blocked daily\n");
  CHECK(c->ask("status " + b64(q2.snd_id)).rfind("status: EntityActive", 0) == 0);
}

TEST_CASE("SMP control port: delete removes the queue and its messages", "[control-port]") {
  SmpControlRelay s;
  auto rcp = s.relay.connect(), snd = s.relay.connect();
  auto q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
  expect<smp::resp::OK>(snd->send(q.snd_id, std::nullopt, text("one")));
  expect<smp::resp::OK>(snd->send(q.snd_id, std::nullopt, text("two")));
  auto user = s.control("userpw");
  CHECK(user->ask("delete " + b64(q.snd_id)) == "AUTH\n");
  auto admin = s.control("adminpw");
  CHECK(admin->ask("delete " + b64(q.snd_id)) == "ok, 2 messages deleted\n");
  CHECK(admin->ask("delete " + b64(q.snd_id)) == "error: AUTH\n");
  CHECK(admin->ask("status " + b64(q.snd_id)) == "error: AUTH\n");
  CHECK(expect_err(snd->send(q.snd_id, std::nullopt, text("three"))).kind == smp::ErrorType::Kind::AUTH);
  CHECK(contains(read_text(s.relay.d.log / "smp-server-store.log"), "DELETE " + b64(q.rcv_id)));
  CHECK(contains(admin->ask("stats"), "\nqDeletedAll: 1\n"));
}

TEST_CASE("SMP control port: save writes the stats backup and the server keeps serving", "[control-port]") {
  SmpControlRelay s("", true);
  const fsys::path backup = s.relay.d.log / "smp-server-stats.log";
  auto rcp = s.relay.connect(), snd = s.relay.connect();
  auto q = rcp->create_queue();
  expect<smp::resp::OK>(snd->send(q.snd_id, std::nullopt, text("before")));
  auto m1 = expect_msg_event(*rcp, q.rcv_id);
  REQUIRE_FALSE(fsys::exists(backup));

  auto admin = s.control("adminpw");
  CHECK(admin->ask("save") == "saving server state...\nserver state saved!\n");
  REQUIRE(fsys::exists(backup));
  CHECK(contains(read_text(backup), "\nqCreated=1\n"));
  CHECK(contains(read_text(backup), "\nmsgSent=1\n"));

  // Same connections, same queue: nothing was closed or drained.
  expect<smp::resp::OK>(rcp->ack(q, m1.msg_id));
  expect<smp::resp::OK>(snd->send(q.snd_id, std::nullopt, text("after")));
  CHECK(smp::decrypt_msg(q, expect_msg_event(*rcp, q.rcv_id))->body == text("after"));
  auto q2 = rcp->create_queue();
  CHECK(contains(read_text(s.relay.d.log / "smp-server-store.log"), "CREATE rid=" + b64(q2.rcv_id)));
  CHECK(contains(admin->ask("stats"), "\nqCreated: 2\n"));
}

TEST_CASE("SMP control port: a port in use is refused with the setting's name", "[control-port]") {
  StartDirs d;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const uint16_t port = ntohs(a.sin_port);
  d.add_to_section("TRANSPORT", "control_port = " + std::to_string(port) + "\n");
  auto p = d.start();
  CHECK(p->wait(30s) == std::optional<int>(1));
  CHECK(contains(p->err(), "[TRANSPORT] control_port"));
  CHECK(contains(p->err(), std::to_string(port)));
  ::close(fd);
}

// ---- XFTP -----------------------------------------------------------------------------------------------------

namespace {

crypto::PrivateKey new_key() { return crypto::PrivateKey{crypto::KeyAlg::Ed25519, crypto::random_bytes(32)}; }

struct Uploaded {
  crypto::PrivateKey snd = new_key(), rcv = new_key();
  Bytes data, sha;
  xftp::FRSndIds ids;  // filled by upload
};

Uploaded upload(xftp::SyncXftpClient& c, uint8_t seed) {
  Uploaded f;
  f.data.resize(65536);
  for (size_t i = 0; i < f.data.size(); ++i) f.data[i] = static_cast<uint8_t>(seed + i * 7);
  const auto d = crypto::sha256(f.data);
  f.sha.assign(d.begin(), d.end());
  auto created = c.fnew(xftp::FileInfo{crypto::public_key(f.snd), 65536, f.sha}, {crypto::public_key(f.rcv)},
                        std::nullopt, f.snd);
  REQUIRE(created.ok());
  f.ids = created.value();
  REQUIRE(c.fput(f.ids.sender_id, f.snd, xftp::ChunkSource::of(f.data)).ok());
  return f;
}

}  // namespace

TEST_CASE("XFTP control port: roles, delete and block by recipient id", "[control-port]") {
  const uint16_t cport = free_port();
  XftpRelay relay;
  relay.set_line("# control_port = 5226", "control_port = " + std::to_string(cport));
  relay.set_line("# control_port_admin_password =", "control_port_admin_password = adminpw");
  relay.set_line("# control_port_user_password =", "control_port_user_password = userpw");
  relay.set_line("log_stats = off", "log_stats = on");
  auto proc = relay.start();
  REQUIRE(proc->running());
  REQUIRE(proc->wait_for("binding to 127.0.0.1:" + std::to_string(cport)));

  xftp::SyncXftpClient client;
  client.connect("127.0.0.1", relay.port, relay.key_hash_bytes());
  Uploaded del = upload(client, 1), blk = upload(client, 2);
  const Bytes del_rid = del.ids.recipient_ids[0], blk_rid = blk.ids.recipient_ids[0];
  REQUIRE(std::distance(fsys::directory_iterator(relay.files), fsys::directory_iterator{}) == 2);

  Control c(cport, kXftpHelp);
  CHECK(c.read_until("\n'help' for supported commands\n") == "XFTP server control port\n'help' for supported commands\n");
  CHECK(c.ask("help") == std::string(kXftpHelp) + "\n");
  CHECK(c.ask("stats") == "error: Failed reading: bad ControlProtocol command\n");
  CHECK(c.ask("delete " + b64(del_rid)) == "AUTH\n");
  CHECK_FALSE(c.ask("stats-rts").empty());
  CHECK(c.ask("auth userpw") == "Current role is CPRUser\n");

  // By recipient id only.
  CHECK(c.ask("delete " + b64(del.ids.sender_id)) == "error: AUTH\n");
  CHECK(c.ask("delete " + b64(del_rid)) == "ok\n");
  CHECK(c.ask("delete " + b64(del_rid)) == "error: AUTH\n");
  Bytes got;
  CHECK_FALSE(client.fget(del_rid, del.rcv, del.data.size(), del.sha, got).ok());

  CHECK(c.ask("block " + b64(blk_rid) + " reason=content") == "ok\n");
  CHECK(std::distance(fsys::directory_iterator(relay.files), fsys::directory_iterator{}) == 0);
  auto r = client.fget(blk_rid, blk.rcv, blk.data.size(), blk.sha, got);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == xftp::Error::Kind::BLOCKED);
  CHECK(r.error().blocked.reason == BlockingInfo::Reason::content);
  // Blocking again logs and counts again, but the chunk is gone: the stored-files gauges stay right.
  CHECK(c.ask("block " + b64(blk_rid) + " reason=content") == "ok\n");
  const std::string log = read_text(relay.store_log());
  CHECK(contains(log, "FDEL " + b64(del.ids.sender_id)));
  CHECK(contains(log, "FBLK " + b64(blk.ids.sender_id) + " reason=content"));

  // The blocked file is counted as blocked, the deleted one as deleted (saved at stop).
  proc->signal(SIGTERM);
  REQUIRE(proc->wait(30s) == std::optional<int>(0));
  const std::string stats = read_text(relay.log / "file-server-stats.log");
  CHECK(contains(stats, "filesDeleted=1\n"));
  CHECK(contains(stats, "filesBlocked=2\n"));
  CHECK(contains(stats, "\nfilesCount=0\n"));
  CHECK(contains(stats, "\nfilesSize=0\n"));
}
