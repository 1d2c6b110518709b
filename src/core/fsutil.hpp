// Small file-system helpers with error messages that name the path.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace sr::fs {

struct FileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Whole file as bytes; throws FileError("<path>: <strerror>").
std::string read_file(const std::filesystem::path& path);
// Writes atomically (temp file in the same directory + fsync + rename + directory fsync); the new file gets
// the given mode filtered by the umask, as open(2) would create it. Throws FileError("<path>: <strerror>").
void write_file(const std::filesystem::path& path, std::string_view content, unsigned mode = 0644);
// First line without the trailing newline; nullopt when the file does not exist.
std::optional<std::string> read_first_line(const std::filesystem::path& path);
// Makes renames and creations in dir durable; throws std::system_error naming dir.
void fsync_dir(const std::filesystem::path& dir);
// Removes every entry inside dir (dir itself stays); no-op when dir does not exist.
void empty_directory(const std::filesystem::path& dir);

// Writes all n bytes to fd, retrying short writes and EINTR. Returns 0, or the errno of the failing write;
// `written` (optional) gets the bytes written either way.
int write_all(int fd, const void* data, size_t n, size_t* written = nullptr);
// Reads up to n bytes at offset, retrying short reads and EINTR; fewer only at end of file. Returns the bytes read,
// or -1 with errno set.
ssize_t pread_full(int fd, void* buf, size_t n, uint64_t offset);

// Environment variable; unset or empty → nullopt (the reference treats empty as "use the default").
std::optional<std::string> getenv_nonempty(const char* name);

}  // namespace sr::fs
