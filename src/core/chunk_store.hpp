// A quota-enforcing store of file chunks: one flat file per chunk, named base64url(id) (padded) directly in the
// store directory, exactly as the reference XFTP server names them (xftp-protocol.md §10), so a reference
// server's chunk directory is used as it is. Ids are opaque byte strings; the store knows nothing of XFTP.
//
// Accounting: used = declared sizes of reservations (uploads not yet committed, in-flight or not) + sizes of the
// committed chunk files. A reservation is refused when used + size > quota (the reference's `QUOTA` rule, §11).
// The caller chooses when to reserve: the reference reserves at FPUT, just before receiving the body, and
// releases the reservation (remove) when that upload fails.
//
// Uploads are written to "<name>.<n>.part" and renamed to <name> on commit, after fsync of the file; the
// directory is fsynced before commit returns. So every file under a chunk name is complete: a crash leaves at
// most a .part file, deleted by the next open(). Committed chunks are immutable.
//
// Restart: open() counts every chunk-named file as committed (size = file size). The caller then replays its
// own log: for a record whose upload was not confirmed, restore_pending() re-registers the reservation (the
// reference counts all records' sizes at start) and deletes a chunk file left by an unconfirmed upload — or
// remove() drops that file when the caller does not reserve before the upload.
//
// Thread-safe: every method may be called from any thread; an Upload or Reader is used by one thread at a time.
// Disk failures throw std::system_error naming the path (the reference answers FILE_IO); outcomes a client can
// cause are returned as Error values. The quota syntax N|Nkb|Nmb|Ngb is parsed by sr::config::parse_size.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace sr::chunks {

using ByteView = std::span<const uint8_t>;
using Bytes = std::vector<uint8_t>;

enum class Error {
  Quota,        // reserve: the size does not fit in the quota (even after evicting every committed chunk)
  Duplicate,    // reserve: the id already has a reservation
  Committed,    // reserve/begin: the id is a committed chunk, which is immutable
  NotReserved,  // begin: no reservation; commit: the reservation was removed while uploading
  Busy,         // begin: an upload of this id is in progress
  Size,         // write: more bytes than reserved (not written); commit: fewer bytes than reserved
  NotFound,     // open_read: no committed chunk with this id
};
const char* to_string(Error e);

struct Options {
  // When a reservation does not fit, delete the oldest committed chunks (by commit time; after a restart by
  // file mtime) until it does. Pending reservations are never evicted.
  bool evict_oldest = false;
};

struct Reserved {
  std::optional<Error> error;  // nullopt: the bytes are reserved
  // evict_oldest: chunks already deleted to make room, oldest first. Their bytes are freed and their files
  // gone; the caller must delete its records of them (as for FDEL), also when error is set: if deleting a
  // file fails, eviction stops there, that chunk stays stored and counted, and the result is Error::Quota.
  std::vector<Bytes> evicted;
  bool ok() const { return !error.has_value(); }
};

class ChunkStore;

// One upload into a reserved id: write() the bytes in pieces, then commit() or abort(). Destroying an Upload
// that was not committed aborts it. The store must outlive it.
class Upload {
 public:
  Upload(Upload&& o) noexcept;
  Upload& operator=(Upload&& o) noexcept;
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;
  ~Upload();

  // Appends data. Error::Size when the total would exceed the reserved size; nothing of this piece is written
  // (the reference does not write the overflowing slice) and the upload should be aborted.
  std::optional<Error> write(ByteView data);
  // Requires exactly the reserved number of bytes (else Error::Size, upload still open). fsyncs the file,
  // renames it to its chunk name and fsyncs the directory: when this returns nullopt the chunk survives a
  // crash and the upload may be confirmed. Error::NotReserved: the id was removed meanwhile (its data dropped).
  std::optional<Error> commit();
  // Deletes the partial file. The reservation stays (another begin() may retry); remove() releases it.
  void abort();

