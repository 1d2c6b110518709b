#include "core/store_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "core/log.hpp"

namespace sr::storelog {

namespace fsys = std::filesystem;
using namespace std::chrono;

Writer::Writer(const fsys::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), path.string());
}

Writer::Writer(Writer&& o) noexcept
    : path_(std::move(o.path_)), fd_(o.fd_), bulk_(o.bulk_), pending_(std::move(o.pending_)) {
  o.fd_ = -1;
}

Writer::~Writer() {
  if (fd_ < 0) return;
  try {
    flush();
  } catch (const std::exception& e) {
    LOG_ERROR("{}", e.what());
  }
  ::close(fd_);
}

void Writer::write_out(std::string_view data) {
  size_t off = 0;
  if (const int e = fs::write_all(fd_, data.data(), data.size(), &off)) {
    // A full disk must not leave half a line for the next start to trip over.
    if (off > 0) {
      const off_t end = ::lseek(fd_, 0, SEEK_END);
      if (end >= static_cast<off_t>(off) && ::ftruncate(fd_, end - static_cast<off_t>(off)) != 0) {
        // nothing more to do: the reader reports the partial line
      }
    }
    throw std::system_error(e, std::generic_category(), path_.string());
  }
}

void Writer::append(std::string_view line) {
  if (bulk_) {
    pending_.append(line).push_back('\n');
    if (pending_.size() >= (1u << 20)) {
      write_out(pending_);
      pending_.clear();
    }
    return;
  }
  std::string buf;
  buf.reserve(line.size() + 1);
  buf.append(line).push_back('\n');
  write_out(buf);
}

void Writer::flush() {
  bulk_ = false;
  if (pending_.empty()) return;
  std::string data = std::move(pending_);
  pending_.clear();
  write_out(data);
}

void Writer::sync() {
  flush();
  if (::fdatasync(fd_) != 0) throw std::system_error(errno, std::generic_category(), path_.string());
}

size_t read_lines(const fsys::path& path, const std::function<void(std::string_view line)>& on_line, bool report) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::system_error(errno, std::generic_category(), path.string());
  size_t count = 0;
  for (std::string line; std::getline(in, line);) {
    on_line(line);
    ++count;
  }
  if (report) log::out_line(fmt::format("Processed: {} log lines", count));
  return count;
}

std::vector<fsys::path> remove_backups(const fsys::path& f, TimePoint now) {
  const std::string prefix = f.filename().string() + ".";
  std::vector<TimePoint> times;
  std::error_code ec;
  for (const auto& entry : fsys::directory_iterator(f.parent_path().empty() ? "." : f.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    if (auto t = iso8601_parse(std::string_view(name).substr(prefix.size()))) times.push_back(*t);
  }
  std::sort(times.begin(), times.end());
  const TimePoint day_ago = now - hours(24), old = now - hours(24 * 21);
  std::vector<TimePoint> older;
  for (auto t : times)
    if (t < day_ago) older.push_back(t);
  constexpr size_t kMinOldBackups = 3;
  if (older.size() > kMinOldBackups) older.resize(older.size() - kMinOldBackups);
  else older.clear();
  std::vector<fsys::path> removed;
  for (auto t : older) {
    if (t >= old) continue;
    // The name is rebuilt from the parsed time, as the reference does, so only canonical names are removed.
    fsys::path p = f;
    p += "." + iso8601_show(t);
    if (fsys::remove(p, ec)) removed.push_back(p);
  }
  if (!removed.empty()) {
    log::out_line(fmt::format("Removed {} backups:", removed.size()));
    for (const auto& p : removed) log::out_line(p.string());
  }
  return removed;
}

Writer open_store_log(const fsys::path& f, const std::function<void(const fsys::path&)>& read,
                      const std::function<void(Writer&)>& write_compacted, TimePoint now) {
  fsys::path start = f;
  start += ".start";
  auto write_log = [&](std::string_view note) {
    Writer w(f);
    LOG_NOTE("{}", note);
    w.begin_bulk();
    write_compacted(w);
    w.flush();
    return w;
  };
  if (fsys::exists(start)) {
    LOG_WARN("Server terminated abnormally on last start, restoring state from {}", start.string());
    if (fsys::exists(f)) {
      fsys::path bak = f;
      bak += ".bak";
      fsys::rename(f, bak);
      LOG_NOTE("preserved incomplete state {} as {}", f.string(), bak.string());
    }
    fsys::rename(start, f);
  } else if (!fsys::exists(f)) {
    return write_log("creating store log...");
  }
  read(f);
  fsys::rename(f, start);  // 1) temporary backup: a crash from here on restarts from it
  Writer w = write_log("compacting store log (do not terminate)...");  // 2) the compacted state
  w.sync();
  fsys::path timed = f;
  timed += "." + iso8601_show(now);
  fsys::rename(start, timed);  // 3) the original, kept with its time
  LOG_NOTE("original state preserved as {}", timed.string());
  remove_backups(f, now);
  return w;
}

}  // namespace sr::storelog
