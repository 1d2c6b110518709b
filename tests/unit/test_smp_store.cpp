#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "smp/msg_store.hpp"
#include "smp/queue_store.hpp"

using namespace sr::smp;
using sr::Bytes;
namespace crypto = sr::crypto;

namespace {

Id make_id(std::mt19937_64& rng) {
  Id id;
  for (auto& b : id) b = static_cast<uint8_t>(rng());
  return id;
}

Id id_of(uint8_t tag, uint32_t n) {
  Id id{};
  id[0] = tag;
  id[20] = static_cast<uint8_t>(n >> 24);
  id[21] = static_cast<uint8_t>(n >> 16);
  id[22] = static_cast<uint8_t>(n >> 8);
  id[23] = static_cast<uint8_t>(n);
  return id;
}

StoredKey key_of(crypto::KeyAlg alg, uint8_t fill) {
  return StoredKey::of({alg, Bytes(crypto::public_key_size(alg), fill)});
}

QueueRec make_queue(uint32_t n) {
  QueueRec q;
  q.recipient_id = id_of('R', n);
  q.sender_id = id_of('S', n);
  q.rcv_key = key_of(crypto::KeyAlg::Ed25519, 1);
  q.mode = 'M';
  return q;
}

NotifierRec make_notifier(const Id& id) {
  NotifierRec n;
  n.notifier_id = id;
  n.notifier_key = key_of(crypto::KeyAlg::X25519, 2);
  return n;
}

QueueLink make_link(const Id& id) { return {id, Bytes{1, 2, 3}, Bytes{4}}; }

Message msg(uint8_t n, int64_t ts) {
  Message m;
  m.msg_id = id_of('M', n);
  m.ts = ts;
  m.body = Bytes{n};
  return m;
}

}  // namespace

TEST_CASE("queue record stays small enough for the per-queue memory goal", "[smp-store]") {
  STATIC_REQUIRE(sizeof(QueueRec) <= 240);
}

TEST_CASE("to_id accepts exactly 24 bytes", "[smp-store]") {
  Bytes b(24, 7);
  REQUIRE(to_id(b) == Id{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7});
  REQUIRE_FALSE(to_id(Bytes(23, 7)));
  REQUIRE_FALSE(to_id(Bytes(25, 7)));
}

TEST_CASE("StoredKey round-trips Ed25519, Ed448 and X25519 keys", "[smp-store]") {
  for (auto alg : {crypto::KeyAlg::Ed25519, crypto::KeyAlg::Ed448, crypto::KeyAlg::X25519}) {
    Bytes raw(crypto::public_key_size(alg));
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i * 7 + 3);
    crypto::PublicKey k{alg, raw};
    StoredKey s = StoredKey::of(k);
    REQUIRE_FALSE(s.empty());
    REQUIRE(s.key() == k);
  }
  REQUIRE(StoredKey{}.empty());
}

TEST_CASE("queue store finds a queue by each of its ids", "[smp-store]") {
  QueueStore st;
  QueueRec q = make_queue(1);
  q.ensure_extra().notifier = make_notifier(id_of('N', 1));
  q.ensure_extra().link = make_link(id_of('L', 1));
  REQUIRE(st.add(std::move(q)) == StoreResult::Ok);
  REQUIRE(st.add(make_queue(2)) == StoreResult::Ok);
  REQUIRE(st.size() == 2);

  QueueRec* r = st.by_recipient(id_of('R', 1));
  REQUIRE(r);
  REQUIRE(st.by_sender(id_of('S', 1)) == r);
  REQUIRE(st.by_notifier(id_of('N', 1)) == r);
  REQUIRE(st.by_link(id_of('L', 1)) == r);
  REQUIRE(r->link()->fixed_data == Bytes{1, 2, 3});
  REQUIRE(st.by_sender(id_of('S', 2)) == st.by_recipient(id_of('R', 2)));

  // Each index answers only for its own kind of id.
  REQUIRE_FALSE(st.by_recipient(id_of('S', 1)));
  REQUIRE_FALSE(st.by_sender(id_of('R', 1)));
  REQUIRE_FALSE(st.by_notifier(id_of('L', 1)));
  REQUIRE_FALSE(st.by_link(id_of('N', 1)));
  REQUIRE_FALSE(st.by_notifier(id_of('N', 2)));
  for (auto tag : {'R', 'S', 'N', 'L'}) REQUIRE(st.id_in_use(id_of(tag, 1)));
  REQUIRE_FALSE(st.id_in_use(id_of('X', 1)));
}