  uint64_t size() const { return size_; }
  uint64_t written() const { return written_; }

 private:
  friend class ChunkStore;
  Upload(ChunkStore* store, std::string name, uint64_t gen, uint64_t size, int fd, std::filesystem::path tmp);
  void close_fd() noexcept;
  ChunkStore* store_ = nullptr;  // null once committed or aborted
  std::string name_;
  uint64_t gen_ = 0;
  uint64_t size_ = 0;
  uint64_t written_ = 0;
  int fd_ = -1;
  std::filesystem::path tmp_;
};

// Sequential reads of one committed chunk. Keeps reading the data it opened even if the chunk is removed.
class Reader {
 public:
  Reader(Reader&& o) noexcept;
  Reader& operator=(Reader&& o) noexcept;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  // Fills buf from the current position; returns the number of bytes read, 0 at the end.
  size_t read(std::span<uint8_t> buf);
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - offset_; }

 private:
  friend class ChunkStore;
  Reader(int fd, uint64_t size, std::filesystem::path path);
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
  std::filesystem::path path_;
};

class ChunkStore {
 public:
  // quota: bytes, nullopt = unlimited (the INI's absent storage_quota).
  ChunkStore(std::filesystem::path dir, std::optional<uint64_t> quota, Options options = {});
  ChunkStore(const ChunkStore&) = delete;
  ChunkStore& operator=(const ChunkStore&) = delete;

  // Creates the directory if missing, deletes .part files of interrupted uploads and registers every
  // chunk-named regular file as a committed chunk. Other files are left alone and not counted.
  void open();

  // Reserves size bytes for a future upload of id (see Reserved and Error).
  Reserved reserve(ByteView id, uint64_t size);
  // Re-registers a reservation from the caller's log at start-up, without a quota check (used may then exceed
  // the quota, as in the reference). A committed file of this id is deleted: its upload was never confirmed.
  void restore_pending(ByteView id, uint64_t size);

  // Starts the upload of a reserved id.
  std::variant<Upload, Error> begin(ByteView id);
  // Opens a committed chunk for reading.
  std::variant<Reader, Error> open_read(ByteView id);

  // Deletes the chunk file or releases the reservation (an upload in progress then fails at commit) and frees
  // its bytes. False when the id is unknown.
  bool remove(ByteView id);

  uint64_t used() const;
  std::optional<uint64_t> quota() const { return quota_; }
  // Committed size, or nullopt when the id is not a committed chunk.
  std::optional<uint64_t> committed_size(ByteView id) const;
  // Reserved size of an uncommitted id, or nullopt.
  std::optional<uint64_t> pending_size(ByteView id) const;
  size_t committed_count() const;
  // Committed ids, oldest first (the eviction order).
  std::vector<Bytes> committed_ids() const;

  const std::filesystem::path& dir() const { return dir_; }
  // <dir>/<base64url(id)>: where the chunk lives; the path the reference records in its FPUT log line.
  std::filesystem::path path_of(ByteView id) const;

 private:
  friend class Upload;
  enum class State { Pending, Uploading, Committed };
  struct Entry {
    uint64_t size = 0;
    State state = State::Pending;
    uint64_t gen = 0;  // identifies the upload in progress; 0 = none
    uint64_t seq = 0;  // commit order, valid when Committed
  };

  // Called by Upload with mutex_ not held.
  std::optional<Error> finish(Upload& u);
  void abandon(Upload& u) noexcept;

  void unlink_chunk(const std::string& name);  // throws unless the file is gone
  void drop(std::map<std::string, Entry>::iterator it);  // with mutex_ held: forget the entry and its bytes

  const std::filesystem::path dir_;
  const std::optional<uint64_t> quota_;
  const Options options_;

  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;       // by chunk file name
  std::map<uint64_t, std::string> by_age_;     // committed chunks: seq → name
  uint64_t used_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t next_gen_ = 1;
};

}  // namespace sr::chunks
