// Client-side XFTP file encryption (xftp-protocol.md §14, vectors V8): the file header, the chunk plan, the
// streaming secret-box encryption of a whole file (tag appended) and its reverse, and the digests that go into a
// file description. Pure library code: the caller supplies readers and sinks (or paths for the file helpers).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "xftp/protocol.hpp"

namespace sr::xftp {

constexpr int64_t kFileSizeLen = 8;                      // i64 length prefix of the plaintext stream
constexpr int64_t kMaxFileSize = 1LL << 30;              // soft client limit (1gb)
constexpr int64_t kMaxFileSizeHard = 5LL << 30;          // hard limit: no chunk plan above it
constexpr size_t kMaxFileHeaderSize = 1024;              // the reference parses the header from this prefix

// ---- File header: short(UTF-8 name) ‖ maybe(short(extra)) ----
struct FileHeader {
  std::string file_name;
  std::optional<std::string> file_extra;
  bool operator==(const FileHeader&) const = default;
};
// Throws std::length_error when the name or extra is over 255 bytes.
Bytes encode_file_header(const FileHeader& h);
// Parses a header at the start of `data` (trailing bytes are the file); nullopt when it is malformed or cut.
struct ParsedFileHeader {
  FileHeader header;
  size_t size = 0;  // bytes the header took
};
std::optional<ParsedFileHeader> parse_file_header(ByteView data);

// ---- Chunk plan (prepareChunkSizes) ----
// payload = header + file + 8 + 16. Empty for payload <= 0.
std::vector<uint32_t> prepare_chunk_sizes(int64_t payload);

// Everything the encryption needs about one file, from its name and size.
struct FilePlan {
  Bytes header;                      // encoded FileHeader
  int64_t file_size = 0;             // header + file content: the i64 written first
  std::vector<uint32_t> chunk_sizes;
  int64_t enc_size = 0;              // sum of chunk_sizes = encrypted file size (tag included)
};
// Throws std::length_error for a long name, std::invalid_argument for a negative size or one above
// kMaxFileSizeHard.
FilePlan plan_file(const FileHeader& h, int64_t content_size);

// ---- Errors (the reference's FTCryptoError, with the CLI's texts) ----
class FileCryptoError : public std::runtime_error {
 public:
  enum class Kind : uint8_t { InvalidHeader, InvalidAuthTag, InvalidFileSize, FileIO };
  FileCryptoError(Kind k, const std::string& what) : std::runtime_error(what), kind_(k) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// Digests of an encrypted file as it streams past: SHA-512 of everything (the description's digest) and
// SHA-256 of each chunk (FNEW's digest, the replica line's digest).
class EncryptedDigests {
 public:
  explicit EncryptedDigests(std::vector<uint32_t> chunk_sizes);
  void update(ByteView data);
  struct Result {
    crypto::Sha512 file_digest;
    std::vector<crypto::Sha256> chunk_digests;
  };
  // Throws FileCryptoError(InvalidFileSize) when the data did not add up to the chunk sizes.
  Result finish();

 private:
  std::vector<uint32_t> sizes_;
  size_t chunk_ = 0;
  uint64_t in_chunk_ = 0;
  crypto::Sha512Stream file_;
  crypto::Sha256Stream chunk_hash_;
  std::vector<crypto::Sha256> chunk_digests_;
};

// ---- Streaming encryption ----
// Reads plaintext file content into the span; returns the bytes read, 0 at end of file.
using ContentReader = std::function<size_t(std::span<uint8_t>)>;

// Produces the encrypted file i64(file_size) ‖ header ‖ content ‖ '#'… ‖ tag(16) slice by slice, reading the
// content on demand: never more than one output slice is in memory. `key` is the file's random SbKey (the
// secret box key HSalsa20(key, 0) is derived here).
class FileEncryptor {
 public:
  // Throws std::invalid_argument when file_size < header size or enc_size < file_size + 8 + 16.
  FileEncryptor(const crypto::Key32& key, const crypto::Nonce& nonce, ByteView header, int64_t file_size,
                int64_t enc_size, ContentReader read);
  // Fills up to out.size() bytes of the encrypted stream; returns how many (0 once all enc_size bytes were
  // produced). Throws FileCryptoError(FileIO) when the content ends early.
  size_t read(std::span<uint8_t> out);
  int64_t remaining() const { return enc_size_ - pos_; }

 private:
  ChunkCipher cipher_;
  Bytes prefix_;  // i64 ‖ header
  int64_t file_size_;
  int64_t enc_size_;
  int64_t pos_ = 0;
  ContentReader read_;
  std::optional<std::array<uint8_t, kAuthTagSize>> tag_;
};

// ---- Streaming decryption ----
// The reverse: feed the encrypted chunks in order (any slicing). The header is reported before any content;
// content goes to on_data. The tag is checked in finish(): until then the content written is unauthenticated,
// and on any error the caller must discard it (the reference deletes the file).
class FileDecryptor {
 public:
  FileDecryptor(const crypto::Key32& key, const crypto::Nonce& nonce, int64_t enc_size,
                std::function<void(const FileHeader&)> on_header, std::function<void(ByteView)> on_data);
  // Throws FileCryptoError: InvalidFileSize for more than enc_size bytes or a bad length prefix,
  // InvalidHeader for a malformed header.
  void update(ByteView encrypted);
  // Throws FileCryptoError: InvalidFileSize when fewer than enc_size bytes came, InvalidAuthTag on a bad tag.
  FileHeader finish();

 private:
  void plain(std::span<uint8_t> data);

  ChunkCipher cipher_;
  int64_t enc_size_;
  int64_t pos_ = 0;  // encrypted bytes consumed
  std::function<void(const FileHeader&)> on_header_;
  std::function<void(ByteView)> on_data_;
  Bytes head_;                         // length prefix + header until parsed
  std::optional<int64_t> file_size_;   // from the prefix
  std::optional<FileHeader> header_;
  int64_t plain_pos_ = 0;              // plaintext bytes after the length prefix seen so far
  std::array<uint8_t, kAuthTagSize> tag_{};
};

// ---- File helpers ----
struct EncryptedFile {
  FilePlan plan;
  crypto::Sha512 digest;                  // SHA-512 of the encrypted file
  std::vector<crypto::Sha256> chunk_digests;
  std::vector<int64_t> chunk_offsets;     // start of each chunk in the encrypted file
};
// Encrypts `src` into `dst` (created or truncated) with header {name, no extra}. Throws FileCryptoError(FileIO)
// on I/O errors, std::invalid_argument above kMaxFileSizeHard.
EncryptedFile encrypt_file(const std::filesystem::path& src, const std::string& file_name, const crypto::Key32& key,
                           const crypto::Nonce& nonce, const std::filesystem::path& dst);
// Decrypts the chunk files (in order) into the path `dest(header)` returns; removes it again on a bad tag or
// any other failure. Returns the header. Throws FileCryptoError.
FileHeader decrypt_chunk_files(const std::vector<std::filesystem::path>& chunks, int64_t enc_size,
                               const crypto::Key32& key, const crypto::Nonce& nonce,
                               const std::function<std::filesystem::path(const FileHeader&)>& dest);

}  // namespace sr::xftp
