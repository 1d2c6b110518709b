#include "core/encoding.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

#include <array>
#include <stdexcept>

namespace sr {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kDecode = make_decode_table();

}  // namespace

std::string base64url_encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t n = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t{data[i]} << 16;
    if (rest == 2) n |= uint32_t{data[i + 1]} << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<Bytes> base64url_decode(std::string_view text) {
  size_t len = text.size();
  size_t pad = 0;
  while (len > 0 && text[len - 1] == '=') --len, ++pad;
  // A group of 4 never ends after one character; padding, when present, must complete the last group exactly.
  if (len % 4 == 1) return std::nullopt;
  if (pad > 0 && (len + pad) % 4 != 0) return std::nullopt;
  if (pad > 2) return std::nullopt;

  Bytes out;
  out.reserve(len / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    const int8_t v = kDecode[static_cast<uint8_t>(text[i])];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  // Non-canonical input (unused low bits set) is rejected, as base64-bytestring does.
  if (acc != 0) return std::nullopt;
  return out;
}

// ---- smpEncode primitives ----

namespace {

// Big-endian append / read of an unsigned integer of N bytes.
template <class U>
void put_be(Bytes& out, U v) {
  for (int shift = static_cast<int>(sizeof(U) - 1) * 8; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

template <class U>
U get_be(std::span<const uint8_t> b) {
  U v = 0;
  for (const uint8_t x : b) v = static_cast<U>((v << 8) | x);
  return v;
}

}  // namespace

Encoder& Encoder::byte(uint8_t b) {
  out_.push_back(b);
  return *this;
}

Encoder& Encoder::ch(char c) { return byte(static_cast<uint8_t>(c)); }

Encoder& Encoder::boolean(bool b) { return byte(b ? 'T' : 'F'); }

Encoder& Encoder::word16(uint16_t v) {
  put_be(out_, v);
  return *this;
}

Encoder& Encoder::word32(uint32_t v) {
  put_be(out_, v);
  return *this;
}

Encoder& Encoder::int64(int64_t v) {
  put_be(out_, static_cast<uint64_t>(v));
  return *this;
}

Encoder& Encoder::system_time(std::chrono::system_clock::time_point t) {
  return int64(std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count());
}

Encoder& Encoder::short_string(std::span<const uint8_t> s) {
  if (s.size() > 255) throw std::length_error("smpEncode: short string longer than 255 bytes");
  byte(static_cast<uint8_t>(s.size()));
  return raw(s);
}

Encoder& Encoder::large(std::span<const uint8_t> s) {
  if (s.size() > 65535) throw std::length_error("smpEncode: Large longer than 65535 bytes");
  word16(static_cast<uint16_t>(s.size()));
  return raw(s);
}

Encoder& Encoder::tail(std::span<const uint8_t> s) { return raw(s); }

Encoder& Encoder::raw(std::span<const uint8_t> s) {
  out_.insert(out_.end(), s.begin(), s.end());
  return *this;
}

Encoder& Encoder::list_count(size_t n) {
  if (n > 255) throw std::length_error("smpEncode: list longer than 255 items");
  return byte(static_cast<uint8_t>(n));
}

Encoder& Encoder::version_range(VersionRange r) {
  if (r.min > r.max) throw std::invalid_argument("smpEncode: version range with min > max");
  return word16(r.min).word16(r.max);
}

std::optional<std::span<const uint8_t>> Decoder::take(size_t n) {
  if (!ok_ || in_.size() - pos_ < n) return failed();
  const auto s = in_.subspan(pos_, n);
  pos_ += n;
  return s;
}

std::optional<uint8_t> Decoder::byte() {
  const auto b = take(1);
  if (!b) return std::nullopt;
  return (*b)[0];
}

std::optional<char> Decoder::ch() {
  const auto b = byte();
  if (!b) return std::nullopt;
  return static_cast<char>(*b);
}

std::optional<bool> Decoder::boolean() {
  const auto b = byte();
  if (!b) return std::nullopt;
  if (*b == 'T') return true;
  if (*b == 'F') return false;
  return failed();
}

std::optional<uint16_t> Decoder::word16() {
  const auto b = take(2);
  if (!b) return std::nullopt;
  return get_be<uint16_t>(*b);
}

std::optional<uint32_t> Decoder::word32() {
  const auto b = take(4);
  if (!b) return std::nullopt;
  return get_be<uint32_t>(*b);
}

std::optional<int64_t> Decoder::int64() {
  const auto b = take(8);
  if (!b) return std::nullopt;
  return static_cast<int64_t>(get_be<uint64_t>(*b));
}

std::optional<std::chrono::sys_seconds> Decoder::system_time() {
  const auto s = int64();
  if (!s) return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::seconds{*s}};
}

std::optional<std::span<const uint8_t>> Decoder::short_string() {
  const auto len = byte();
  if (!len) return std::nullopt;
  return take(*len);
}

std::optional<std::span<const uint8_t>> Decoder::large() {
  const auto len = word16();
  if (!len) return std::nullopt;
  return take(*len);
}

std::optional<std::span<const uint8_t>> Decoder::raw(size_t n) { return take(n); }

std::span<const uint8_t> Decoder::rest() {
  if (!ok_) return {};
  return *take(in_.size() - pos_);
}

std::optional<uint8_t> Decoder::list_count() { return byte(); }

std::optional<uint8_t> Decoder::non_empty_count() {
  const auto n = byte();
  if (!n) return std::nullopt;
  if (*n == 0) return failed();
  return n;
}

std::optional<VersionRange> Decoder::version_range() {
  const auto min = word16();
  const auto max = word16();
  if (!min || !max) return std::nullopt;
  if (*min > *max) return failed();
  return VersionRange{*min, *max};
}

std::optional<int64_t> parse_decimal(std::string_view text) {
  const size_t digits = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() == digits) return std::nullopt;
  for (size_t i = digits; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string base64_encode(std::span<const uint8_t> data) {
  std::string s = base64url_encode(data);
  for (char& ch : s) ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
  return s;
}

std::optional<Bytes> base64_decode(std::string_view text) {
  std::string s(text);
  for (char& ch : s) {
    if (ch == '-' || ch == '_') return std::nullopt;  // not in the standard alphabet
    ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  }
  return base64url_decode(s);
}

using namespace std::chrono;

std::string iso8601_show(std::chrono::system_clock::time_point t) {
  const auto ns = time_point_cast<nanoseconds>(t).time_since_epoch().count();
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string s = buf;
  if (frac) {
    char digits_buf[16];
    std::snprintf(digits_buf, sizeof digits_buf, "%09lld", static_cast<long long>(frac));
    std::string digits = digits_buf;
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    s += "." + digits;
  }
  return s + "Z";
}

std::optional<std::chrono::system_clock::time_point> iso8601_parse(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS = 19 characters, then optional .digits, then Z.
  if (s.size() < 20 || s.back() != 'Z') return std::nullopt;
  auto num = [&](size_t pos, size_t len) -> std::optional<int> {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  int64_t frac_ns = 0;
  const std::string_view rest = s.substr(19, s.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2) return std::nullopt;
    int64_t scale = 100000000;
    for (size_t i = 1; i < rest.size(); ++i) {
      if (rest[i] < '0' || rest[i] > '9') return std::nullopt;
      frac_ns += (rest[i] - '0') * scale;  // digits beyond nanoseconds are dropped
      scale /= 10;
    }
  }
  const year_month_day ymd{year(*y), month(static_cast<unsigned>(*mo)), day(static_cast<unsigned>(*d))};
  if (!ymd.ok() || *h > 23 || *mi > 59 || *se > 60) return std::nullopt;
  return system_clock::time_point(duration_cast<system_clock::duration>(sys_days(ymd).time_since_epoch() + hours(*h) +
                                                          minutes(*mi) + seconds(*se) + nanoseconds(frac_ns)));
}

}  // namespace sr
