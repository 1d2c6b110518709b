// A cursor over one line of a text record (the store logs of both roles): every read either advances or throws
// ParseFail naming the column, so a record parser reads like the reference's attoparsec parser.
#pragma once
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>

#include "core/crypto.hpp"
#include "core/encoding.hpp"

namespace sr {

struct ParseFail {
  std::string what;
};

class TextCursor {
 public:
  explicit TextCursor(std::string_view s) : s_(s) {}

  bool end() const { return i_ == s_.size(); }
  static bool b64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }
  bool peek_b64() const { return i_ < s_.size() && b64_char(s_[i_]); }
  bool take(std::string_view lit) {
    if (s_.substr(i_, lit.size()) != lit) return false;
    i_ += lit.size();
    return true;
  }
  void expect(std::string_view lit) {
    if (!take(lit)) fail("expected '" + std::string(lit) + "'");
  }
  char one_of(std::string_view chars, const char* what) {
    if (i_ < s_.size() && chars.find(s_[i_]) != std::string_view::npos) return s_[i_++];
    fail(std::string("bad ") + what);
  }
  std::string_view remaining() const { return s_.substr(i_); }
  std::string_view rest() {
    std::string_view r = s_.substr(i_);
    i_ = s_.size();
    return r;
  }
  size_t pos() const { return i_; }
  std::string_view from(size_t start) const { return s_.substr(start, i_ - start); }

  // The reference's base64urlP: [A-Za-z0-9_-]+ then any '=', decoded with or without padding. Never empty.
  Bytes bytes() {
    const size_t start = i_;
    while (i_ < s_.size() && b64_char(s_[i_])) ++i_;
    if (i_ == start) fail("expected base64url");
    while (i_ < s_.size() && s_[i_] == '=') ++i_;
    auto b = base64url_decode(s_.substr(start, i_ - start));
    if (!b || b->empty()) fail("invalid base64url");
    return std::move(*b);
  }
  // A base64url X.509 SPKI public key.
  crypto::PublicKey public_key() {
    const Bytes der = bytes();
    auto k = crypto::decode_spki(der);
    if (!k) fail("invalid public key");
    return std::move(*k);
  }
  // attoparsec `decimal` (digits only) for Word32, `signed decimal` for Int64; overflow is refused.
  uint32_t word32() { return static_cast<uint32_t>(digits(std::numeric_limits<uint32_t>::max())); }
  int64_t int64() {
    const bool neg = take("-");
    if (!neg) take("+");
    const uint64_t v = digits(static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (neg ? 1 : 0));
    return neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  }

  [[noreturn]] void fail(std::string what) const {
    throw ParseFail{std::move(what) + " at column " + std::to_string(i_ + 1)};
  }

 private:
  uint64_t digits(uint64_t max) {
    uint64_t v = 0;
    const char* b = s_.data() + i_;
    const auto r = std::from_chars(b, s_.data() + s_.size(), v);
    if (r.ec != std::errc() || v > max) fail("expected integer");
    i_ += static_cast<size_t>(r.ptr - b);
    return v;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Parses a whole line with `parse(cursor)`; trailing characters are an error. The error text names the column.
template <class Cursor, class Parse>
auto parse_line(std::string_view line, Parse&& parse) -> std::variant<decltype(parse(std::declval<Cursor&>())), std::string> {
  try {
    Cursor p(line);
    auto r = parse(p);
    if (!p.end()) p.fail("unexpected trailing characters");
    return r;
  } catch (ParseFail& e) {
    return std::move(e.what);
  }
}

}  // namespace sr
