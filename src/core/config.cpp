#include "core/config.hpp"

#include "core/encoding.hpp"
#include "core/server_address.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <toml++/toml.h>

namespace sr::config {
namespace {

bool is_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

template <typename T>
std::optional<T> parse_decimal(std::string_view s) {
  if (!is_digits(s)) return std::nullopt;
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  auto v = parse_decimal<uint32_t>(s);
  if (!v || *v == 0 || *v > 65535) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

// "a", "a or b", "a, b or c" for error messages.
std::string one_of(std::initializer_list<std::string_view> choices) {
  std::string out;
  size_t i = 0;
  for (auto c : choices) {
    if (i > 0) out += (i + 1 == choices.size()) ? " or " : ", ";
    out += c;
    ++i;
  }
  return out;
}

// An example value given in INI form, as a TOML user writes it: on/off → true/false, numbers and
// comma-separated port lists as numbers and arrays, anything else as a quoted string.
std::string toml_example(std::string_view ini) {
  if (ini == "on") return "true";
  if (ini == "off") return "false";
  if (parse_decimal<uint64_t>(ini)) return std::string(ini);
  if (ini.find(',') != std::string_view::npos && parse_ports(ini)) {
    std::string out = "[";
    for (char c : ini) out += c == ',' ? std::string(", ") : std::string(1, c);
    return out + "]";
  }
  return fmt::format("\"{}\"", ini);
}

std::string toml_type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::table: return "a nested table";
    case toml::node_type::array: return "an array";
    default: return "this type";
  }
}

// A TOML value in the INI text form; `context` is "<file>:<line>: [SECTION] key" for errors.
std::string toml_value_text(const toml::node& value, std::string_view context) {
  auto unsupported = [&](std::string_view what) {
    return ConfigError(fmt::format(
        "{}: {} is not supported, expected a string, an integer, a boolean or an array of ports", context, what));
  };
  if (auto* str = value.as_string()) return str->get();
  if (auto* i = value.as_integer()) return std::to_string(i->get());
  if (auto* b = value.as_boolean()) return b->get() ? "on" : "off";
  if (auto* arr = value.as_array()) {
    std::string text;
    for (auto&& item : *arr) {
      auto* port = item.as_integer();
      if (port == nullptr) throw unsupported("an array of anything but integers");
      text += (text.empty() ? "" : ",") + std::to_string(port->get());
    }
    return text;
  }
  throw unsupported(toml_type_name(value.type()));
}

}  // namespace

// --- value syntax ---------------------------------------------------------------------------------------------

bool valid_password(std::string_view pw) { return !pw.empty() && valid_basic_auth(pw); }

std::optional<ListenAddress> parse_listen_address(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  ListenAddress a;
  a.host = host.empty() ? "127.0.0.1" : std::string(host);
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) return std::nullopt;
  a.port = static_cast<uint16_t>(p);
  unsigned char buf[sizeof(in6_addr)];
  if (::inet_pton(AF_INET, a.host.c_str(), buf) != 1 && ::inet_pton(AF_INET6, a.host.c_str(), buf) != 1)
    return std::nullopt;
  return a;
}

std::optional<uint64_t> parse_size(std::string_view text) {
  static constexpr std::pair<std::string_view, int> units[] = {{"gb", 30}, {"mb", 20}, {"kb", 10}};
  int shift = 0;
  for (auto [suffix, bits] : units) {
    if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
      text.remove_suffix(suffix.size());
      shift = bits;
      break;
    }
  }
  auto n = parse_decimal<uint64_t>(text);
  // The reference keeps the quota in an Int64.
  constexpr uint64_t max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (!n || *n > (max >> shift)) return std::nullopt;
  return *n << shift;
}

