#include "xftp/file_crypto.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <new>
#include <system_error>

namespace sr::xftp {

// ---- File header ----

Bytes encode_file_header(const FileHeader& h) {
  Bytes out;
  Encoder e(out);
  e.short_string(as_bytes(h.file_name));
  e.maybe(h.file_extra, [](Encoder& enc, const std::string& x) { enc.short_string(as_bytes(x)); });
  return out;
}

std::optional<ParsedFileHeader> parse_file_header(ByteView data) {
  Decoder d(data);
  const auto name = d.short_string();
  auto extra = d.maybe([](Decoder& dec) -> std::optional<std::string> {
    const auto s = dec.short_string();
    if (!s) return std::nullopt;
    return std::string(s->begin(), s->end());
  });
  if (!name || !extra || !d.ok()) return std::nullopt;
  ParsedFileHeader p;
  p.header.file_name.assign(name->begin(), name->end());
  p.header.file_extra = std::move(*extra);
  p.size = data.size() - d.remaining();
  return p;
}

// ---- Chunk plan ----

std::vector<uint32_t> prepare_chunk_sizes(int64_t payload) {
  const auto size34 = [](int64_t sz) { return sz * 3 / 4; };
  const int64_t c0 = kChunkSizes[0], c1 = kChunkSizes[1], c2 = kChunkSizes[2], c3 = kChunkSizes[3];
  int64_t small = c0, big = c1;
  if (payload > size34(c3)) {
    small = c2;
    big = c3;
  } else if (payload > size34(c2)) {
    small = c1;
    big = c2;
  }
  std::vector<uint32_t> out;
  int64_t left = payload;
  while (left > 0) {
    if (left >= big) {
      out.insert(out.end(), static_cast<size_t>(left / big), static_cast<uint32_t>(big));
      left %= big;
    } else if (left > size34(big)) {
      out.push_back(static_cast<uint32_t>(big));
      left = 0;
    } else {
      out.insert(out.end(), static_cast<size_t>((left + small - 1) / small), static_cast<uint32_t>(small));
      left = 0;
    }
  }
  return out;
}

FilePlan plan_file(const FileHeader& h, int64_t content_size) {
  if (content_size < 0 || content_size > kMaxFileSizeHard) throw std::invalid_argument("file size out of range");
  FilePlan p;
  p.header = encode_file_header(h);
  p.file_size = static_cast<int64_t>(p.header.size()) + content_size;
  p.chunk_sizes = prepare_chunk_sizes(p.file_size + kFileSizeLen + static_cast<int64_t>(kAuthTagSize));
  for (const auto s : p.chunk_sizes) p.enc_size += s;
  return p;
}

// ---- Hashes ----

EncryptedDigests::EncryptedDigests(std::vector<uint32_t> chunk_sizes) : sizes_(std::move(chunk_sizes)) {}

void EncryptedDigests::update(ByteView data) {
  file_.update(data);
  while (!data.empty()) {
    if (chunk_ >= sizes_.size()) {
      throw FileCryptoError(FileCryptoError::Kind::InvalidFileSize, "Error decrypting file: incorrect file size");
    }
    const auto n = static_cast<size_t>(std::min<uint64_t>(data.size(), sizes_[chunk_] - in_chunk_));
    chunk_hash_.update(data.first(n));
    data = data.subspan(n);
    in_chunk_ += n;
    if (in_chunk_ == sizes_[chunk_]) {
      chunk_digests_.push_back(chunk_hash_.finish());
      chunk_hash_ = crypto::Sha256Stream();
      ++chunk_;
      in_chunk_ = 0;
    }
  }
}

EncryptedDigests::Result EncryptedDigests::finish() {
  if (chunk_ != sizes_.size()) {
    throw FileCryptoError(FileCryptoError::Kind::InvalidFileSize, "Error decrypting file: incorrect file size");
  }
  return Result{file_.finish(), std::move(chunk_digests_)};
}

// ---- Encryption ----

FileEncryptor::FileEncryptor(const crypto::Key32& key, const crypto::Nonce& nonce, ByteView header,
                             int64_t file_size, int64_t enc_size, ContentReader read)
    : cipher_(crypto::box_key(key), nonce, ChunkCipher::Mode::Encrypt),
      file_size_(file_size),
      enc_size_(enc_size),
      read_(std::move(read)) {
  if (file_size < static_cast<int64_t>(header.size()) ||
      enc_size < file_size + kFileSizeLen + static_cast<int64_t>(kAuthTagSize)) {
    throw std::invalid_argument("FileEncryptor: sizes do not fit");
  }
  Encoder(prefix_).int64(file_size).raw(header);
}

size_t FileEncryptor::read(std::span<uint8_t> out) {
  const int64_t body_end = enc_size_ - static_cast<int64_t>(kAuthTagSize);
  const int64_t prefix_end = static_cast<int64_t>(prefix_.size());
  const int64_t content_end = kFileSizeLen + file_size_;
  size_t n = 0;
  // Plaintext part: fill, then encrypt in place.
  const size_t body_n = static_cast<size_t>(std::clamp<int64_t>(body_end - pos_, 0, static_cast<int64_t>(out.size())));
  while (n < body_n) {
    const int64_t p = pos_ + static_cast<int64_t>(n);
    if (p < prefix_end) {
      const auto k = static_cast<size_t>(std::min<int64_t>(prefix_end - p, static_cast<int64_t>(body_n - n)));
      std::memcpy(out.data() + n, prefix_.data() + p, k);
      n += k;
    } else if (p < content_end) {
      const auto want = static_cast<size_t>(std::min<int64_t>(content_end - p, static_cast<int64_t>(body_n - n)));
      const size_t got = read_(out.subspan(n, want));
      if (got == 0 || got > want) {
        throw FileCryptoError(FileCryptoError::Kind::FileIO, "File IO error: encrypting file: unexpected EOF");
      }
      n += got;
    } else {
      std::memset(out.data() + n, '#', body_n - n);
      n = body_n;
    }
  }
  cipher_.update(out.first(body_n));
  pos_ += static_cast<int64_t>(body_n);
  // Tag part.
  while (n < out.size() && pos_ < enc_size_) {
    if (!tag_) tag_ = cipher_.tag();
    const auto off = static_cast<size_t>(pos_ - body_end);
    const size_t k = std::min(out.size() - n, kAuthTagSize - off);
    std::memcpy(out.data() + n, tag_->data() + off, k);
    n += k;
    pos_ += static_cast<int64_t>(k);
  }
  return n;
}

// ---- Decryption ----

FileDecryptor::FileDecryptor(const crypto::Key32& key, const crypto::Nonce& nonce, int64_t enc_size,
                             std::function<void(const FileHeader&)> on_header, std::function<void(ByteView)> on_data)
    : cipher_(crypto::box_key(key), nonce, ChunkCipher::Mode::Decrypt),
      enc_size_(enc_size),
      on_header_(std::move(on_header)),
      on_data_(std::move(on_data)) {}

void FileDecryptor::update(ByteView encrypted) {
  const int64_t body_end = enc_size_ - static_cast<int64_t>(kAuthTagSize);
  if (static_cast<int64_t>(encrypted.size()) > enc_size_ - pos_) {
    throw FileCryptoError(FileCryptoError::Kind::InvalidFileSize, "Error decrypting file: incorrect file size");
  }
  constexpr size_t kSlice = 65536;
  std::array<uint8_t, kSlice> buf;
  while (!encrypted.empty()) {
    if (pos_ < body_end) {
      const auto n = static_cast<size_t>(std::min<int64_t>({body_end - pos_, static_cast<int64_t>(encrypted.size()),
                                                            static_cast<int64_t>(kSlice)}));
      std::memcpy(buf.data(), encrypted.data(), n);
      cipher_.update(std::span<uint8_t>(buf.data(), n));
      pos_ += static_cast<int64_t>(n);
      encrypted = encrypted.subspan(n);
      plain(std::span<uint8_t>(buf.data(), n));
    } else {
      const auto off = static_cast<size_t>(pos_ - body_end);
      const size_t n = std::min(encrypted.size(), kAuthTagSize - off);
      std::memcpy(tag_.data() + off, encrypted.data(), n);
      pos_ += static_cast<int64_t>(n);
      encrypted = encrypted.subspan(n);
    }
  }
}

void FileDecryptor::plain(std::span<uint8_t> data) {
  const int64_t body_len = enc_size_ - static_cast<int64_t>(kAuthTagSize) - kFileSizeLen;  // after the prefix
  while (!data.empty()) {
    if (!header_) {
      // Collect the length prefix and up to kMaxFileHeaderSize bytes for the header.
      const size_t want = kFileSizeLen + (file_size_ ? static_cast<size_t>(std::min<int64_t>(*file_size_, kMaxFileHeaderSize))
                                                     : 0);
      const size_t k = std::min(data.size(), want - std::min(want, head_.size()));
      head_.insert(head_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(k));
      data = data.subspan(k);
      if (!file_size_ && head_.size() == kFileSizeLen) {
        Decoder d(head_);
        const int64_t len = *d.int64();
        if (len < 0 || len > body_len) {
          throw FileCryptoError(FileCryptoError::Kind::InvalidFileSize, "Error decrypting file: incorrect file size");
        }
        file_size_ = len;
        continue;
      }
      if (file_size_ && head_.size() == want) {
        const ByteView hdr = ByteView(head_).subspan(kFileSizeLen);
        const auto parsed = parse_file_header(hdr);
        if (!parsed) throw FileCryptoError(FileCryptoError::Kind::InvalidHeader, "Invalid file header: incomplete");
        header_ = parsed->header;
        plain_pos_ = static_cast<int64_t>(parsed->size);
        if (on_header_) on_header_(*header_);
        // Bytes after the header in the collected prefix are file content.
        const ByteView rest = hdr.subspan(parsed->size);
        if (!rest.empty() && on_data_) on_data_(rest);
        plain_pos_ += static_cast<int64_t>(rest.size());
        head_.clear();
      }
      continue;
    }
    // Content up to file_size, then padding (dropped).
    const int64_t left = *file_size_ - plain_pos_;
    const auto k = static_cast<size_t>(std::clamp<int64_t>(left, 0, static_cast<int64_t>(data.size())));
    if (k > 0 && on_data_) on_data_(data.first(k));
    plain_pos_ += static_cast<int64_t>(data.size());
    data = {};
  }
}

FileHeader FileDecryptor::finish() {
  if (pos_ != enc_size_ || !header_) {
    throw FileCryptoError(FileCryptoError::Kind::InvalidFileSize, "Error decrypting file: incorrect file size");
  }
  if (!cipher_.verify(tag_)) {
    throw FileCryptoError(FileCryptoError::Kind::InvalidAuthTag, "Error decrypting file: incorrect auth tag");
  }
  return *header_;
}

// ---- File helpers ----

namespace {
[[noreturn]] void io_error(const std::string& what) {
  throw FileCryptoError(FileCryptoError::Kind::FileIO, "File IO error: " + what);
}
}  // namespace

EncryptedFile encrypt_file(const std::filesystem::path& src, const std::string& file_name, const crypto::Key32& key,
                           const crypto::Nonce& nonce, const std::filesystem::path& dst) {
  std::error_code ec;
  const auto content_size = std::filesystem::file_size(src, ec);
  if (ec) io_error(src.string() + ": " + ec.message());
  std::ifstream in(src, std::ios::binary);
  if (!in) io_error("cannot open " + src.string());
  std::ofstream out(dst, std::ios::binary | std::ios::trunc);
  if (!out) io_error("cannot create " + dst.string());

  EncryptedFile r;
  r.plan = plan_file(FileHeader{file_name, std::nullopt}, static_cast<int64_t>(content_size));
  int64_t off = 0;
  for (const auto s : r.plan.chunk_sizes) {
    r.chunk_offsets.push_back(off);
    off += s;
  }
  FileEncryptor enc(key, nonce, r.plan.header, r.plan.file_size, r.plan.enc_size, [&in](std::span<uint8_t> buf) {
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    return static_cast<size_t>(in.gcount());
  });
  EncryptedDigests digests(r.plan.chunk_sizes);
  Bytes buf(65536);
  while (const size_t n = enc.read(buf)) {
    digests.update(ByteView(buf).first(n));
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    if (!out) io_error("writing " + dst.string());
  }
  out.close();
  if (!out) io_error("writing " + dst.string());
  auto d = digests.finish();
  r.digest = d.file_digest;
  r.chunk_digests = std::move(d.chunk_digests);
  return r;
}

FileHeader decrypt_chunk_files(const std::vector<std::filesystem::path>& chunks, int64_t enc_size,
                               const crypto::Key32& key, const crypto::Nonce& nonce,
                               const std::function<std::filesystem::path(const FileHeader&)>& dest) {
  std::optional<std::filesystem::path> out_path;
  std::ofstream out;
  try {
    FileDecryptor dec(
        key, nonce, enc_size,
        [&](const FileHeader& h) {
          out_path = dest(h);
          out.open(*out_path, std::ios::binary | std::ios::trunc);
          if (!out) io_error("cannot create " + out_path->string());
        },
        [&](ByteView data) {
          out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
          if (!out) io_error("writing " + out_path->string());
        });
    Bytes buf(65536);
    for (const auto& p : chunks) {
      std::ifstream in(p, std::ios::binary);
      if (!in) io_error("cannot open " + p.string());
      while (in) {
        in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
        const auto n = static_cast<size_t>(in.gcount());
        if (n > 0) dec.update(ByteView(buf).first(n));
      }
      if (in.bad()) io_error("reading " + p.string());
    }
    const FileHeader h = dec.finish();
    out.close();
    if (!out) io_error("writing " + out_path->string());
    return h;
  } catch (...) {
    if (out.is_open()) out.close();
    if (out_path) {
      std::error_code ec;
      std::filesystem::remove(*out_path, ec);
    }
    throw;
  }
}

}  // namespace sr::xftp
