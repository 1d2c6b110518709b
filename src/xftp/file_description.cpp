#include "xftp/file_description.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <system_error>

#include <fmt/format.h>

#include "core/deflate.hpp"
#include "xftp/protocol.hpp"

namespace sr::xftp {

namespace {

[[noreturn]] void fail(const std::string& what) { throw DescriptionError(what); }
[[noreturn]] void fail_at(size_t line, const std::string& what) { fail(fmt::format("line {}: {}", line, what)); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_b64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_' || c == '=';
}

// Non-empty base64url (the reference's ByteString strP), padded or not.
std::optional<Bytes> b64url_field(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), is_b64url)) return std::nullopt;
  auto b = base64url_decode(s);
  if (!b || b->empty()) return std::nullopt;
  return b;
}

std::optional<uint64_t> parse_digits(std::string_view s) {
  if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), is_digit)) return std::nullopt;
  uint64_t v = 0;
  for (const char c : s) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

}  // namespace

// ---- Server addresses ----

std::string format_xftp_server(const XFTPServer& s) { return format_server_address("xftp", s); }

XFTPServer parse_xftp_server(std::string_view text) {
  try {
    return parse_server_address("xftp", text);
  } catch (const AddressError& e) {
    fail(fmt::format("invalid XFTP server address \"{}\": {}", text, e.what()));
  }
}

