// Undelivered messages and notifications saved at stop and restored at start, in the reference's files
// smp-server-messages.log and smp-server-ntfs.log (server-operations.md §4.4), so a reference server's saved
// messages load here and ours load there.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

#include "smp/msg_store.hpp"
#include "smp/queue_store.hpp"

namespace sr::smp {

// The message fields `<msg id> <time> flags=<T|F> <body>` or `<msg id> <time> quota`, shared by the messages log
// below and the journal files (§4.5). On reading, `flags=` may be absent (F) and characters after the flag up to the
// space are ignored.
std::string encode_msg_fields(const Message& m);
std::variant<Message, std::string> parse_msg_fields(std::string_view text);

// `v3 <rid> <msg id> <time> flags=<T|F> <body>` or `v3 <rid> <msg id> <time> quota`.
// Also the pre-2024 form `<rid> <msg id> <time> [flags=..] <body>` (simplexmq before c179073), whose body the
// server had encrypted for the recipient: restore_messages decrypts it with the queue's secret, as the reference
// did when it upgraded such files.
struct MsgLogLine {
  Id recipient_id{};
  Message msg;
  bool v1 = false;
};
std::string encode_msg_log_line(const Id& rid, const Message& m);
std::variant<MsgLogLine, std::string> parse_msg_log_line(std::string_view line);

// `v1 <notifier id> <msg id> <time> <nonce> <encrypted meta>`.
struct NtfLogLine {
  Id notifier_id{};
  Notification ntf;
};
std::string encode_ntf_log_line(const Id& notifier_id, const Notification& n);
std::variant<NtfLogLine, std::string> parse_ntf_log_line(std::string_view line);

// Writes every stored message, queue by queue in ascending recipient id, oldest first (file truncated first).
// Returns the number of lines; throws std::system_error on I/O errors.
size_t save_messages(const std::filesystem::path& f, const MsgStore& msgs);
size_t save_notifications(const std::filesystem::path& f, const NtfStore& ntfs);

struct RestoreResult {
  size_t stored = 0, expired = 0, lines = 0;
  std::string fatal;  // non-empty: the start must stop (exit 1) after this has been logged
};
// The reference's start-up restore (§4.4): messages older than `expire_before` are dropped and counted; a
// malformed last line or a line for a missing queue is a WARN with --skip-warnings and fatal without; any other
// malformed line is fatal. The caller renames the file to <f>.bak once what it restored is safe elsewhere.
RestoreResult restore_messages(const std::filesystem::path& f, QueueStore& queues, MsgStore& msgs,
                               int64_t expire_before, bool skip_warnings);
// Notifications: any malformed line is fatal; old ones are dropped.
RestoreResult restore_notifications(const std::filesystem::path& f, NtfStore& ntfs, int64_t expire_before);

}  // namespace sr::smp
