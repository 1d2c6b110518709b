#include "core/stats_csv.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "core/encoding.hpp"
#include "core/fsutil.hpp"

namespace sr::stats {

int64_t first_row_delay(int64_t now, int64_t start_at) {
  const int64_t day_time = ((now % 86400) + 86400) % 86400;
  const int64_t d = start_at - day_time;
  return d < 0 ? d + 86400 : d;
}

std::string csv_date(int64_t unix_seconds) {
  using namespace std::chrono;
  const int64_t days_since = unix_seconds >= 0 ? unix_seconds / 86400 : (unix_seconds - 86399) / 86400;
  const year_month_day ymd{sys_days{days{days_since}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

namespace {

// Opens file with `flags` (plus write-only, create) and writes all of text; throws FileError naming the file.
void write_whole(const std::filesystem::path& file, int flags, std::string_view text) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
  if (fd < 0) throw fs::FileError(file.string() + ": " + std::strerror(errno));
  if (const int e = fs::write_all(fd, text.data(), text.size())) {
    ::close(fd);
    throw fs::FileError(file.string() + ": " + std::strerror(e));
  }
  ::close(fd);
}

}  // namespace

void append_row(const std::filesystem::path& file, std::string_view row) {
  std::string line(row);
  line += '\n';
  write_whole(file, O_APPEND, line);  // the row and its newline together
}

void write_metrics_file(const std::filesystem::path& file, std::string_view text) {
  write_whole(file, O_TRUNC, text);
}

int64_t epoch_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string metrics_header(std::chrono::system_clock::time_point now, int64_t from_time) {
  return "# Recorded at: " + iso8601_show(now) + "\n# Stats from: " +
         iso8601_show(std::chrono::system_clock::time_point(std::chrono::seconds(from_time))) + "\n\n";
}

std::string rts_options(const char* env) {
  const char* v = std::getenv(env);
  return v ? std::string(v) : "set " + std::string(env);
}

int64_t thread_count() {
  std::error_code ec;
  int64_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}

}  // namespace sr::stats