std::vector<XFTPServer> parse_xftp_servers(std::string_view text) {
  std::vector<XFTPServer> out;
  size_t start = 0;
  for (;;) {
    const size_t semi = text.find(';', start);
    out.push_back(parse_xftp_server(text.substr(start, semi == std::string_view::npos ? semi : semi - start)));
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  return out;
}

// ---- FileSize ----

std::string encode_file_size(int64_t b) {
  if (b % 1024 != 0) return std::to_string(b);
  const int64_t ks = b / 1024;
  if (ks % 1024 != 0) return std::to_string(ks) + "kb";
  const int64_t ms = ks / 1024;
  if (ms % 1024 != 0) return std::to_string(ms) + "mb";
  return std::to_string(ms / 1024) + "gb";
}

std::optional<int64_t> parse_file_size(std::string_view text) {
  int shift = 0;
  if (text.size() > 2) {
    const std::string_view suffix = text.substr(text.size() - 2);
    if (suffix == "gb") shift = 30;
    else if (suffix == "mb") shift = 20;
    else if (suffix == "kb") shift = 10;
    if (shift) text.remove_suffix(2);
  }
  const auto v = parse_digits(text);
  if (!v || *v > (static_cast<uint64_t>(INT64_MAX) >> shift)) return std::nullopt;
  return static_cast<int64_t>(*v << shift);
}

// ---- A small YAML reader for the description's shape ----
// Block mappings and sequences (also "- key: value" items and sequences at their key's indentation), plain /
// single- / double-quoted scalars, flow sequences of scalars, comments, "---" / "...". Anything else is an error
// naming the line.

namespace {

struct YNode {
  enum class Kind : uint8_t { Null, Scalar, Map, Seq } kind = Kind::Null;
  std::string scalar;
  bool quoted = false;
  std::vector<std::pair<std::string, YNode>> map;
  std::vector<YNode> seq;
  size_t line = 0;

  const YNode* get(std::string_view key) const {
    for (const auto& [k, v] : map)
      if (k == key) return &v;
    return nullptr;
  }
};

struct YLine {
  size_t no;
  size_t indent;
  std::string text;  // after the indentation, comments not yet removed
};

bool is_seq_item(std::string_view t) { return !t.empty() && t[0] == '-' && (t.size() == 1 || t[1] == ' '); }

// Quoted scalar starting at t[0]; returns the value and the index after the closing quote.
std::pair<std::string, size_t> read_quoted(std::string_view t, size_t line) {
  std::string out;
  const char q = t[0];
  size_t i = 1;
  for (;;) {
    if (i >= t.size()) fail_at(line, "unterminated quoted string");
    const char c = t[i];
    if (q == '\'') {
      if (c == '\'') {
        if (i + 1 < t.size() && t[i + 1] == '\'') {
          out += '\'';
          i += 2;
          continue;
        }
        return {out, i + 1};
      }
      out += c;
      ++i;
      continue;
    }
    if (c == '"') return {out, i + 1};
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= t.size()) fail_at(line, "unterminated escape");
    const char e = t[i + 1];
    i += 2;
    switch (e) {
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case '/': out += '/'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case ' ': out += ' '; break;
      case 'x':
      case 'u': {
        const size_t n = e == 'x' ? 2 : 4;
        if (i + n > t.size()) fail_at(line, "bad escape");
        uint32_t cp = 0;
        for (size_t k = 0; k < n; ++k) {
          const char h = t[i + k];
          const int d = is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
          if (d < 0) fail_at(line, "bad escape");
          cp = cp * 16 + static_cast<uint32_t>(d);
        }
        i += n;
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else if (cp < 0x800) {
          out += static_cast<char>(0xc0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
          out += static_cast<char>(0xe0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
          out += static_cast<char>(0x80 | (cp & 0x3f));
        }
        break;
      }
      default: fail_at(line, fmt::format("unsupported escape \\{}", e));
    }
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Only a comment (or nothing) may follow a closing quote / bracket.
void expect_end(std::string_view rest, size_t line) {
  rest = trim(rest);
  if (!rest.empty() && rest[0] != '#') fail_at(line, "unexpected text after a quoted value");
}

YNode scalar_node(std::string_view t, size_t line) {
  YNode n;
  n.line = line;
  t = trim(t);
  if (!t.empty() && (t[0] == '\'' || t[0] == '"')) {
    auto [v, end] = read_quoted(t, line);
    expect_end(t.substr(end), line);
    n.kind = YNode::Kind::Scalar;
    n.scalar = std::move(v);
    n.quoted = true;
    return n;
  }
  if (!t.empty() && std::string_view("{|>&*!%@`").find(t[0]) != std::string_view::npos) {
    fail_at(line, fmt::format("unsupported YAML value starting with '{}'", t[0]));
  }
  if (!t.empty() && t[0] == '[') {
    n.kind = YNode::Kind::Seq;
    size_t i = 1;
    for (;;) {
      while (i < t.size() && t[i] == ' ') ++i;
      if (i >= t.size()) fail_at(line, "unterminated '['");
      if (t[i] == ']' && n.seq.empty()) {
        expect_end(t.substr(i + 1), line);
        return n;
      }
      YNode item;
      item.line = line;
      item.kind = YNode::Kind::Scalar;
      if (t[i] == '\'' || t[i] == '"') {
        auto [v, end] = read_quoted(t.substr(i), line);
        item.scalar = std::move(v);
        item.quoted = true;
        i += end;
      } else {
        const size_t e = t.find_first_of(",]", i);
        if (e == std::string_view::npos) fail_at(line, "unterminated '['");
        item.scalar = std::string(trim(t.substr(i, e - i)));
        i = e;
      }
      n.seq.push_back(std::move(item));
      while (i < t.size() && t[i] == ' ') ++i;
      if (i >= t.size()) fail_at(line, "unterminated '['");
      if (t[i] == ']') {
        expect_end(t.substr(i + 1), line);
        return n;
      }
      if (t[i] != ',') fail_at(line, "expected ',' or ']'");
      ++i;
    }
  }
  // Plain: up to a " #" comment.
  const size_t c = t.find(" #");
  if (c != std::string_view::npos) t = trim(t.substr(0, c));
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL") return n;  // Null
  n.kind = YNode::Kind::Scalar;
  n.scalar = std::string(t);
  return n;
}

// "key: value" / "key:" → (key, value text); nullopt when the text is not a mapping entry.
std::optional<std::pair<std::string, std::string_view>> split_key(std::string_view t, size_t line) {
  if (t.empty() || t[0] == '[' || t[0] == '{' || t[0] == '#') return std::nullopt;
  if (t[0] == '\'' || t[0] == '"') {
    auto [k, end] = read_quoted(t, line);
    std::string_view rest = t.substr(end);
    while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    if (rest.empty() || rest[0] != ':' || (rest.size() > 1 && rest[1] != ' ')) return std::nullopt;
    return std::pair{k, rest.substr(1)};
  }
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == ' ' && i + 1 < t.size() && t[i + 1] == '#') return std::nullopt;
    if (t[i] == ':' && (i + 1 == t.size() || t[i + 1] == ' ')) {
      return std::pair{std::string(trim(t.substr(0, i))), t.substr(i + 1)};
    }
  }
  return std::nullopt;
}

bool value_is_empty(std::string_view v) {
  v = trim(v);
  return v.empty() || v[0] == '#';
}

class YParser {
 public:
  explicit YParser(std::string_view text) {
    size_t no = 0;
    bool started = false;
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      std::string_view l = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
      ++no;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      size_t ind = 0;
      while (ind < l.size() && l[ind] == ' ') ++ind;
      const std::string_view body = l.substr(ind);
      if (trim(body).empty() || body[0] == '#') continue;
      if (!body.empty() && body[0] == '\t') fail_at(no, "tab in indentation");
      if (ind == 0 && (l == "---" || l.substr(0, 4) == "--- ")) {
        if (started) fail_at(no, "more than one YAML document");
        started = true;
        continue;
      }
      if (ind == 0 && l == "...") break;
      if (ind == 0 && l[0] == '%') fail_at(no, "YAML directives are not supported");
      started = true;
      lines_.push_back({no, ind, std::string(body)});
    }
  }

  YNode document() {
    if (lines_.empty()) fail("empty file description");
    YNode n = block(0);
    if (i_ < lines_.size()) fail_at(lines_[i_].no, "unexpected indentation");
    return n;
  }

 private:
  YNode block(size_t min_indent) {
    const YLine& l = lines_[i_];
    if (l.indent < min_indent) fail_at(l.no, "unexpected indentation");
    return is_seq_item(l.text) ? seq(l.indent) : map(l.indent);
  }

  // The value after "key:" or "-" with nothing else on the line: a nested block or null.
  YNode nested(size_t ind, bool seq_allowed_at_same_indent) {
    if (i_ < lines_.size() && lines_[i_].indent > ind) return block(ind + 1);
    if (seq_allowed_at_same_indent && i_ < lines_.size() && lines_[i_].indent == ind && is_seq_item(lines_[i_].text)) {
      return seq(ind);
    }
    return YNode{};
  }

  void no_continuation(size_t ind) {
    if (i_ < lines_.size() && lines_[i_].indent > ind) {
      fail_at(lines_[i_].no, "unexpected indentation (multi-line values are not supported)");
    }
  }

  YNode map(size_t ind) {
    YNode m;
    m.kind = YNode::Kind::Map;
    m.line = lines_[i_].no;
    while (i_ < lines_.size() && lines_[i_].indent == ind && !is_seq_item(lines_[i_].text)) {
      const YLine& l = lines_[i_];
      const auto kv = split_key(l.text, l.no);
      if (!kv) fail_at(l.no, "expected 'key: value'");
      if (m.get(kv->first)) fail_at(l.no, fmt::format("duplicate key '{}'", kv->first));
      const size_t no = l.no;
      ++i_;
      YNode v;
      if (value_is_empty(kv->second)) {
        v = nested(ind, true);
        if (v.line == 0) v.line = no;
      } else {
        v = scalar_node(kv->second, no);
        no_continuation(ind);
      }
      m.map.emplace_back(kv->first, std::move(v));
      if (i_ < lines_.size() && lines_[i_].indent == ind && is_seq_item(lines_[i_].text)) {
        fail_at(lines_[i_].no, "unexpected list item");
      }
    }
    return m;
  }

  YNode seq(size_t ind) {
    YNode s;
    s.kind = YNode::Kind::Seq;
    s.line = lines_[i_].no;
    while (i_ < lines_.size() && lines_[i_].indent == ind && is_seq_item(lines_[i_].text)) {
      YLine& l = lines_[i_];
      size_t off = 1;
      while (off < l.text.size() && l.text[off] == ' ') ++off;
      const std::string_view rest = std::string_view(l.text).substr(off);
      if (value_is_empty(rest)) {
        const size_t no = l.no;
        ++i_;
        YNode v = nested(ind, false);
        if (v.line == 0) v.line = no;
        s.seq.push_back(std::move(v));
      } else if (split_key(rest, l.no)) {
        // "- key: value": a mapping whose keys line up with this one.
        l.indent = ind + off;
        l.text = std::string(rest);
        s.seq.push_back(map(ind + off));
      } else {
        const size_t no = l.no;
        YNode v = scalar_node(rest, no);
        ++i_;
        no_continuation(ind);
        s.seq.push_back(std::move(v));
      }
    }
    return s;
  }

  std::vector<YLine> lines_;
  size_t i_ = 0;
};

// Data.Yaml single-quotes strings that would read back as something else (numbers, booleans, null); libyaml
// quotes what cannot be plain.
bool looks_numeric(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t ed = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++ed;
    if (ed == 0) return false;
  }
  return i == s.size();
}

std::string yaml_scalar(std::string_view s) {
  static constexpr std::string_view kSpecial[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                                                  "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
                                                  "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", "*"};
  bool quote = s.empty() || looks_numeric(s) || std::find(std::begin(kSpecial), std::end(kSpecial), s) != std::end(kSpecial) ||
               std::string_view("#,[]{}&*!|>'\"%@`").find(s[0]) != std::string_view::npos || s.front() == ' ' ||
               s.back() == ' ' || s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos ||
               s.back() == ':' || ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (s.size() == 1 || s[1] == ' '));
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20) {
      // Control characters need double quotes (never in a description: all values are base64url/decimal).
      std::string out = "\"";
      for (const char d : s) {
        if (d == '"' || d == '\\') out += '\\', out += d;
        else if (static_cast<unsigned char>(d) < 0x20) out += fmt::format("\\x{:02x}", static_cast<unsigned char>(d));
        else out += d;
      }
      return out + "\"";
    }
  if (!quote) return std::string(s);
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// ---- Mapping the tree onto the description ----