TEST_CASE("queue store rejects a queue reusing any id in any index", "[smp-store]") {
  QueueStore st;
  QueueRec base = make_queue(1);
  base.ensure_extra().notifier = make_notifier(id_of('N', 1));
  base.ensure_extra().link = make_link(id_of('L', 1));
  REQUIRE(st.add(std::move(base)) == StoreResult::Ok);

  const Id used[] = {id_of('R', 1), id_of('S', 1), id_of('N', 1), id_of('L', 1)};
  for (const Id& taken : used) {
    QueueRec as_rcv = make_queue(2);
    as_rcv.recipient_id = taken;
    CHECK(st.add(std::move(as_rcv)) == StoreResult::DuplicateId);
    QueueRec as_snd = make_queue(2);
    as_snd.sender_id = taken;
    CHECK(st.add(std::move(as_snd)) == StoreResult::DuplicateId);
    QueueRec as_ntf = make_queue(2);
    as_ntf.ensure_extra().notifier = make_notifier(taken);
    CHECK(st.add(std::move(as_ntf)) == StoreResult::DuplicateId);
    QueueRec as_link = make_queue(2);
    as_link.ensure_extra().link = make_link(taken);
    CHECK(st.add(std::move(as_link)) == StoreResult::DuplicateId);
  }
  // Ids repeated inside the new record collide too.
  QueueRec self_dup = make_queue(2);
  self_dup.sender_id = self_dup.recipient_id;
  CHECK(st.add(std::move(self_dup)) == StoreResult::DuplicateId);
  // Nothing of the rejected record was indexed.
  REQUIRE(st.size() == 1);
  REQUIRE_FALSE(st.by_recipient(id_of('R', 2)));
  REQUIRE_FALSE(st.id_in_use(id_of('S', 2)));
  REQUIRE(st.by_recipient(id_of('R', 1))->sender_id == id_of('S', 1));
}

TEST_CASE("removing a queue frees all its ids", "[smp-store]") {
  QueueStore st;
  QueueRec q = make_queue(1);
  q.ensure_extra().notifier = make_notifier(id_of('N', 1));
  q.ensure_extra().link = make_link(id_of('L', 1));
  REQUIRE(st.add(std::move(q)) == StoreResult::Ok);
  REQUIRE(st.remove(id_of('R', 1)) == StoreResult::Ok);
  REQUIRE(st.remove(id_of('R', 1)) == StoreResult::NotFound);
  REQUIRE(st.size() == 0);
  for (auto tag : {'R', 'S', 'N', 'L'}) REQUIRE_FALSE(st.id_in_use(id_of(tag, 1)));

  QueueRec again = make_queue(1);
  again.ensure_extra().notifier = make_notifier(id_of('N', 1));
  again.ensure_extra().link = make_link(id_of('L', 1));
  REQUIRE(st.add(std::move(again)) == StoreResult::Ok);
  REQUIRE(st.by_link(id_of('L', 1)) == st.by_recipient(id_of('R', 1)));
}

TEST_CASE("index survives 100k random ids with half of them removed", "[smp-store]") {
  QueueStore st;
  std::mt19937_64 rng(42);
  std::vector<std::pair<Id, Id>> ids;
  const size_t n = 100000;
  for (size_t i = 0; i < n; ++i) {
    QueueRec q;
    q.recipient_id = make_id(rng);
    q.sender_id = make_id(rng);
    ids.emplace_back(q.recipient_id, q.sender_id);
    REQUIRE(st.add(std::move(q)) == StoreResult::Ok);
  }
  for (size_t i = 0; i < n; i += 2) REQUIRE(st.remove(ids[i].first) == StoreResult::Ok);
  REQUIRE(st.size() == n / 2);
  size_t found = 0, gone = 0;
  for (size_t i = 0; i < n; ++i) {
    QueueRec* r = st.by_recipient(ids[i].first);
    if (i % 2) {
      found += r && st.by_sender(ids[i].second) == r && r->sender_id == ids[i].second;
    } else {
      gone += !r && !st.id_in_use(ids[i].second);
    }
  }
  REQUIRE(found == n / 2);
  REQUIRE(gone == n / 2);

  // Refilling through the tombstones and the free slots keeps everything reachable.
  for (size_t i = 0; i < n; i += 2) {
    QueueRec q;
    q.recipient_id = ids[i].first;
    q.sender_id = ids[i].second;
    REQUIRE(st.add(std::move(q)) == StoreResult::Ok);
  }
  size_t all = 0;
  for (const auto& [rid, sid] : ids) all += st.by_recipient(rid) && st.by_sender(sid) == st.by_recipient(rid);
  REQUIRE(all == n);
  REQUIRE(st.size() == n);
  size_t seen = 0;
  st.for_each([&](const QueueRec&) { ++seen; });
  REQUIRE(seen == n);
  // Records plus two live indexes, measured by capacity.
  REQUIRE(st.memory_bytes() >= n * sizeof(QueueRec));
  REQUIRE(st.memory_bytes() <= n * 300);
}