std::string format_size(uint64_t bytes) {
  // The reference's strEncode of FileSize: the first unit with a non-zero remainder below it, else gb
  // (so 0 is written "0gb", and sizes above 1 gb stay in gb).
  static constexpr std::string_view units[] = {"", "kb", "mb"};
  for (auto unit : units) {
    if (bytes % 1024 != 0) return fmt::format("{}{}", bytes, unit);
    bytes /= 1024;
  }
  return fmt::format("{}gb", bytes);
}

std::optional<std::string> parse_country(std::string_view text) {
  if (text.size() != 2) return std::nullopt;
  std::string out;
  for (char c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') return std::nullopt;
    out += c;
  }
  return out;
}

std::optional<int64_t> parse_int(std::string_view text) { return sr::parse_decimal(text); }

std::optional<std::vector<uint16_t>> parse_ports(std::string_view text) {
  std::vector<uint16_t> ports;
  while (true) {
    size_t comma = text.find(',');
    auto p = parse_port(text.substr(0, comma));
    if (!p) return std::nullopt;
    ports.push_back(*p);
    if (comma == std::string_view::npos) return ports;
    text.remove_prefix(comma + 1);
  }
}

std::optional<std::string> parse_socks_proxy(std::string_view text) {
  std::string host = "127.0.0.1";
  auto ipv4 = [](std::string_view s) -> std::optional<std::string> {
    std::string out;
    for (int i = 0; i < 4; ++i) {
      size_t dot = i < 3 ? s.find('.') : s.size();
      if (dot == std::string_view::npos) return std::nullopt;
      auto octet = parse_decimal<uint32_t>(s.substr(0, dot));
      if (!octet || *octet > 255) return std::nullopt;
      out += (i > 0 ? "." : "") + std::to_string(*octet);
      s.remove_prefix(i < 3 ? dot + 1 : s.size());
    }
    return out;
  };
  auto ipv6 = [](std::string_view s) -> std::optional<std::string> {
    in6_addr addr{};
    char buf[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET6, std::string(s).c_str(), &addr) != 1) return std::nullopt;
    return fmt::format("[{}]", inet_ntop(AF_INET6, &addr, buf, sizeof buf));
  };
  if (!text.empty() && text[0] == '[') {  // [IPv6] with an optional port
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto h = ipv6(text.substr(1, close - 1));
    if (!h) return std::nullopt;
    host = *h;
    text.remove_prefix(close + 1);
  } else if (auto v6 = text.find_first_not_of("0123456789abcdefABCDEF:") == std::string_view::npos
                           ? ipv6(text)
                           : std::nullopt) {
    // The reference tries an unbracketed run of hex digits and ':' as one IPv6 address (no port can follow).
    return *v6 + ":9050";
  } else if (!text.empty() && text[0] != ':') {
    size_t colon = text.find(':');
    std::string_view h = text.substr(0, colon);
    auto v4 = h == "localhost" ? std::optional<std::string>("127.0.0.1") : ipv4(h);
    if (!v4) return std::nullopt;
    host = *v4;
    text = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (text.empty()) return host + ":9050";
  auto port = text[0] == ':' ? parse_port(text.substr(1)) : std::nullopt;
  if (!port) return std::nullopt;
  return fmt::format("{}:{}", host, *port);
}

// --- Source ---------------------------------------------------------------------------------------------------

Source Source::from_ini(const std::filesystem::path& path, std::string_view text) {
  Source s;
  s.path_ = path;
  s.doc_ = ini::parse(text);
  return s;
}

Source Source::from_toml(const std::filesystem::path& path, std::string_view text) {
  Source s;
  s.path_ = path;
  s.toml_ = true;
  toml::table root;
  try {
    root = toml::parse(text, path.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}:{}: {}", path.string(), e.source().begin.line, e.source().begin.column,
                                  e.description()));
  }
  for (auto&& [name, node] : root) {
    auto where = fmt::format("{}:{}", path.string(), name.source().begin.line);
    auto* table = node.as_table();
    if (table == nullptr)
      throw ConfigError(fmt::format("{}: {}: expected a [SECTION] table such as [TRANSPORT], keys belong in one",
                                    where, name.str()));
    ini::Section& section = s.doc_.sections[std::string(name.str())];
    section.line = static_cast<int>(name.source().begin.line);
    for (auto&& [key, value] : *table) {
      int line = static_cast<int>(key.source().begin.line);
      auto context = fmt::format("{}:{}: [{}] {}", path.string(), line, name.str(), key.str());
      section.values.try_emplace(std::string(key.str()), ini::Value{toml_value_text(value, context), line});
    }
  }
  return s;
}

