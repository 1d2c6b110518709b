#include "core/chunk_store.hpp"

#include "core/fsutil.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <tuple>
#include <utility>

#include "core/encoding.hpp"

namespace sr::chunks {
namespace {

[[noreturn]] void fail(int err, const std::filesystem::path& path, const char* what) {
  throw std::system_error(err, std::generic_category(), std::string(what) + " " + path.string());
}

std::string name_of(ByteView id) { return base64url_encode(id); }

// A chunk file name is the canonical (padded) base64url of a non-empty id, as the reference writes it.
bool is_chunk_name(const std::string& name) {
  if (name.empty()) return false;
  auto id = base64url_decode(name);
  return id && !id->empty() && base64url_encode(*id) == name;
}

// "<chunk name>.<n>.part"
bool is_part_name(const std::string& name) {
  static constexpr std::string_view suffix = ".part";
  if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  const size_t dot = name.find('.');
  return is_chunk_name(name.substr(0, dot));
}

}  // namespace

const char* to_string(Error e) {
  switch (e) {
    case Error::Quota: return "quota exceeded";
    case Error::Duplicate: return "already reserved";
    case Error::Committed: return "chunk already stored";
    case Error::NotReserved: return "no reservation";
    case Error::Busy: return "upload in progress";
    case Error::Size: return "wrong size";
    case Error::NotFound: return "no such chunk";
  }
  return "?";
}

// --- Upload ------------------------------------------------------------------------------------------------

Upload::Upload(ChunkStore* store, std::string name, uint64_t gen, uint64_t size, int fd, std::filesystem::path tmp)
    : store_(store), name_(std::move(name)), gen_(gen), size_(size), fd_(fd), tmp_(std::move(tmp)) {}

Upload::Upload(Upload&& o) noexcept
    : store_(std::exchange(o.store_, nullptr)),
      name_(std::move(o.name_)),
      gen_(o.gen_),
      size_(o.size_),
      written_(o.written_),
      fd_(std::exchange(o.fd_, -1)),
      tmp_(std::move(o.tmp_)) {}

Upload& Upload::operator=(Upload&& o) noexcept {
  if (this != &o) {
    abort();
    store_ = std::exchange(o.store_, nullptr);
    name_ = std::move(o.name_);
    gen_ = o.gen_;
    size_ = o.size_;
    written_ = o.written_;
    fd_ = std::exchange(o.fd_, -1);
    tmp_ = std::move(o.tmp_);
  }
  return *this;
}

Upload::~Upload() { abort(); }

void Upload::close_fd() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::optional<Error> Upload::write(ByteView data) {
  if (store_ == nullptr) return Error::NotReserved;
  if (data.size() > size_ - written_) return Error::Size;
  size_t n = 0;
  const int e = fs::write_all(fd_, data.data(), data.size(), &n);
  written_ += n;
  if (e) fail(e, tmp_, "write");
  return std::nullopt;
}

std::optional<Error> Upload::commit() {
  if (store_ == nullptr) return Error::NotReserved;
  if (written_ != size_) return Error::Size;
  if (::fsync(fd_) != 0) fail(errno, tmp_, "fsync");
  const int r = ::close(fd_);  // close can report a deferred write error
  fd_ = -1;
  if (r != 0) fail(errno, tmp_, "close");
  auto result = store_->finish(*this);
  store_ = nullptr;
  return result;
}

void Upload::abort() {
  close_fd();
  if (store_ != nullptr) std::exchange(store_, nullptr)->abandon(*this);
}

// --- Reader ------------------------------------------------------------------------------------------------

Reader::Reader(int fd, uint64_t size, std::filesystem::path path) : fd_(fd), size_(size), path_(std::move(path)) {}

Reader::Reader(Reader&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), size_(o.size_), offset_(o.offset_), path_(std::move(o.path_)) {}

Reader& Reader::operator=(Reader&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    size_ = o.size_;
    offset_ = o.offset_;
    path_ = std::move(o.path_);
  }
  return *this;
}

Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

