// The control port without sockets (server-operations.md §5.4): the session's roles and parser, and the SMP
// commands' replies over a ServerState.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/control_port.hpp"
#include "core/crypto.hpp"
#include "smp/smp_control.hpp"

using namespace sr;
using namespace sr::control;

namespace {

// A table with one command per role requirement, each answering its name.
std::shared_ptr<const Commands> table() {
  auto c = std::make_shared<Commands>();
  c->greeting = "TEST server control port";
  c->help = "commands: open, user, admin, help, quit";
  auto name = [](std::string n) { return [n](const Request& r) { return n + " " + std::string(role_name(r.role)) + "\n"; }; };
  c->table["open"] = {Args::None, Need::Any, name("open")};
  c->table["user"] = {Args::None, Need::User, name("user")};
  c->table["admin"] = {Args::None, Need::Admin, name("admin")};
  c->table["del"] = {Args::Id, Need::Any, [](const Request& r) { return base64url_encode(r.id) + "\n"; }};
  c->table["blk"] = {Args::IdInfo, Need::Any, [](const Request& r) {
                       return base64url_encode(r.id) + " " + encode_blocking_info(r.info) + "\n";
                     }};
  return c;
}

Session session(Passwords p = {"adminpw", "userpw"}) { return Session(table(), std::move(p)); }

}  // namespace

TEST_CASE("control session: greeting, help, empty line and quit", "[control]") {
  auto t = table();
  CHECK(greeting(*t) == "TEST server control port\n'help' for supported commands\n");
  Session s = session();
  CHECK(s.handle("help").text == "commands: open, user, admin, help, quit\n");
  const Reply empty = s.handle("");
  CHECK(empty.text.empty());
  CHECK_FALSE(empty.close);
  CHECK(s.handle("\r").text.empty());  // a CRLF line
  CHECK(s.handle("quit").close);
  CHECK(s.handle("quit\r").close);
}

TEST_CASE("control session: roles from the passwords", "[control]") {
  SECTION("no role: role-checked commands answer AUTH, stats-rts-like ones run") {
    Session s = session();
    CHECK(s.handle("user").text == "AUTH\n");
    CHECK(s.handle("admin").text == "AUTH\n");
    CHECK(s.handle("open").text == "open CPRNone\n");
  }
  SECTION("a wrong password keeps no role") {
    Session s = session();
    CHECK(s.handle("auth nope").text == "Current role is CPRNone\n");
    CHECK(s.role() == Role::None);
    CHECK(s.handle("user").text == "AUTH\n");
    // Still no role: a later correct password is accepted.
    CHECK(s.handle("auth userpw").text == "Current role is CPRUser\n");
  }
  SECTION("user: user commands only; the role cannot change in the session") {
    Session s = session();
    CHECK(s.handle("auth userpw\r").text == "Current role is CPRUser\n");
    CHECK(s.handle("user").text == "user CPRUser\n");
    CHECK(s.handle("admin").text == "AUTH\n");
    CHECK(s.handle("auth adminpw").text == "Current role is CPRUser, start new session to change.\n");
    CHECK(s.handle("auth userpw").text == "Current role is CPRUser\n");
    CHECK(s.role() == Role::User);
  }
  SECTION("admin: everything") {
    Session s = session();
    CHECK(s.handle("auth adminpw").text == "Current role is CPRAdmin\n");
    CHECK(s.handle("user").text == "user CPRAdmin\n");
    CHECK(s.handle("admin").text == "admin CPRAdmin\n");
  }
  SECTION("the admin password is compared first") {
    Session s = session({"same", "same"});
    CHECK(s.handle("auth same").text == "Current role is CPRAdmin\n");
  }
  SECTION("no passwords configured: nobody authenticates") {
    Session s = session({std::nullopt, std::nullopt});
    CHECK(s.handle("auth anything").text == "Current role is CPRNone\n");
    CHECK(s.handle("user").text == "AUTH\n");
  }
}

TEST_CASE("control session: parser errors", "[control]") {
  Session s = session();
  CHECK(s.handle("bogus").text == "error: Failed reading: bad ControlProtocol command\n");
  CHECK(s.handle("Help").text == "error: Failed reading: bad ControlProtocol command\n");
  CHECK(s.handle("help me").text == "error: endOfInput\n");
  CHECK(s.handle("open now").text == "error: endOfInput\n");
  CHECK(s.handle("auth").text == "error: not enough input\n");
  CHECK(s.handle("auth a@b").text == "error: endOfInput\n");
  CHECK(s.handle("auth a:b").text.rfind("error: ", 0) == 0);
  CHECK(s.handle("del").text == "error: not enough input\n");
  CHECK(s.handle("del !!").text.rfind("error: ", 0) == 0);
  CHECK(s.handle("del a").text.rfind("error: ", 0) == 0);  // not a base64 length
  CHECK(s.handle("blk AAAA").text == "error: not enough input\n");
  CHECK(s.handle("blk AAAA reason=bad").text.rfind("error: ", 0) == 0);
  // A parse error sets no role and does not close.
  CHECK(s.role() == Role::None);
}

