// String encodings shared by every role. Binary smpEncode primitives join this file with the SMP protocol.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sr {

using Bytes = std::vector<uint8_t>;

// RFC 4648 URL-safe alphabet; output always padded with '=' (the reference's strEncode).
std::string base64url_encode(std::span<const uint8_t> data);
// Accepts input with or without '=' padding (DECISIONS.md); nullopt on any other invalid input (characters
// outside the alphabet, a length that cannot be base64, wrong padding, non-zero unused bits). "" decodes to no
// bytes: parsers that, like the reference's, refuse an empty value check that themselves.
std::optional<Bytes> base64url_decode(std::string_view text);

// Decimal integer with an optional leading '-', the whole text; nullopt for anything else or on overflow.
std::optional<int64_t> parse_decimal(std::string_view text);

// The standard RFC 4648 §4 alphabet, padded: what Data.ByteString.Base64 and aeson write (INFO's msgId, the
// reference's fixed dummy keys).
std::string base64_encode(std::span<const uint8_t> data);
std::optional<Bytes> base64_decode(std::string_view text);

// Haskell iso8601Show of a UTCTime: "2025-06-01T12:34:56.789012345Z", fractional digits with trailing zeros
// removed and no '.' for a whole second (store-log backup names, aeson's UTCTime in INFO).
std::string iso8601_show(std::chrono::system_clock::time_point t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.digits]Z" (any number of fractional digits, as iso8601ParseM does).
std::optional<std::chrono::system_clock::time_point> iso8601_parse(std::string_view s);

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// ---- Binary "smpEncode" primitives (smp-transport.md §2). No self-description: both sides know the field
// sequence. All integers are big-endian. One method per wire type; protocol messages compose them.

// Wire type VersionRange: min Word16 then max Word16, min <= max.
struct VersionRange {
  uint16_t min = 0;
  uint16_t max = 0;
  friend bool operator==(const VersionRange&, const VersionRange&) = default;
};

// Appends to a caller-owned buffer. Values the wire cannot carry (a short string over 255 bytes, a Large over
// 65535, a list over 255 items, a range with min > max) throw instead of being truncated as the reference does.
class Encoder {
 public:
  explicit Encoder(Bytes& out) : out_(out) {}

  Encoder& byte(uint8_t b);
  Encoder& ch(char c);
  Encoder& boolean(bool b);  // 'T' / 'F'
  Encoder& word16(uint16_t v);
  Encoder& word32(uint32_t v);
  Encoder& int64(int64_t v);  // two's complement
  // Whole seconds since the epoch as Int64; the sub-second part is dropped (floored, as systemSeconds is).
  Encoder& system_time(std::chrono::system_clock::time_point t);
  Encoder& short_string(std::span<const uint8_t> s);  // 1-byte length; std::length_error if > 255
  Encoder& large(std::span<const uint8_t> s);         // 2-byte length; std::length_error if > 65535
  Encoder& tail(std::span<const uint8_t> s);          // Tail: no length, must be the last field
  Encoder& raw(std::span<const uint8_t> s);           // fixed-size field without length (e.g. 24-byte CbNonce)
  Encoder& list_count(size_t n);                      // list / NonEmpty count byte; std::length_error if > 255
  Encoder& version_range(VersionRange r);             // std::invalid_argument if min > max

  // Maybe: '0' for Nothing, '1' then write(*this, value) for Just (not 0x00/0x01).
  template <class T, class Write>
  Encoder& maybe(const std::optional<T>& v, Write&& write) {
    if (!v) return byte('0');
    byte('1');
    std::forward<Write>(write)(*this, *v);
    return *this;
  }

 private:
  Bytes& out_;
};

// Reads from a borrowed buffer. Malformed input never throws: the failing read returns nullopt, the decoder
// stays failed (every later read returns nullopt and consumes nothing), and ok() turns false. Callers may read
// a whole message and check ok() once. Strings are returned as spans into the input.
class Decoder {
 public:
  explicit Decoder(std::span<const uint8_t> in) : in_(in) {}

  bool ok() const { return ok_; }
  // All input consumed without failure: what the batch and transmission parsers require (§2).
  bool at_end() const { return ok_ && pos_ == in_.size(); }
  size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }
  // Marks the input malformed for a reason the caller detects above this layer (e.g. unknown command tag).
  void fail() { ok_ = false; }

  std::optional<uint8_t> byte();
  std::optional<char> ch();
  std::optional<bool> boolean();  // any byte but 'T' / 'F' fails
  std::optional<uint16_t> word16();
  std::optional<uint32_t> word32();
  std::optional<int64_t> int64();
  std::optional<std::chrono::sys_seconds> system_time();
  std::optional<std::span<const uint8_t>> short_string();
  std::optional<std::span<const uint8_t>> large();
  std::optional<std::span<const uint8_t>> raw(size_t n);  // exactly n bytes
  // Tail: everything left (possibly empty); afterwards at_end(). Empty if the decoder has failed.
  std::span<const uint8_t> rest();
  std::optional<uint8_t> list_count();
  std::optional<uint8_t> non_empty_count();  // count 0 fails
  std::optional<VersionRange> version_range();  // min > max fails

  // Maybe: reads the '0'/'1' tag, then for '1' calls read(*this), which returns std::optional<V>. The outer
  // optional is the read's success; the inner one is Nothing / Just. Any other tag fails.
  template <class Read>
  auto maybe(Read&& read) -> std::optional<std::invoke_result_t<Read, Decoder&>> {
    using Inner = std::invoke_result_t<Read, Decoder&>;
    const auto tag = byte();
    if (!tag) return std::nullopt;
    if (*tag == '0') return std::optional<Inner>(std::in_place);  // Nothing
    if (*tag != '1') return failed();
    Inner v = std::forward<Read>(read)(*this);
    if (!ok_ || !v) return failed();
    return std::optional<Inner>(std::in_place, std::move(v));
  }

 private:
  std::nullopt_t failed() {
    ok_ = false;
    return std::nullopt;
  }
  // The next n bytes, consumed; nullopt (and failed) if fewer remain.
  std::optional<std::span<const uint8_t>> take(size_t n);

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace sr
