// INI reader: the reference's ini 0.4.1 rules (server-operations.md §3.1) and our malformed-line deviation (§8 Q2).
#include <catch2/catch.hpp>

#include "core/ini.hpp"

using sr::ini::Document;
using sr::ini::parse;

namespace {

// The value of [section] key, or "<absent>".
std::string get(const Document& doc, const std::string& section, const std::string& key) {
  auto s = doc.sections.find(section);
  if (s == doc.sections.end()) return "<absent>";
  auto v = s->second.values.find(key);
  return v == s->second.values.end() ? "<absent>" : v->second.text;
}

int line_of(const Document& doc, const std::string& section, const std::string& key) {
  return doc.sections.at(section).values.at(key).line;
}

}  // namespace

TEST_CASE("ini: sections, '=' and ':' separators, trimming", "[ini]") {
  auto doc = parse(
      "[TRANSPORT]\n"
      "port = 5223,443\n"
      "  host=example.com  \n"
      "socks_proxy = 127.0.0.1:9050\n"
      "url = https://a.b/c?x=1&y=2\n"
      "create_password: pass=word\n"
      "empty =\n"
      "[ STORE_LOG ]\n"
      "enable = on\n");
  CHECK(doc.warnings.empty());
  CHECK(get(doc, "TRANSPORT", "port") == "5223,443");
  CHECK(get(doc, "TRANSPORT", "host") == "example.com");
  // the first '=' or ':' splits; the rest of the line is the value
  CHECK(get(doc, "TRANSPORT", "socks_proxy") == "127.0.0.1:9050");
  CHECK(get(doc, "TRANSPORT", "url") == "https://a.b/c?x=1&y=2");
  CHECK(get(doc, "TRANSPORT", "create_password") == "pass=word");
  CHECK(get(doc, "TRANSPORT", "empty") == "");
  // the section name is trimmed
  CHECK(get(doc, "STORE_LOG", "enable") == "on");
  CHECK(doc.sections.size() == 2);
}

TEST_CASE("ini: the colon quirk drops exactly one character after ':'", "[ini]") {
  auto doc = parse(
      "[AUTH]\n"
      "new_files: on\n"
      "new_queues:on\n"
      "x:  two spaces\n"
      "y=on\n"
      "z:\xC3\xA9t\xC3\xA9\n"  // the dropped character is a whole UTF-8 character
      "w:\n");
  CHECK(get(doc, "AUTH", "new_files") == "on");
  CHECK(get(doc, "AUTH", "new_queues") == "n");
  CHECK(get(doc, "AUTH", "x") == "two spaces");
  CHECK(get(doc, "AUTH", "y") == "on");
  CHECK(get(doc, "AUTH", "z") == "t\xC3\xA9");
  CHECK(get(doc, "AUTH", "w") == "");
}

TEST_CASE("ini: comments, and no inline comments", "[ini]") {
  auto doc = parse(
      "# leading comment\n"
      "; another\n"
      "[STORE_LOG]\n"
      "   # indented comment = not a key\n"
      "\t; indented ; comment\n"
      "enable = on # x\n"
      "log_stats = off ; y\n"
      "#prometheus_interval = 60\n");
  CHECK(doc.warnings.empty());
  CHECK(get(doc, "STORE_LOG", "enable") == "on # x");
  CHECK(get(doc, "STORE_LOG", "log_stats") == "off ; y");
  CHECK(get(doc, "STORE_LOG", "prometheus_interval") == "<absent>");
  CHECK(doc.sections.at("STORE_LOG").values.size() == 2);
}

TEST_CASE("ini: the first duplicate key wins, the last repeated section wins", "[ini]") {
  auto doc = parse(
      "[A]\n"
      "k = first\n"
      "k = second\n"
      "[B]\n"
      "b = 1\n"
      "[C]\n"
      "only = here\n"
      "[C]\n"
      "again = yes\n");
  CHECK(get(doc, "A", "k") == "first");
  CHECK(line_of(doc, "A", "k") == 2);
  CHECK(get(doc, "B", "b") == "1");
  // the second [C] replaces the first one entirely
  CHECK(get(doc, "C", "only") == "<absent>");
  CHECK(get(doc, "C", "again") == "yes");
  CHECK(doc.sections.at("C").line == 8);
}

