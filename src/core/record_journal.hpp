// A durable append-only journal of binary records, shared by the roles (the SMP message journal is the first
// user). Each record is written to the kernel with one write(2) before the caller acknowledges the change it
// describes, so a killed process loses nothing it confirmed; an fsync policy bounds what a power loss can take.
//
// File: 8-byte header "SRJ1\0\0\0\n", then records: u32 LE payload length, u32 LE CRC-32C of the payload,
// payload. The reader stops at a torn last record (a crash mid-write) and skips over damaged records (checksum
// mismatch) to the next valid one, reporting each by offset, so earlier and later records are kept.
// Compaction replaces the file atomically with a snapshot: F.new, fsync, rename over F, fsync the directory.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace sr::journal {

using ByteView = std::span<const uint8_t>;

// CRC-32C (Castagnoli), hardware instruction when the CPU has it.
uint32_t crc32c(ByteView data, uint32_t crc = 0);

inline constexpr size_t kHeaderSize = 8;
inline constexpr size_t kRecordHeaderSize = 8;
inline constexpr uint32_t kMaxRecord = 1u << 20;  // larger lengths are damage, not records

enum class FsyncPolicy { Never, Interval, Always };
// "never" | "interval" | "always"; nullopt otherwise.
std::optional<FsyncPolicy> parse_fsync_policy(std::string_view s);

struct Damage {
  uint64_t offset = 0;  // where the bad bytes start
  uint64_t length = 0;  // bytes skipped
  std::string what;
};

struct ReadReport {
  uint64_t records = 0;
  uint64_t file_size = 0;
  bool bad_header = false;            // not a journal file: nothing was read
  std::optional<uint64_t> torn_at;    // an incomplete last record starts here (normal after a crash)
  std::vector<Damage> damage;         // checksum mismatches and garbage skipped
  bool clean() const { return !bad_header && !torn_at && damage.empty(); }
};

// Calls on_record for every valid record in file order. A missing file reads as empty.
// Throws std::system_error when the file cannot be read.
ReadReport read_records(const std::filesystem::path& f, const std::function<void(ByteView payload)>& on_record);

// Appends framed records to `out` (for snapshots and tests).
void frame_record(std::vector<uint8_t>& out, std::initializer_list<ByteView> parts);

// Writes a complete journal file atomically: emit() appends records through the callback; the file is written
// as F.new, fsynced and renamed over F, then the directory is fsynced. Throws std::system_error.
void write_snapshot(const std::filesystem::path& f,
                    const std::function<void(const std::function<void(std::initializer_list<ByteView>)>&)>& emit);

// The open journal: appends from one thread (the server's), syncs on a background thread per the policy.
class Writer {
 public:
  // Opens F (which must exist, e.g. from write_snapshot) for appending. Throws std::system_error.
  Writer(std::filesystem::path f, FsyncPolicy policy, std::chrono::milliseconds interval);
  ~Writer();  // final fdatasync, joins the sync thread
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // One write(2) of the framed record. On failure (ENOSPC, EFBIG, EIO) the file is cut back to where it was,
  // so no partial record remains, and the error is returned.
  std::error_code append(std::initializer_list<ByteView> parts);

  // Logical positions: bytes appended since open (plus one per companion write), and how far an fdatasync has
  // covered them.
  uint64_t appended() const { return appended_.load(); }
  uint64_t synced() const { return synced_.load(); }
  uint64_t file_size() const { return file_size_; }
  FsyncPolicy policy() const { return policy_; }
  // Called on the sync thread after each fdatasync with the position it covered.
  void on_synced(std::function<void(uint64_t)> f);
  void sync_now();  // blocking fdatasync of everything appended

  // Another file whose writes the same policy covers (the queue store log): each sync also syncs it, and
  // mark_written() after writing to it makes the next appended() position include that write.
  void add_companion(int fd);
  void mark_written();

  // Compaction: replaces the file with a snapshot (write_snapshot) and continues appending to it.
  void rewrite(const std::function<void(const std::function<void(std::initializer_list<ByteView>)>&)>& emit);
  const std::filesystem::path& path() const { return path_; }

 private:
  void sync_loop();
  std::filesystem::path path_;
  FsyncPolicy policy_;
  std::chrono::milliseconds interval_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  std::vector<uint8_t> buf_;
  std::atomic<uint64_t> appended_{0}, synced_{0};
  std::mutex m_;           // guards fd_ against the sync thread, stop_, on_synced_
  std::condition_variable cv_;
  bool stop_ = false;
  std::function<void(uint64_t)> on_synced_;
  std::vector<int> companions_;
  std::thread sync_thread_;
};

}  // namespace sr::journal