const YNode& required(const YNode& m, std::string_view key) {
  const YNode* v = m.get(key);
  if (!v || v->kind == YNode::Kind::Null) fail_at(m.line, fmt::format("missing key '{}'", key));
  return *v;
}

const std::string& scalar_of(const YNode& n, std::string_view key) {
  if (n.kind != YNode::Kind::Scalar) fail_at(n.line, fmt::format("{}: expected a single value", key));
  return n.scalar;
}

Bytes bytes_of(const YNode& n, std::string_view key) {
  const auto b = b64url_field(scalar_of(n, key));
  if (!b) fail_at(n.line, fmt::format("{}: bad base64url", key));
  return *b;
}

template <size_t N>
std::array<uint8_t, N> fixed_of(const YNode& n, std::string_view key) {
  const Bytes b = bytes_of(n, key);
  if (b.size() != N) fail_at(n.line, fmt::format("{}: expected {} bytes, got {}", key, N, b.size()));
  std::array<uint8_t, N> a;
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

int64_t size_of(const YNode& n, std::string_view key) {
  const auto v = parse_file_size(scalar_of(n, key));
  if (!v) fail_at(n.line, fmt::format("{}: bad size '{}'", key, n.scalar));
  return *v;
}

uint32_t chunk_size_of(std::string_view text, size_t line, std::string_view key) {
  const auto v = parse_file_size(text);
  if (!v || *v > UINT32_MAX) fail_at(line, fmt::format("{}: bad chunk size '{}'", key, text));
  return static_cast<uint32_t>(*v);
}

struct FlatReplica {
  int64_t chunk_no;
  const XFTPServer* server;
  Bytes replica_id;
  crypto::PrivateKey replica_key;
  std::optional<Bytes> digest;
  std::optional<uint32_t> chunk_size;
  size_t line;
};

FlatReplica replica_of(const YNode& n, const XFTPServer& server) {
  const std::string& t = scalar_of(n, "chunks");
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t c = t.find(':', start);
    parts.push_back(std::string_view(t).substr(start, c == std::string::npos ? c : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  const auto bad = [&](std::string_view what) {
    fail_at(n.line, fmt::format("chunk replica '{}': {} (expected no:replicaId:replicaKey[:digest[:size]])", t, what));
  };
  if (parts.size() < 3 || parts.size() > 5) bad("wrong number of fields");
  const auto no = parse_digits(parts[0]);
  if (!no || *no > static_cast<uint64_t>(INT32_MAX)) bad("bad chunk number");
  const auto id = b64url_field(parts[1]);
  if (!id) bad("bad replica ID");
  const auto key_der = b64url_field(parts[2]);
  if (!key_der) bad("bad replica key");
  const auto key = crypto::decode_pkcs8(*key_der);
  if (!key || key->alg == crypto::KeyAlg::X448) bad("replica key is not an Ed25519/Ed448/X25519 private key");
  FlatReplica r{static_cast<int64_t>(*no), &server, *id, *key, std::nullopt, std::nullopt, n.line};
  if (parts.size() >= 4) {
    r.digest = b64url_field(parts[3]);
    if (!r.digest) bad("bad digest");
  }
  if (parts.size() == 5) {
    const auto sz = parse_file_size(parts[4]);
    if (!sz || *sz > UINT32_MAX) bad("bad chunk size");
    r.chunk_size = static_cast<uint32_t>(*sz);
  }
  return r;
}

}  // namespace

// ---- Description encode / parse ----

std::vector<ServerReplicas> group_replicas_by_server(const FileDescription& fd) {
  struct Flat {
    std::string key;
    const XFTPServer* server;
    ServerReplica r;
  };
  std::vector<Flat> flat;
  for (const auto& c : fd.chunks) {
    for (size_t i = 0; i < c.replicas.size(); ++i) {
      const auto& rep = c.replicas[i];
      ServerReplica r{c.chunk_no, rep.replica_id, rep.replica_key, std::nullopt, std::nullopt};
      if (i == 0) {
        r.digest = c.digest;
        if (c.chunk_size != fd.chunk_size) r.chunk_size = c.chunk_size;
      }
      flat.push_back({format_xftp_server(rep.server), &rep.server, std::move(r)});
    }
  }
  std::stable_sort(flat.begin(), flat.end(), [](const Flat& a, const Flat& b) { return a.key < b.key; });
  std::vector<ServerReplicas> out;
  for (size_t i = 0; i < flat.size(); ++i) {
    if (i == 0 || flat[i].key != flat[i - 1].key) out.push_back({*flat[i].server, {}});
    out.back().replicas.push_back(std::move(flat[i].r));
  }
  return out;
}

std::string encode_file_description(const FileDescription& fd) {
  std::string y;
  const auto line = [&y](std::string_view k, std::string_view v) { y += fmt::format("{}: {}\n", k, yaml_scalar(v)); };
  line("chunkSize", encode_file_size(fd.chunk_size));
  line("digest", base64url_encode(fd.digest));
  line("key", base64url_encode(fd.key));
  line("nonce", base64url_encode(fd.nonce));
  line("party", fd.party == FileParty::Recipient ? "recipient" : "sender");
  if (fd.redirect) {
    y += "redirect:\n";
    y += "  digest: " + yaml_scalar(base64url_encode(fd.redirect->digest)) + "\n";
    y += "  size: " + std::to_string(fd.redirect->size) + "\n";  // a number, not a FileSize string
  }
  const auto groups = group_replicas_by_server(fd);
  y += groups.empty() ? "replicas: []\n" : "replicas:\n";
  for (const auto& g : groups) {
    y += "- chunks:\n";
    for (const auto& r : g.replicas) {
      std::string s = std::to_string(r.chunk_no) + ":" + base64url_encode(r.replica_id) + ":" +
                      base64url_encode(crypto::encode_pkcs8(r.replica_key));
      if (r.digest) s += ":" + base64url_encode(*r.digest);
      if (r.chunk_size) s += ":" + encode_file_size(*r.chunk_size);
      y += "  - " + yaml_scalar(s) + "\n";
    }
    y += "  server: " + yaml_scalar(format_xftp_server(g.server)) + "\n";
  }
  line("size", encode_file_size(fd.size));
  return y;
}

FileDescription parse_file_description(std::string_view yaml) {
  const YNode doc = YParser(yaml).document();
  if (doc.kind != YNode::Kind::Map) fail_at(doc.line, "expected a mapping of description fields");
  FileDescription fd;
  const std::string& party = scalar_of(required(doc, "party"), "party");
  if (party == "recipient") fd.party = FileParty::Recipient;
  else if (party == "sender") fd.party = FileParty::Sender;
  else fail_at(required(doc, "party").line, fmt::format("party: expected recipient or sender, got '{}'", party));
  fd.size = size_of(required(doc, "size"), "size");
  fd.digest = bytes_of(required(doc, "digest"), "digest");
  fd.key = fixed_of<32>(required(doc, "key"), "key");
  fd.nonce = fixed_of<24>(required(doc, "nonce"), "nonce");
  const YNode& cs = required(doc, "chunkSize");
  fd.chunk_size = chunk_size_of(scalar_of(cs, "chunkSize"), cs.line, "chunkSize");

  if (const YNode* r = doc.get("redirect"); r && r->kind != YNode::Kind::Null) {
    if (r->kind != YNode::Kind::Map) fail_at(r->line, "redirect: expected a mapping");
    RedirectFileInfo ri;
    const YNode& sz = required(*r, "size");
    const auto v = parse_digits(scalar_of(sz, "redirect size"));
    if (!v || *v > static_cast<uint64_t>(INT64_MAX)) fail_at(sz.line, "redirect size: expected a number of bytes");
    ri.size = static_cast<int64_t>(*v);
    ri.digest = bytes_of(required(*r, "digest"), "redirect digest");
    fd.redirect = std::move(ri);
  }

  const YNode* reps = doc.get("replicas");
  if (!reps) fail_at(doc.line, "missing key 'replicas'");
  if (reps->kind != YNode::Kind::Seq) fail_at(reps->line, "replicas: expected a list");
  // Servers live in this list so FlatReplica can point at them.
  std::vector<XFTPServer> servers;
  servers.reserve(reps->seq.size());
  std::vector<FlatReplica> flat;
  for (const YNode& g : reps->seq) {
    if (g.kind != YNode::Kind::Map) fail_at(g.line, "replicas: expected items with 'server' and 'chunks'");
    const YNode& srv = required(g, "server");
    try {
      servers.push_back(parse_xftp_server(scalar_of(srv, "server")));
    } catch (const DescriptionError& e) {
      fail_at(srv.line, e.what());
    }
    if (servers.back().basic_auth) fail_at(srv.line, "server: a password is not allowed in a file description");
    const YNode* chunks = g.get("chunks");
    if (!chunks) fail_at(g.line, "missing key 'chunks'");
    if (chunks->kind != YNode::Kind::Seq) fail_at(chunks->line, "chunks: expected a list");
    for (const YNode& c : chunks->seq) flat.push_back(replica_of(c, servers.back()));
  }

  // foldReplicasToChunks: sizes and digests must agree between replicas; every chunk needs a digest.
  std::map<int64_t, uint32_t> sizes;
  std::map<int64_t, Bytes> digests;
  for (const auto& r : flat) {
    if (r.chunk_size) {
      const auto [it, fresh] = sizes.emplace(r.chunk_no, *r.chunk_size);
      if (!fresh && it->second != *r.chunk_size) fail_at(r.line, "different size or digest in chunk replicas");
    }
    if (r.digest) {
      const auto [it, fresh] = digests.emplace(r.chunk_no, *r.digest);
      if (!fresh && it->second != *r.digest) fail_at(r.line, "different size or digest in chunk replicas");
    }
  }
  std::map<int64_t, FileChunk> chunks;
  for (auto& r : flat) {
    auto it = chunks.find(r.chunk_no);
    if (it == chunks.end()) {
      const auto d = digests.find(r.chunk_no);
      if (d == digests.end()) fail_at(r.line, fmt::format("no digest for chunk {}", r.chunk_no));
      const auto s = sizes.find(r.chunk_no);
      it = chunks.emplace(r.chunk_no, FileChunk{r.chunk_no, s == sizes.end() ? fd.chunk_size : s->second, d->second, {}})
               .first;
    }
    it->second.replicas.push_back({*r.server, std::move(r.replica_id), std::move(r.replica_key)});
  }
  for (auto& [no, c] : chunks) fd.chunks.push_back(std::move(c));
  return fd;
}

void validate_file_description(const FileDescription& fd) {
  int64_t total = 0;
  for (size_t i = 0; i < fd.chunks.size(); ++i) {
    if (fd.chunks[i].chunk_no != static_cast<int64_t>(i + 1)) fail("chunk numbers are not sequential");
    total += fd.chunks[i].chunk_size;
  }
  if (total != fd.size) fail("chunks total size is different than file size");
}

FileDescription decode_file_description(std::string_view yaml, std::optional<FileParty> party) {
  FileDescription fd = parse_file_description(yaml);
  validate_file_description(fd);
  if (party && fd.party != *party) fail("incorrect XFTP party");
  return fd;
}

// ---- Web links ----

namespace {

constexpr size_t kMaxInflated = 1 << 24;  // descriptions are kilobytes; refuse inflation bombs

std::string inflate_raw(const Bytes& in) {
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) throw std::runtime_error("inflateInit2 failed");
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > kMaxInflated) rc = Z_MEM_ERROR;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended before the stream did
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) fail("bad compressed data");
  return out;
}

}  // namespace

