#include "core/fsutil.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

namespace sr::fs {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, int err) {
  throw FileError(path.string() + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close(2) can report a deferred write error, so the writer checks it.
  int close() {
    const int r = ::close(fd_);
    fd_ = -1;
    return r;
  }

 private:
  int fd_;
};

}  // namespace

int write_all(int fd, const void* data, size_t n, size_t* written) {
  const auto* p = static_cast<const char*>(data);
  size_t done = 0;
  int err = 0;
  while (done < n) {
    const ssize_t w = ::write(fd, p + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<size_t>(w);
  }
  if (written) *written = done;
  return err;
}

ssize_t pread_full(int fd, void* buf, size_t n, uint64_t offset) {
  auto* p = static_cast<char*>(buf);
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, p + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(got);
}

std::string read_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail(path, errno);
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void write_file(const std::filesystem::path& path, std::string_view content, unsigned mode) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  // O_EXCL: never follow or reuse someone else's file; the mode passes through the umask like open(2)'s.
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode)));
  if (fd.get() < 0) fail(path, errno);
  auto abandon = [&](int err) {
    ::unlink(tmp.c_str());
    fail(path, err);
  };
  if (const int e = write_all(fd.get(), content.data(), content.size())) abandon(e);
  if (::fsync(fd.get()) != 0) abandon(errno);
  if (fd.close() != 0) abandon(errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) abandon(errno);
  // The rename itself is durable only once the directory is synced (best effort: the file is in place).
  try {
    fsync_dir(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
  } catch (const std::system_error&) {
  }
}

void fsync_dir(const std::filesystem::path& dir) {
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) throw std::system_error(errno, std::generic_category(), "open " + dir.string());
  if (::fsync(dfd.get()) != 0) throw std::system_error(errno, std::generic_category(), "fsync " + dir.string());
}

std::optional<std::string> read_first_line(const std::filesystem::path& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const FileError&) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) return std::nullopt;
    throw;
  }
  const auto nl = text.find('\n');
  if (nl != std::string::npos) text.resize(nl);
  return text;
}

void empty_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    if (!std::filesystem::exists(dir, ec)) return;
    throw FileError(dir.string() + ": " + std::strerror(ENOTDIR));
  }
  // List first, then remove: deleting while readdir walks the directory may skip entries.
  std::vector<std::filesystem::path> entries;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    entries.push_back(it->path());
  if (ec) throw FileError(dir.string() + ": " + ec.message());
  for (const auto& entry : entries) {
    std::filesystem::remove_all(entry, ec);
    if (ec) throw FileError(entry.string() + ": " + ec.message());
  }
}

std::optional<std::string> getenv_nonempty(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

}  // namespace sr::fs
