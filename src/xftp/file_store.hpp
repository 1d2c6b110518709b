// The XFTP relay's file records and their indexes (xftp-protocol.md §10, §11; simplexmq
// FileTransfer/Server/Store.hs). Pure data: no I/O, no clock, no randomness (ids come from the caller).
//
// One record per chunk ("file"), found by its sender id; each recipient id points to its file and carries that
// recipient's key. Sender ids and recipient ids are two separate id spaces, as in the reference: a recipient id
// is only checked against other recipient ids, never against sender ids.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/cmd_auth.hpp"
#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "xftp/protocol.hpp"

namespace sr::xftp {

// Entity ids are kIdSize (16) random bytes when this server makes them; records read from a log keep whatever
// non-empty id the reference accepted. Ordered as the reference orders ByteStrings (bytewise, a prefix first).
using FileId = Bytes;
using SenderId = FileId;
using RecipientId = FileId;

// createdAt is kept rounded down to the hour (RoundedSystemTime 3600).
constexpr int64_t kFileTimePrecision = 3600;
// Attempts at a fresh random id before FNEW/FADD answer INTERNAL (Server.hs retryAdd).
constexpr int kIdAttempts = 3;

inline int64_t round_file_time(int64_t unix_seconds) {
  int64_t q = unix_seconds / kFileTimePrecision;
  if (unix_seconds % kFileTimePrecision < 0) --q;  // Haskell `div` floors
  return q * kFileTimePrecision;
}

// ServerEntityStatus. XFTP itself only sets Active and Blocked; Off may come from a log.
enum class FileStatus : uint8_t { Active, Blocked, Off };
struct EntityStatus {
  FileStatus kind = FileStatus::Active;
  BlockingInfo blocking;  // when kind == Blocked
  bool operator==(const EntityStatus&) const = default;
  static EntityStatus blocked(BlockingInfo b) { return {FileStatus::Blocked, b}; }
};
// "active" | "off" | "blocked,<blocking info>"
std::string encode_entity_status(const EntityStatus& s);

struct FileRec {
  SenderId sender_id;
  FileInfo info;
  int64_t created_at = 0;  // hour-rounded Unix seconds
  EntityStatus status;
  // Set once the chunk is uploaded and its digest checked ("committed"); kept when the file is blocked although
  // the chunk file is then gone.
  std::optional<std::string> path;
  std::map<RecipientId, crypto::PublicKey> recipients;  // ascending id: the compaction's order
  bool uploaded() const { return path.has_value(); }
};

struct FileRecipient {
  RecipientId recipient_id;
  crypto::PublicKey key;
  bool operator==(const FileRecipient&) const = default;
};

// The reference's store results (XFTPErrorType): AUTH for unknown/refused, DUPLICATE_ for an id in use, SIZE for
// a zero-size file at load, INTERNAL when id allocation failed kIdAttempts times.
enum class StoreError : uint8_t { AUTH, DUPLICATE_, SIZE, INTERNAL };
// The reference's `show` of the error, as printed in "Log processing error (<it>): …".
std::string_view error_text(StoreError e);

// A file removed by expiry: what the caller needs to delete its chunk file and release its quota.
struct ExpiredFile {
  SenderId sender_id;
  std::optional<std::string> path;
  uint32_t size = 0;
};

struct NewFileIds {
  SenderId sender_id;
  std::vector<FileRecipient> recipients;  // in the order of the keys
};

class FileStore {
 public:
  using IdSource = std::function<FileId()>;

  // ---- the reference's store operations (used both live and when loading the log) ----
  std::optional<StoreError> add_file(const SenderId& sid, FileInfo info, int64_t created_at, EntityStatus status);
  // AUTH: no such file; DUPLICATE_: the recipient id is in use (by any file).
  std::optional<StoreError> add_recipient(const SenderId& sid, const FileRecipient& r);
  // AUTH: no such file, a path is already recorded, or the file is not active.
  std::optional<StoreError> set_file_path(const SenderId& sid, std::string path);
  // Removes the file and all its recipient ids; nullopt (AUTH) if unknown.
  std::optional<FileRec> delete_file(const SenderId& sid);
  // Marks the file blocked; its path stays recorded. AUTH if unknown.
  std::optional<StoreError> block_file(const SenderId& sid, const BlockingInfo& info);
  // FACK: removes one recipient id; the file stays. AUTH if unknown.
  std::optional<StoreError> ack_file(const RecipientId& rid);

  // ---- live allocation (FNEW / FADD), ids from `new_id`, each retried on collision ----
  // FNEW: the file, then one recipient per key. As in the reference, a failure while adding recipients leaves the
  // file and the recipients added so far in place.
  std::variant<NewFileIds, StoreError> create_file(const FileInfo& info, const std::vector<crypto::PublicKey>& rcv_keys,
                                                   int64_t created_at, const IdSource& new_id);
  // FADD: AUTH if the file is unknown.
  std::variant<std::vector<FileRecipient>, StoreError> add_recipients(const SenderId& sid,
                                                                      const std::vector<crypto::PublicKey>& rcv_keys,
                                                                      const IdSource& new_id);

  // ---- lookups ----
  const FileRec* by_sender(const SenderId& sid) const;
  struct RecipientFile {
    const FileRec* file;
    const crypto::PublicKey* key;  // this recipient's key
  };
  std::optional<RecipientFile> by_recipient(const RecipientId& rid) const;
  size_t file_count() const { return files_.size(); }
  size_t recipient_count() const { return recipients_.size(); }
  // Ascending sender id.
  void for_each(const std::function<void(const FileRec&)>& f) const;

  // ---- expiry (Server.hs expireServerFiles; Store.hs expiredFiles) ----
  // Files with created_at + 3600 < `old`, where old = now − ttl in Unix seconds; uploaded or not, blocked or not.
  std::vector<ExpiredFile> expired(int64_t old) const;
  // Removes them (with their recipients) and returns them, ascending sender id: the caller deletes the chunk
  // files, releases `size` for those with a path and logs FDEL for each.
  std::vector<ExpiredFile> expire(int64_t old);

  // The sum of all records' sizes, uploaded or not: the reference's used storage at start-up (server-operations.md
  // 8.Q12); live accounting of reservations is core/chunk_store's.
  int64_t total_size() const;

 private:
  std::map<SenderId, FileRec> files_;
  std::map<RecipientId, SenderId> recipients_;
};

}  // namespace sr::xftp
