// The XFTP relay's command semantics as a state machine (xftp-protocol.md §7.2, §10–§12; simplexmq
// FileTransfer/Server.hs verifyXFTPTransmission/processXFTPRequest/expireServerFiles): no sockets, no HTTP.
//
// The I/O layer parses the block (parse_transmission), calls handle() and then, per outcome:
//  * Response — sends it;
//  * Put      — streams the request body: into put.upload (write() slices of ≤ 16384 bytes, computing SHA-256,
//               checking that exactly `size` bytes arrive and then the end of the stream), or, when put.discard(),
//               reads and drops `size` bytes; then it MUST call finish_put() and send its response;
//  * Get      — sends get.response() and then the chunk from get.reader encrypted with get.keys (§9).
// Thread-safe: handle/finish_put/expire may be called from any thread (one mutex guards the FileStore and the
// store log hook's order). Chunk bytes are written and read outside it.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/chunk_store.hpp"
#include "core/crypto.hpp"
#include "xftp/file_stats.hpp"
#include "xftp/file_store.hpp"
#include "xftp/protocol.hpp"
#include "xftp/store_log_records.hpp"

namespace sr::xftp {

// The settings the command semantics read (from XftpConfig: [AUTH] new_files / create_password and
// [STORE_LOG] expire_files_hours × 3600).
struct XftpStateConfig {
  bool new_files = true;
  std::optional<std::string> create_password;
  int64_t file_ttl = 48 * 3600;  // seconds
};

// FPUT: the body goes into `upload` (a reservation of `size` bytes is held), or is discarded for a file that is
// already committed (the reference answers OK without replacing it). Pass it to finish_put once; a Put dropped
// before that (connection gone) deletes its data and releases the reservation itself.
struct Put {
  SenderId sender_id;
  uint32_t size = 0;
  Bytes digest;  // expected SHA-256 (FNEW's)
  std::optional<chunks::Upload> upload;
  bool discard() const { return !upload.has_value(); }

  Put() = default;
  Put(Put&& o) noexcept;
  Put& operator=(Put&& o) noexcept;
  Put(const Put&) = delete;
  Put& operator=(const Put&) = delete;
  ~Put();

 private:
  friend class XftpState;
  void release() noexcept;  // abort the upload and drop the reservation
  chunks::ChunkStore* chunks_ = nullptr;  // set while `upload` holds a reservation
};

// What the I/O layer saw while reading an FPUT body.
struct PutResult {
  // Exactly `size` bytes followed by the end of the stream (discard: at least `size` bytes; the rest is not read).
  bool bytes_ok = false;
  // SHA-256 of the bytes written (upload only; nullopt when not computed).
  std::optional<crypto::Sha256> digest;
  // TIMEOUT (the 5-min limit or an HTTP/2 stream error) or FILE_IO (disk); decides the answer when set.
  std::optional<Error::Kind> io_error;
};

// FGET: reply FILE, then `size` bytes of `reader` encrypted with keys.k / keys.nonce, then the tag.
struct Get {
  SenderId sender_id;
  uint32_t size = 0;
  chunks::Reader reader;
  DownloadKeys keys;
  Response response() const;
};

using Outcome = std::variant<Response, Put, Get>;

class XftpState {
 public:
  XftpState(XftpStateConfig config, FileStore& store, chunks::ChunkStore& chunks);
  XftpState(const XftpState&) = delete;
  XftpState& operator=(const XftpState&) = delete;

  // One line of file-server-store.log (no '\n'), called in the order the state changes; empty = no log.
  std::function<void(std::string_view)> store_log;
  // Fresh entity ids (default: kIdSize random bytes); tests may replace it.
  FileStore::IdSource new_id;

  // A transmission that passed parse_transmission: command parse, credential rules, entity lookup and
  // authorization, then the command (§6 step 5, §7.2). server_dh_priv: the connection's handshake key, for
  // X25519 authenticators. now: Unix seconds (FNEW's createdAt).
  Outcome handle(const RawTransmission& t, const std::optional<crypto::Key32>& server_dh_priv, int64_t now);

  // §7.2 FPUT steps 3–6 (or the end of a discard): commits the chunk and records its path (store-log FPUT), or
  // releases the reservation and deletes the data and answers SIZE / DIGEST / TIMEOUT / FILE_IO, or AUTH when the
  // record vanished, was blocked or got a path meanwhile.
  Response finish_put(Put& put, const PutResult& result);

  // §11: removes every file with createdAt + 3600 < now − file_ttl (chunk files first, then FDEL lines and the
  // records). Returns the number of files removed.
  size_t expire(int64_t now);

  size_t file_count();

  // The control port (server-operations.md §5.4), files found by a RECIPIENT id: nullopt when done, else the
  // error the reply shows. delete: FDEL, the chunk and the record go (counted as filesDeleted). block: FBLK, the
  // chunk goes and its quota is freed, the record stays blocked (FGET then answers BLOCKED; filesBlocked).
  std::optional<Error> delete_by_recipient(const RecipientId& rid);
  std::optional<Error> block_by_recipient(const RecipientId& rid, const BlockingInfo& info);

  // The statistics counters (server-operations.md §5), counted at the reference's points.
  FileServerStatsData stats();
  void set_stats(FileServerStatsData d);
  // The daily CSV row's period (roll_file_stats under the lock).
  FileStatsPeriod roll_stats(int64_t now);

 private:
  Outcome sender_command(const Command& c, const FileRec& rec);
  Outcome recipient_command(const Command& c, const RecipientId& rid, const FileRec& rec);
  Response create_file(const FNEW& c, int64_t now);
  Outcome start_put(const FileRec& rec);
  Outcome start_get(const FGET& c, const FileRec& rec);
  Response delete_file(const FileRec& rec);
  void log(const StoreLogRecord& r);

  XftpStateConfig config_;
  FileStore& store_;
  chunks::ChunkStore& chunks_;
  std::mutex mutex_;
  FileServerStatsData stats_;
};

}  // namespace sr::xftp