TEST_CASE("ini: keys and section names are case-sensitive", "[ini]") {
  auto doc = parse("[transport]\nPort = 1\n[TRANSPORT]\nport = 2\n");
  CHECK(get(doc, "transport", "Port") == "1");
  CHECK(get(doc, "transport", "port") == "<absent>");
  CHECK(get(doc, "TRANSPORT", "port") == "2");
}

TEST_CASE("ini: CR LF line ends and line numbers", "[ini]") {
  auto doc = parse("[AUTH]\r\nnew_queues = on\r\n\r\n# c\r\ncreate_password: secret\r\n");
  CHECK(doc.warnings.empty());
  CHECK(get(doc, "AUTH", "new_queues") == "on");
  CHECK(line_of(doc, "AUTH", "new_queues") == 2);
  CHECK(get(doc, "AUTH", "create_password") == "secret");
  CHECK(line_of(doc, "AUTH", "create_password") == 5);
  CHECK(doc.sections.at("AUTH").line == 1);

  // no final line end
  auto last = parse("[A]\nk = v");
  CHECK(get(last, "A", "k") == "v");
}

TEST_CASE("ini: keys before the first section are ignored", "[ini]") {
  auto doc = parse("port = 1\nhost: x\n[TRANSPORT]\nport = 2\n");
  CHECK(doc.warnings.empty());
  CHECK(doc.sections.size() == 1);
  CHECK(get(doc, "TRANSPORT", "port") == "2");
}

TEST_CASE("ini: a malformed line is a warning naming its line, and only that line is ignored", "[ini]") {
  auto doc = parse(
      "[STORE_LOG]\n"
      "enable = on\n"
      "this line has no separator\n"  // 3
      "log_stats = on\n"
      "[TRANSPORT\n"                  // 5: no closing bracket
      "port = 5223\n"
      "a]b = c\n"                     // 7: brackets cannot be in a key
      "= value\n"                     // 8: empty key
      "websockets = off\n");
  REQUIRE(doc.warnings.size() == 4);
  CHECK(doc.warnings[0].line == 3);
  CHECK(doc.warnings[1].line == 5);
  CHECK(doc.warnings[2].line == 7);
  CHECK(doc.warnings[3].line == 8);
  CHECK_FALSE(doc.warnings[0].message.empty());
  // the keys after each malformed line are still read (into the section in force)
  CHECK(get(doc, "STORE_LOG", "enable") == "on");
  CHECK(get(doc, "STORE_LOG", "log_stats") == "on");
  CHECK(get(doc, "STORE_LOG", "port") == "5223");
  CHECK(get(doc, "STORE_LOG", "websockets") == "off");
  CHECK(line_of(doc, "STORE_LOG", "websockets") == 9);
  CHECK(get(doc, "STORE_LOG", "a]b") == "<absent>");
}

TEST_CASE("ini: text after a section header is parsed as the reference does", "[ini]") {
  auto doc = parse("[A] # comment\nx = 1\n[B] y = 2\n[C][D]\nz = 3\n");
  CHECK(doc.warnings.empty());
  CHECK(get(doc, "A", "x") == "1");
  CHECK(get(doc, "B", "y") == "2");
  CHECK(doc.sections.count("C") == 1);
  CHECK(get(doc, "D", "z") == "3");
}

TEST_CASE("ini: Unicode white space is trimmed like Haskell's isSpace", "[ini]") {
  // U+00A0 (no-break space) and U+3000 (ideographic space) around key and value
  auto doc = parse("[A]\n\xC2\xA0key\xC2\xA0=\xE3\x80\x80value\xC2\xA0\n");
  CHECK(get(doc, "A", "key") == "value");
  // other non-ASCII text is kept as it is
  auto kept = parse("[A]\noperator = \xC3\x89lise\n");
  CHECK(get(kept, "A", "operator") == "\xC3\x89lise");
}

TEST_CASE("ini: empty and comment-only input", "[ini]") {
  CHECK(parse("").sections.empty());
  auto doc = parse("\n\n# only comments\n   \n");
  CHECK(doc.sections.empty());
  CHECK(doc.warnings.empty());
}
