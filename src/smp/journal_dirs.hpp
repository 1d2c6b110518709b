// The reference's deprecated journal message store (`store_messages = journal`, server-operations.md §4.5): the
// per-queue directories under <log>/messages/, read for `journal export`-style migration and written so the
// reference server can open what we export.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "smp/msg_store.hpp"
#include "smp/queue_store.hpp"

namespace sr::smp {

struct JournalQueueMsgs {
  Id recipient_id{};
  std::vector<Message> msgs;  // live messages (quota marker included), oldest first
};

struct JournalDirsReport {
  size_t queues = 0;    // queues passed to on_queue
  size_t messages = 0;  // entries passed to on_queue, quota markers included
  std::vector<std::string> warnings;  // each names the file (and byte offset for a bad message line)
};

// Reads <messages_dir> strictly read-only (nothing is renamed, truncated or deleted). For every
// queue_state.<rid>.log (or its temporary `.bak`, which the reference would restore first) found in the directory
// the rid maps to, takes the last state line of the last 512 bytes (the previous line if the last is invalid),
// and reads the live messages from the read journal (from read.bytePos) and then, if different, the write journal,
// following the reference's recovery rules for missing journals. Calls on_queue once per queue with live
// messages, in ascending recipient-id order. Problems are warnings and never abort the whole import.
JournalDirsReport read_journal_dirs(const std::filesystem::path& messages_dir,
                                    const std::function<void(JournalQueueMsgs&&)>& on_queue);

// Writes one queue in the reference layout: the split directory, one journal `messages.<jid>.log` with a random
// 12-byte base64url id, and one state line satisfying the §4.5 invariants (canWrite=F when a quota marker is
// stored). Nothing is written for an empty queue (the reference creates its files on the first write). Throws
// sr::fs::FileError on I/O errors and std::runtime_error if the queue already has a state file.
void write_journal_queue(const std::filesystem::path& messages_dir, const Id& rid, const std::vector<Message>& msgs);

// The queue directory relative to messages_dir, e.g. Uv/Im/Za/YM/EtKJGF2VDuiBNgkWb2sRPReN (four 2-character
// segments of the base64url recipient id, then the rest).
std::filesystem::path journal_queue_dir(const Id& rid);

}  // namespace sr::smp
