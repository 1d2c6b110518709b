// Queue records and their id indexes (smp-commands.md §5.1). Pure data: no I/O, no clock. The persistence issue
// puts a journal behind the same interface; every mutation goes through one method so it can be logged.
//
// Memory is a design goal (≤ 300 B per stored queue): records live in one slot vector, keys are stored inline
// (Ed448's 57 bytes is the largest), rarely used parts (notifier, link data, extra recipient keys, blocking
// info) sit behind one pointer, and the indexes are open-addressing tables of 32-bit slot numbers.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "smp/protocol.hpp"

namespace sr::smp {

using Id = std::array<uint8_t, kIdSize>;
std::optional<Id> to_id(ByteView b);  // nullopt unless exactly 24 bytes
inline ByteView view(const Id& id) { return {id.data(), id.size()}; }

// A public key stored inline: algorithm + raw bytes (Ed25519/X25519 32, Ed448 57).
struct StoredKey {
  uint8_t alg = 0xff;  // crypto::KeyAlg, 0xff = none
  uint8_t len = 0;
  std::array<uint8_t, 57> raw{};
  static StoredKey of(const crypto::PublicKey& k);
  crypto::PublicKey key() const;
  bool empty() const { return alg == 0xff; }
  bool operator==(const StoredKey&) const = default;
};

enum class QueueStatus : uint8_t { Active, Off, Blocked };

struct NotifierRec {
  Id notifier_id{};
  StoredKey notifier_key;
  crypto::Key32 rcv_ntf_dh_secret{};
  std::optional<Id> service_id;  // notifier service association (§12.3)
};

struct QueueLink {
  Id link_id{};
  Bytes fixed_data;
  Bytes user_data;
};

// Rare parts of a queue, allocated on first use.
struct QueueExtra {
  std::vector<StoredKey> more_rcv_keys;  // RKEY beyond the first
  std::optional<NotifierRec> notifier;
  std::optional<QueueLink> link;
  BlockingInfo blocking;                  // valid when status == Blocked
  std::optional<Id> rcv_service_id;
};

struct QueueRec {
  Id recipient_id{};
  Id sender_id{};
  StoredKey rcv_key;                      // first recipient key
  StoredKey snd_key;                      // empty until secured
  crypto::Key32 rcv_dh_secret{};
  QueueStatus status = QueueStatus::Active;
  uint8_t mode = 0;                       // 0 absent (legacy), 'M', 'C'
  uint32_t updated_at = 0;                // days since epoch
  // The connection subscribed to this queue (ServerState's client slot, 0 = none). Runtime state, never
  // persisted; it sits in what was padding, so subscriptions cost no map entry (≤ 100 B per subscription).
  uint32_t subscriber = 0;
  std::unique_ptr<QueueExtra> extra;

  std::optional<QueueMode> queue_mode() const;
  bool has_sender_key() const { return !snd_key.empty(); }
  // §5.1: contact = mode C, or mode absent and no sender key; secured messaging = mode != C and sender key set.
  bool is_contact() const;
  bool is_secured_messaging() const;
  const NotifierRec* notifier() const { return extra && extra->notifier ? &*extra->notifier : nullptr; }
  const QueueLink* link() const { return extra && extra->link ? &*extra->link : nullptr; }
  std::vector<crypto::PublicKey> rcv_keys() const;
  QueueExtra& ensure_extra();
};

// An open-addressing hash index from a 24-byte id to a slot number; the id itself is read back from the
// record through the key function, so each entry costs 4 bytes (×2 for load factor).
class IdIndex {
 public:
  using KeyOf = const Id* (*)(const void* store, uint32_t slot);
  IdIndex(const void* store, KeyOf key_of) : store_(store), key_of_(key_of) {}
  std::optional<uint32_t> find(const Id& id) const;
  bool insert(const Id& id, uint32_t slot);  // false if present
  bool erase(const Id& id);
  size_t size() const { return size_; }
  size_t memory_bytes() const { return table_.capacity() * sizeof(uint32_t); }

 private:
  void grow();
  size_t probe(const Id& id) const;
  const void* store_;
  KeyOf key_of_;
  std::vector<uint32_t> table_;  // kEmpty / kTomb / slot
  size_t size_ = 0, used_ = 0;
};

enum class StoreResult : uint8_t { Ok, DuplicateId, NotFound };

class QueueStore {
 public:
  QueueStore();
  QueueStore(const QueueStore&) = delete;

  // Adds a record; DuplicateId if its recipient, sender, notifier or link id is already used (nothing added).
  StoreResult add(QueueRec rec);
  QueueRec* by_recipient(const Id& id);
  QueueRec* by_sender(const Id& id);
  QueueRec* by_notifier(const Id& id);
  QueueRec* by_link(const Id& id);
  bool id_in_use(const Id& id) const;  // any index

  // Mutations (each one a journal record in the persistence issue).
  StoreResult set_sender_key(const Id& rid, const StoredKey& key);
  StoreResult set_rcv_keys(const Id& rid, const std::vector<StoredKey>& keys);
  // Replaces the notifier; DuplicateId if its id is used. The old notifier id leaves the index.
  StoreResult set_notifier(const Id& rid, const NotifierRec& n);
  StoreResult delete_notifier(const Id& rid);
  // DuplicateId if the link id belongs to another queue (DECISIONS.md: LSET collision → AUTH).
  StoreResult set_link(const Id& rid, QueueLink link);
  StoreResult delete_link(const Id& rid);
  StoreResult set_status(const Id& rid, QueueStatus s, const BlockingInfo& info = {});
  StoreResult set_notifier_service(const Id& rid, std::optional<Id> service);
  StoreResult touch(const Id& rid, uint32_t day);
  // Removes the record and frees all its ids.
  StoreResult remove(const Id& rid);

  size_t size() const { return count_; }
  size_t memory_bytes() const;  // slots + indexes + extras, for the memory benchmark
  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : slots_)
      if (s.live) f(s.rec);
  }

 private:
  struct Slot {
    QueueRec rec;
    bool live = false;
  };
  static const Id* rcv_key_of(const void* self, uint32_t slot);
  static const Id* snd_key_of(const void* self, uint32_t slot);
  static const Id* ntf_key_of(const void* self, uint32_t slot);
  static const Id* link_key_of(const void* self, uint32_t slot);
  QueueRec* at(std::optional<uint32_t> slot);

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  size_t count_ = 0;
  IdIndex rcv_, snd_, ntf_, link_;
};

}  // namespace sr::smp