size_t Reader::read(std::span<uint8_t> buf) {
  const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), remaining()));
  // Shorter than when opened cannot happen to an immutable chunk; a short read just ends the stream early.
  const ssize_t n = fs::pread_full(fd_, buf.data(), want, offset_);
  if (n < 0) fail(errno, path_, "read");
  const auto got = static_cast<size_t>(n);
  offset_ += got;
  return got;
}

// --- ChunkStore --------------------------------------------------------------------------------------------

ChunkStore::ChunkStore(std::filesystem::path dir, std::optional<uint64_t> quota, Options options)
    : dir_(std::move(dir)), quota_(quota), options_(options) {}

void ChunkStore::open() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) fail(ec.value(), dir_, "create directory");

  struct Found {
    std::filesystem::file_time_type mtime;
    std::string name;
    uint64_t size;
  };
  std::vector<Found> found;
  for (auto it = std::filesystem::directory_iterator(dir_, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    const std::string name = it->path().filename().string();
    if (is_part_name(name)) {
      if (::unlink(it->path().c_str()) != 0 && errno != ENOENT) fail(errno, it->path(), "unlink");
      continue;
    }
    if (!is_chunk_name(name)) continue;
    const uint64_t size = it->file_size(fec);
    if (fec) fail(fec.value(), it->path(), "stat");
    const auto mtime = it->last_write_time(fec);
    if (fec) fail(fec.value(), it->path(), "stat");
    found.push_back({mtime, name, size});
  }
  if (ec) fail(ec.value(), dir_, "read directory");
  // Oldest first, so eviction after a restart follows the files' age.
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return std::tie(a.mtime, a.name) < std::tie(b.mtime, b.name); });

  std::lock_guard lock(mutex_);
  entries_.clear();
  by_age_.clear();
  used_ = 0;
  for (auto& f : found) {
    const uint64_t seq = next_seq_++;
    entries_[f.name] = Entry{f.size, State::Committed, 0, seq};
    by_age_[seq] = f.name;
    used_ += f.size;
  }
}

std::filesystem::path ChunkStore::path_of(ByteView id) const { return dir_ / name_of(id); }

void ChunkStore::unlink_chunk(const std::string& name) {
  const auto path = dir_ / name;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail(errno, path, "unlink");
}

void ChunkStore::drop(std::map<std::string, Entry>::iterator it) {
  if (it->second.state == State::Committed) by_age_.erase(it->second.seq);
  used_ -= it->second.size;
  entries_.erase(it);
}

Reserved ChunkStore::reserve(ByteView id, uint64_t size) {
  const std::string name = name_of(id);
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(name); it != entries_.end())
    return {it->second.state == State::Committed ? Error::Committed : Error::Duplicate, {}};
  Reserved r;
  auto fits = [&] { return !quota_ || (size <= *quota_ && used_ <= *quota_ - size); };
  if (!fits()) {
    if (!options_.evict_oldest) return {Error::Quota, {}};
    // Evict only when that makes room: committed bytes are evictable, reservations are not.
    uint64_t committed = 0;
    for (const auto& [seq, n] : by_age_) committed += entries_.at(n).size;
    const uint64_t pending = used_ - committed;
    if (size > *quota_ || pending > *quota_ - size) return {Error::Quota, {}};
    while (!fits()) {
      const std::string victim = by_age_.begin()->second;
      try {
        unlink_chunk(victim);
      } catch (const std::system_error&) {
        r.error = Error::Quota;  // the chunk stays stored and counted
        return r;
      }
      drop(entries_.find(victim));
      r.evicted.push_back(*base64url_decode(victim));
    }
  }
  entries_[name] = Entry{size, State::Pending, 0, 0};
  used_ += size;
  return r;
}

