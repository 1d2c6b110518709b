// The SMP relay's durable message journal (DECISIONS.md "Message storage"): every stored message, acknowledgement,
// queue deletion, expiry and notification change as one record in <log>/smp-server-messages.journal, written to
// the kernel before the reply that confirms it. Start-up replays the journal into the stores and rewrites it as
// a snapshot; the reference's smp-server-messages.log and journal directories are imported through the same
// stores and written back by `journal export`.
//
// Record payloads (ids 24 bytes, integers big-endian as smpEncode writes them), framed by core/record_journal:
//   'M' rid msgId ts:i64 flags:u8 body   a stored entry (flags bit 0: notification, bit 1: quota marker)
//   'A' rid msgId                          the head message was acknowledged
//   'D' rid                                the queue's messages were deleted
//   'X' cutoff:i64 [rid]                   messages older than cutoff expired (one queue, or all without rid)
//   'N' nid msgId ts:i64 nonce meta        a pending notification
//   'T' nid                                the notifier's pending notifications were delivered or deleted
//   'Y' cutoff:i64                         notifications older than cutoff expired
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/record_journal.hpp"
#include "smp/msg_store.hpp"
#include "smp/queue_store.hpp"

namespace sr::smp {

// Writes records through an open journal; a failed write refuses the change with the reason kept for ERR STORE.
class MsgJournalFile final : public MsgJournal {
 public:
  explicit MsgJournalFile(std::unique_ptr<journal::Writer> w) : w_(std::move(w)) {}
  bool put(const Id& rid, const Message& m) override;
  bool del_head(const Id& rid, const Id& msg_id) override;
  void drop_queue(const Id& rid) override;
  void expire(const Id* rid, int64_t older_than) override;
  bool ntf_add(const Id& notifier_id, const Notification& n) override;
  void ntf_drop(const Id& notifier_id) override;
  void ntf_expire(int64_t older_than) override;
  std::string last_error() const override { return last_error_; }

  journal::Writer& writer() { return *w_; }
  // Replaces the file with a snapshot of the stores when it has grown past twice the last snapshot (and 64 MiB).
  bool compact_if_large(const MsgStore& msgs, const NtfStore& ntfs);
  void compact(const MsgStore& msgs, const NtfStore& ntfs);

 private:
  bool write(const char* op, const Id& id, std::initializer_list<journal::ByteView> parts);
  std::unique_ptr<journal::Writer> w_;
  std::string last_error_;
  uint64_t snapshot_size_ = 0;
};

struct MsgReplayReport {
  journal::ReadReport read;
  size_t inconsistent = 0;  // records that did not apply (an ack for a message that is not the head, ...)
  size_t unknown = 0;       // records of an unknown type or malformed payload
};
// Applies the journal's records to the stores (whose journal hooks must be unset).
MsgReplayReport replay_msg_journal(const std::filesystem::path& f, MsgStore& msgs, NtfStore& ntfs);

// Writes every stored message of a queue that exists and every pending notification of a notifier that exists
// as snapshot records (queues in ascending id order, oldest first).
void write_msg_snapshot(const std::function<void(std::initializer_list<journal::ByteView>)>& emit,
                        const MsgStore& msgs, const NtfStore& ntfs);
// Removes messages and notifications of queues the queue store no longer has. Returns how many went.
size_t drop_orphans(QueueStore& queues, MsgStore& msgs, NtfStore& ntfs);

}  // namespace sr::smp
