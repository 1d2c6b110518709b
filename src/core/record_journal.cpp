#include "core/record_journal.hpp"

#include "core/fsutil.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace sr::journal {
namespace {

constexpr std::array<uint8_t, kHeaderSize> kMagic = {'S', 'R', 'J', '1', 0, 0, 0, '\n'};

// Slicing-by-8 tables for the portable path.
struct Crc32cTables {
  uint32_t t[8][256];
  Crc32cTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};

uint32_t crc32c_portable(const uint8_t* p, size_t n, uint32_t c) {
  static const Crc32cTables tab;
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;  // little-endian hosts (all Debian release architectures we build for)
    c = tab.t[7][lo & 0xff] ^ tab.t[6][(lo >> 8) & 0xff] ^ tab.t[5][(lo >> 16) & 0xff] ^ tab.t[4][lo >> 24] ^
        tab.t[3][hi & 0xff] ^ tab.t[2][(hi >> 8) & 0xff] ^ tab.t[1][(hi >> 16) & 0xff] ^ tab.t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ tab.t[0][(c ^ *p++) & 0xff];
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const uint8_t* p, size_t n, uint32_t c) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = __builtin_ia32_crc32di(c64, v);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n--) c = __builtin_ia32_crc32qi(c, *p++);
  return c;
}
#endif

uint32_t load32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
void store32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

std::system_error sys_error(const std::filesystem::path& f, const char* what) {
  return std::system_error(errno, std::generic_category(), std::string(what) + " " + f.string());
}

// Writes all of buf; false with errno set on failure.
bool write_all(int fd, const uint8_t* p, size_t n) {
  const int e = fs::write_all(fd, p, n);
  errno = e;
  return e == 0;
}

size_t framed_size(std::initializer_list<ByteView> parts) {
  size_t n = kRecordHeaderSize;
  for (auto p : parts) n += p.size();
  return n;
}

}  // namespace

uint32_t crc32c(ByteView data, uint32_t crc) {
  crc = ~crc;
#if defined(__x86_64__)
  static const bool hw = __builtin_cpu_supports("sse4.2");
  crc = hw ? crc32c_sse42(data.data(), data.size(), crc) : crc32c_portable(data.data(), data.size(), crc);
#else
  crc = crc32c_portable(data.data(), data.size(), crc);
#endif
  return ~crc;
}

std::optional<FsyncPolicy> parse_fsync_policy(std::string_view s) {
  if (s == "never") return FsyncPolicy::Never;
  if (s == "interval") return FsyncPolicy::Interval;
  if (s == "always") return FsyncPolicy::Always;
  return std::nullopt;
}

void frame_record(std::vector<uint8_t>& out, std::initializer_list<ByteView> parts) {
  const size_t at = out.size();
  out.resize(at + kRecordHeaderSize);
  uint32_t crc = 0, len = 0;
  for (auto p : parts) {
    out.insert(out.end(), p.begin(), p.end());
    crc = crc32c(p, crc);
    len += static_cast<uint32_t>(p.size());
  }
  store32(out.data() + at, len);
  store32(out.data() + at + 4, crc);
}

ReadReport read_records(const std::filesystem::path& f, const std::function<void(ByteView)>& on_record) {
  ReadReport r;
  int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return r;
    throw sys_error(f, "open");
  }
  std::vector<uint8_t> data;
  {
    uint8_t chunk[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        auto e = sys_error(f, "read");
        ::close(fd);
        throw e;
      }
      if (n == 0) break;
      data.insert(data.end(), chunk, chunk + n);
    }
    ::close(fd);
  }
  r.file_size = data.size();
  if (data.empty()) return r;
  if (data.size() < kHeaderSize || !std::equal(kMagic.begin(), kMagic.end(), data.begin())) {
    r.bad_header = true;
    return r;
  }
  // A record is valid when it fits the file and its checksum matches.
  auto valid_at = [&](size_t pos) {
    if (data.size() - pos < kRecordHeaderSize) return false;
    const uint32_t len = load32(&data[pos]);
    if (len == 0 || len > kMaxRecord || data.size() - pos - kRecordHeaderSize < len) return false;
    return crc32c(ByteView(&data[pos + kRecordHeaderSize], len)) == load32(&data[pos + 4]);
  };
  size_t pos = kHeaderSize;
  while (pos < data.size()) {
    const size_t left = data.size() - pos;
    if (valid_at(pos)) {
      const uint32_t len = load32(&data[pos]);
      on_record(ByteView(&data[pos + kRecordHeaderSize], len));
      ++r.records;
      pos += kRecordHeaderSize + len;
      continue;
    }
    // Skip to the next offset where a valid record starts (or to the end).
    size_t next = pos + 1;
    while (next < data.size() && !valid_at(next)) ++next;
    // An incomplete record with nothing valid after it is what a crash mid-write leaves; anything else (a bad
    // length in the middle included) is damage, and the records after it are kept.
    if (next == data.size() && (left < kRecordHeaderSize || (load32(&data[pos]) <= kMaxRecord &&
                                                             load32(&data[pos]) > left - kRecordHeaderSize))) {
      r.torn_at = pos;
      break;
    }
    r.damage.push_back({pos, next - pos,
                        load32(&data[pos]) > kMaxRecord || load32(&data[pos]) == 0 ? "invalid record length"
                                                                                   : "checksum mismatch"});
    pos = next;
  }
  return r;
}

