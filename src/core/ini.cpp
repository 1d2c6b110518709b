// Line-oriented reader reproducing the `ini` 0.4.1 grammar for well-formed files (spec server-operations.md §3.1).
#include "core/ini.hpp"

#include <cstdint>

namespace sr::ini {
namespace {

// Byte length of the white-space character starting at s[i], or 0. The reference trims with Haskell's isSpace:
// ASCII space, \t..\r, and the Unicode space separators (U+00A0, U+1680, U+2000–U+200A, U+202F, U+205F, U+3000).
size_t space_at(std::string_view s, size_t i) {
  auto b = [&](size_t k) -> unsigned { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  unsigned c = b(0);
  if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
  if (c == 0xC2 && b(1) == 0xA0) return 2;
  if (c == 0xE1 && b(1) == 0x9A && b(2) == 0x80) return 3;
  if (c == 0xE2 && b(1) == 0x80 && ((b(2) >= 0x80 && b(2) <= 0x8A) || b(2) == 0xAF)) return 3;
  if (c == 0xE2 && b(1) == 0x81 && b(2) == 0x9F) return 3;
  if (c == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;
  return 0;
}

std::string_view trim_left(std::string_view s) {
  size_t i = 0;
  while (size_t n = space_at(s, i)) i += n;
  return s.substr(i);
}

std::string_view trim(std::string_view s) {
  s = trim_left(s);
  // Every space character is at most 3 bytes: test the 1-, 2- and 3-byte suffixes.
  for (bool more = true; more && !s.empty();) {
    more = false;
    for (size_t n = 1; n <= 3 && n <= s.size(); ++n) {
      if (space_at(s, s.size() - n) == n) {
        s.remove_suffix(n);
        more = true;
        break;
      }
    }
  }
  return s;
}

// Length of the UTF-8 character at the start of s (1 for a stray continuation or truncated byte).
size_t utf8_char_len(std::string_view s) {
  if (s.empty()) return 0;
  auto c = static_cast<unsigned char>(s[0]);
  size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (n > s.size()) return s.size();
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[k]) & 0xC0) != 0x80) return 1;
  return n;
}

class Parser {
 public:
  explicit Parser(Document& doc) : doc_(doc) {}

  // One physical line without its terminator.
  void line(std::string_view text, int number) {
    std::string_view s = trim_left(text);
    if (s.empty() || s[0] == '#' || s[0] == ';') return;
    if (s[0] == '[') {
      size_t close = s.find_first_of("[]", 1);
      if (close == std::string_view::npos || s[close] != ']') return malformed(number);
      std::string name(trim(s.substr(1, close - 1)));
      doc_.sections[name] = Section{number, {}};  // a repeated section replaces the earlier one
      current_ = &doc_.sections[name];
      // The reference goes on parsing right after ']', so "[A] key = v" or "[A][B]" are read as such.
      return line(s.substr(close + 1), number);
    }
    size_t sep = s.find_first_of("=:[]");
    if (sep == std::string_view::npos || sep == 0 || s[sep] == '[' || s[sep] == ']') return malformed(number);
    std::string key(trim(s.substr(0, sep)));
    std::string_view value = s.substr(sep + 1);
    // ini 0.4.1 drops the character after ':' (meant to be the space of "key: value").
    if (s[sep] == ':') value.remove_prefix(utf8_char_len(value));
    if (current_ == nullptr) return;  // keys before the first section are ignored
    current_->values.try_emplace(std::move(key), Value{std::string(trim(value)), number});  // first one wins
  }

 private:
  void malformed(int number) {
    doc_.warnings.push_back(
        {number, "malformed line ignored: not a [SECTION] header, a comment or a key = value line"});
  }

  Document& doc_;
  Section* current_ = nullptr;
};

}  // namespace

Document parse(std::string_view text) {
  Document doc;
  Parser parser(doc);
  int number = 0;
  while (!text.empty()) {
    ++number;
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    // A CR ends a value in the reference, so a lone CR inside a line splits it (same line number).
    for (size_t cr; (cr = line.find('\r')) != std::string_view::npos; line.remove_prefix(cr + 1))
      parser.line(line.substr(0, cr), number);
    parser.line(line, number);
  }
  return doc;
}

}  // namespace sr::ini
