// Stored messages per queue with the quota rule (smp-commands.md §6.5, §6.6) and pending notifications (§9.3).
// Pure data: no I/O, no clock (callers pass times). Durability comes from a MsgJournal that sees every change
// (msg_journal.cpp writes it to disk before the change is acknowledged).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "smp/queue_store.hpp"

namespace sr::smp {

struct IdHash {
  size_t operator()(const Id& id) const noexcept;  // ids are random: the first 8 bytes are the hash
};

struct Message {
  Id msg_id{};
  int64_t ts = 0;             // Unix seconds
  bool notification = false;  // SEND's flag
  bool quota = false;         // the quota marker (no body)
  Bytes body;
};

struct WriteOutcome {
  bool accepted = false;   // false → ERR QUOTA (a marker may have been appended) or refused
  bool was_empty = false;  // queue had no entry before this write (push condition §6.2)
  bool refused = false;    // the journal could not record it: nothing changed (ERR STORE)
};

struct AckOutcome {
  bool deleted = false;
  bool refused = false;  // the journal could not record it: the message stays
  explicit operator bool() const { return deleted; }
};

struct Notification;

// Sees every change before (put, del_head, ntf_add: a false return refuses the change) or after (the rest:
// replaying them again is harmless, so a failure to record them only costs a repeat) it is applied.
class MsgJournal {
 public:
  virtual ~MsgJournal() = default;
  virtual bool put(const Id& rid, const Message& m) = 0;  // m is the stored entry (a message or a quota marker)
  virtual bool del_head(const Id& rid, const Id& msg_id) = 0;
  virtual void drop_queue(const Id& rid) = 0;
  virtual void expire(const Id* rid, int64_t older_than) = 0;  // one queue, or every queue when null
  virtual bool ntf_add(const Id& notifier_id, const Notification& n) = 0;
  virtual void ntf_drop(const Id& notifier_id) = 0;
  virtual void ntf_expire(int64_t older_than) = 0;
  virtual std::string last_error() const = 0;  // why the last refused change was refused
};

class MsgStore {
 public:
  explicit MsgStore(size_t quota = 128) : quota_(quota) {}
  size_t quota() const { return quota_; }

  // §6.5: if can_write or empty: can_write := size < quota; size += 1; append message or quota marker.
  // Otherwise reject without appending.
  WriteOutcome write(const Id& rid, Message m);
  const Message* peek(const Id& rid) const;
  // Deletes the head if its msg_id equals msg_id.
  AckOutcome delete_head_if(const Id& rid, ByteView msg_id);
  void delete_queue(const Id& rid);
  size_t size(const Id& rid) const;  // marker included
  // Removes from the head consecutive real messages with ts < older_than (stops at a quota marker).
  size_t expire(const Id& rid, int64_t older_than);
  size_t expire_all(int64_t older_than);
  size_t total_messages() const { return total_; }
  size_t queue_count() const { return queues_.size(); }

  // Restoring saved messages (server-operations.md §4.4): appended as they were stored; a quota marker re-arms
  // the over-quota state. False (nothing appended) when the queue already holds quota + marker entries or is
  // closed by a marker.
  bool restore(const Id& rid, Message m);
  // Replaying the journal: the entry is appended as it was stored (no quota check: the quota may have changed).
  void replay_put(const Id& rid, Message m);
  void clear();
  MsgJournal* journal = nullptr;
  // Queues that hold messages, in ascending id bytes (the order the saved file uses).
  std::vector<Id> queue_ids() const;
  // The same queues in no particular order, without sorting (a million of them at start).
  template <class F>
  void for_each_queue(F&& f) const {
    for (const auto& [id, q] : queues_)
      if (!q.empty()) f(id);
  }
  template <class F>
  void for_each_message(const Id& rid, F&& f) const {
    auto it = queues_.find(rid);
    if (it == queues_.end()) return;
    for (size_t i = it->second.head; i < it->second.msgs.size(); ++i) f(it->second.msgs[i]);
  }

 private:
  // A compact FIFO: vector plus head offset, compacted when the head passes half (no 512-byte deque blocks).
  struct MsgQueue {
    std::vector<Message> msgs;
    uint32_t head = 0;
    bool can_write = true;
    size_t size() const { return msgs.size() - head; }
    bool empty() const { return size() == 0; }
    const Message& front() const { return msgs[head]; }
    void pop_front();
  };
  size_t quota_;
  size_t total_ = 0;
  size_t expire_queue(MsgQueue& q, int64_t older_than);
  std::unordered_map<Id, MsgQueue, IdHash> queues_;
};

struct Notification {
  Id msg_id{};
  int64_t ts = 0;
  crypto::Nonce nonce{};
  Bytes enc_meta;  // 144 bytes
};

class NtfStore {
 public:
  // False when the journal refused it (nothing stored).
  bool add(const Id& notifier_id, Notification n);
  // Removes and returns the pending notifications of one notifier id, oldest first.
  std::vector<Notification> take(const Id& notifier_id);
  bool has(const Id& notifier_id) const { return pending_.count(notifier_id) > 0; }
  void erase(const Id& notifier_id);
  size_t expire(int64_t older_than);
  size_t total() const { return total_; }
  // Notifier ids with pending notifications, ascending, and their notifications oldest first (for saving).
  std::vector<Id> ids() const;
  const std::vector<Notification>* pending(const Id& notifier_id) const {
    auto it = pending_.find(notifier_id);
    return it == pending_.end() ? nullptr : &it->second;
  }
  template <class F>
  void for_each_id(F&& f) const {
    for (const auto& [id, v] : pending_) f(id);
  }
  void clear();
  MsgJournal* journal = nullptr;

 private:
  std::unordered_map<Id, std::vector<Notification>, IdHash> pending_;
  size_t total_ = 0;
};

}  // namespace sr::smp
