#include "smp/queue_store.hpp"

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>

namespace sr::smp {

std::optional<Id> to_id(ByteView b) {
  if (b.size() != kIdSize) return std::nullopt;
  Id id;
  std::copy(b.begin(), b.end(), id.begin());
  return id;
}

// ---- StoredKey ----

StoredKey StoredKey::of(const crypto::PublicKey& k) {
  StoredKey s;
  if (k.raw.size() > s.raw.size()) throw std::invalid_argument("StoredKey: key longer than 57 bytes");
  s.alg = static_cast<uint8_t>(k.alg);
  s.len = static_cast<uint8_t>(k.raw.size());
  std::copy(k.raw.begin(), k.raw.end(), s.raw.begin());
  return s;
}

crypto::PublicKey StoredKey::key() const {
  if (empty()) throw std::logic_error("StoredKey::key on an empty key");
  return {static_cast<crypto::KeyAlg>(alg), Bytes(raw.begin(), raw.begin() + len)};
}

// ---- QueueRec ----

std::optional<QueueMode> QueueRec::queue_mode() const {
  if (mode == 'M') return QueueMode::Messaging;
  if (mode == 'C') return QueueMode::Contact;
  return std::nullopt;
}

bool QueueRec::is_contact() const { return mode == 'C' || (mode == 0 && !has_sender_key()); }

bool QueueRec::is_secured_messaging() const { return mode != 'C' && has_sender_key(); }

std::vector<crypto::PublicKey> QueueRec::rcv_keys() const {
  std::vector<crypto::PublicKey> keys;
  if (!rcv_key.empty()) keys.push_back(rcv_key.key());
  if (extra)
    for (const auto& k : extra->more_rcv_keys) keys.push_back(k.key());
  return keys;
}

QueueExtra& QueueRec::ensure_extra() {
  if (!extra) extra = std::make_unique<QueueExtra>();
  return *extra;
}

namespace {

// Drops the extra block once nothing in it is in use, so queues that lost their notifier/link cost nothing.
void release_extra_if_unused(QueueRec& r) {
  const auto& x = r.extra;
  if (x && x->more_rcv_keys.empty() && !x->notifier && !x->link && !x->rcv_service_id &&
      r.status != QueueStatus::Blocked)
    r.extra.reset();
}

}  // namespace

// ---- IdIndex ----

namespace {

constexpr uint32_t kEmpty = 0xFFFFFFFFu;
constexpr uint32_t kTomb = 0xFFFFFFFEu;
constexpr size_t kMinCapacity = 16;

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

__extension__ typedef unsigned __int128 u128;

uint64_t mum(uint64_t a, uint64_t b) {
  u128 r = static_cast<u128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// Keyed hash over the whole id: link ids (and sender ids, through the corrId) are chosen by clients, so a plain
// prefix hash would let a client pile its ids into one probe run. The per-process seed keeps positions secret.
uint64_t id_hash(const Id& id) {
  static const std::array<uint64_t, 4> seed = [] {
    std::random_device rd;
    std::array<uint64_t, 4> s{};
    for (auto& w : s) w = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return s;
  }();
  const uint8_t* p = id.data();
  return mum(load64(p) ^ seed[0], load64(p + 8) ^ seed[1]) ^ mum(load64(p + 16) ^ seed[2], seed[3]);
}

// Maps a hash onto [0, n) without a power-of-two table size, so growth can be 1.5× rather than 2×.
size_t bucket(uint64_t h, size_t n) {
  return static_cast<size_t>((static_cast<u128>(h) * n) >> 64);
}

}  // namespace

size_t IdIndex::probe(const Id& id) const {
  // Position of id, or of the empty cell that ends its probe run.
  const size_t n = table_.size();
  size_t i = bucket(id_hash(id), n);
  for (;;) {
    uint32_t v = table_[i];
    if (v == kEmpty) return i;
    if (v != kTomb && *key_of_(store_, v) == id) return i;
    if (++i == n) i = 0;
  }
}

std::optional<uint32_t> IdIndex::find(const Id& id) const {
  if (table_.empty()) return std::nullopt;
  uint32_t v = table_[probe(id)];
  if (v == kEmpty) return std::nullopt;
  return v;
}

bool IdIndex::insert(const Id& id, uint32_t slot) {
  if (slot >= kTomb) throw std::length_error("IdIndex: slot number out of range");
  // Keep (live + tombstones) at most half the table so probe runs stay short.
  if ((used_ + 1) * 2 > table_.size()) grow();
  const size_t n = table_.size();
  size_t i = bucket(id_hash(id), n);
  std::optional<size_t> reuse;
  for (;;) {
    uint32_t v = table_[i];
    if (v == kEmpty) break;
    if (v == kTomb) {
      if (!reuse) reuse = i;
    } else if (*key_of_(store_, v) == id) {
      return false;
    }
    if (++i == n) i = 0;
  }
  if (reuse) {
    table_[*reuse] = slot;
  } else {
    table_[i] = slot;
    ++used_;
  }
  ++size_;
  return true;
}

bool IdIndex::erase(const Id& id) {
  if (table_.empty()) return false;
  size_t i = probe(id);
  if (table_[i] == kEmpty) return false;
  // A tombstone keeps the probe runs through this cell intact; used_ still counts it until the next rehash.
  table_[i] = kTomb;
  --size_;
  if (size_ == 0) {
    std::fill(table_.begin(), table_.end(), kEmpty);
    used_ = 0;
  }
  return true;
}

void IdIndex::grow() {
  // Rehash into a table three times the live count (load 1/3): a table full of tombstones is rebuilt at about
  // the same size, a full one grows 1.5×.
  size_t n = std::max(kMinCapacity, (size_ + 1) * 3);
  std::vector<uint32_t> old;
  old.swap(table_);
  table_.assign(n, kEmpty);
  table_.shrink_to_fit();
  for (uint32_t v : old) {
    if (v == kEmpty || v == kTomb) continue;
    size_t i = bucket(id_hash(*key_of_(store_, v)), n);
    while (table_[i] != kEmpty)
      if (++i == n) i = 0;
    table_[i] = v;
  }
  used_ = size_;
}

// ---- QueueStore ----

const Id* QueueStore::rcv_key_of(const void* self, uint32_t slot) {
  return &static_cast<const QueueStore*>(self)->slots_[slot].rec.recipient_id;
}
const Id* QueueStore::snd_key_of(const void* self, uint32_t slot) {
  return &static_cast<const QueueStore*>(self)->slots_[slot].rec.sender_id;
}
const Id* QueueStore::ntf_key_of(const void* self, uint32_t slot) {
  return &static_cast<const QueueStore*>(self)->slots_[slot].rec.notifier()->notifier_id;
}
const Id* QueueStore::link_key_of(const void* self, uint32_t slot) {
  return &static_cast<const QueueStore*>(self)->slots_[slot].rec.link()->link_id;
}

QueueStore::QueueStore()
    : rcv_(this, &rcv_key_of), snd_(this, &snd_key_of), ntf_(this, &ntf_key_of), link_(this, &link_key_of) {}

QueueRec* QueueStore::at(std::optional<uint32_t> slot) {
  if (!slot) return nullptr;
  Slot& s = slots_[*slot];
  return s.live ? &s.rec : nullptr;
}

QueueRec* QueueStore::by_recipient(const Id& id) { return at(rcv_.find(id)); }
QueueRec* QueueStore::by_sender(const Id& id) { return at(snd_.find(id)); }
QueueRec* QueueStore::by_notifier(const Id& id) { return at(ntf_.find(id)); }
QueueRec* QueueStore::by_link(const Id& id) { return at(link_.find(id)); }

bool QueueStore::id_in_use(const Id& id) const {
  return rcv_.find(id) || snd_.find(id) || ntf_.find(id) || link_.find(id);
}

StoreResult QueueStore::add(QueueRec rec) {
  // All ids share one namespace: none may be in use, nor equal to another id of the same record.
  std::vector<Id> ids{rec.recipient_id, rec.sender_id};
  if (auto* n = rec.notifier()) ids.push_back(n->notifier_id);
  if (auto* l = rec.link()) ids.push_back(l->link_id);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (id_in_use(ids[i])) return StoreResult::DuplicateId;
    for (size_t j = 0; j < i; ++j)
      if (ids[i] == ids[j]) return StoreResult::DuplicateId;
  }

  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    if (slots_.size() >= kTomb) throw std::length_error("QueueStore: too many queues");
    // Grow by 1/8 instead of the usual 2×: the slot vector is most of the per-queue memory, and a move of a
    // slot is cheap next to the bytes a doubling would leave unused.
    if (slots_.size() == slots_.capacity()) slots_.reserve(slots_.capacity() + slots_.capacity() / 8 + 64);
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s.rec = std::move(rec);
  s.live = true;
  ++count_;
  // The indexes read ids back from the slot, so the record must be in place before inserting.
  rcv_.insert(s.rec.recipient_id, slot);
  snd_.insert(s.rec.sender_id, slot);
  if (auto* n = s.rec.notifier()) ntf_.insert(n->notifier_id, slot);
  if (auto* l = s.rec.link()) link_.insert(l->link_id, slot);
  return StoreResult::Ok;
}

StoreResult QueueStore::set_sender_key(const Id& rid, const StoredKey& key) {
  QueueRec* q = by_recipient(rid);
  if (!q) return StoreResult::NotFound;
  q->snd_key = key;
  return StoreResult::Ok;
}

StoreResult QueueStore::set_rcv_keys(const Id& rid, const std::vector<StoredKey>& keys) {
  QueueRec* q = by_recipient(rid);
  if (!q) return StoreResult::NotFound;
  q->rcv_key = keys.empty() ? StoredKey{} : keys.front();
  if (keys.size() > 1) {
    q->ensure_extra().more_rcv_keys.assign(keys.begin() + 1, keys.end());
  } else if (q->extra) {
    q->extra->more_rcv_keys = {};
    release_extra_if_unused(*q);
  }
  return StoreResult::Ok;
}

StoreResult QueueStore::set_notifier(const Id& rid, const NotifierRec& n) {
  auto slot = rcv_.find(rid);
  QueueRec* q = at(slot);
  if (!q) return StoreResult::NotFound;
  const NotifierRec* old = q->notifier();
  const bool same_id = old && old->notifier_id == n.notifier_id;
  if (!same_id && id_in_use(n.notifier_id)) return StoreResult::DuplicateId;
  // Erase while the record still holds the old id: the index compares against it.
  if (old && !same_id) ntf_.erase(old->notifier_id);
  q->ensure_extra().notifier = n;
  if (!same_id) ntf_.insert(n.notifier_id, *slot);
  return StoreResult::Ok;
}

StoreResult QueueStore::delete_notifier(const Id& rid) {
  QueueRec* q = by_recipient(rid);
  if (!q) return StoreResult::NotFound;
  if (const NotifierRec* old = q->notifier()) {
    ntf_.erase(old->notifier_id);
    q->extra->notifier.reset();
    release_extra_if_unused(*q);
  }
  return StoreResult::Ok;
}

StoreResult QueueStore::set_link(const Id& rid, QueueLink link) {
  auto slot = rcv_.find(rid);
  QueueRec* q = at(slot);
  if (!q) return StoreResult::NotFound;
  const QueueLink* old = q->link();
  const bool same_id = old && old->link_id == link.link_id;
  if (!same_id && id_in_use(link.link_id)) return StoreResult::DuplicateId;
  if (old && !same_id) link_.erase(old->link_id);
  const Id link_id = link.link_id;
  q->ensure_extra().link = std::move(link);
  if (!same_id) link_.insert(link_id, *slot);
  return StoreResult::Ok;
}

StoreResult QueueStore::delete_link(const Id& rid) {
  QueueRec* q = by_recipient(rid);
  if (!q) return StoreResult::NotFound;
  if (const QueueLink* old = q->link()) {
    link_.erase(old->link_id);
    q->extra->link.reset();
    release_extra_if_unused(*q);
  }
  return StoreResult::Ok;
}

StoreResult QueueStore::set_status(const Id& rid, QueueStatus s, const BlockingInfo& info) {
  QueueRec* q = by_recipient(rid);
  if (!q) return StoreResult::NotFound;
  q->status = s;
  if (s == QueueStatus::Blocked) {
    q->ensure_extra().blocking = info;
  } else if (q->extra) {
    q->extra->blocking = {};
    release_extra_if_unused(*q);
  }
  return StoreResult::Ok;
}

StoreResult QueueStore::set_notifier_service(const Id& rid, std::optional<Id> service) {
  QueueRec* q = by_recipient(rid);
  if (!q) return StoreResult::NotFound;
  if (!q->notifier()) return StoreResult::NotFound;
  q->extra->notifier->service_id = service;
  return StoreResult::Ok;
}

StoreResult QueueStore::touch(const Id& rid, uint32_t day) {
  QueueRec* q = by_recipient(rid);
  if (!q) return StoreResult::NotFound;
  q->updated_at = day;
  return StoreResult::Ok;
}

StoreResult QueueStore::remove(const Id& rid) {
  auto slot = rcv_.find(rid);
  QueueRec* q = at(slot);
  if (!q) return StoreResult::NotFound;
  if (auto* l = q->link()) link_.erase(l->link_id);
  if (auto* n = q->notifier()) ntf_.erase(n->notifier_id);
  snd_.erase(q->sender_id);
  rcv_.erase(q->recipient_id);
  slots_[*slot] = Slot{};
  free_.push_back(*slot);
  --count_;
  return StoreResult::Ok;
}

size_t QueueStore::memory_bytes() const {
  // Each heap block also costs the allocator's header (about 16 bytes with glibc).
  constexpr size_t kMallocOverhead = 16;
  auto heap = [](size_t capacity_bytes) { return capacity_bytes ? capacity_bytes + kMallocOverhead : 0; };
  size_t total = heap(slots_.capacity() * sizeof(Slot)) + heap(free_.capacity() * sizeof(uint32_t)) +
                 heap(rcv_.memory_bytes()) + heap(snd_.memory_bytes()) + heap(ntf_.memory_bytes()) +
                 heap(link_.memory_bytes());
  for (const auto& s : slots_) {
    if (!s.live || !s.rec.extra) continue;
    const QueueExtra& x = *s.rec.extra;
    total += heap(sizeof(QueueExtra)) + heap(x.more_rcv_keys.capacity() * sizeof(StoredKey));
    if (x.link) total += heap(x.link->fixed_data.capacity()) + heap(x.link->user_data.capacity());
  }
  return total;
}

}  // namespace sr::smp
