// No acknowledged message is lost or duplicated across any kind of stop (issue: durable messages). Senders and
// receivers run against the real server while it is stopped with SIGKILL, SIGTERM or SIGINT at a random moment;
// after the restart every SEND that got OK is delivered exactly once, counting deliveries acknowledged before the
// stop. Then the recovery paths: torn and damaged journal records, an interrupted compaction, a full disk.
#include <sys/resource.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "smp_client_fixture.hpp"

using namespace sr;
using namespace sr::smp;
using namespace sr::test;
using namespace std::chrono_literals;

namespace {

// The message body, or "<quota>" for the marker a full queue delivers.
std::string body_text(const resp::MSG& m, const QueueCreds& q) {
  auto d = decrypt_msg(q, m);
  REQUIRE(d);
  return d->quota ? "<quota>" : std::string(d->body.begin(), d->body.end());
}

// Drains a queue with GET/ACK, returning the bodies in order.
std::vector<std::string> drain(SyncSmpClient& c, const QueueCreds& q) {
  std::vector<std::string> out;
  for (;;) {
    Response r = c.recipient_request(q, cmd::GET{});
    if (std::holds_alternative<resp::OK>(r)) break;  // empty
    auto m = expect<resp::MSG>(r);
    out.push_back(body_text(m, q));
    expect<resp::OK>(c.ack(q, m.msg_id));
  }
  return out;
}

std::filesystem::path journal_of(const Relay& relay) { return relay.d.log / "smp-server-messages.journal"; }

}  // namespace

TEST_CASE("SMP delivers every acknowledged SEND exactly once across kill -9, SIGTERM and SIGINT under load",
          "[smp-wire][durability]") {
  const int sig = GENERATE(SIGKILL, SIGTERM, SIGINT);
  CAPTURE(sig);
  Relay relay;
  constexpr int kQueues = 4;
  std::vector<QueueCreds> queues;
  {
    auto rcp = relay.connect();
    for (int i = 0; i < kQueues; ++i) queues.push_back(rcp->create_queue(crypto::KeyAlg::Ed25519, false));
  }
  std::mutex m;
  std::set<std::string> sent_ok;                 // bodies whose SEND got OK
  std::set<std::string> acked;                   // bodies whose ACK got OK before the stop
  std::string ack_in_flight;  // delivered, ACK sent, its reply cut off by the stop: either outcome is right
  std::atomic<bool> stop{false};
  auto sender = [&](int id) {
    try {
      auto snd = relay.connect();
      for (int n = 0; !stop; ++n) {
        const int qi = n % kQueues;
        const std::string body = "s" + std::to_string(id) + "-q" + std::to_string(qi) + "-" + std::to_string(n);
        Response r = snd->send(queues[qi].snd_id, std::nullopt, text(body));
        if (std::holds_alternative<resp::OK>(r)) {
          std::lock_guard l(m);
          sent_ok.insert(body);
        }
      }
    } catch (const std::exception&) {  // the server went away
    }
  };
  // Receives from the first two queues; the others fill up to the quota and answer ERR QUOTA.
  auto receiver = [&] {
    try {
      auto rcp = relay.connect();
      while (!stop) {
        for (int qi = 0; qi < 2; ++qi) {
          Response r = rcp->recipient_request(queues[qi], cmd::GET{});
          auto* msg = std::get_if<resp::MSG>(&r);
          if (!msg) continue;
          const std::string body = body_text(*msg, queues[qi]);
          {
            std::lock_guard l(m);
            ack_in_flight = body;
          }
          if (std::holds_alternative<resp::OK>(rcp->ack(queues[qi], msg->msg_id))) {
            std::lock_guard l(m);
            acked.insert(body);
            ack_in_flight.clear();
          }
        }
      }
    } catch (const std::exception&) {
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(sender, 1);
  threads.emplace_back(sender, 2);
  threads.emplace_back(receiver);
  std::mt19937 rng(std::random_device{}());
  std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 700));
  relay.proc->signal(sig);
  const auto code = relay.proc->wait(30s);
  stop = true;
  for (auto& t : threads) t.join();
  REQUIRE(code.has_value());
  CHECK(*code == (sig == SIGKILL ? 128 + SIGKILL : 0));
  INFO("sent with OK: " << sent_ok.size() << ", acknowledged before the stop: " << acked.size());
  REQUIRE(sent_ok.size() > 10);

  relay.proc = relay.d.start_ready();
  auto rcp = relay.connect();
  std::multiset<std::string> after;
  for (const auto& q : queues)
    for (auto& b : drain(*rcp, q))
      if (b != "<quota>") after.insert(b);
  // Every OK'd SEND is delivered exactly once: acknowledged before the stop, or once after the restart.
  for (const auto& b : sent_ok) {
    CAPTURE(b);
    if (b == ack_in_flight)
      CHECK(after.count(b) <= 1);
    else
      CHECK(acked.count(b) + after.count(b) == 1);
  }
  // Nothing acknowledged comes back, and nothing is delivered twice after the restart.
  for (const auto& b : after) {
    CAPTURE(b);
    CHECK(after.count(b) == 1);
    CHECK(acked.count(b) == 0);
  }
}