Source Source::load(const std::filesystem::path& path) {
  std::string text;
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  bool ok = f != nullptr;
  if (ok) {
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    ok = !std::ferror(f);
    int read_errno = errno;
    std::fclose(f);
    errno = read_errno;
  }
  if (!ok) throw ConfigError(fmt::format("{}: cannot read: {}", path.string(), std::strerror(errno)));
  return path.extension() == ".toml" ? from_toml(path, text) : from_ini(path, text);
}

bool Source::has_section(std::string_view section) const {
  return doc_.sections.find(std::string(section)) != doc_.sections.end();
}

const ini::Value* Source::find(std::string_view section, std::string_view key) const {
  auto s = doc_.sections.find(std::string(section));
  if (s == doc_.sections.end()) return nullptr;
  auto v = s->second.values.find(std::string(key));
  return v == s->second.values.end() ? nullptr : &v->second;
}

void Source::fail(std::string_view section, std::string_view key, const ini::Value& v,
                  std::string_view problem) const {
  throw ConfigError(fmt::format("{}:{}: [{}] {}: {}", path_.string(), v.line, section, key, problem));
}

void Source::invalid(std::string_view section, std::string_view key, const ini::Value& v,
                     std::string_view expected) const {
  fail(section, key, v, fmt::format("invalid value '{}', expected {}", v.text, expected));
}

void Source::missing(std::string_view section, std::string_view key, std::string_view example,
                     std::string_view reason) const {
  std::string value = example.empty() ? "<value>" : toml_ ? toml_example(example) : std::string(example);
  throw ConfigError(fmt::format("{}: no key {} in section {}; add `{} = {}` to [{}]{}", path_.string(), key, section,
                                key, value, section, reason.empty() ? "" : fmt::format(" ({})", reason)));
}

std::optional<std::string> Source::opt_string(std::string_view section, std::string_view key) const {
  const ini::Value* v = find(section, key);
  return v ? std::optional<std::string>(v->text) : std::nullopt;
}

std::string Source::req_string(std::string_view section, std::string_view key) const {
  if (auto v = opt_string(section, key)) return *v;
  missing(section, key);
}

std::optional<bool> Source::opt_on_off(std::string_view section, std::string_view key) const {
  const ini::Value* v = find(section, key);
  if (v == nullptr) return std::nullopt;
  if (v->text == "on") return true;
  if (v->text == "off") return false;
  invalid(section, key, *v, toml_ ? "true or false" : "on or off");
}

bool Source::req_on_off(std::string_view section, std::string_view key) const {
  if (auto v = opt_on_off(section, key)) return *v;
  missing(section, key, "on");
}

std::optional<int64_t> Source::opt_int(std::string_view section, std::string_view key) const {
  const ini::Value* v = find(section, key);
  if (v == nullptr) return std::nullopt;
  if (auto i = parse_int(v->text)) return i;
  invalid(section, key, *v, "an integer");
}

int64_t Source::req_int(std::string_view section, std::string_view key) const {
  if (auto v = opt_int(section, key)) return *v;
  missing(section, key);
}

std::optional<std::string> Source::opt_password(std::string_view section, std::string_view key) const {
  const ini::Value* v = find(section, key);
  if (v == nullptr) return std::nullopt;
  if (v->text.empty())
    fail(section, key, *v, "empty password is invalid; comment the line out to disable the password");
  if (!valid_password(v->text)) {
    // The value is not echoed: it is a secret.
    fail(section, key, *v,
         "invalid password, expected printable ASCII characters without whitespace, '@', ':' and '/'");
  }
  return v->text;
}