TEST_CASE("IdIndex reuses tombstones and does not grow under churn", "[smp-store]") {
  std::vector<Id> keys(64);
  std::mt19937_64 rng(7);
  for (auto& k : keys) k = make_id(rng);
  IdIndex idx(&keys, [](const void* s, uint32_t slot) { return &(*static_cast<const std::vector<Id>*>(s))[slot]; });
  REQUIRE_FALSE(idx.find(keys[0]));
  REQUIRE_FALSE(idx.erase(keys[0]));
  for (uint32_t i = 0; i < 4; ++i) REQUIRE(idx.insert(keys[i], i));
  REQUIRE_FALSE(idx.insert(keys[0], 9));
  const size_t mem = idx.memory_bytes();
  for (int round = 0; round < 1000; ++round) {
    uint32_t i = 4 + static_cast<uint32_t>(round % 60);
    REQUIRE(idx.insert(keys[i], i));
    REQUIRE(idx.find(keys[i]) == i);
    REQUIRE(idx.erase(keys[i]));
    REQUIRE_FALSE(idx.find(keys[i]));
  }
  REQUIRE(idx.size() == 4);
  REQUIRE(idx.memory_bytes() == mem);
  for (uint32_t i = 0; i < 4; ++i) REQUIRE(idx.find(keys[i]) == i);
}

TEST_CASE("notifier and link can be replaced and deleted", "[smp-store]") {
  QueueStore st;
  REQUIRE(st.add(make_queue(1)) == StoreResult::Ok);
  REQUIRE(st.add(make_queue(2)) == StoreResult::Ok);
  const Id r1 = id_of('R', 1), r2 = id_of('R', 2);

  REQUIRE(st.set_notifier(r1, make_notifier(id_of('N', 1))) == StoreResult::Ok);
  REQUIRE(st.by_notifier(id_of('N', 1)) == st.by_recipient(r1));
  // Replacing moves the index entry: the old id is free again.
  REQUIRE(st.set_notifier(r1, make_notifier(id_of('N', 2))) == StoreResult::Ok);
  REQUIRE_FALSE(st.by_notifier(id_of('N', 1)));
  REQUIRE_FALSE(st.id_in_use(id_of('N', 1)));
  REQUIRE(st.by_notifier(id_of('N', 2)) == st.by_recipient(r1));
  // Another queue cannot take it, nor any other used id.
  REQUIRE(st.set_notifier(r2, make_notifier(id_of('N', 2))) == StoreResult::DuplicateId);
  REQUIRE(st.set_notifier(r2, make_notifier(id_of('S', 1))) == StoreResult::DuplicateId);
  REQUIRE_FALSE(st.by_recipient(r2)->notifier());
  REQUIRE(st.set_notifier(id_of('R', 9), make_notifier(id_of('N', 9))) == StoreResult::NotFound);

  Id svc = id_of('V', 1);
  REQUIRE(st.set_notifier_service(r1, svc) == StoreResult::Ok);
  REQUIRE(st.by_recipient(r1)->notifier()->service_id == svc);
  REQUIRE(st.set_notifier_service(r2, svc) == StoreResult::NotFound);

  REQUIRE(st.delete_notifier(r1) == StoreResult::Ok);
  REQUIRE_FALSE(st.by_recipient(r1)->notifier());
  REQUIRE_FALSE(st.id_in_use(id_of('N', 2)));
  REQUIRE(st.delete_notifier(r1) == StoreResult::Ok);

  REQUIRE(st.set_link(r1, make_link(id_of('L', 1))) == StoreResult::Ok);
  // Same queue, same link id: an update of the data.
  REQUIRE(st.set_link(r1, {id_of('L', 1), Bytes{1, 2, 3}, Bytes{9, 9}}) == StoreResult::Ok);
  REQUIRE(st.by_link(id_of('L', 1))->link()->user_data == Bytes{9, 9});
  REQUIRE(st.set_link(r2, make_link(id_of('L', 1))) == StoreResult::DuplicateId);
  REQUIRE(st.set_link(r2, make_link(id_of('R', 1))) == StoreResult::DuplicateId);
  REQUIRE_FALSE(st.by_recipient(r2)->link());
  REQUIRE(st.delete_link(r1) == StoreResult::Ok);
  REQUIRE_FALSE(st.by_link(id_of('L', 1)));
  REQUIRE(st.set_link(r2, make_link(id_of('L', 1))) == StoreResult::Ok);
  REQUIRE(st.by_link(id_of('L', 1)) == st.by_recipient(r2));
  // With nothing rare left, the extra block is released.
  REQUIRE_FALSE(st.by_recipient(r1)->extra);
}