TEST_CASE("SMP message journal: a torn last record and damaged records are reported and the rest recovered",
          "[smp-wire][durability]") {
  Relay relay;
  QueueCreds q;
  {
    auto rcp = relay.connect(), snd = relay.connect();
    q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    for (int i = 0; i < 5; ++i) expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("m" + std::to_string(i))));
  }
  relay.proc->signal(SIGKILL);
  relay.proc->wait(30s);
  const auto j = journal_of(relay);
  std::string data = read_text(j);
  const size_t size = data.size();

  SECTION("torn last record") {
    write_text(j, data + std::string("\x40\x00\x00\x00\x01\x02", 6));  // a record header promising 64 bytes
    relay.proc = relay.d.start_ready();
    CHECK(contains(relay.proc->err(), "incomplete last record at offset " + std::to_string(size)));
    CHECK(std::filesystem::file_size(j) == size);  // rewritten without the torn bytes
    auto rcp = relay.connect();
    CHECK(drain(*rcp, q) == std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"});
  }
  SECTION("flipped bit in a middle record") {
    // The third message record: find its body and flip a bit in it.
    const size_t at = data.find("m2");
    REQUIRE(at != std::string::npos);
    data[at + 1] ^= 0x01;
    write_text(j, data);
    relay.proc = relay.d.start_ready();
    const std::string err = relay.proc->err();
    CHECK(contains(err, "damaged record at offset"));
    CHECK(contains(err, "checksum mismatch"));
    CHECK(contains(err, "moved aside to"));
    // The damaged file is kept for inspection, byte for byte.
    bool found = false;
    for (const auto& e : std::filesystem::directory_iterator(relay.d.log))
      if (e.path().filename().string().rfind("smp-server-messages.journal.corrupt.", 0) == 0) {
        found = true;
        CHECK(read_text(e.path()) == data);
      }
    CHECK(found);
    auto rcp = relay.connect();
    // Records before and after the damaged one are kept.
    CHECK(drain(*rcp, q) == std::vector<std::string>{"m0", "m1", "m3", "m4"});
  }
  SECTION("crash between the steps of compaction") {
    // A partial F.new next to a complete F: the compaction did not reach its rename.
    write_text(std::filesystem::path(j.string() + ".new"), data.substr(0, data.size() / 2));
    relay.proc = relay.d.start_ready();
    CHECK(contains(relay.proc->err(), "incomplete compaction found"));
    CHECK_FALSE(std::filesystem::exists(j.string() + ".new"));
    auto rcp = relay.connect();
    CHECK(drain(*rcp, q) == std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"});
  }
}

TEST_CASE("SMP on a full disk refuses SEND with ERR STORE, keeps serving reads, and recovers", "[smp-wire][durability]") {
  Relay relay;
  auto rcp = relay.connect(), snd = relay.connect();
  QueueCreds q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
  expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("before")));
  // The process may not grow any file past its current journal size: every journal write now fails (EFBIG, the
  // same path as ENOSPC).
  const auto j = journal_of(relay);
  rlimit full{static_cast<rlim_t>(std::filesystem::file_size(j)), RLIM_INFINITY};
  REQUIRE(prlimit(relay.proc->pid(), RLIMIT_FSIZE, &full, nullptr) == 0);

  Response r = snd->send(q.snd_id, std::nullopt, text("refused"));
  auto e = expect_err(r);
  CHECK(e.kind == ErrorType::Kind::STORE);
  CHECK(contains(relay.proc->err(), "STORE"));
  // Reads still work: the stored message is delivered; its ACK is a write and is refused too.
  auto m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(body_text(m, q) == "before");
  CHECK(expect_err(rcp->ack(q, m.msg_id)).kind == ErrorType::Kind::STORE);

  rlimit room{RLIM_INFINITY, RLIM_INFINITY};
  REQUIRE(prlimit(relay.proc->pid(), RLIMIT_FSIZE, &room, nullptr) == 0);
  expect<resp::OK>(rcp->ack(q, m.msg_id));
  expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("after")));
  // The refused SEND left nothing behind: after a crash exactly the accepted message is there.
  relay.proc->signal(SIGKILL);
  relay.proc->wait(30s);
  relay.proc = relay.d.start_ready();
  CHECK_FALSE(contains(relay.proc->err(), "damaged"));
  auto rcp2 = relay.connect();
  CHECK(drain(*rcp2, q) == std::vector<std::string>{"after"});
}

TEST_CASE("SMP with fsync = always confirms concurrent SENDs through shared syncs and keeps them across kill -9",
          "[smp-wire][durability]") {
  Relay relay([](StartDirs& d) { d.add_to_section("STORE_LOG", "fsync = always\n"); });
  CHECK(contains(relay.proc->err(), "(fsync always)"));
  auto rcp = relay.connect();
  QueueCreds q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
  std::vector<std::thread> senders;
  std::atomic<int> ok{0};
  for (int s = 0; s < 3; ++s)
    senders.emplace_back([&, s] {
      auto snd = relay.connect();
      for (int i = 0; i < 10; ++i)
        if (std::holds_alternative<resp::OK>(
                snd->send(q.snd_id, std::nullopt, text("s" + std::to_string(s) + "-" + std::to_string(i)))))
          ++ok;
    });
  for (auto& t : senders) t.join();
  CHECK(ok == 30);
  relay.proc->signal(SIGKILL);
  relay.proc->wait(30s);
  relay.proc = relay.d.start_ready();
  auto rcp2 = relay.connect();
  CHECK(drain(*rcp2, q).size() == 30);
}

TEST_CASE("SMP start names the line of a bad fsync setting", "[smp-wire][durability]") {
  StartDirs d;
  d.add_to_section("STORE_LOG", "fsync = sometimes\n");
  auto p = d.start();
  REQUIRE(p->wait(30s) == std::optional<int>(1));
  CHECK(contains(p->err() + p->out(), "fsync"));
  CHECK(contains(p->err() + p->out(), "sometimes"));
  CHECK(contains(p->err() + p->out(), "never"));
}