TEST_CASE("control session: arguments are base64url ids and blocking info", "[control]") {
  Session s = session();
  CHECK(s.handle("del AQID").text == "AQID\n");
  CHECK(s.handle("del AQIDBA").text == "AQIDBA==\n");  // unpadded input accepted, output padded
  CHECK(s.handle("blk AQID reason=spam").text == "AQID reason=spam\n");
  CHECK(s.handle("blk AQID reason=content,notice={\"ttl\":3600}").text ==
        "AQID reason=content,notice={\"ttl\":3600}\n");
}

// ---- SMP commands ---------------------------------------------------------------------------------------------

namespace {

using namespace sr::smp;

struct Q {
  Id rid{}, sid{}, link{};
};

Q add_queue(ServerState& st, bool with_link = false) {
  Q q;
  crypto::random_bytes(q.rid);
  crypto::random_bytes(q.sid);
  QueueRec r;
  r.recipient_id = q.rid;
  r.sender_id = q.sid;
  r.mode = 'M';
  r.updated_at = 20240;
  if (with_link) {
    crypto::random_bytes(q.link);
    r.ensure_extra().link = QueueLink{q.link, {}, {}};
  }
  REQUIRE(st.queues().add(std::move(r)) == StoreResult::Ok);
  return q;
}

Bytes b(const Id& id) { return Bytes(id.begin(), id.end()); }

BlockingInfo spam() { return BlockingInfo{}; }

}  // namespace

TEST_CASE("SMP control: status, block, unblock with the reference's replies", "[control]") {
  ServerState st(RelayConfig{});
  std::vector<std::string> log;
  st.store_log = [&](std::string_view line) {
    log.emplace_back(line);
    return std::string();
  };
  const Q q = add_queue(st);
  CHECK(control_status(st, b(q.sid)) ==
        "status: EntityActive, updatedAt: Just (RoundedSystemTime {roundedSeconds = 1748736000}), "
        "queueMode: Just QMMessaging\n");
  CHECK(control_status(st, b(q.rid)) == "error: AUTH\n");  // by sender id, not recipient id
  CHECK(control_status(st, Bytes{1, 2, 3}) == "error: AUTH\n");

  CHECK(control_block(st, b(q.sid), spam(), 20) ==
        "ok, queue blocked: EntityBlocked (BlockingInfo {reason = BRSpam, notice = Nothing})\n");
  REQUIRE(log.size() == 1);
  CHECK(log[0] == "BLOCK " + base64url_encode(q.rid) + " reason=spam");
  CHECK(st.stats().qBlocked == 1);
  CHECK(control_status(st, b(q.sid)).rfind(
            "status: EntityBlocked (BlockingInfo {reason = BRSpam, notice = Nothing}), ", 0) == 0);
  // The same block again changes nothing; another reason is applied but not counted again.
  CHECK(control_block(st, b(q.sid), spam(), 20) ==
        "ok, already inactive: EntityBlocked (BlockingInfo {reason = BRSpam, notice = Nothing})\n");
  CHECK(log.size() == 1);
  BlockingInfo content{BlockingInfo::Reason::content, true, 86400};
  CHECK(control_block(st, b(q.sid), content, 20) ==
        "ok, already inactive: EntityBlocked (BlockingInfo {reason = BRContent, notice = Just (ClientNotice {ttl = "
        "Just 86400})})\n");
  CHECK(log.size() == 2);
  CHECK(st.stats().qBlocked == 1);

  CHECK(control_unblock(st, b(q.sid)) ==
        "ok, queue unblocked, reason to block was: BlockingInfo {reason = BRContent, notice = Just (ClientNotice {ttl "
        "= Just 86400})}\n");
  CHECK(log.back() == "UNBLOCK " + base64url_encode(q.rid));
  CHECK(control_unblock(st, b(q.sid)) == "ok, queue was active\n");
  REQUIRE(st.queues().set_status(q.rid, QueueStatus::Off) == StoreResult::Ok);
  CHECK(control_unblock(st, b(q.sid)) == "error, queue is inactive\n");
  CHECK(control_status(st, b(q.sid)).rfind("status: EntityOff, ", 0) == 0);
}

TEST_CASE("SMP control: the daily block quota", "[control]") {
  ServerState st(RelayConfig{});
  const Q a = add_queue(st), c = add_queue(st);
  SECTION("a quota of 1: the second block is refused") {
    CHECK(control_block(st, b(a.sid), spam(), 1).rfind("ok, queue blocked: ", 0) == 0);
    CHECK(control_block(st, b(c.sid), spam(), 1) == "error: reached limit of 1 queues blocked daily\n");
    CHECK(st.queues().by_sender(c.sid)->status == QueueStatus::Active);
    // The daily statistics row resets the count (quirk 8.Q10: only that row does).
    st.roll_stats_period(1748736000);
    CHECK(control_block(st, b(c.sid), spam(), 1).rfind("ok, queue blocked: ", 0) == 0);
  }
  SECTION("-1 prohibits blocking") {
    CHECK(control_block(st, b(a.sid), spam(), -1) == "error: reached limit of -1 queues blocked daily\n");
  }
  SECTION("0 is no limit") {
    CHECK(control_block(st, b(a.sid), spam(), 0).rfind("ok, queue blocked: ", 0) == 0);
    CHECK(control_block(st, b(c.sid), spam(), 0).rfind("ok, queue blocked: ", 0) == 0);
  }
}

