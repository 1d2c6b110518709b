// INI reader with the reference's semantics (ini 0.4.1 as used by simplexmq; spec server-operations.md §3.1):
// [SECTION] headers (trimmed, case-sensitive, a repeated section replaces the earlier one), `key = value` or
// `key: value` split at the first '=' or ':' (the ':' form drops one character after the colon before trimming),
// '#'/';' comment lines, first duplicate key wins, keys outside sections ignored, CR before LF tolerated.
// Deviation (spec §8 Q2, DECISIONS.md): a malformed line is reported as a warning and only that line is ignored.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sr::ini {

struct Value {
  std::string text;
  int line = 0;  // 1-based line of the key in the file
};

struct Section {
  int line = 0;                          // line of the [NAME] header
  std::map<std::string, Value> values;   // first occurrence of a key wins
};

struct Warning {
  int line = 0;
  std::string message;  // e.g. "line is neither a [section], a comment nor key = value; ignored"
};

struct Document {
  std::map<std::string, Section> sections;  // last [NAME] wins
  std::vector<Warning> warnings;
};

Document parse(std::string_view text);

}  // namespace sr::ini