void ChunkStore::restore_pending(ByteView id, uint64_t size) {
  const std::string name = name_of(id);
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(name); it != entries_.end()) {
    if (it->second.state == State::Committed) unlink_chunk(name);
    drop(it);
  }
  entries_[name] = Entry{size, State::Pending, 0, 0};
  used_ += size;
}

std::variant<Upload, Error> ChunkStore::begin(ByteView id) {
  std::string name = name_of(id);
  uint64_t gen = 0;
  uint64_t size = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return Error::NotReserved;
    if (it->second.state == State::Committed) return Error::Committed;
    if (it->second.state == State::Uploading) return Error::Busy;
    gen = next_gen_++;
    it->second.state = State::Uploading;
    it->second.gen = gen;
    size = it->second.size;
  }
  auto tmp = dir_ / (name + "." + std::to_string(gen) + ".part");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    Upload failed(this, std::move(name), gen, size, -1, tmp);
    failed.abort();  // back to Pending
    fail(err, tmp, "create");
  }
  return Upload(this, std::move(name), gen, size, fd, std::move(tmp));
}

std::optional<Error> ChunkStore::finish(Upload& u) {
  const auto path = dir_ / u.name_;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(u.name_);
    if (it == entries_.end() || it->second.gen != u.gen_) {
      ::unlink(u.tmp_.c_str());
      return Error::NotReserved;
    }
    // Renamed under the lock: remove() deletes <name> under it too, and no other upload of this id can be here.
    if (::rename(u.tmp_.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(u.tmp_.c_str());
      it->second.state = State::Pending;
      it->second.gen = 0;
      fail(err, path, "rename to");
    }
    // Marked committed now so remove() deletes the renamed file; confirmed to the caller only after the
    // directory fsync below.
    it->second.state = State::Committed;
    it->second.gen = 0;
    it->second.seq = next_seq_++;
    by_age_[it->second.seq] = u.name_;
  }
  fs::fsync_dir(dir_);
  return std::nullopt;
}

void ChunkStore::abandon(Upload& u) noexcept {
  ::unlink(u.tmp_.c_str());
  std::lock_guard lock(mutex_);
  auto it = entries_.find(u.name_);
  if (it != entries_.end() && it->second.gen == u.gen_ && it->second.state == State::Uploading) {
    it->second.state = State::Pending;
    it->second.gen = 0;
  }
}

std::variant<Reader, Error> ChunkStore::open_read(ByteView id) {
  const std::string name = name_of(id);
  const auto path = dir_ / name;
  std::lock_guard lock(mutex_);  // held so a concurrent remove() cannot delete the file before it is open
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.state != State::Committed) return Error::NotFound;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Error::NotFound;  // deleted behind the store's back
    fail(errno, path, "open");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(err, path, "stat");
  }
  return Reader(fd, static_cast<uint64_t>(st.st_size), path);
}

bool ChunkStore::remove(ByteView id) {
  const std::string name = name_of(id);
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return false;
  if (it->second.state == State::Committed) unlink_chunk(name);
  drop(it);  // an upload in progress finds no entry at commit and deletes its own .part file
  return true;
}

uint64_t ChunkStore::used() const {
  std::lock_guard lock(mutex_);
  return used_;
}

std::optional<uint64_t> ChunkStore::committed_size(ByteView id) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name_of(id));
  if (it == entries_.end() || it->second.state != State::Committed) return std::nullopt;
  return it->second.size;
}

std::optional<uint64_t> ChunkStore::pending_size(ByteView id) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name_of(id));
  if (it == entries_.end() || it->second.state == State::Committed) return std::nullopt;
  return it->second.size;
}

size_t ChunkStore::committed_count() const {
  std::lock_guard lock(mutex_);
  return by_age_.size();
}

std::vector<Bytes> ChunkStore::committed_ids() const {
  std::lock_guard lock(mutex_);
  std::vector<Bytes> out;
  out.reserve(by_age_.size());
  for (const auto& [seq, name] : by_age_) out.push_back(*base64url_decode(name));
  return out;
}

}  // namespace sr::chunks
