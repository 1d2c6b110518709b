// The reference's journal message store directories (server-operations.md §4.5): fixtures are written byte by byte
// in the reference's format (simplexmq MsgStore/Journal.hs), not produced by our writer.
#include <catch2/catch.hpp>

#include "text_files.hpp"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "core/encoding.hpp"
#include "core/fsutil.hpp"
#include "smp/journal_dirs.hpp"

namespace stdfs = std::filesystem;
using sr::smp::Id;
using sr::smp::JournalQueueMsgs;
using sr::smp::Message;

using sr::test::TempDir;

namespace {

const std::string kRid1 = "UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN";
const std::string kDir1 = "Uv/Im/Za/YM/EtKJGF2VDuiBNgkWb2sRPReN";  // §4.5 example
const std::string kRid2 = "wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt";
const std::string kDir2 = "wl/7m/5H/a9/QmwlcU4KJpKkHrzjzplzUMVt";
const std::string kJ1 = "k2LQXhYC0W8-3kBd";  // 12 random bytes → 16 characters
const std::string kJ2 = "Qm9vX2pvdXJuYWwx";

// Journal lines: the messages-log line without `v3 <rid> `; each is 61 bytes with its '\n'.
const std::string kMsg1 = "5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc 1748790123 flags=F bXNnMQ==\n";
const std::string kMsg2 = "vutBY5gTz_FGYW_z9ysiAf89v_1LEtQ0 1748790124 flags=T bXNnMg==\n";
const std::string kMsg3 = "tc1q_JEpOcfWp5HBNVJRL-m3bgUz7eaz 1748790125 flags=F bXNnMw==\n";
const std::string kMsg4 = "bA_TkB_yOaGglfIPk5VlDPk4C47bIkpr 1748790126 flags=F bXNnNA==\n";
const std::string kMsg5 = "we0H84kGUw_3FVbjoVwx-yxUm1i2ItKO 1748790127 flags=F bXNnNQ==\n";
const std::string kQuota = "vutBY5gTz_FGYW_z9ysiAf89v_1LEtQ0 1748790200 quota\n";  // 50 bytes

Id id_of(const std::string& b64) {
  auto b = sr::base64url_decode(b64);
  REQUIRE(b);
  auto id = sr::smp::to_id(*b);
  REQUIRE(id);
  return *id;
}

std::string body_of(const Message& m) { return std::string(m.body.begin(), m.body.end()); }

void put(const stdfs::path& f, const std::string& content) {
  stdfs::create_directories(f.parent_path());
  std::ofstream out(f, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

void put_queue(const stdfs::path& messages, const std::string& dir, const std::string& rid, const std::string& state,
               const std::map<std::string, std::string>& journals) {
  put(messages / dir / ("queue_state." + rid + ".log"), state);
  for (const auto& [jid, content] : journals) put(messages / dir / ("messages." + jid + ".log"), content);
}

// Every entry under root with its content (directories as "<dir>"), to prove the reader changes nothing.
std::map<std::string, std::string> snapshot(const stdfs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : stdfs::recursive_directory_iterator(root)) {
    const std::string rel = stdfs::relative(e.path(), root).string();
    out[rel] = e.is_directory() ? std::string("<dir>") : sr::fs::read_file(e.path());
  }
  return out;
}

struct Imported {
  std::vector<JournalQueueMsgs> queues;
  sr::smp::JournalDirsReport report;
};

Imported import_unchanged(const stdfs::path& messages) {
  const auto before = snapshot(messages);
  Imported r;
  r.report = sr::smp::read_journal_dirs(messages, [&](JournalQueueMsgs&& q) { r.queues.push_back(std::move(q)); });
  CHECK(snapshot(messages) == before);
  return r;
}

bool any_warning(const Imported& r, const std::string& part) {
  for (const auto& w : r.report.warnings)
    if (w.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("journal fixture lines have the reference's byte lengths", "[journal_dirs]") {
  for (const auto* m : {&kMsg1, &kMsg2, &kMsg3, &kMsg4, &kMsg5}) CHECK(m->size() == 61);
  CHECK(kQuota.size() == 50);
  CHECK(sr::smp::journal_queue_dir(id_of(kRid1)) == stdfs::path(kDir1));
  CHECK(sr::smp::journal_queue_dir(id_of(kRid2)) == stdfs::path(kDir2));
}

TEST_CASE("shared read/write journal: only messages after the read position are live", "[journal_dirs]") {
  TempDir t;
  const auto messages = t.path / "messages";
  // State history as the reference appends it: three writes, then one acknowledged removal.
  const std::string state = "write=" + kJ1 + ",1,1,61,61 read=" + kJ1 + ",0,1,0,61 canWrite=T size=1\n" +
                            "write=" + kJ1 + ",2,2,122,122 read=" + kJ1 + ",0,2,0,122 canWrite=T size=2\n" +
                            "write=" + kJ1 + ",3,3,183,183 read=" + kJ1 + ",0,3,0,183 canWrite=T size=3\n" +
                            "write=" + kJ1 + ",3,3,183,183 read=" + kJ1 + ",1,3,61,183 canWrite=T size=2\n";
  put_queue(messages, kDir1, kRid1, state, {{kJ1, kMsg1 + kMsg2 + kMsg3}});

  auto r = import_unchanged(messages);
  CHECK(r.report.warnings.empty());
  CHECK(r.report.queues == 1);
  CHECK(r.report.messages == 2);
  REQUIRE(r.queues.size() == 1);
  CHECK(r.queues[0].recipient_id == id_of(kRid1));
  REQUIRE(r.queues[0].msgs.size() == 2);
  const Message& m2 = r.queues[0].msgs[0];
  CHECK(m2.msg_id == id_of("vutBY5gTz_FGYW_z9ysiAf89v_1LEtQ0"));
  CHECK(m2.ts == 1748790124);
  CHECK(m2.notification);
  CHECK_FALSE(m2.quota);
  CHECK(body_of(m2) == "msg2");
  CHECK(body_of(r.queues[0].msgs[1]) == "msg3");
  CHECK_FALSE(r.queues[0].msgs[1].notification);
}

TEST_CASE("separate read and write journals: rest of the read journal, then the write journal", "[journal_dirs]") {
  TempDir t;
  const auto messages = t.path / "messages";
  // Read journal: 3 messages, 2 of them read; write journal: 2 messages. size = 2 + 3 - 2.
  const std::string state = "write=" + kJ2 + ",2,2,122,122 read=" + kJ1 + ",2,3,122,183 canWrite=T size=3\n";
  put_queue(messages, kDir1, kRid1, state, {{kJ1, kMsg1 + kMsg2 + kMsg3}, {kJ2, kMsg4 + kMsg5}});

  auto r = import_unchanged(messages);
  CHECK(r.report.warnings.empty());
  REQUIRE(r.queues.size() == 1);
  std::vector<std::string> bodies;
  for (const auto& m : r.queues[0].msgs) bodies.push_back(body_of(m));
  CHECK(bodies == std::vector<std::string>{"msg3", "msg4", "msg5"});
}

TEST_CASE("a stored quota marker is imported as the last entry", "[journal_dirs]") {
  TempDir t;
  const auto messages = t.path / "messages";
  const std::string state = "write=" + kJ1 + ",3,3,172,172 read=" + kJ1 + ",0,3,0,172 canWrite=F size=3\n";
  put_queue(messages, kDir1, kRid1, state, {{kJ1, kMsg1 + kMsg3 + kQuota}});

  auto r = import_unchanged(messages);
  CHECK(r.report.warnings.empty());
  REQUIRE(r.queues.size() == 1);
  REQUIRE(r.queues[0].msgs.size() == 3);
  const Message& q = r.queues[0].msgs[2];
  CHECK(q.quota);
  CHECK(q.ts == 1748790200);
  CHECK(q.msg_id == id_of("vutBY5gTz_FGYW_z9ysiAf89v_1LEtQ0"));
  CHECK(q.body.empty());
}

TEST_CASE("an invalid last state line falls back to the previous line", "[journal_dirs]") {
  TempDir t;
  const auto messages = t.path / "messages";
  // A crash cut the last state append: the journal already holds the third message, the valid state has two.
  const std::string state = "write=" + kJ1 + ",2,2,122,122 read=" + kJ1 + ",0,2,0,122 canWrite=T size=2\n" +
                            "write=" + kJ1 + ",3,3,18";
  put_queue(messages, kDir1, kRid1, state, {{kJ1, kMsg1 + kMsg2 + kMsg3}});

  auto r = import_unchanged(messages);
  CHECK(any_warning(r, "queue_state." + kRid1 + ".log: invalid last line"));
  // The reference truncates the journal to the recorded position: the third message is not live.
  CHECK(any_warning(r, "messages." + kJ1 + ".log: size 183 > recorded position 122"));
  REQUIRE(r.queues.size() == 1);
  REQUIRE(r.queues[0].msgs.size() == 2);
  CHECK(body_of(r.queues[0].msgs[0]) == "msg1");
  CHECK(body_of(r.queues[0].msgs[1]) == "msg2");
}

TEST_CASE("a missing journal file is a warning and other queues are still imported", "[journal_dirs]") {
  TempDir t;
  const auto messages = t.path / "messages";
  put_queue(messages, kDir1, kRid1,
            "write=" + kJ1 + ",1,1,61,61 read=" + kJ1 + ",0,1,0,61 canWrite=T size=1\n", {});
  put_queue(messages, kDir2, kRid2,
            "write=" + kJ2 + ",2,2,122,122 read=" + kJ2 + ",0,2,0,122 canWrite=T size=2\n", {{kJ2, kMsg4 + kMsg5}});

  auto r = import_unchanged(messages);
  CHECK(any_warning(r, (stdfs::path(kDir1) / ("messages." + kJ1 + ".log")).string() + ": journal file missing"));
  CHECK(r.report.queues == 1);
  REQUIRE(r.queues.size() == 1);
  CHECK(r.queues[0].recipient_id == id_of(kRid2));
  CHECK(r.queues[0].msgs.size() == 2);
}

TEST_CASE("a bad message line is skipped with its file and byte offset", "[journal_dirs]") {
  TempDir t;
  const auto messages = t.path / "messages";
  const std::string bad = "not a message line at all, but exactly sixty-one bytes long.\n";
  REQUIRE(bad.size() == 61);
  put_queue(messages, kDir1, kRid1,
            "write=" + kJ1 + ",3,3,183,183 read=" + kJ1 + ",0,3,0,183 canWrite=T size=3\n",
            {{kJ1, kMsg1 + bad + kMsg3}});

  auto r = import_unchanged(messages);
  CHECK(any_warning(r, "messages." + kJ1 + ".log at byte 61: bad message line"));
  REQUIRE(r.queues.size() == 1);
  REQUIRE(r.queues[0].msgs.size() == 2);
  CHECK(body_of(r.queues[0].msgs[1]) == "msg3");
}

TEST_CASE("an empty queue (size=0) returns nothing", "[journal_dirs]") {
  TempDir t;
  const auto messages = t.path / "messages";
  put_queue(messages, kDir1, kRid1,
            "write=" + kJ1 + ",2,2,122,122 read=" + kJ1 + ",2,2,122,122 canWrite=T size=0\n",
            {{kJ1, kMsg1 + kMsg2}});

  auto r = import_unchanged(messages);
  CHECK(r.queues.empty());
  CHECK(r.report.queues == 0);
  CHECK(r.report.messages == 0);
  CHECK(r.report.warnings.empty());
}

TEST_CASE("state that breaks the reference's invariants skips the queue", "[journal_dirs]") {
  TempDir t;
  const auto messages = t.path / "messages";
  // size should be 2 for these positions.
  put_queue(messages, kDir1, kRid1,
            "write=" + kJ1 + ",2,2,122,122 read=" + kJ1 + ",0,2,0,122 canWrite=T size=5\n", {{kJ1, kMsg1 + kMsg2}});
  auto r = import_unchanged(messages);
  CHECK(r.queues.empty());
  CHECK(any_warning(r, "inconsistent queue state"));
}

TEST_CASE("write_journal_queue writes the reference layout and reads back", "[journal_dirs]") {
  TempDir t;
  const auto messages = t.path / "messages";
  std::vector<Message> msgs(3);
  msgs[0].msg_id = id_of("5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc");
  msgs[0].ts = 1748790123;
  msgs[0].notification = true;
  msgs[0].body = {'h', 'i'};
  msgs[1].msg_id = id_of("vutBY5gTz_FGYW_z9ysiAf89v_1LEtQ0");
  msgs[1].ts = 1748790124;
  msgs[1].body = {'t', 'h', 'e', 'r', 'e'};
  msgs[2].msg_id = id_of("tc1q_JEpOcfWp5HBNVJRL-m3bgUz7eaz");
  msgs[2].ts = 1748790200;
  msgs[2].quota = true;
  sr::smp::write_journal_queue(messages, id_of(kRid1), msgs);

  // Exactly the state file and one journal, in the split directory.
  const auto dir = messages / kDir1;
  std::vector<std::string> names;
  for (const auto& e : stdfs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() == 2);
  std::smatch jm;
  REQUIRE(std::regex_match(names[0], jm, std::regex("messages\\.([A-Za-z0-9_-]{16})\\.log")));
  const std::string jid = jm[1];
  CHECK(names[1] == "queue_state." + kRid1 + ".log");

  const std::string journal = sr::fs::read_file(dir / names[0]);
  const std::string expected_journal = "5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc 1748790123 flags=T aGk=\n"
                                       "vutBY5gTz_FGYW_z9ysiAf89v_1LEtQ0 1748790124 flags=F dGhlcmU=\n"
                                       "tc1q_JEpOcfWp5HBNVJRL-m3bgUz7eaz 1748790200 quota\n";
  CHECK(journal == expected_journal);
  const auto n = std::to_string(expected_journal.size());
  // One state line meeting §4.5's invariants; a stored quota marker keeps canWrite=F.
  CHECK(sr::fs::read_file(dir / names[1]) ==
        "write=" + jid + ",3,3," + n + "," + n + " read=" + jid + ",0,3,0," + n + " canWrite=F size=3\n");

  auto r = import_unchanged(messages);
  CHECK(r.report.warnings.empty());
  REQUIRE(r.queues.size() == 1);
  CHECK(r.queues[0].recipient_id == id_of(kRid1));
  REQUIRE(r.queues[0].msgs.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(r.queues[0].msgs[i].msg_id == msgs[i].msg_id);
    CHECK(r.queues[0].msgs[i].ts == msgs[i].ts);
    CHECK(r.queues[0].msgs[i].notification == msgs[i].notification);
    CHECK(r.queues[0].msgs[i].quota == msgs[i].quota);
    CHECK(r.queues[0].msgs[i].body == msgs[i].body);
  }

  // An empty queue creates nothing, as the reference creates files only on the first write.
  sr::smp::write_journal_queue(messages, id_of(kRid2), {});
  CHECK_FALSE(stdfs::exists(messages / "wl"));
}
