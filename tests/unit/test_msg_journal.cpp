// The SMP message journal (smp/msg_journal): every change the stores make is recorded so that replaying the file
// into fresh stores gives back the same messages and notifications, also after compaction. All on real files.
#include <catch2/catch.hpp>

#include "text_files.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/record_journal.hpp"
#include "smp/msg_journal.hpp"
#include "smp/msg_store.hpp"
#include "smp/queue_store.hpp"

namespace stdfs = std::filesystem;
namespace journal = sr::journal;
using namespace sr::smp;
using sr::Bytes;
namespace crypto = sr::crypto;

using sr::test::TempDir;

namespace {

Id id_of(uint8_t tag, uint32_t n) {
  Id id{};
  id[0] = tag;
  id[22] = static_cast<uint8_t>(n >> 8);
  id[23] = static_cast<uint8_t>(n);
  return id;
}

Message msg(const Id& mid, int64_t ts, Bytes body, bool ntf = false) {
  Message m;
  m.msg_id = mid;
  m.ts = ts;
  m.notification = ntf;
  m.body = std::move(body);
  return m;
}

Notification ntf(uint32_t n, int64_t ts) {
  Notification x;
  x.msg_id = id_of('m', n);
  x.ts = ts;
  for (size_t i = 0; i < x.nonce.size(); ++i) x.nonce[i] = static_cast<uint8_t>(n + i);
  x.enc_meta = Bytes(144, static_cast<uint8_t>(n));
  return x;
}

// The stores with a journal file attached, as the relay runs them.
struct Journaled {
  stdfs::path file;
  MsgStore msgs;
  NtfStore ntfs;
  std::unique_ptr<MsgJournalFile> journal;
  Journaled(stdfs::path f, size_t quota) : file(std::move(f)), msgs(quota) {
    journal::write_snapshot(file, [](const auto&) {});
    journal = std::make_unique<MsgJournalFile>(
        std::make_unique<journal::Writer>(file, journal::FsyncPolicy::Never, std::chrono::milliseconds(1000)));
    msgs.journal = journal.get();
    ntfs.journal = journal.get();
  }
};

struct Replayed {
  MsgStore msgs;
  NtfStore ntfs;
  MsgReplayReport report;
  Replayed(const stdfs::path& f, size_t quota) : msgs(quota) { report = replay_msg_journal(f, msgs, ntfs); }
};

void check_clean(const MsgReplayReport& r) {
  CHECK(r.read.clean());
  CHECK(r.inconsistent == 0);
  CHECK(r.unknown == 0);
}

// Every queue's entries (id, ts, flags, body) and every notifier's notifications, in order.
void check_same(const MsgStore& a, const NtfStore& an, const MsgStore& b, const NtfStore& bn) {
  REQUIRE(a.queue_ids() == b.queue_ids());
  CHECK(a.total_messages() == b.total_messages());
  for (const Id& rid : a.queue_ids()) {
    std::vector<const Message*> ma, mb;
    a.for_each_message(rid, [&](const Message& m) { ma.push_back(&m); });
    b.for_each_message(rid, [&](const Message& m) { mb.push_back(&m); });
    REQUIRE(ma.size() == mb.size());
    for (size_t i = 0; i < ma.size(); ++i) {
      CHECK(ma[i]->msg_id == mb[i]->msg_id);
      CHECK(ma[i]->ts == mb[i]->ts);
      CHECK(ma[i]->notification == mb[i]->notification);
      CHECK(ma[i]->quota == mb[i]->quota);
      CHECK(ma[i]->body == mb[i]->body);
    }
  }
  REQUIRE(an.ids() == bn.ids());
  CHECK(an.total() == bn.total());
  for (const Id& nid : an.ids()) {
    const auto &na = *an.pending(nid), &nb = *bn.pending(nid);
    REQUIRE(na.size() == nb.size());
    for (size_t i = 0; i < na.size(); ++i) {
      CHECK(na[i].msg_id == nb[i].msg_id);
      CHECK(na[i].ts == nb[i].ts);
      CHECK(na[i].nonce == nb[i].nonce);
      CHECK(na[i].enc_meta == nb[i].enc_meta);
    }
  }
}

const Id qA = id_of('R', 1), qB = id_of('R', 2), qC = id_of('R', 3), qD = id_of('R', 4), qE = id_of('R', 5);
const Id n1 = id_of('N', 1), n2 = id_of('N', 2), n3 = id_of('N', 3), n4 = id_of('N', 4);
constexpr size_t kQuota = 3;

// Every kind of change the relay makes, with the results the stores must give.
void run_scenario(MsgStore& msgs, NtfStore& ntfs) {
  // Queue A goes over quota: three messages, the marker, then a rejected write.
  for (uint32_t i = 1; i <= 3; ++i)
    REQUIRE(msgs.write(qA, msg(id_of('a', i), 1000 + i, Bytes(i * 10, uint8_t(i)), i == 2)).accepted);
  const WriteOutcome over = msgs.write(qA, msg(id_of('a', 4), 1004, Bytes{4}));
  REQUIRE_FALSE(over.accepted);
  REQUIRE_FALSE(over.refused);
  REQUIRE_FALSE(msgs.write(qA, msg(id_of('a', 5), 1005, Bytes{5})).accepted);
  REQUIRE(msgs.size(qA) == 4);

  REQUIRE(msgs.write(qB, msg(id_of('b', 1), 100, Bytes{})).accepted);  // empty body
  REQUIRE(msgs.write(qB, msg(id_of('b', 2), 200, Bytes(16000, 0xbb))).accepted);
  REQUIRE(msgs.write(qB, msg(id_of('b', 3), 300, Bytes{3})).accepted);
  REQUIRE(msgs.write(qC, msg(id_of('c', 1), 50, Bytes{1})).accepted);
  REQUIRE(msgs.write(qC, msg(id_of('c', 2), 60, Bytes{2})).accepted);
  REQUIRE(msgs.write(qC, msg(id_of('c', 3), 400, Bytes{3})).accepted);
  REQUIRE(msgs.write(qD, msg(id_of('d', 1), 10, Bytes{1})).accepted);
  REQUIRE(msgs.write(qE, msg(id_of('e', 1), 10, Bytes{1})).accepted);
  REQUIRE(msgs.write(qE, msg(id_of('e', 2), 5000, Bytes{2})).accepted);

  // Acks: the head goes; a wrong id changes nothing.
  REQUIRE(msgs.delete_head_if(qA, view(id_of('a', 1))));
  REQUIRE_FALSE(msgs.delete_head_if(qB, view(id_of('b', 2))));
  REQUIRE(msgs.delete_head_if(qB, view(id_of('b', 1))));

  REQUIRE(msgs.expire(qC, 55) == 1);  // c1
  msgs.delete_queue(qD);
  REQUIRE(msgs.expire_all(150) == 2);  // c2, e1; A's old messages are newer (ts 1002+)
  REQUIRE(msgs.write(qC, msg(id_of('c', 4), 20, Bytes{4})).accepted);  // older than the cutoff, written after it

  REQUIRE(ntfs.add(n1, ntf(1, 100)));
  REQUIRE(ntfs.add(n1, ntf(2, 200)));
  REQUIRE(ntfs.add(n2, ntf(3, 100)));
  REQUIRE(ntfs.add(n3, ntf(4, 100)));
  REQUIRE(ntfs.add(n3, ntf(5, 300)));
  REQUIRE(ntfs.add(n3, ntf(6, 120)));
  REQUIRE(ntfs.take(n1).size() == 2);
  ntfs.erase(n2);
  REQUIRE(ntfs.expire(150) == 2);  // n3's 100 and 120, not its head run only
  REQUIRE(ntfs.add(n4, ntf(7, 50)));
  REQUIRE(ntfs.add(n1, ntf(8, 400)));

  REQUIRE(msgs.queue_ids() == std::vector<Id>{qA, qB, qC, qE});
  REQUIRE(ntfs.ids() == std::vector<Id>{n1, n3, n4});
}

}  // namespace