std::string encode_web_fragment(const FileDescription& fd) {
  return base64url_encode(as_bytes(deflate(encode_file_description(fd), DeflateFraming::Raw)));
}

FileDescription decode_web_fragment(std::string_view fragment) {
  const auto compressed = base64url_decode(fragment);
  if (!compressed || compressed->empty()) fail("bad base64url in the link");
  return decode_file_description(inflate_raw(*compressed), FileParty::Recipient);
}

std::optional<std::string> web_link(const FileDescription& fd) {
  if (fd.chunks.empty() || fd.chunks[0].replicas.empty()) return std::nullopt;
  const XFTPServer& s = fd.chunks[0].replicas[0].server;
  std::string origin = "https://" + s.hosts.at(0);
  if (s.port && *s.port != 443) origin += ":" + std::to_string(*s.port);
  return origin + "/#" + encode_web_fragment(fd);
}

bool is_web_link(std::string_view text) {
  return text.substr(0, 7) == "http://" || text.substr(0, 8) == "https://";
}

FileDescription decode_web_link(std::string_view link) {
  const size_t hash = link.find('#');
  if (hash == std::string_view::npos || hash + 1 == link.size()) fail("Invalid URL: no fragment");
  return decode_web_fragment(link.substr(hash + 1));
}

// ---- Native URI ----