TEST_CASE("queue store mutations update the record", "[smp-store]") {
  QueueStore st;
  REQUIRE(st.add(make_queue(1)) == StoreResult::Ok);
  const Id r = id_of('R', 1);
  QueueRec* q = st.by_recipient(r);

  REQUIRE(st.set_sender_key(r, key_of(crypto::KeyAlg::Ed448, 5)) == StoreResult::Ok);
  REQUIRE(q->snd_key == key_of(crypto::KeyAlg::Ed448, 5));

  std::vector<StoredKey> keys{key_of(crypto::KeyAlg::Ed25519, 7), key_of(crypto::KeyAlg::X25519, 8)};
  REQUIRE(st.set_rcv_keys(r, keys) == StoreResult::Ok);
  REQUIRE(q->rcv_keys() == std::vector<crypto::PublicKey>{keys[0].key(), keys[1].key()});
  REQUIRE(st.set_rcv_keys(r, {keys[1]}) == StoreResult::Ok);
  REQUIRE(q->rcv_keys() == std::vector<crypto::PublicKey>{keys[1].key()});

  BlockingInfo info;
  info.reason = BlockingInfo::Reason::content;
  REQUIRE(st.set_status(r, QueueStatus::Blocked, info) == StoreResult::Ok);
  REQUIRE(q->status == QueueStatus::Blocked);
  REQUIRE(q->extra->blocking == info);
  REQUIRE(st.set_status(r, QueueStatus::Active) == StoreResult::Ok);
  REQUIRE(q->status == QueueStatus::Active);
  REQUIRE(st.set_status(r, QueueStatus::Off) == StoreResult::Ok);
  REQUIRE(q->status == QueueStatus::Off);

  REQUIRE(st.touch(r, 20000) == StoreResult::Ok);
  REQUIRE(q->updated_at == 20000);

  const Id missing = id_of('R', 2);
  REQUIRE(st.set_sender_key(missing, {}) == StoreResult::NotFound);
  REQUIRE(st.set_rcv_keys(missing, keys) == StoreResult::NotFound);
  REQUIRE(st.set_status(missing, QueueStatus::Off) == StoreResult::NotFound);
  REQUIRE(st.touch(missing, 1) == StoreResult::NotFound);
  REQUIRE(st.delete_link(missing) == StoreResult::NotFound);
  REQUIRE(st.delete_notifier(missing) == StoreResult::NotFound);
  REQUIRE(st.set_link(missing, make_link(id_of('L', 1))) == StoreResult::NotFound);
}

TEST_CASE("contact and secured messaging predicates", "[smp-store]") {
  QueueRec q;
  const StoredKey k = key_of(crypto::KeyAlg::Ed25519, 3);

  q.mode = 'C';
  REQUIRE(q.queue_mode() == QueueMode::Contact);
  REQUIRE(q.is_contact());
  REQUIRE_FALSE(q.is_secured_messaging());
  q.snd_key = k;
  REQUIRE(q.is_contact());
  REQUIRE_FALSE(q.is_secured_messaging());

  q = QueueRec{};
  q.mode = 'M';
  REQUIRE(q.queue_mode() == QueueMode::Messaging);
  REQUIRE_FALSE(q.is_contact());
  REQUIRE_FALSE(q.is_secured_messaging());
  q.snd_key = k;
  REQUIRE(q.has_sender_key());
  REQUIRE(q.is_secured_messaging());

  // Legacy queues (no mode): contact until secured, then secured messaging.
  q = QueueRec{};
  REQUIRE_FALSE(q.queue_mode());
  REQUIRE(q.is_contact());
  REQUIRE_FALSE(q.is_secured_messaging());
  q.snd_key = k;
  REQUIRE_FALSE(q.is_contact());
  REQUIRE(q.is_secured_messaging());
}

