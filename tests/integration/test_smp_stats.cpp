// The statistics backup smp-server-stats.log (server-operations.md §5.2): with `log_stats = on` the counters are
// written at stop, read back at the next start (the file renamed to .bak) and go on counting from there.
#include <catch2/catch.hpp>

#include <csignal>

#include "smp/server_stats.hpp"
#include "smp_client_fixture.hpp"

using namespace sr;
using namespace sr::smp;
using namespace sr::test;
using namespace std::chrono_literals;

namespace {

void enable_stats(StartDirs& d) { d.set_ini_line("log_stats = off", "log_stats = on"); }

void stop(Relay& relay) {
  relay.proc->signal(SIGINT);
  const auto rc = relay.proc->wait(30s);
  INFO("exit " << (rc ? std::to_string(*rc) : std::string("none")) << "\n" << relay.proc->out() << relay.proc->err());
  REQUIRE(rc == std::optional<int>(0));
}

// The value of a `key=value` line of the file ("" when absent).
std::string field(const std::string& text, const std::string& key) {
  for (const std::string& l : lines_of(text))
    if (l.rfind(key + "=", 0) == 0) return l.substr(key.size() + 1);
  return "";
}

}  // namespace

TEST_CASE("SMP stats backup is written at stop, restored at start and counting continues", "[stats]") {
  Relay relay(enable_stats);
  const auto file = relay.d.log / "smp-server-stats.log";
  const auto bak = relay.d.log / "smp-server-stats.log.bak";
  QueueCreds q;
  AuthKeyPair sender = generate_auth_key(crypto::KeyAlg::Ed25519);
  {
    auto rcp = relay.connect(), snd = relay.connect();
    q = rcp->create_queue();
    snd->secure_by_sender(q.snd_id, sender);
    expect<resp::OK>(snd->send(q.snd_id, sender, text("one")));
    expect<resp::OK>(snd->send(q.snd_id, sender, text("two"), true));
    auto m = expect_msg_event(*rcp, q.rcv_id);
    expect<resp::MSG>(rcp->ack(q, m.msg_id));  // "two" comes back; it stays unacknowledged
    auto gone = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    expect<resp::OK>(rcp->recipient_request(gone, cmd::DEL{}));
    CHECK(expect_err(snd->send(gone.snd_id, std::nullopt, text("x"))).kind == ErrorType::Kind::AUTH);
  }
  CHECK_FALSE(std::filesystem::exists(file));  // written at stop only
  stop(relay);
  CHECK(contains(relay.proc->err(), "saving server stats to file " + file.string()));
  CHECK(contains(relay.proc->err(), "server stats saved"));
  REQUIRE(std::filesystem::exists(file));
  const std::string first = read_text(file);
  INFO(first);
  CHECK(field(first, "qCreated") == "2");
  CHECK(field(first, "qSecured") == "1");
  CHECK(field(first, "qDeletedAll") == "1");
  CHECK(field(first, "qDeletedNew") == "1");
  CHECK(field(first, "qDeletedSecured") == "0");
  CHECK(field(first, "qCount") == "1");
  CHECK(field(first, "msgSent") == "2");
  CHECK(field(first, "msgSentAuth") == "1");
  CHECK(field(first, "msgSentNtf") == "1");
  CHECK(field(first, "msgRecv") == "1");
  CHECK(field(first, "msgRecvNtf") == "0");
  const std::string h = std::to_string(hash_queue_id(q.rcv_id));
  CHECK(field(first, "dayHashes") == h);
  CHECK(field(first, "monthHashes") == h);
  const std::string from = field(first, "fromTime");
  CHECK(from.size() == 20);  // ISO-8601 UTC to the second, e.g. 2025-06-01T10:00:00Z
  // The same bytes as the reference's encoder would write for these values.
  auto parsed = parse_stats(first);
  REQUIRE(std::holds_alternative<ServerStatsData>(parsed));
  CHECK(encode_stats(std::get<ServerStatsData>(parsed)) == first);

  // The saved queue count is replaced by the store's, with a warning about the difference.
  std::string edited = first;
  REQUIRE(replace_line(edited, "qCount=1", "qCount=7"));
  write_text(file, edited);
  relay.proc = relay.d.start_ready();
  CHECK(contains(relay.proc->err(), "restoring server stats from file " + file.string()));
  CHECK(contains(relay.proc->err(), "server stats restored"));
  CHECK(contains(relay.proc->err(), "Queue count differs: stats: 7, store: 1"));
  CHECK_FALSE(std::filesystem::exists(file));
  CHECK(read_text(bak) == edited);
  {
    auto rcp = relay.connect(), snd = relay.connect();
    expect<resp::OK>(snd->send(q.snd_id, sender, text("three")));
    auto q2 = rcp->create_queue();
    expect<resp::OK>(snd->send(q2.snd_id, std::nullopt, text("four")));
    // Read before closing: a close with unread data resets the connection, and the server's next write to it
    // raises SIGPIPE (not ignored by the server yet, see the report).
    expect_msg_event(*rcp, q2.rcv_id);
  }
  stop(relay);
  const std::string second = read_text(file);
  INFO(second);
  CHECK(field(second, "fromTime") == from);  // the period started before the restart
  CHECK(field(second, "qCreated") == "3");
  CHECK(field(second, "qCount") == "2");
  CHECK(field(second, "msgSent") == "4");
  CHECK(field(second, "msgSentAuth") == "1");
  CHECK(field(second, "qDeletedAll") == "1");
}

TEST_CASE("SMP refuses to start on an unreadable stats backup", "[stats]") {
  Relay relay(enable_stats);
  stop(relay);
  const auto file = relay.d.log / "smp-server-stats.log";
  std::string text = read_text(file);
  REQUIRE(replace_line(text, "qSecured=0", "qSecured=x"));
  write_text(file, text);
  auto p = relay.d.start();
  REQUIRE(p->wait(30s) == std::optional<int>(1));
  CHECK(contains(p->err(), "error restoring server stats: line 3 \"qSecured=x\""));
  CHECK(std::filesystem::exists(file));  // left in place for the operator
  relay.proc.reset();
}

TEST_CASE("SMP without log_stats neither reads nor writes the stats backup", "[stats]") {
  Relay relay;
  const auto file = relay.d.log / "smp-server-stats.log";
  write_text(file, "not a stats file\n");
  stop(relay);
  relay.proc = relay.d.start_ready();
  stop(relay);
  CHECK(read_text(file) == "not a stats file\n");
}
