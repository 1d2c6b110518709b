// Pieces shared by both roles' statistics output (server-operations.md §5.1–§5.3): the daily CSV timing and
// row helpers, the Prometheus sample suffix, and the timers that drive them on the server's io_context.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>


namespace sr::stats {

// Seconds from `now` (Unix) until the first daily row: the next `start_at` seconds after 00:00 UTC
// (the reference's logStatsStartTime, 0), today if still ahead, else tomorrow (simplexmq: Server.hs logServerStats).
int64_t first_row_delay(int64_t now, int64_t start_at = 0);
// The rows repeat every day after the first (a fixed sleep, as the reference's).
inline constexpr int64_t kRowInterval = 86400;

// "YYYY-MM-DD" of a Unix time (UTC): the first CSV column.
std::string csv_date(int64_t unix_seconds);
// A distinct-count column: the set size when the period ended in this row, else empty.
inline std::string period_field(const std::set<int64_t>& s, bool written) {
  return written ? std::to_string(s.size()) : std::string();
}
// Appends `row` and a newline to the file (created if missing), as the reference's AppendMode handle; throws
// fs::FileError.
void append_row(const std::filesystem::path& file, std::string_view row);

// The Prometheus text file is rewritten in place (truncate and write, not atomic, as the reference's
// T.writeFile); throws fs::FileError.
void write_metrics_file(const std::filesystem::path& file, std::string_view text);
// Milliseconds since the epoch, floored: every sample's explicit timestamp.
int64_t epoch_ms(std::chrono::system_clock::time_point t);
// The `# Recorded at:` / `# Stats from:` header and the blank line after it.
std::string metrics_header(std::chrono::system_clock::time_point now, int64_t from_time);
// The runtime-options label value: $<env> or "set <env>", as the reference shows it.
std::string rts_options(const char* env);

// Threads of this process (/proc/self/task), for simplex_*_threads_total.
int64_t thread_count();


}  // namespace sr::stats