namespace {

// http-types urlEncode for a query: A–Z a–z 0–9 - _ . ~ stay, everything else %XX (upper case).
std::string query_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || is_digit(c) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

// urlDecode for a query: '+' is a space; a '%' without two hex digits stays as it is.
std::string query_unescape(std::string_view s) {
  const auto hexval = [](char h) {
    return is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string encode_file_description_uri(const FileDescriptionURI& uri) {
  std::string q = "desc=" + query_escape(encode_file_description(uri.description));
  if (uri.client_data) q += "&data=" + query_escape(*uri.client_data);
  return uri.scheme + "/file#/?" + q;
}

FileDescriptionURI parse_file_description_uri(std::string_view text) {
  FileDescriptionURI uri;
  std::string_view rest = text;
  if (rest.substr(0, 8) == "simplex:") {
    uri.scheme = "simplex:";
    rest.remove_prefix(8);
  } else if (rest.substr(0, 8) == "https://") {
    size_t n = 8;
    while (n < rest.size() && std::string_view(":#,;/ ").find(rest[n]) == std::string_view::npos) ++n;
    if (n == 8) fail("invalid file link: no host");
    if (n < rest.size() && rest[n] == ':') {
      size_t e = n + 1;
      while (e < rest.size() && is_digit(rest[e])) ++e;
      const auto port = parse_digits(rest.substr(n + 1, e - n - 1));
      if (!port || *port > 65535) fail("invalid file link: bad port");
      uri.scheme = std::string(rest.substr(0, n)) + ":" + std::to_string(*port);
      n = e;
    } else {
      uri.scheme = std::string(rest.substr(0, n));
    }
    rest.remove_prefix(n);
  } else {
    fail("invalid file link: expected simplex: or https://");
  }
  if (rest.substr(0, 5) != "/file") fail("invalid file link: expected /file");
  rest.remove_prefix(5);
  if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
  if (rest.substr(0, 3) != "#/?") fail("invalid file link: expected #/?");
  rest.remove_prefix(3);
  if (rest.find_first_of(" \n") != std::string_view::npos) fail("invalid file link: unexpected space");
  std::optional<std::string> desc;
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t e = std::min(rest.find_first_of("&;", start), rest.size());
    const std::string_view item = rest.substr(start, e - start);
    if (!item.empty()) {
      const size_t eq = item.find('=');
      const std::string name = query_unescape(item.substr(0, eq));
      const std::string value = eq == std::string_view::npos ? "" : query_unescape(item.substr(eq + 1));
      if (name == "desc" && !desc) desc = value;
      if (name == "data" && !uri.client_data) uri.client_data = value;
    }
    start = e + 1;
  }
  if (!desc) fail("no qs param desc");
  uri.description = decode_file_description(*desc, FileParty::Recipient);
  return uri;
}

// ---- send -n N ----

std::vector<FileDescription> recipient_descriptions(const FileDescription& base, const std::vector<SentChunk>& sent) {
  std::map<size_t, std::map<int64_t, FileChunk>> by_rcv;
  for (const auto& c : sent) {
    for (const auto& rep : c.replicas) {
      for (size_t n = 0; n < rep.recipients.size(); ++n) {
        auto& chunks = by_rcv[n];
        auto it = chunks.find(c.chunk_no);
        if (it == chunks.end()) it = chunks.emplace(c.chunk_no, FileChunk{c.chunk_no, c.chunk_size, c.digest, {}}).first;
        it->second.replicas.push_back({rep.server, rep.recipients[n].first, rep.recipients[n].second});
      }
    }
  }
  std::vector<FileDescription> out;
  for (auto& [n, chunks] : by_rcv) {
    FileDescription fd = base;
    fd.party = FileParty::Recipient;
    fd.chunks.clear();
    for (auto& [no, c] : chunks) fd.chunks.push_back(std::move(c));
    out.push_back(std::move(fd));
  }
  return out;
}

FileDescription sender_description(const FileDescription& base, const std::vector<SentChunk>& sent) {
  FileDescription fd = base;
  fd.party = FileParty::Sender;
  fd.chunks.clear();
  for (const auto& c : sent) {
    FileChunk ch{c.chunk_no, c.chunk_size, c.digest, {}};
    if (!c.replicas.empty()) ch.replicas.push_back({c.replicas[0].server, c.snd_id, c.snd_key});
    fd.chunks.push_back(std::move(ch));
  }
  return fd;
}

std::filesystem::path unique_combine(const std::filesystem::path& dir, const std::string& name) {
  const size_t dot = name.find('.');
  const std::string stem = name.substr(0, dot);
  const std::string ext = dot == std::string::npos ? "" : name.substr(dot);
  for (size_t n = 0;; ++n) {
    const auto p = dir / (n == 0 ? name : stem + "_" + std::to_string(n) + ext);
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(p, ec))) return p;
  }
}

DescriptionPaths description_paths(const std::filesystem::path& out_dir, const std::string& file_name,
                                   size_t recipients) {
  DescriptionPaths p;
  p.dir = unique_combine(out_dir, file_name + ".xftp");
  for (size_t i = 1; i <= recipients; ++i) p.recipients.push_back(p.dir / ("rcv" + std::to_string(i) + ".xftp"));
  p.sender = p.dir / "snd.xftp.private";
  return p;
}

}  // namespace sr::xftp