TEST_CASE("msg journal: replay gives back the stores the changes built", "[journal]") {
  TempDir dir;
  Journaled live(dir.path / "smp-server-messages.journal", kQuota);
  run_scenario(live.msgs, live.ntfs);

  Replayed back(live.file, kQuota);
  check_clean(back.report);
  check_same(live.msgs, live.ntfs, back.msgs, back.ntfs);

  // The over-quota state comes back too: A refuses a write until it is emptied.
  live.msgs.journal = nullptr;
  const WriteOutcome a = live.msgs.write(qA, msg(id_of('a', 9), 2000, Bytes{9}));
  const WriteOutcome b = back.msgs.write(qA, msg(id_of('a', 9), 2000, Bytes{9}));
  CHECK_FALSE(b.accepted);
  CHECK(a.accepted == b.accepted);
  CHECK(back.msgs.size(qA) == live.msgs.size(qA));
}

TEST_CASE("msg journal: replay after compaction gives the same stores", "[journal]") {
  TempDir dir;
  Journaled live(dir.path / "smp-server-messages.journal", kQuota);
  run_scenario(live.msgs, live.ntfs);

  live.journal->compact(live.msgs, live.ntfs);
  CHECK_FALSE(stdfs::exists(dir.path / "smp-server-messages.journal.new"));
  {
    // The snapshot holds one record per stored entry and nothing else.
    Replayed snap(live.file, kQuota);
    check_clean(snap.report);
    CHECK(snap.report.read.records == live.msgs.total_messages() + live.ntfs.total());
    check_same(live.msgs, live.ntfs, snap.msgs, snap.ntfs);
  }

  // Changes after the compaction are appended to the snapshot.
  REQUIRE(live.msgs.delete_head_if(qA, view(id_of('a', 2))));
  REQUIRE(live.msgs.write(qB, msg(id_of('b', 4), 600, Bytes{4}, true)).accepted);
  REQUIRE(live.ntfs.take(n3).size() == 1);
  REQUIRE(live.ntfs.add(n2, ntf(9, 700)));
  Replayed back(live.file, kQuota);
  check_clean(back.report);
  check_same(live.msgs, live.ntfs, back.msgs, back.ntfs);

  // A snapshot written to another file (as the start-up does) replays the same.
  const stdfs::path other = dir.path / "other.journal";
  journal::write_snapshot(other, [&](const auto& emit) { write_msg_snapshot(emit, live.msgs, live.ntfs); });
  Replayed copy(other, kQuota);
  check_clean(copy.report);
  check_same(live.msgs, live.ntfs, copy.msgs, copy.ntfs);
}