TEST_CASE("quota 2: OK, OK, QUOTA with marker, QUOTA until everything is acknowledged", "[smp-store]") {
  MsgStore ms(2);
  const Id r = id_of('R', 1);
  auto w1 = ms.write(r, msg(1, 100));
  REQUIRE(w1.accepted);
  REQUIRE(w1.was_empty);
  auto w2 = ms.write(r, msg(2, 101));
  REQUIRE(w2.accepted);
  REQUIRE_FALSE(w2.was_empty);
  REQUIRE_FALSE(ms.write(r, msg(3, 102)).accepted);
  REQUIRE(ms.size(r) == 3);  // marker appended
  REQUIRE_FALSE(ms.write(r, msg(4, 103)).accepted);
  REQUIRE_FALSE(ms.write(r, msg(5, 104)).accepted);
  REQUIRE(ms.size(r) == 3);
  REQUIRE(ms.total_messages() == 3);

  REQUIRE(ms.delete_head_if(r, view(id_of('M', 1))));
  REQUIRE(ms.delete_head_if(r, view(id_of('M', 2))));
  // Still rejected while the marker is there.
  REQUIRE_FALSE(ms.write(r, msg(6, 105)).accepted);
  const Message* marker = ms.peek(r);
  REQUIRE(marker);
  REQUIRE(marker->quota);
  REQUIRE(marker->msg_id == id_of('M', 3));  // the rejected message's id and timestamp
  REQUIRE(marker->ts == 102);
  REQUIRE(marker->body.empty());
  REQUIRE(ms.delete_head_if(r, view(id_of('M', 3))));
  REQUIRE(ms.size(r) == 0);

  auto w7 = ms.write(r, msg(7, 106));
  REQUIRE(w7.accepted);
  REQUIRE(w7.was_empty);
  REQUIRE(ms.peek(r)->msg_id == id_of('M', 7));
  REQUIRE(ms.peek(r)->body == Bytes{7});
}

TEST_CASE("quota 128 holds 128 messages plus one marker", "[smp-store]") {
  MsgStore ms;
  REQUIRE(ms.quota() == 128);
  const Id r = id_of('R', 1);
  for (int i = 0; i < 128; ++i) REQUIRE(ms.write(r, msg(static_cast<uint8_t>(i), i)).accepted);
  REQUIRE_FALSE(ms.write(r, msg(200, 200)).accepted);
  REQUIRE_FALSE(ms.write(r, msg(201, 201)).accepted);
  REQUIRE(ms.size(r) == 129);
  // Acknowledging some messages does not reopen the queue: the marker must be received too.
  for (int i = 0; i < 100; ++i) REQUIRE(ms.delete_head_if(r, view(id_of('M', static_cast<uint8_t>(i)))));
  REQUIRE_FALSE(ms.write(r, msg(202, 202)).accepted);
  for (int i = 100; i < 128; ++i) REQUIRE(ms.delete_head_if(r, view(id_of('M', static_cast<uint8_t>(i)))));
  REQUIRE(ms.peek(r)->quota);
  REQUIRE(ms.delete_head_if(r, view(id_of('M', 200))));
  REQUIRE(ms.write(r, msg(203, 203)).accepted);
  REQUIRE(ms.size(r) == 1);
}

TEST_CASE("delete_head_if deletes only the head with a matching id", "[smp-store]") {
  MsgStore ms;
  const Id r = id_of('R', 1);
  REQUIRE_FALSE(ms.delete_head_if(r, view(id_of('M', 1))));
  ms.write(r, msg(1, 10));
  ms.write(r, msg(2, 11));
  REQUIRE_FALSE(ms.delete_head_if(r, view(id_of('M', 2))));  // not the head
  REQUIRE_FALSE(ms.delete_head_if(r, Bytes{}));
  REQUIRE_FALSE(ms.delete_head_if(r, Bytes(23, 'M')));
  REQUIRE_FALSE(ms.delete_head_if(id_of('R', 2), view(id_of('M', 1))));
  REQUIRE(ms.size(r) == 2);
  REQUIRE(ms.delete_head_if(r, view(id_of('M', 1))));
  REQUIRE(ms.peek(r)->msg_id == id_of('M', 2));
  REQUIRE(ms.delete_head_if(r, view(id_of('M', 2))));
  REQUIRE_FALSE(ms.peek(r));
  // Empty queues keep no entry.
  REQUIRE(ms.queue_count() == 0);
  REQUIRE(ms.total_messages() == 0);
}

