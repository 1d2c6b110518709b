// The store-log journal both roles share (server-operations.md §4.1, §4.3): a text file of one record per line,
// appended during operation and compacted at start with the reference's crash-safe protocol (F → F.start →
// compacted F → F.<ISO-8601 time>) and its backup retention. The record formats are the roles' business; this
// file only moves lines.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoding.hpp"

namespace sr::storelog {

using TimePoint = std::chrono::system_clock::time_point;  // backup names: sr::iso8601_show (core/encoding.hpp)

// An open log: every append is one write(2) of the whole line and its '\n' (a crash leaves at most one partial
// last line, which the reader skips as a parse error).
class Writer {
 public:
  explicit Writer(const std::filesystem::path& path);  // creates or appends; throws std::system_error
  ~Writer();
  Writer(Writer&& o) noexcept;
  Writer& operator=(Writer&&) = delete;
  Writer(const Writer&) = delete;
  void append(std::string_view line);  // throws std::system_error (e.g. ENOSPC)
  void sync();                         // flush + fdatasync
  // Bulk mode for writing a whole compacted log: lines are collected and written in large chunks (one write per
  // line would be a million syscalls for a million queues). flush() writes them and ends bulk mode.
  void begin_bulk() { bulk_ = true; }
  void flush();
  const std::filesystem::path& path() const { return path_; }
  int fd() const { return fd_; }

 private:
  void write_out(std::string_view data);
  std::filesystem::path path_;
  int fd_ = -1;
  bool bulk_ = false;
  std::string pending_;
};

// Reads a log line by line (the last line may lack its '\n'); prints "Processed: <n> log lines" after reading as
// the reference's SMP server does (report = false: XFTP, which prints nothing). Returns the number of lines.
size_t read_lines(const std::filesystem::path& path, const std::function<void(std::string_view line)>& on_line,
                  bool report = true);

// The start-up protocol of §4.3 for log file `f`: recovers from an interrupted compaction (F.start), reads F
// through `read`, rewrites it compacted through `write_compacted` (which appends to the given writer), keeps
// the original as F.<time>, prunes old backups, and returns the log open for appending.
Writer open_store_log(const std::filesystem::path& f, const std::function<void(const std::filesystem::path&)>& read,
                      const std::function<void(Writer&)>& write_compacted, TimePoint now);

// §4.3 step 7: among F.<ISO-8601> backups, keep those younger than a day and the newest 3 older ones, delete
// the rest that are older than 21 days. Prints "Removed <n> backups:" and the paths when it deletes.
std::vector<std::filesystem::path> remove_backups(const std::filesystem::path& f, TimePoint now);

}  // namespace sr::storelog
