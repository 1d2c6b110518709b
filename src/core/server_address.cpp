#include "core/server_address.hpp"

#include <algorithm>

namespace sr {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_b64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_' || c == '=';
}

}  // namespace

bool valid_basic_auth(std::string_view password) {
  return std::all_of(password.begin(), password.end(), [](char ch) {
    const auto c = static_cast<uint8_t>(ch);
    const bool printable = (c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c != 0xad);
    return printable && c != '@' && c != ':' && c != '/';
  });
}

ServerAddress parse_server_address(std::string_view scheme, std::string_view text) {
  const std::string prefix = std::string(scheme) + "://";
  if (text.substr(0, prefix.size()) != prefix) throw AddressError("expected " + prefix);
  std::string_view rest = text.substr(prefix.size());
  ServerAddress s;
  const size_t at = rest.find('@');
  if (at == std::string_view::npos) throw AddressError("no '@' after the key hash");
  const std::string_view cred = rest.substr(0, at);
  rest = rest.substr(at + 1);
  const size_t colon = cred.find(':');
  const std::string_view kh = cred.substr(0, colon);
  std::optional<Bytes> key_hash;
  if (!kh.empty() && std::all_of(kh.begin(), kh.end(), is_b64url)) key_hash = base64url_decode(kh);
  if (!key_hash || key_hash->empty()) throw AddressError("bad key hash");
  s.key_hash = std::move(*key_hash);
  if (colon != std::string_view::npos) {
    const std::string_view pw = cred.substr(colon + 1);
    if (pw.empty() || !valid_basic_auth(pw)) throw AddressError("bad password");
    s.basic_auth = std::string(pw);
  }
  for (;;) {
    size_t n = 0;
    if (!rest.empty() && rest[0] == '[') {
      n = rest.find(']');
      if (n == std::string_view::npos) throw AddressError("unterminated IPv6 host");
      ++n;
    } else {
      while (n < rest.size() && std::string_view(":#,;/ \n\r\t").find(rest[n]) == std::string_view::npos) ++n;
    }
    if (n == 0) throw AddressError("empty host");
    s.hosts.emplace_back(rest.substr(0, n));
    rest = rest.substr(n);
    if (rest.empty() || rest[0] != ',') break;
    rest = rest.substr(1);
  }
  if (!rest.empty()) {
    const std::string_view digits = rest[0] == ':' ? rest.substr(1) : std::string_view();
    uint32_t port = 0;
    const bool ok = !digits.empty() && digits.size() <= 5 && std::all_of(digits.begin(), digits.end(), is_digit);
    if (ok)
      for (const char c : digits) port = port * 10 + static_cast<uint32_t>(c - '0');
    if (!ok || port > 65535) throw AddressError("bad port");
    s.port = static_cast<uint16_t>(port);
  }
  return s;
}

std::string format_server_address(std::string_view scheme, const ServerAddress& s) {
  std::string out = std::string(scheme) + "://" + base64url_encode(s.key_hash);
  if (s.basic_auth) out += ":" + *s.basic_auth;
  out += "@";
  for (size_t i = 0; i < s.hosts.size(); ++i) out += (i ? "," : "") + s.hosts[i];
  if (s.port) out += ":" + std::to_string(*s.port);
  return out;
}

}  // namespace sr