TEST_CASE("msg journal: compaction waits until the file is large", "[journal]") {
  TempDir dir;
  Journaled live(dir.path / "smp-server-messages.journal", kQuota);
  run_scenario(live.msgs, live.ntfs);
  const auto size = stdfs::file_size(live.file);
  CHECK_FALSE(live.journal->compact_if_large(live.msgs, live.ntfs));
  CHECK(stdfs::file_size(live.file) == size);
}

TEST_CASE("msg journal: records that do not apply are counted, not fatal", "[journal]") {
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  journal::write_snapshot(f, [](const auto&) {});
  {
    MsgJournalFile j(std::make_unique<journal::Writer>(f, journal::FsyncPolicy::Never,
                                                       std::chrono::milliseconds(1000)));
    REQUIRE(j.put(qA, msg(id_of('a', 1), 10, Bytes{1})));
    REQUIRE(j.del_head(qA, id_of('a', 7)));  // not the head
    const uint8_t unknown[] = {'Z', 1, 2};
    REQUIRE_FALSE(j.writer().append({journal::ByteView(unknown)}));
    const uint8_t short_ack[] = {'A', 1};
    REQUIRE_FALSE(j.writer().append({journal::ByteView(short_ack)}));
    REQUIRE(j.put(qA, msg(id_of('a', 2), 20, Bytes{2})));
  }
  MsgStore msgs(kQuota);
  NtfStore ntfs;
  const MsgReplayReport r = replay_msg_journal(f, msgs, ntfs);
  CHECK(r.read.clean());
  CHECK(r.read.records == 5);
  CHECK(r.inconsistent == 1);
  CHECK(r.unknown == 2);
  CHECK(msgs.size(qA) == 2);
}

TEST_CASE("msg journal: drop_orphans removes what belongs to no queue", "[journal]") {
  TempDir dir;
  Journaled live(dir.path / "smp-server-messages.journal", kQuota);
  QueueStore queues;
  for (const Id& rid : {qA, qB}) {
    QueueRec q;
    q.recipient_id = rid;
    q.sender_id = rid;
    q.sender_id[0] = 'S';
    q.rcv_key = StoredKey::of({crypto::KeyAlg::Ed25519, Bytes(crypto::public_key_size(crypto::KeyAlg::Ed25519), 1)});
    q.mode = 'M';
    REQUIRE(queues.add(std::move(q)) == StoreResult::Ok);
  }
  NotifierRec nr;
  nr.notifier_id = n1;
  nr.notifier_key = StoredKey::of({crypto::KeyAlg::X25519, Bytes(crypto::public_key_size(crypto::KeyAlg::X25519), 2)});
  REQUIRE(queues.set_notifier(qA, nr) == StoreResult::Ok);

  REQUIRE(live.msgs.write(qA, msg(id_of('a', 1), 10, Bytes{1})).accepted);
  REQUIRE(live.msgs.write(qB, msg(id_of('b', 1), 10, Bytes{1})).accepted);
  REQUIRE(live.msgs.write(qC, msg(id_of('c', 1), 10, Bytes{1})).accepted);  // no such queue
  REQUIRE(live.msgs.write(qC, msg(id_of('c', 2), 10, Bytes{2})).accepted);
  REQUIRE(live.ntfs.add(n1, ntf(1, 10)));
  REQUIRE(live.ntfs.add(n2, ntf(2, 10)));  // no such notifier

  CHECK(drop_orphans(queues, live.msgs, live.ntfs) == 3);
  CHECK(live.msgs.queue_ids() == std::vector<Id>{qA, qB});
  CHECK(live.ntfs.ids() == std::vector<Id>{n1});
  CHECK(drop_orphans(queues, live.msgs, live.ntfs) == 0);

  // The removal is journaled like any deletion.
  Replayed back(live.file, kQuota);
  check_clean(back.report);
  check_same(live.msgs, live.ntfs, back.msgs, back.ntfs);
}
