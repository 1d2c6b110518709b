// One typed configuration from either source: the reference INI file or the native TOML file.
// Both load into a Source (section → key → text value + line), and the typed readers below turn text into
// values with errors that name the file, the line, the key and what is expected.
#pragma once
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/ini.hpp"

namespace sr::config {

// Thrown for an invalid value or a missing required key; what() is the full operator-facing message, e.g.
// "/etc/opt/simplex/smp-server.ini:42: [STORE_LOG] enable: invalid value 'yes', expected on or off".
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A loaded configuration file. TOML values are rendered to the INI text form (true → "on", false → "off",
// integers in decimal, arrays of ports joined with ",", strings as they are), so one set of typed readers
// serves both formats and INI and TOML give the same typed config.
class Source {
 public:
  static Source from_ini(const std::filesystem::path& path, std::string_view text);
  static Source from_toml(const std::filesystem::path& path, std::string_view text);  // throws ConfigError
  // Reads <path>; a .toml extension selects TOML. Throws ConfigError when unreadable.
  static Source load(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<ini::Warning>& warnings() const { return doc_.warnings; }
  bool has_section(std::string_view section) const;
  const ini::Value* find(std::string_view section, std::string_view key) const;

  // Typed readers. opt_* return nullopt when the key (or section) is absent; req_* throw
  // "<file>: no key <key> in section <SECTION>" (the reference's wording) when absent.
  std::optional<std::string> opt_string(std::string_view section, std::string_view key) const;
  std::string req_string(std::string_view section, std::string_view key) const;
  std::optional<bool> opt_on_off(std::string_view section, std::string_view key) const;
  bool req_on_off(std::string_view section, std::string_view key) const;
  std::optional<int64_t> opt_int(std::string_view section, std::string_view key) const;
  int64_t req_int(std::string_view section, std::string_view key) const;
  // Password per spec §3.2 (byte set 0x21–0x7E minus '@' ':' '/', plus 0xA1–0xAC, 0xAE–0xFF; non-empty).
  std::optional<std::string> opt_password(std::string_view section, std::string_view key) const;
  // One of `choices`, exactly.
  std::optional<std::string> opt_choice(std::string_view section, std::string_view key,
                                        std::initializer_list<std::string_view> choices) const;
  // Comma-separated ports, no spaces (e.g. "5223,443"); each 1..65535.
  std::optional<std::vector<uint16_t>> opt_ports(std::string_view section, std::string_view key) const;
  std::vector<uint16_t> req_ports(std::string_view section, std::string_view key) const;
  std::optional<uint16_t> opt_port(std::string_view section, std::string_view key) const;
  // Size with the reference syntax (N, Nkb, Nmb, Ngb; 1024-based).
  std::optional<uint64_t> opt_size(std::string_view section, std::string_view key) const;
  // Country: 2 ASCII letters, upper-cased.
  std::optional<std::string> opt_country(std::string_view section, std::string_view key) const;

  // Builds "<file>:<line>: [SECTION] key: <problem>" for a value at a known line.
  [[noreturn]] void fail(std::string_view section, std::string_view key, const ini::Value& v,
                         std::string_view problem) const;
  // fail() with "invalid value '<text>', expected <expected>".
  [[noreturn]] void invalid(std::string_view section, std::string_view key, const ini::Value& v,
                            std::string_view expected) const;
  // "<file>: no key <key> in section <SECTION>; add `<key> = <example>` to [SECTION]" (the example is given in
  // INI form and shown in TOML form for a TOML file), followed by " (<reason>)" when a reason is given.
  [[noreturn]] void missing(std::string_view section, std::string_view key, std::string_view example = {},
                            std::string_view reason = {}) const;

  bool is_toml() const { return toml_; }

 private:
  std::filesystem::path path_;
  ini::Document doc_;
  bool toml_ = false;
};

// Value syntax helpers shared by the readers, `init` option checks and the tests.
bool valid_password(std::string_view pw);
std::optional<uint64_t> parse_size(std::string_view text);  // "10gb" → 10737418240
std::string format_size(uint64_t bytes);                     // largest exact unit: 10737418240 → "10gb"
std::optional<std::string> parse_country(std::string_view text);
// Decimal with an optional leading '-' (the reference's `read` for the values operators write).
std::optional<int64_t> parse_int(std::string_view text);
// Comma-separated ports without spaces, each 1..65535.
std::optional<std::vector<uint16_t>> parse_ports(std::string_view text);
// SOCKS proxy address `[IPv4|IPv6][:port]` (IPv6 in brackets when a port follows), normalised as the reference
// prints it: "a.b.c.d:port" or "[v6]:port", host 127.0.0.1 and port 9050 when omitted; `localhost` is taken as
// 127.0.0.1 (superset, spec §8 Q7). Used for `[PROXY] socks_proxy` and `init --socks-proxy`.
std::optional<std::string> parse_socks_proxy(std::string_view text);

// A local listening address for our HTTP extensions (`prometheus_address`): "127.0.0.1:9090", "[::1]:9090" or
// ":9090" (= 127.0.0.1:9090); the host must be a literal IP address. nullopt when malformed.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
std::optional<ListenAddress> parse_listen_address(std::string_view s);

// [INFORMATION] (spec §3.3, §5.6): shared by both roles.
struct ServerInformation {
  std::optional<std::string> source_code, usage_conditions, condition_amendments, server_country, op, op_country,
      website, admin_simplex, admin_email, admin_pgp, admin_pgp_fingerprint, complaints_simplex, complaints_email,
      complaints_pgp, complaints_pgp_fingerprint, hosting, hosting_country, hosting_type;
};
ServerInformation read_information(const Source& src);

// [INACTIVE_CLIENTS]: ttl and check_interval are required when disconnect = on.
struct InactiveClients {
  bool disconnect = false;
  int64_t ttl = 0;             // seconds
  int64_t check_interval = 0;  // seconds
};
InactiveClients read_inactive_clients(const Source& src);

// [WEB] keys common to both roles.
struct WebConfig {
  std::optional<std::string> static_path;
  std::optional<uint16_t> http;   // invalid value ignored (reference)
  std::optional<uint16_t> https;  // invalid value ignored (reference); XFTP: a separate HTTPS static server
  std::optional<std::string> cert, key;
};
WebConfig read_web(const Source& src);

// Our extensions in [TRANSPORT] (ignored by the reference): handshake timeouts in seconds, keys
// `tls_handshake_timeout` and `handshake_timeout`, positive integers.
struct Timeouts {
  int64_t tls_handshake = 60;        // reference tlsSetupTimeout
  int64_t protocol_handshake = 120;  // reference smpHandshakeTimeout
};
Timeouts read_timeouts(const Source& src);

}  // namespace sr::config