void write_snapshot(const std::filesystem::path& f,
                    const std::function<void(const std::function<void(std::initializer_list<ByteView>)>&)>& emit) {
  const std::filesystem::path tmp = f.string() + ".new";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw sys_error(tmp, "open");
  std::vector<uint8_t> buf(kMagic.begin(), kMagic.end());
  bool ok = true;
  auto flush = [&] {
    if (ok && !write_all(fd, buf.data(), buf.size())) ok = false;
    buf.clear();
  };
  try {
    emit([&](std::initializer_list<ByteView> parts) {
      frame_record(buf, parts);
      if (buf.size() >= (1u << 20)) flush();
    });
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  flush();
  if (!ok || ::fdatasync(fd) != 0) {
    auto e = sys_error(tmp, "write");
    ::close(fd);
    ::unlink(tmp.c_str());
    throw e;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), f.c_str()) != 0) throw sys_error(f, "rename");
  fs::fsync_dir(f.parent_path().empty() ? std::filesystem::path(".") : f.parent_path());
}

Writer::Writer(std::filesystem::path f, FsyncPolicy policy, std::chrono::milliseconds interval)
    : path_(std::move(f)), policy_(policy), interval_(interval) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) throw sys_error(path_, "open");
  file_size_ = static_cast<uint64_t>(::lseek(fd_, 0, SEEK_END));
  if (policy_ != FsyncPolicy::Never) sync_thread_ = std::thread([this] { sync_loop(); });
}

Writer::~Writer() {
  {
    std::lock_guard l(m_);
    stop_ = true;
  }
  cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  if (fd_ >= 0) {
    ::fdatasync(fd_);
    ::close(fd_);
  }
}

std::error_code Writer::append(std::initializer_list<ByteView> parts) {
  if (framed_size(parts) == kRecordHeaderSize) return std::make_error_code(std::errc::invalid_argument);  // unreadable
  buf_.clear();
  buf_.reserve(framed_size(parts));
  frame_record(buf_, parts);
  if (!write_all(fd_, buf_.data(), buf_.size())) {
    const std::error_code ec(errno, std::generic_category());
    // No partial record may stay behind a refused change.
    if (::ftruncate(fd_, static_cast<off_t>(file_size_)) != 0) {
      // The reader treats the leftover as a torn record; nothing else can be done here.
    }
    return ec;
  }
  file_size_ += buf_.size();
  appended_ += buf_.size();
  if (policy_ == FsyncPolicy::Always) {
    std::lock_guard l(m_);
    cv_.notify_one();
  }
  return {};
}

void Writer::on_synced(std::function<void(uint64_t)> f) {
  std::lock_guard l(m_);
  on_synced_ = std::move(f);
}

void Writer::add_companion(int fd) {
  std::lock_guard l(m_);
  companions_.push_back(fd);
}

void Writer::mark_written() {
  ++appended_;  // a logical position: one unit stands for the companion's write
  if (policy_ == FsyncPolicy::Always) {
    std::lock_guard l(m_);
    cv_.notify_one();
  }
}

void Writer::sync_now() {
  const uint64_t target = appended_.load();
  std::lock_guard l(m_);
  for (int c : companions_) ::fdatasync(c);
  ::fdatasync(fd_);
  if (synced_.load() < target) synced_ = target;
}

void Writer::sync_loop() {
  std::unique_lock l(m_);
  while (!stop_) {
    if (policy_ == FsyncPolicy::Always)
      cv_.wait(l, [&] { return stop_ || appended_.load() > synced_.load(); });
    else
      cv_.wait_for(l, interval_, [&] { return stop_; });
    if (stop_) break;
    const uint64_t target = appended_.load();
    if (target <= synced_.load()) continue;
    // The lock keeps fd_ stable (rewrite swaps it) and is released by nobody else for long: appends only take
    // it to notify. Everything appended while this sync runs is covered by the next one (group commit).
    const int fd = fd_;
    const std::vector<int> companions = companions_;
    l.unlock();
    for (int c : companions) ::fdatasync(c);
    ::fdatasync(fd);
    l.lock();
    if (fd != fd_) continue;  // rewritten meanwhile: rewrite() already made everything durable
    synced_ = target;
    if (on_synced_) on_synced_(target);
  }
}

void Writer::rewrite(const std::function<void(const std::function<void(std::initializer_list<ByteView>)>&)>& emit) {
  write_snapshot(path_, emit);
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw sys_error(path_, "open");
  std::lock_guard l(m_);
  for (int c : companions_) ::fdatasync(c);
  const int old = fd_;
  fd_ = fd;
  file_size_ = static_cast<uint64_t>(::lseek(fd_, 0, SEEK_END));
  // The snapshot holds everything appended so far and is on disk.
  synced_ = appended_.load();
  if (on_synced_) on_synced_(synced_);
  // A sync still running on the old descriptor fails with EBADF or syncs an unrelated file: both harmless,
  // and the loop discards its result because fd_ changed.
  ::close(old);
}

}  // namespace sr::journal