TEST_CASE("SMP control: delete by sender or short-link id", "[control]") {
  ServerState st(RelayConfig{});
  std::vector<std::string> log;
  st.store_log = [&](std::string_view line) {
    log.emplace_back(line);
    return std::string();
  };
  const Q q = add_queue(st, true);
  st.stats().qCount = 1;
  CHECK(control_status(st, b(q.link)).rfind("status: EntityActive", 0) == 0);  // link id fallback
  CHECK(control_delete(st, b(q.link)) == "ok, 0 messages deleted\n");
  CHECK(st.queues().by_recipient(q.rid) == nullptr);
  CHECK(log == std::vector<std::string>{"DELETE " + base64url_encode(q.rid)});
  CHECK(st.stats().qDeletedAll == 1);
  CHECK(st.stats().qDeletedNew == 1);
  CHECK(st.stats().qCount == 0);
  CHECK(control_delete(st, b(q.sid)) == "error: AUTH\n");
}

TEST_CASE("SMP control: a store-log failure is the reply's error", "[control]") {
  ServerState st(RelayConfig{});
  st.store_log = [](std::string_view) { return std::string("disk full"); };
  const Q q = add_queue(st);
  CHECK(control_block(st, b(q.sid), spam(), 0) == "error: STORE \"disk full\"\n");
}

TEST_CASE("SMP control: stats, sockets and help", "[control]") {
  ServerState st(RelayConfig{});
  add_queue(st);
  st.stats().fromTime = 1748736000;
  st.stats().msgSent = 7;
  st.stats().qSubAuth = 2;
  const std::string user = control_stats(st, Role::User);
  CHECK(user.rfind("fromTime: 2025-06-01 00:00:00 UTC\nqCreated: 0\n", 0) == 0);
  CHECK(user.find("\nmsgSent: 7\n") != std::string::npos);
  CHECK(user.find("\nother SUB events (auth, duplicate, prohibited): (2,0,0)\n") != std::string::npos);
  CHECK(user.find("\nqCount 2: 1\n") != std::string::npos);
  CHECK(user.find("\npRelays: requests=0, successes=0, errorsConnect=0, errorsCompat=0, errorsOther=0\n") !=
        std::string::npos);
  CHECK(user.find("ntfCount 2") == std::string::npos);
  CHECK(control_stats(st, Role::Admin).find("\nntfCount 2: 0\n") != std::string::npos);

  CHECK(control_sockets({SocketCounts{5223, 3, 1, 2, 0}}) ==
        "Sockets for port 5223:\naccepted: 3\nclosed: 1\nactive: 2\nleaked: 0\n");
  CHECK(control_sockets({}).empty());

  SmpControl c;
  auto cmds = smp_commands(c);
  Session s(cmds, {"a", "u"});
  CHECK(s.handle("help").text ==
        "commands: stats, stats-rts, clients, sockets, socket-threads, threads, server-info, delete, save, help, "
        "quit\n");
  CHECK(s.handle("suspend").text == "AUTH\n");
  CHECK(s.handle("auth a").text == "Current role is CPRAdmin\n");
  CHECK(s.handle("suspend").text == "suspend not implemented\n");
  CHECK(s.handle("resume").text == "resume not implemented\n");
  CHECK(s.handle("save").text == "saving server state...\nserver state saved!\n");
}

TEST_CASE("SMP control: clients as CSV with Unix times and base64 session ids", "[control]") {
  ServerState st(RelayConfig{});
  CHECK(control_clients(st, 0) == "clientId,sessionId,connected,createdAt,rcvActiveAt,sndActiveAt,age,subscriptions\n");
  ClientState& c = st.add_client(7);
  c.params.session_id = Bytes{0xfb, 0xff, 0x01};
  c.created_at = 1000;
  c.last_active = 1500;
  CHECK(control_clients(st, 1600) ==
        "clientId,sessionId,connected,createdAt,rcvActiveAt,sndActiveAt,age,subscriptions\n"
        "7,+/8B,True,1000,1500,1500,600,0\n");
  const std::string info = control_server_info(st, Role::User);
  CHECK(info.find("\nClients: 1\n") != std::string::npos);
  CHECK(info.find("Client queues") == std::string::npos);
  CHECK(control_server_info(st, Role::Admin).find("\nClient queues (rcvQ, sndQ, msgQ): (0,0,0)\n") != std::string::npos);
}
