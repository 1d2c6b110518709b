// `smp-server init`: the options it takes and the smp-server.ini text it writes (server-operations.md §1.3,
// §3.6.1). The text is byte-for-byte the reference template: Docker entrypoints edit it with sed.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "core/certs.hpp"
#include "core/cli.hpp"

namespace sr::smp {

inline constexpr const char* kDefaultDbConnection = "postgresql://smp@/smp_server_store";
inline constexpr const char* kDefaultDbSchema = "smp_server";
inline constexpr int64_t kDefaultDbPoolSize = 10;
inline constexpr int64_t kDefaultControlPort = 5224;
inline constexpr const char* kDefaultSocksProxy = "127.0.0.1:9050";
inline constexpr const char* kSimplexmqSource = "https://github.com/simplex-chat/simplexmq";

struct InitOptions {
  bool enable_store_log = true;
  std::string db_connection = kDefaultDbConnection;
  std::string db_schema = kDefaultDbSchema;
  int64_t db_pool_size = kDefaultDbPoolSize;
  bool log_stats = false;
  certs::KeyAlg alg = certs::KeyAlg::Ed25519;
  std::string ip = "127.0.0.1";
  std::optional<std::string> fqdn;
  // Queue-creation password: none (--no-password), random (default) or the given one.
  enum class Password { none, random, given };
  Password password = Password::random;
  std::string given_password;
  std::optional<int64_t> control_port;
  std::optional<std::string> socks_proxy;  // normalised "host:port"
  std::optional<std::string> own_domains;  // normalised, comma-separated
  std::optional<std::string> source_code;
  // Server information (written to [INFORMATION] only when --source-code is given, checked in smp_main).
  std::optional<std::string> server_country, op, op_country, website, hosting, hosting_country, hosting_type;
  std::optional<std::string> web_path;
  bool disable_web = false;
  bool scripted = false;  // -y
};

// The values init generates, substituted into the template.
struct InitSecrets {
  std::optional<std::string> create_password;                            // absent: line commented out
  std::optional<std::pair<std::string, std::string>> control_passwords;  // admin, user (with --control-port)
};

// Host written to [TRANSPORT] host and printed in the address: FQDN, else the IP unless it is 127.0.0.1,
// else the literal "<hostnames>".
std::string init_host(const InitOptions& opts);

// The complete smp-server.ini text.
std::string ini_file_content(const cli::Paths& paths, const InitOptions& opts, const InitSecrets& secrets);

}  // namespace sr::smp