TEST_CASE("expiry removes old messages from the head and stops at the quota marker", "[smp-store]") {
  MsgStore ms(2);
  const Id r = id_of('R', 1);
  ms.write(r, msg(1, 10));
  ms.write(r, msg(2, 20));
  ms.write(r, msg(3, 30));  // marker
  REQUIRE(ms.expire(r, 15) == 1);
  REQUIRE(ms.peek(r)->msg_id == id_of('M', 2));
  REQUIRE(ms.expire(r, 1000) == 1);
  REQUIRE(ms.peek(r)->quota);
  REQUIRE(ms.expire(r, 1000) == 0);
  REQUIRE(ms.size(r) == 1);
  REQUIRE(ms.total_messages() == 1);

  SECTION("a newer message stops the scan") {
    MsgStore m2;
    const Id q = id_of('R', 2);
    m2.write(q, msg(1, 10));
    m2.write(q, msg(2, 50));
    m2.write(q, msg(3, 20));
    REQUIRE(m2.expire(q, 40) == 1);
    REQUIRE(m2.size(q) == 2);
  }
  SECTION("expire_all covers every queue and drops emptied ones") {
    const Id r2 = id_of('R', 2);
    ms.write(r2, msg(4, 5));
    ms.write(r2, msg(5, 6));
    REQUIRE(ms.queue_count() == 2);
    REQUIRE(ms.expire_all(100) == 2);
    REQUIRE(ms.queue_count() == 1);
    REQUIRE(ms.size(r2) == 0);
    REQUIRE(ms.total_messages() == 1);
  }
}

TEST_CASE("deleting a queue's messages drops its entry", "[smp-store]") {
  MsgStore ms;
  ms.write(id_of('R', 1), msg(1, 1));
  ms.write(id_of('R', 1), msg(2, 2));
  ms.write(id_of('R', 2), msg(3, 3));
  ms.delete_queue(id_of('R', 1));
  ms.delete_queue(id_of('R', 9));
  REQUIRE(ms.size(id_of('R', 1)) == 0);
  REQUIRE(ms.queue_count() == 1);
  REQUIRE(ms.total_messages() == 1);
}

TEST_CASE("FIFO order survives interleaved writes and deletes", "[smp-store]") {
  MsgStore ms(1000);
  const Id r = id_of('R', 1);
  uint8_t next_write = 0, next_read = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 3; ++i) REQUIRE(ms.write(r, msg(next_write++, 0)).accepted);
    for (int i = 0; i < 2; ++i) {
      REQUIRE(ms.peek(r)->msg_id == id_of('M', next_read));
      REQUIRE(ms.delete_head_if(r, view(id_of('M', next_read++))));
    }
  }
  REQUIRE(ms.size(r) == 50);
  REQUIRE(ms.peek(r)->msg_id == id_of('M', next_read));
}

TEST_CASE("notification store take, erase and expire", "[smp-store]") {
  NtfStore ns;
  const Id n1 = id_of('N', 1), n2 = id_of('N', 2);
  auto ntf = [](uint8_t m, int64_t ts) {
    Notification n;
    n.msg_id = id_of('M', m);
    n.ts = ts;
    n.enc_meta = Bytes(144, m);
    return n;
  };
  ns.add(n1, ntf(1, 10));
  ns.add(n1, ntf(2, 20));
  ns.add(n1, ntf(3, 30));
  ns.add(n2, ntf(4, 5));
  REQUIRE(ns.total() == 4);
  REQUIRE(ns.has(n1));

  REQUIRE(ns.expire(15) == 2);
  REQUIRE_FALSE(ns.has(n2));
  REQUIRE(ns.total() == 2);

  auto taken = ns.take(n1);
  REQUIRE(taken.size() == 2);
  REQUIRE(taken[0].msg_id == id_of('M', 2));  // oldest first
  REQUIRE(taken[1].msg_id == id_of('M', 3));
  REQUIRE(taken[1].enc_meta == Bytes(144, 3));
  REQUIRE_FALSE(ns.has(n1));
  REQUIRE(ns.take(n1).empty());
  REQUIRE(ns.total() == 0);

  ns.add(n2, ntf(5, 50));
  ns.add(n1, ntf(6, 60));
  ns.erase(n2);
  ns.erase(n2);
  REQUIRE_FALSE(ns.has(n2));
  REQUIRE(ns.total() == 1);
  std::vector<Id> ids;
  ns.for_each_id([&](const Id& id) { ids.push_back(id); });
  REQUIRE(ids == std::vector<Id>{n1});
}