std::optional<std::string> Source::opt_choice(std::string_view section, std::string_view key,
                                              std::initializer_list<std::string_view> choices) const {
  const ini::Value* v = find(section, key);
  if (v == nullptr) return std::nullopt;
  for (auto c : choices)
    if (v->text == c) return v->text;
  invalid(section, key, *v, one_of(choices));
}

std::optional<std::vector<uint16_t>> Source::opt_ports(std::string_view section, std::string_view key) const {
  const ini::Value* v = find(section, key);
  if (v == nullptr) return std::nullopt;
  if (auto p = parse_ports(v->text)) return p;
  invalid(section, key, *v,
          toml_ ? "a port or an array of ports 1-65535, e.g. [5223, 443]"
                : "comma-separated ports 1-65535 without spaces, e.g. 5223,443");
}

std::vector<uint16_t> Source::req_ports(std::string_view section, std::string_view key) const {
  if (auto v = opt_ports(section, key)) return *v;
  missing(section, key, "5223,443");
}

std::optional<uint16_t> Source::opt_port(std::string_view section, std::string_view key) const {
  const ini::Value* v = find(section, key);
  if (v == nullptr) return std::nullopt;
  if (auto p = parse_port(v->text)) return p;
  invalid(section, key, *v, "a port number 1-65535");
}

std::optional<uint64_t> Source::opt_size(std::string_view section, std::string_view key) const {
  const ini::Value* v = find(section, key);
  if (v == nullptr) return std::nullopt;
  if (auto s = parse_size(v->text)) return s;
  invalid(section, key, *v, "a size: <n> (bytes), <n>kb, <n>mb or <n>gb, e.g. 10gb");
}

std::optional<std::string> Source::opt_country(std::string_view section, std::string_view key) const {
  const ini::Value* v = find(section, key);
  if (v == nullptr) return std::nullopt;
  if (auto c = parse_country(v->text)) return c;
  invalid(section, key, *v, "an ISO3166 2-letter country code");
}

// --- shared sections ------------------------------------------------------------------------------------------

namespace {

// The reference only checks that an admin/complaints link parses as a contact link, full
// (<scheme>/contact#/?v=…&smp=…) or short (<scheme>/<a|c|g|r>#<key>), scheme `simplex:` or `https://<host>`.
// We check that shape; the queue addresses inside are not decoded here.
bool looks_like_contact_link(std::string_view s) {
  if (s.rfind("simplex:", 0) == 0) {
    s.remove_prefix(8);
  } else if (s.rfind("https://", 0) == 0) {
    s.remove_prefix(8);
    size_t slash = s.find('/');
    if (slash == 0 || slash == std::string_view::npos) return false;
    s.remove_prefix(slash);
  } else {
    return false;
  }
  if (s.empty() || s[0] != '/') return false;
  s.remove_prefix(1);
  auto after_mode = [](std::string_view rest, std::string_view mode) -> std::optional<std::string_view> {
    if (rest.rfind(mode, 0) != 0) return std::nullopt;
    rest.remove_prefix(mode.size());
    if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
    if (rest.empty() || rest[0] != '#') return std::nullopt;
    return rest.substr(1);
  };
  if (auto q = after_mode(s, "contact")) {
    return q->rfind("/?", 0) == 0 && q->find("v=") != std::string_view::npos &&
           q->find("smp=") != std::string_view::npos;
  }
  for (std::string_view type : {"a", "c", "g", "r", "A", "C", "G", "R"}) {
    if (auto k = after_mode(s, type)) return !k->empty();
  }
  return false;
}

}  // namespace

ServerInformation read_information(const Source& src) {
  constexpr std::string_view S = "INFORMATION";
  ServerInformation info;
  info.source_code = src.opt_string(S, "source_code");
  if (!info.source_code) return info;  // without source_code the reference ignores the whole section
  auto text = [&](std::string_view key) { return src.opt_string(S, key); };
  auto link = [&](std::string_view key) {
    const ini::Value* v = src.find(S, key);
    if (v && !looks_like_contact_link(v->text))
      src.invalid(S, key, *v, "a SimpleX contact address (simplex:/contact#/?… or a short link)");
    return v ? std::optional<std::string>(v->text) : std::nullopt;
  };
  info.usage_conditions = text("usage_conditions");
  if (info.usage_conditions) info.condition_amendments = text("condition_amendments");
  info.server_country = src.opt_country(S, "server_country");
  info.op = text("operator");
  if (info.op) info.op_country = src.opt_country(S, "operator_country");
  info.website = text("website");
  info.admin_simplex = link("admin_simplex");
  info.admin_email = text("admin_email");
  info.complaints_simplex = link("complaints_simplex");
  info.complaints_email = text("complaints_email");
  // A PGP key is used only when both its URI and fingerprint are present.
  auto pgp = [&](std::optional<std::string>& uri, std::optional<std::string>& fp, std::string_view uri_key,
                 std::string_view fp_key) {
    uri = text(uri_key);
    fp = text(fp_key);
    if (!uri || !fp) uri.reset(), fp.reset();
  };
  pgp(info.admin_pgp, info.admin_pgp_fingerprint, "admin_pgp", "admin_pgp_fingerprint");
  pgp(info.complaints_pgp, info.complaints_pgp_fingerprint, "complaints_pgp", "complaints_pgp_fingerprint");
  info.hosting = text("hosting");
  if (info.hosting) info.hosting_country = src.opt_country(S, "hosting_country");
  info.hosting_type = src.opt_choice(S, "hosting_type", {"virtual", "dedicated", "colocation", "owned"});
  return info;
}

InactiveClients read_inactive_clients(const Source& src) {
  constexpr std::string_view S = "INACTIVE_CLIENTS";
  InactiveClients ic;
  ic.disconnect = src.opt_on_off(S, "disconnect").value_or(false);
  if (!ic.disconnect) return ic;  // ttl and check_interval are not read then, as in the reference
  auto seconds = [&](std::string_view key, std::string_view example) {
    if (src.find(S, key) == nullptr) src.missing(S, key, example, "required when disconnect = on");
    return *src.opt_int(S, key);
  };
  ic.ttl = seconds("ttl", "21600");
  ic.check_interval = seconds("check_interval", "3600");
  return ic;
}

WebConfig read_web(const Source& src) {
  constexpr std::string_view S = "WEB";
  WebConfig web;
  web.static_path = src.opt_string(S, "static_path");
  // The reference reads both ports with readMaybe: an invalid value means "no such server".
  auto lenient_port = [&](std::string_view key) -> std::optional<uint16_t> {
    const ini::Value* v = src.find(S, key);
    return v ? parse_port(v->text) : std::nullopt;
  };
  web.http = lenient_port("http");
  web.https = lenient_port("https");
  web.cert = src.opt_string(S, "cert");
  web.key = src.opt_string(S, "key");
  return web;
}

Timeouts read_timeouts(const Source& src) {
  constexpr std::string_view S = "TRANSPORT";
  Timeouts t;
  auto positive = [&](std::string_view key, int64_t def) {
    const ini::Value* v = src.find(S, key);
    if (v == nullptr) return def;
    auto i = parse_int(v->text);
    if (!i || *i <= 0) src.invalid(S, key, *v, "a positive number of seconds");
    return *i;
  };
  t.tls_handshake = positive("tls_handshake_timeout", t.tls_handshake);
  t.protocol_handshake = positive("handshake_timeout", t.protocol_handshake);
  return t;
}

}  // namespace sr::config
