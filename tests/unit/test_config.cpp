// Typed configuration from INI and TOML (server-operations.md §3.2–§3.4, §3.6).
#include <catch2/catch.hpp>

#include "text_files.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "core/config.hpp"
#include "smp/smp_config.hpp"
#include "xftp/xftp_config.hpp"
#include "tests/reference_ini.hpp"

using namespace sr;
using config::ConfigError;
using config::Source;
using Catch::Matchers::Contains;

using sr::test::TempDir;

namespace {

constexpr std::string_view kSmpIni = sr::test::kReferenceSmpIni;

constexpr std::string_view kXftpIni = sr::test::kReferenceXftpIni;

smp::SmpConfig smp_ini(std::string_view text) {
  return smp::load_smp_config(Source::from_ini("/etc/opt/simplex/smp-server.ini", text));
}
smp::SmpConfig smp_toml(std::string_view text) {
  return smp::load_smp_config(Source::from_toml("/etc/opt/simplex/smp-server.toml", text));
}
xftp::XftpConfig xftp_ini(std::string_view text) {
  return xftp::load_xftp_config(Source::from_ini("/etc/opt/simplex-xftp/file-server.ini", text));
}
xftp::XftpConfig xftp_toml(std::string_view text) {
  return xftp::load_xftp_config(Source::from_toml("/etc/opt/simplex-xftp/file-server.toml", text));
}

// The error message of loading `text` as an SMP INI file ("" when it loads).
std::string smp_error(std::string_view text) {
  try {
    smp_ini(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
std::string smp_toml_error(std::string_view text) {
  try {
    smp_toml(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
std::string xftp_error(std::string_view text) {
  try {
    xftp_ini(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// The smallest SMP INI that loads; tests append sections or keys to it.
const std::string kMinimalSmp = "[TRANSPORT]\nport = 5223\nwebsockets = off\n";

void check_same(const config::ServerInformation& a, const config::ServerInformation& b) {
  CHECK(a.source_code == b.source_code);
  CHECK(a.usage_conditions == b.usage_conditions);
  CHECK(a.condition_amendments == b.condition_amendments);
  CHECK(a.server_country == b.server_country);
  CHECK(a.op == b.op);
  CHECK(a.op_country == b.op_country);
  CHECK(a.website == b.website);
  CHECK(a.admin_simplex == b.admin_simplex);
  CHECK(a.admin_email == b.admin_email);
  CHECK(a.admin_pgp == b.admin_pgp);
  CHECK(a.admin_pgp_fingerprint == b.admin_pgp_fingerprint);
  CHECK(a.complaints_simplex == b.complaints_simplex);
  CHECK(a.complaints_email == b.complaints_email);
  CHECK(a.complaints_pgp == b.complaints_pgp);
  CHECK(a.complaints_pgp_fingerprint == b.complaints_pgp_fingerprint);
  CHECK(a.hosting == b.hosting);
  CHECK(a.hosting_country == b.hosting_country);
  CHECK(a.hosting_type == b.hosting_type);
}

void check_same(const config::InactiveClients& a, const config::InactiveClients& b) {
  CHECK(a.disconnect == b.disconnect);
  CHECK(a.ttl == b.ttl);
  CHECK(a.check_interval == b.check_interval);
}

void check_same(const config::WebConfig& a, const config::WebConfig& b) {
  CHECK(a.static_path == b.static_path);
  CHECK(a.http == b.http);
  CHECK(a.https == b.https);
  CHECK(a.cert == b.cert);
  CHECK(a.key == b.key);
}

void check_same(const config::Timeouts& a, const config::Timeouts& b) {
  CHECK(a.tls_handshake == b.tls_handshake);
  CHECK(a.protocol_handshake == b.protocol_handshake);
}

void check_same(const smp::SmpConfig& a, const smp::SmpConfig& b) {
  check_same(a.information, b.information);
  CHECK(a.store_log == b.store_log);
  CHECK(a.store_queues == b.store_queues);
  CHECK(a.store_messages == b.store_messages);
  CHECK(a.db_connection == b.db_connection);
  CHECK(a.db_schema == b.db_schema);
  CHECK(a.db_pool_size == b.db_pool_size);
  CHECK(a.db_store_log == b.db_store_log);
  CHECK(a.db_deleted_ttl_days == b.db_deleted_ttl_days);
  CHECK(a.restore_messages == b.restore_messages);
  CHECK(a.expire_messages_days == b.expire_messages_days);
  CHECK(a.expire_messages_on_start == b.expire_messages_on_start);
  CHECK(a.expire_messages_on_send == b.expire_messages_on_send);
  CHECK(a.expire_ntfs_hours == b.expire_ntfs_hours);
  CHECK(a.log_stats == b.log_stats);
  CHECK(a.prometheus_interval == b.prometheus_interval);
  CHECK(a.new_queues == b.new_queues);
  CHECK(a.create_password == b.create_password);
  CHECK(a.control_port_admin_password == b.control_port_admin_password);
  CHECK(a.control_port_user_password == b.control_port_user_password);
  CHECK(a.daily_block_queue_quota == b.daily_block_queue_quota);
  CHECK(a.host == b.host);
  CHECK(a.port_text == b.port_text);
  CHECK(a.ports == b.ports);
  CHECK(a.log_tls_errors == b.log_tls_errors);
  CHECK(a.websocket_ports == b.websocket_ports);
  CHECK(a.control_port == b.control_port);
  CHECK(a.accept_service_credentials == b.accept_service_credentials);
  check_same(a.timeouts, b.timeouts);
  CHECK(a.host_mode == b.host_mode);
  CHECK(a.required_host_mode == b.required_host_mode);
  CHECK(a.own_server_domains == b.own_server_domains);
  CHECK(a.socks_proxy == b.socks_proxy);
  CHECK(a.socks_auth == b.socks_auth);
  CHECK(a.socks_username == b.socks_username);
  CHECK(a.socks_password == b.socks_password);
  CHECK(a.socks_mode == b.socks_mode);
  CHECK(a.client_concurrency == b.client_concurrency);
  check_same(a.inactive_clients, b.inactive_clients);
  check_same(a.web, b.web);
}

void check_same(const xftp::XftpConfig& a, const xftp::XftpConfig& b) {
  check_same(a.information, b.information);
  CHECK(a.store_log == b.store_log);
  CHECK(a.store_files == b.store_files);
  CHECK(a.db_connection == b.db_connection);
  CHECK(a.db_schema == b.db_schema);
  CHECK(a.db_pool_size == b.db_pool_size);
  CHECK(a.db_store_log == b.db_store_log);
  CHECK(a.expire_files_hours == b.expire_files_hours);
  CHECK(a.log_stats == b.log_stats);
  CHECK(a.prometheus_interval == b.prometheus_interval);
  CHECK(a.new_files == b.new_files);
  CHECK(a.create_password == b.create_password);
  CHECK(a.control_port_admin_password == b.control_port_admin_password);
  CHECK(a.control_port_user_password == b.control_port_user_password);
  CHECK(a.host == b.host);
  CHECK(a.port_text == b.port_text);
  CHECK(a.port == b.port);
  CHECK(a.log_tls_errors == b.log_tls_errors);
  CHECK(a.control_port == b.control_port);
  check_same(a.timeouts, b.timeouts);
  CHECK(a.files_path == b.files_path);
  CHECK(a.storage_quota == b.storage_quota);
  check_same(a.inactive_clients, b.inactive_clients);
  check_same(a.web, b.web);
}

}  // namespace

// --- the generated files --------------------------------------------------------------------------------------

TEST_CASE("config: the SMP INI written by init (spec 3.6.1) loads into the expected values", "[config]") {
  // fixture integrity: 155 lines, LF only, ends with one LF
  CHECK(std::count(kSmpIni.begin(), kSmpIni.end(), '\n') == 155);
  CHECK(kSmpIni.back() == '\n');
  CHECK(kSmpIni.find("# website = \n") != std::string_view::npos);

  auto src = Source::from_ini("/etc/opt/simplex/smp-server.ini", kSmpIni);
  CHECK(src.warnings().empty());
  auto c = smp::load_smp_config(src);
  // no source_code: every [INFORMATION] key is ignored, hosting_type too
  CHECK_FALSE(c.information.source_code);
  CHECK_FALSE(c.information.hosting_type);
  CHECK(c.store_log);
  CHECK(c.store_queues == "memory");
  CHECK(c.store_messages == "memory");
  CHECK(c.db_connection == "postgresql://smp@/smp_server_store");
  CHECK(c.db_schema == "smp_server");
  CHECK(c.db_pool_size == 10);
  CHECK_FALSE(c.db_store_log);
  CHECK(c.db_deleted_ttl_days == 21);
  CHECK(c.restore_messages);
  CHECK(c.expire_messages_days == 21);
  CHECK(c.expire_messages_on_start);
  CHECK_FALSE(c.expire_messages_on_send);  // init writes off (§8 Q5)
  CHECK(c.expire_ntfs_hours == 24);
  CHECK_FALSE(c.log_stats);
  CHECK_FALSE(c.prometheus_interval);
  CHECK(c.new_queues);
  CHECK_FALSE(c.create_password);
  CHECK_FALSE(c.control_port_admin_password);
  CHECK_FALSE(c.control_port_user_password);
  CHECK(c.daily_block_queue_quota == 20);
  CHECK(c.host == std::optional<std::string>("<hostnames>"));
  CHECK(c.port_text == "5223,443");
  CHECK(c.ports == std::vector<uint16_t>{5223, 443});
  CHECK_FALSE(c.log_tls_errors);
  CHECK(c.websocket_ports.empty());
  CHECK_FALSE(c.control_port);
  CHECK(c.accept_service_credentials);
  CHECK(c.timeouts.tls_handshake == 60);
  CHECK(c.timeouts.protocol_handshake == 120);
  CHECK(c.host_mode == "public");
  CHECK_FALSE(c.required_host_mode);
  CHECK(c.own_server_domains.empty());
  CHECK_FALSE(c.socks_proxy);
  CHECK(c.socks_mode == "onion");
  CHECK(c.client_concurrency == 32);
  CHECK(c.inactive_clients.disconnect);
  CHECK(c.inactive_clients.ttl == 21600);
  CHECK(c.inactive_clients.check_interval == 3600);
  CHECK(c.web.static_path == std::optional<std::string>("/var/opt/simplex/www"));
  CHECK_FALSE(c.web.http);
  CHECK(c.web.https == std::optional<uint16_t>(443));
  CHECK(c.web.cert == std::optional<std::string>("/etc/opt/simplex/web.crt"));
  CHECK(c.web.key == std::optional<std::string>("/etc/opt/simplex/web.key"));
}

TEST_CASE("config: the XFTP INI written by init (spec 3.6.2) loads into the expected values", "[config]") {
  CHECK(std::count(kXftpIni.begin(), kXftpIni.end(), '\n') == 89);
  auto src = Source::from_ini("/etc/opt/simplex-xftp/file-server.ini", kXftpIni);
  CHECK(src.warnings().empty());
  auto c = xftp::load_xftp_config(src);
  CHECK_FALSE(c.information.source_code);
  CHECK(c.store_log);
  CHECK(c.store_files == "memory");
  CHECK(c.db_connection == "postgresql://xftp@/xftp_server_store");
  CHECK(c.db_schema == "xftp_server");
  CHECK(c.db_pool_size == 10);
  CHECK(c.expire_files_hours == 48);
  CHECK_FALSE(c.log_stats);
  CHECK_FALSE(c.prometheus_interval);
  CHECK(c.new_files);
  CHECK_FALSE(c.create_password);
  CHECK(c.host == std::optional<std::string>("<hostnames>"));
  CHECK(c.port_text == "443");
  CHECK(c.port == 443);
  CHECK_FALSE(c.log_tls_errors);
  CHECK_FALSE(c.control_port);
  CHECK(c.files_path == "/srv/xftp");
  CHECK(c.storage_quota == std::optional<uint64_t>(10ull << 30));
  CHECK_FALSE(c.inactive_clients.disconnect);
  CHECK(c.web.static_path == std::optional<std::string>("/var/opt/simplex-xftp/www"));
  CHECK_FALSE(c.web.http);
  CHECK_FALSE(c.web.https);
  CHECK_FALSE(c.web.cert);
  CHECK_FALSE(c.web.key);
}

// --- TOML gives the same typed config --------------------------------------------------------------------------

TEST_CASE("config: a TOML file equivalent to the generated SMP INI gives the same config", "[config]") {
  auto toml = R"(
[INFORMATION]
hosting_type = "virtual"

[STORE_LOG]
enable = true
store_queues = "memory"
store_messages = "memory"
restore_messages = true
expire_messages_days = 21
expire_messages_on_start = true
expire_messages_on_send = false
expire_ntfs_hours = 24
log_stats = false

[AUTH]
new_queues = true

[TRANSPORT]
host = "<hostnames>"
port = [5223, 443]
log_tls_errors = false
websockets = false

[PROXY]

[INACTIVE_CLIENTS]
disconnect = true
ttl = 21600
check_interval = 3600

[WEB]
static_path = "/var/opt/simplex/www"
https = 443
cert = "/etc/opt/simplex/web.crt"
key = "/etc/opt/simplex/web.key"
)";
  check_same(smp_ini(kSmpIni), smp_toml(toml));
}

TEST_CASE("config: a TOML file equivalent to the generated XFTP INI gives the same config", "[config]") {
  auto toml = R"(
[STORE_LOG]
enable = true
store_files = "memory"
expire_files_hours = 48
log_stats = false

[AUTH]
new_files = true

[TRANSPORT]
host = "<hostnames>"
port = 443
log_tls_errors = false

[FILES]
path = "/srv/xftp"
storage_quota = "10gb"

[INACTIVE_CLIENTS]
disconnect = false

[WEB]
static_path = "/var/opt/simplex-xftp/www"
)";
  check_same(xftp_ini(kXftpIni), xftp_toml(toml));
}

TEST_CASE("config: every SMP key set away from its default, in INI and in TOML", "[config]") {
  auto ini = R"([INFORMATION]
source_code = https://example.com/src
usage_conditions = https://example.com/conditions
condition_amendments = https://example.com/amendments
server_country = de
operator = Example Ltd
operator_country = gb
website = https://example.com
admin_simplex = simplex:/contact#/?v=2-7&smp=smp%3A%2F%2Fabc%40example.com
admin_email = admin@example.com
admin_pgp = https://example.com/key.asc
admin_pgp_fingerprint = ABCDEF
complaints_email = abuse@example.com
complaints_pgp = https://example.com/only-uri.asc
hosting = Hoster
hosting_country = NL
hosting_type = dedicated

[STORE_LOG]
enable = on
store_queues = database
store_messages = journal
db_connection = postgresql://u@/db
db_schema = s
db_pool_size = 4
db_store_log = on
db_deleted_ttl = 7
restore_messages = off
expire_messages_days = 7
expire_messages_on_start = off
expire_messages_on_send = on
expire_ntfs_hours = 12
log_stats = on
prometheus_interval = 30

[AUTH]
new_queues = off
create_password = s3cr3t
control_port_admin_password = admin!
control_port_user_password = user~
daily_block_queue_quota = -1

[TRANSPORT]
host = smp.example.com,abc.onion
port = 5223,443
log_tls_errors = on
websockets = 443,8080
control_port = 5224
accept_service_credentials = off
tls_handshake_timeout = 10
handshake_timeout = 30

[PROXY]
host_mode = onion
required_host_mode = on
own_server_domains = example.com, example.net  example.org
socks_proxy = user:pw@[::1]:1080
socks_mode = always
client_concurrency = 8

[INACTIVE_CLIENTS]
disconnect = on
ttl = 600
check_interval = 60

[WEB]
static_path = /srv/www
http = 8000
https = 8443
cert = /c.crt
key = /c.key
)";
  auto toml = R"(
[INFORMATION]
source_code = "https://example.com/src"
usage_conditions = "https://example.com/conditions"
condition_amendments = "https://example.com/amendments"
server_country = "de"
operator = "Example Ltd"
operator_country = "gb"
website = "https://example.com"
admin_simplex = "simplex:/contact#/?v=2-7&smp=smp%3A%2F%2Fabc%40example.com"
admin_email = "admin@example.com"
admin_pgp = "https://example.com/key.asc"
admin_pgp_fingerprint = "ABCDEF"
complaints_email = "abuse@example.com"
complaints_pgp = "https://example.com/only-uri.asc"
hosting = "Hoster"
hosting_country = "NL"
hosting_type = "dedicated"

[STORE_LOG]
enable = true
store_queues = "database"
store_messages = "journal"
db_connection = "postgresql://u@/db"
db_schema = "s"
db_pool_size = 4
db_store_log = true
db_deleted_ttl = 7
restore_messages = false
expire_messages_days = 7
expire_messages_on_start = false
expire_messages_on_send = true
expire_ntfs_hours = 12
log_stats = true
prometheus_interval = 30

[AUTH]
new_queues = false
create_password = "s3cr3t"
control_port_admin_password = "admin!"
control_port_user_password = "user~"
daily_block_queue_quota = -1

[TRANSPORT]
host = "smp.example.com,abc.onion"
port = "5223,443"
log_tls_errors = true
websockets = [443, 8080]
control_port = 5224
accept_service_credentials = false
tls_handshake_timeout = 10
handshake_timeout = 30

[PROXY]
host_mode = "onion"
required_host_mode = true
own_server_domains = "example.com, example.net  example.org"
socks_proxy = "user:pw@[::1]:1080"
socks_mode = "always"
client_concurrency = 8

[INACTIVE_CLIENTS]
disconnect = true
ttl = 600
check_interval = 60

[WEB]
static_path = "/srv/www"
http = 8000
https = 8443
cert = "/c.crt"
key = "/c.key"
)";
  auto c = smp_ini(ini);
  check_same(c, smp_toml(toml));

  const auto& i = c.information;
  CHECK(i.source_code == std::optional<std::string>("https://example.com/src"));
  CHECK(i.condition_amendments == std::optional<std::string>("https://example.com/amendments"));
  CHECK(i.server_country == std::optional<std::string>("DE"));
  CHECK(i.op == std::optional<std::string>("Example Ltd"));
  CHECK(i.op_country == std::optional<std::string>("GB"));
  CHECK(i.admin_pgp == std::optional<std::string>("https://example.com/key.asc"));
  CHECK(i.admin_pgp_fingerprint == std::optional<std::string>("ABCDEF"));
  CHECK_FALSE(i.complaints_pgp);  // used only with a fingerprint
  CHECK(i.hosting_country == std::optional<std::string>("NL"));
  CHECK(i.hosting_type == std::optional<std::string>("dedicated"));

  CHECK(c.store_queues == "database");
  CHECK(c.store_messages == "journal");
  CHECK(c.db_connection == "postgresql://u@/db");
  CHECK(c.db_pool_size == 4);
  CHECK(c.db_store_log);
  CHECK(c.db_deleted_ttl_days == 7);
  CHECK_FALSE(c.restore_messages);
  CHECK(c.expire_messages_on_send);
  CHECK(c.prometheus_interval == std::optional<int64_t>(30));
  CHECK_FALSE(c.new_queues);
  CHECK(c.create_password == std::optional<std::string>("s3cr3t"));
  CHECK(c.daily_block_queue_quota == -1);
  CHECK(c.websocket_ports == std::vector<uint16_t>{8080});  // 443 already serves SMP
  CHECK(c.control_port == std::optional<uint16_t>(5224));
  CHECK_FALSE(c.accept_service_credentials);
  CHECK(c.timeouts.tls_handshake == 10);
  CHECK(c.timeouts.protocol_handshake == 30);
  CHECK(c.host_mode == "onion");
  CHECK(c.own_server_domains == std::vector<std::string>{"example.com", "example.net", "example.org"});
  CHECK(c.socks_proxy == std::optional<std::string>("[::1]:1080"));
  CHECK(c.socks_auth == smp::SmpConfig::SocksAuth::username);
  CHECK(c.socks_username == "user");
  CHECK(c.socks_password == "pw");
  CHECK(c.socks_mode == "always");
  CHECK(c.client_concurrency == 8);
  CHECK(c.inactive_clients.ttl == 600);
  CHECK(c.web.http == std::optional<uint16_t>(8000));
  CHECK(c.web.https == std::optional<uint16_t>(8443));
}

TEST_CASE("config: every XFTP key set away from its default, in INI and in TOML", "[config]") {
  auto ini = R"([INFORMATION]
source_code = https://example.com/src
server_country = fr

[STORE_LOG]
enable = off
store_files = database
db_connection = postgresql://x@/y
db_schema = z
db_pool_size = 3
db_store_log = on
expire_files_hours = 24
log_stats = on
prometheus_interval = 15

[AUTH]
new_files = off
create_password = upload
control_port_admin_password = a
control_port_user_password = u

[TRANSPORT]
host = files.example.com
port = 8443
log_tls_errors = on
control_port = 5226
tls_handshake_timeout = 5
handshake_timeout = 7

[FILES]
path = /data/xftp
storage_quota = 512mb

[INACTIVE_CLIENTS]
disconnect = on
ttl = 100
check_interval = 10

[WEB]
static_path = /w
http = 80
https = 444
cert = /w.crt
key = /w.key
)";
  auto toml = R"(
[INFORMATION]
source_code = "https://example.com/src"
server_country = "fr"

[STORE_LOG]
enable = false
store_files = "database"
db_connection = "postgresql://x@/y"
db_schema = "z"
db_pool_size = 3
db_store_log = true
expire_files_hours = 24
log_stats = true
prometheus_interval = 15

[AUTH]
new_files = false
create_password = "upload"
control_port_admin_password = "a"
control_port_user_password = "u"

[TRANSPORT]
host = "files.example.com"
port = 8443
log_tls_errors = true
control_port = 5226
tls_handshake_timeout = 5
handshake_timeout = 7

[FILES]
path = "/data/xftp"
storage_quota = "512mb"

[INACTIVE_CLIENTS]
disconnect = true
ttl = 100
check_interval = 10

[WEB]
static_path = "/w"
http = 80
https = 444
cert = "/w.crt"
key = "/w.key"
)";
  auto c = xftp_ini(ini);
  check_same(c, xftp_toml(toml));
  CHECK(c.information.server_country == std::optional<std::string>("FR"));
  CHECK(c.store_files == "database");
  CHECK(c.db_pool_size == 3);
  CHECK(c.port == 8443);
  CHECK(c.port_text == "8443");
  CHECK(c.storage_quota == std::optional<uint64_t>(512ull << 20));
  CHECK(c.timeouts.tls_handshake == 5);
  CHECK(c.inactive_clients.check_interval == 10);
}

// --- defaults and reference behaviours --------------------------------------------------------------------------

TEST_CASE("config: SMP defaults for absent keys", "[config]") {
  auto c = smp_ini(kMinimalSmp);
  CHECK_FALSE(c.store_log);
  CHECK_FALSE(c.restore_messages);
  CHECK(c.expire_messages_on_send);  // absent → on
  CHECK(c.expire_messages_on_start);
  CHECK(c.new_queues);
  CHECK_FALSE(c.host);
  CHECK(c.accept_service_credentials);
  CHECK_FALSE(c.inactive_clients.disconnect);
  CHECK_FALSE(c.web.static_path);

  // restore_messages follows enable when absent
  CHECK(smp_ini(kMinimalSmp + "[STORE_LOG]\nenable = on\n").restore_messages);
  CHECK_FALSE(smp_ini(kMinimalSmp + "[STORE_LOG]\nenable = on\nrestore_messages = off\n").restore_messages);
}

TEST_CASE("config: PostgreSQL keys are read only with a database store, as the reference does", "[config]") {
  auto c = smp_ini(kMinimalSmp + "[STORE_LOG]\ndb_pool_size = many\ndb_schema = other\n");
  CHECK(c.db_pool_size == 10);
  CHECK(c.db_schema == "smp_server");
  CHECK_THAT(smp_error(kMinimalSmp + "[STORE_LOG]\nstore_queues = database\nstore_messages = journal\n"
                                     "db_pool_size = many\n"),
             Contains("smp-server.ini:7: [STORE_LOG] db_pool_size: invalid value 'many', expected an integer"));
}

TEST_CASE("config: websockets off, on and port lists", "[config]") {
  const std::string ports = "[TRANSPORT]\nport = 5223,443\n";
  CHECK(smp_ini(ports + "websockets = off\n").websocket_ports.empty());
  CHECK(smp_ini(ports + "websockets = on\n").websocket_ports == std::vector<uint16_t>{80});
  CHECK(smp_ini(ports + "websockets = 443\n").websocket_ports.empty());
  CHECK(smp_ini(ports + "websockets = 80,443,8080\n").websocket_ports == std::vector<uint16_t>{80, 8080});
  CHECK_THAT(smp_error(ports + "websockets = yes\n"),
             Contains("smp-server.ini:3: [TRANSPORT] websockets: invalid value 'yes', expected off, on"));
}

TEST_CASE("config: socks_proxy forms", "[config]") {
  auto proxy = [](const std::string& v) {
    return smp_ini(kMinimalSmp + "[PROXY]\nsocks_proxy = " + v + "\n");
  };
  CHECK(proxy("127.0.0.1:9050").socks_proxy == std::optional<std::string>("127.0.0.1:9050"));
  CHECK(proxy("localhost:9050").socks_proxy == std::optional<std::string>("127.0.0.1:9050"));  // §8 Q7 superset
  CHECK(proxy(":1080").socks_proxy == std::optional<std::string>("127.0.0.1:1080"));
  CHECK(proxy("10.0.0.1").socks_proxy == std::optional<std::string>("10.0.0.1:9050"));
  CHECK(proxy("").socks_proxy == std::optional<std::string>("127.0.0.1:9050"));
  CHECK(proxy("::1").socks_proxy == std::optional<std::string>("[::1]:9050"));
  CHECK(proxy("[::1]:1080").socks_proxy == std::optional<std::string>("[::1]:1080"));
  auto isolate = proxy("127.0.0.1:9050");
  CHECK(isolate.socks_auth == smp::SmpConfig::SocksAuth::isolate);
  auto none = proxy("@127.0.0.1:9050");
  CHECK(none.socks_auth == smp::SmpConfig::SocksAuth::none);
  CHECK(none.socks_proxy == std::optional<std::string>("127.0.0.1:9050"));
  auto creds = proxy("alice:pw@:9999");
  CHECK(creds.socks_auth == smp::SmpConfig::SocksAuth::username);
  CHECK(creds.socks_username == "alice");
  CHECK(creds.socks_password == "pw");
  CHECK(creds.socks_proxy == std::optional<std::string>("127.0.0.1:9999"));
  for (std::string bad : {"example.com:9050", "127.0.0.1:", "127.0.0.256:9050", "127.0.0.1:70000", "[::1",
                          "1.2.3.4 :9050", "1234:9050"}) {
    INFO(bad);
    CHECK_THAT(smp_error(kMinimalSmp + "[PROXY]\nsocks_proxy = " + bad + "\n"),
               Contains("smp-server.ini:5: [PROXY] socks_proxy: invalid value"));
  }
}

TEST_CASE("config: parse_socks_proxy normalises as init writes it", "[config]") {
  CHECK(config::parse_socks_proxy("") == std::optional<std::string>("127.0.0.1:9050"));
  CHECK(config::parse_socks_proxy("192.168.1.2:9150") == std::optional<std::string>("192.168.1.2:9150"));
  CHECK(config::parse_socks_proxy("010.0.0.1") == std::optional<std::string>("10.0.0.1:9050"));
  CHECK(config::parse_socks_proxy("[2001:DB8:0:0::1]") == std::optional<std::string>("[2001:db8::1]:9050"));
  CHECK_FALSE(config::parse_socks_proxy("@127.0.0.1"));  // no auth part for init's option
  CHECK_FALSE(config::parse_socks_proxy("1.2.3"));
  CHECK_FALSE(config::parse_socks_proxy("[::1]::1"));
  CHECK(config::parse_socks_proxy("::") == std::optional<std::string>("[::]:9050"));
}

TEST_CASE("config: own_server_domains split on white space and commas", "[config]") {
  auto c = smp_ini(kMinimalSmp + "[PROXY]\nown_server_domains = a.com,b.net  c.org\t,d.io,\n");
  CHECK(c.own_server_domains == std::vector<std::string>{"a.com", "b.net", "c.org", "d.io"});
  CHECK(smp_ini(kMinimalSmp + "[PROXY]\nown_server_domains =\n").own_server_domains.empty());
}

TEST_CASE("config: prometheus_interval that is not a number silently disables metrics", "[config]") {
  CHECK_FALSE(smp_ini(kMinimalSmp + "[STORE_LOG]\nprometheus_interval = soon\n").prometheus_interval);
  CHECK_FALSE(smp_ini(kMinimalSmp + "[STORE_LOG]\nprometheus_interval = 0\n").prometheus_interval);
  CHECK(smp_ini(kMinimalSmp + "[STORE_LOG]\nprometheus_interval = 60\n").prometheus_interval ==
        std::optional<int64_t>(60));
}

TEST_CASE("config: [WEB] http and https that are not ports are ignored like the reference", "[config]") {
  auto c = smp_ini(kMinimalSmp + "[WEB]\nhttp = eighty\nhttps = 99999\ncert = /c\n");
  CHECK_FALSE(c.web.http);
  CHECK_FALSE(c.web.https);
  CHECK(c.web.cert == std::optional<std::string>("/c"));
}

TEST_CASE("config: [INFORMATION] is ignored entirely without source_code", "[config]") {
  auto c = smp_ini(kMinimalSmp + "[INFORMATION]\nserver_country = not a country\nhosting_type = castle\n"
                                 "operator = X\n");
  CHECK_FALSE(c.information.server_country);
  CHECK_FALSE(c.information.hosting_type);
  CHECK_FALSE(c.information.op);
}

TEST_CASE("config: [INFORMATION] values and their checks", "[config]") {
  const std::string info = kMinimalSmp + "[INFORMATION]\nsource_code = https://x\n";
  // operator_country and hosting_country are used only with operator and hosting (not even checked otherwise)
  auto c = smp_ini(info + "operator_country = bad\nhosting_country = bad\n");
  CHECK_FALSE(c.information.op_country);
  CHECK_FALSE(c.information.hosting_country);
  CHECK_THAT(smp_error(info + "operator = O\noperator_country = GBR\n"),
             Contains("smp-server.ini:7: [INFORMATION] operator_country: invalid value 'GBR', expected an ISO3166"));
  CHECK_THAT(smp_error(info + "hosting_type = castle\n"),
             Contains("smp-server.ini:6: [INFORMATION] hosting_type: invalid value 'castle', expected virtual, "
                      "dedicated, colocation or owned"));
  CHECK_THAT(smp_error(info + "admin_simplex = mailto:x@y\n"),
             Contains("smp-server.ini:6: [INFORMATION] admin_simplex: invalid value 'mailto:x@y'"));
  CHECK(smp_ini(info + "admin_simplex = https://smp.example.com/a#k3y?h=b.example.com\n").information.admin_simplex);
  CHECK(smp_ini(info + "complaints_simplex = simplex:/c#abc\n").information.complaints_simplex);
  CHECK_THAT(smp_error(info + "admin_simplex = simplex:/invitation#/?v=2&smp=x\n"),
             Contains("admin_simplex: invalid value"));
  // condition_amendments only with usage_conditions
  CHECK_FALSE(smp_ini(info + "condition_amendments = x\n").information.condition_amendments);
}

TEST_CASE("config: inactive client settings", "[config]") {
  // ttl/check_interval are not read while disconnect = off
  auto off = smp_ini(kMinimalSmp + "[INACTIVE_CLIENTS]\ndisconnect = off\nttl = never\n");
  CHECK_FALSE(off.inactive_clients.disconnect);
  CHECK_THAT(smp_error(kMinimalSmp + "[INACTIVE_CLIENTS]\ndisconnect = on\nttl = 60\n"),
             Contains("smp-server.ini: no key check_interval in section INACTIVE_CLIENTS; add `check_interval = "
                      "3600` to [INACTIVE_CLIENTS] (required when disconnect = on)"));
}

TEST_CASE("config: handshake timeouts in [TRANSPORT]", "[config]") {
  auto c = smp_ini(kMinimalSmp + "tls_handshake_timeout = 15\n");
  CHECK(c.timeouts.tls_handshake == 15);
  CHECK(c.timeouts.protocol_handshake == 120);
  CHECK_THAT(smp_error(kMinimalSmp + "handshake_timeout = 0\n"),
             Contains("smp-server.ini:4: [TRANSPORT] handshake_timeout: invalid value '0', expected a positive"));
  CHECK_THAT(smp_error(kMinimalSmp + "tls_handshake_timeout = 1m\n"),
             Contains("[TRANSPORT] tls_handshake_timeout: invalid value '1m'"));
}

TEST_CASE("config: malformed INI lines are warnings and the rest still loads", "[config]") {
  auto src = Source::from_ini("x.ini", "[TRANSPORT]\nport = 5223\nwhat is this\nwebsockets = off\n");
  REQUIRE(src.warnings().size() == 1);
  CHECK(src.warnings()[0].line == 3);
  CHECK(smp::load_smp_config(src).websocket_ports.empty());
}

// --- errors: file, line, key and what is expected ---------------------------------------------------------------

TEST_CASE("config: invalid on/off, including the colon quirk", "[config]") {
  CHECK(smp_error(kMinimalSmp + "[STORE_LOG]\nenable = yes\n") ==
        "/etc/opt/simplex/smp-server.ini:5: [STORE_LOG] enable: invalid value 'yes', expected on or off");
  CHECK(smp_error(kMinimalSmp + "[STORE_LOG]\nenable = On\n") ==
        "/etc/opt/simplex/smp-server.ini:5: [STORE_LOG] enable: invalid value 'On', expected on or off");
  // `new_files:on` drops the 'o' (ini 0.4.1)
  CHECK(xftp_error("[TRANSPORT]\nport = 443\n[FILES]\npath = /f\n[AUTH]\nnew_files:on\n") ==
        "/etc/opt/simplex-xftp/file-server.ini:6: [AUTH] new_files: invalid value 'n', expected on or off");
  CHECK(xftp_ini("[TRANSPORT]\nport = 443\n[FILES]\npath = /f\n[AUTH]\nnew_files: off\n").new_files == false);
}

TEST_CASE("config: invalid integers", "[config]") {
  CHECK(smp_error(kMinimalSmp + "[STORE_LOG]\nexpire_messages_days = 21d\n") ==
        "/etc/opt/simplex/smp-server.ini:5: [STORE_LOG] expire_messages_days: invalid value '21d', "
        "expected an integer");
  CHECK_THAT(smp_error(kMinimalSmp + "[AUTH]\ndaily_block_queue_quota = +5\n"),
             Contains(":5: [AUTH] daily_block_queue_quota: invalid value '+5', expected an integer"));
  CHECK_THAT(smp_error(kMinimalSmp + "[PROXY]\nclient_concurrency = 99999999999999999999\n"),
             Contains(":5: [PROXY] client_concurrency: invalid value"));
  CHECK_THAT(smp_error(kMinimalSmp + "[PROXY]\nclient_concurrency = 0\n"),
             Contains(":5: [PROXY] client_concurrency: invalid value '0', expected a positive integer"));
  CHECK(smp_ini(kMinimalSmp + "[STORE_LOG]\nexpire_ntfs_hours = -3\n").expire_ntfs_hours == -3);
}

TEST_CASE("config: passwords", "[config]") {
  CHECK(smp_error(kMinimalSmp + "[AUTH]\ncreate_password = a@b\n") ==
        "/etc/opt/simplex/smp-server.ini:5: [AUTH] create_password: invalid password, expected printable ASCII "
        "characters without whitespace, '@', ':' and '/'");
  CHECK_THAT(smp_error(kMinimalSmp + "[AUTH]\ncontrol_port_user_password = a b\n"),
             Contains(":5: [AUTH] control_port_user_password: invalid password"));
  CHECK(smp_error(kMinimalSmp + "[AUTH]\ncreate_password =\n") ==
        "/etc/opt/simplex/smp-server.ini:5: [AUTH] create_password: empty password is invalid; comment the line "
        "out to disable the password");
  CHECK(smp_ini(kMinimalSmp + "[AUTH]\ncreate_password = caf\xC3\xA9!\n").create_password ==
        std::optional<std::string>("caf\xC3\xA9!"));
}

TEST_CASE("config: valid_password uses the reference's byte set", "[config]") {
  CHECK(config::valid_password("abcXYZ019!~"));
  CHECK(config::valid_password("\xC3\xA9"));        // é: C3 A9
  CHECK_FALSE(config::valid_password(""));
  CHECK_FALSE(config::valid_password("\xC2\xAD"));  // soft hyphen byte AD
  CHECK_FALSE(config::valid_password("\xC2\x80"));  // 0x80–0xA0
  CHECK_FALSE(config::valid_password("\xC2\xA0"));  // no-break space
  for (char c : std::string("@:/ \t\x7f")) CHECK_FALSE(config::valid_password(std::string("a") + c));
}

TEST_CASE("config: missing required keys name the key, the section and the fix", "[config]") {
  CHECK(smp_error("[TRANSPORT]\nwebsockets = off\n") ==
        "/etc/opt/simplex/smp-server.ini: no key port in section TRANSPORT; add `port = 5223,443` to [TRANSPORT]");
  CHECK(smp_error("[TRANSPORT]\nport = 5223\n") ==
        "/etc/opt/simplex/smp-server.ini: no key websockets in section TRANSPORT; add `websockets = off` to "
        "[TRANSPORT]");
  CHECK(smp_error("") ==
        "/etc/opt/simplex/smp-server.ini: no key port in section TRANSPORT; add `port = 5223,443` to [TRANSPORT]");
  CHECK(xftp_error("[TRANSPORT]\nport = 443\n") ==
        "/etc/opt/simplex-xftp/file-server.ini: no key path in section FILES; add `path = /srv/xftp` to [FILES]");
  // a TOML file gets the hint in TOML syntax
  CHECK(smp_toml_error("[TRANSPORT]\nwebsockets = false\n") ==
        "/etc/opt/simplex/smp-server.toml: no key port in section TRANSPORT; add `port = [5223, 443]` to "
        "[TRANSPORT]");
}

TEST_CASE("config: ports", "[config]") {
  CHECK(smp_error("[TRANSPORT]\nport = 5223, 443\nwebsockets = off\n") ==
        "/etc/opt/simplex/smp-server.ini:2: [TRANSPORT] port: invalid value '5223, 443', expected "
        "comma-separated ports 1-65535 without spaces, e.g. 5223,443");
  CHECK_THAT(smp_error("[TRANSPORT]\nport = 0\nwebsockets = off\n"), Contains(":2: [TRANSPORT] port: invalid"));
  CHECK_THAT(smp_error(kMinimalSmp + "control_port = 65536\n"),
             Contains(":4: [TRANSPORT] control_port: invalid value '65536', expected a port number 1-65535"));
  CHECK_THAT(xftp_error("[TRANSPORT]\nport = 443,8443\n[FILES]\npath = /f\n"),
             Contains("file-server.ini:2: [TRANSPORT] port: invalid value '443,8443', expected a port number"));
  CHECK(config::parse_ports("1,65535") == std::optional<std::vector<uint16_t>>({1, 65535}));
  CHECK_FALSE(config::parse_ports(""));
  CHECK_FALSE(config::parse_ports("443,"));
  CHECK_FALSE(config::parse_ports("-1"));
}

TEST_CASE("config: store_queues and store_messages pairs", "[config]") {
  auto stores = [](const std::string& q, const std::string& m) {
    return kMinimalSmp + "[STORE_LOG]\nstore_queues = " + q + "\nstore_messages = " + m + "\n";
  };
  CHECK(smp_error(stores("memory", "memory")).empty());
  CHECK(smp_error(stores("memory", "journal")).empty());
  CHECK(smp_error(stores("database", "journal")).empty());
  CHECK(smp_error(stores("database", "database")).empty());
  CHECK(smp_error(stores("memory", "database")) ==
        "/etc/opt/simplex/smp-server.ini:6: [STORE_LOG] store_messages: store_queues = memory cannot be used with "
        "store_messages = database; valid pairs: memory + memory, memory + journal, database + journal, "
        "database + database");
  CHECK_THAT(smp_error(kMinimalSmp + "[STORE_LOG]\nstore_queues = database\n"),
             Contains(":5: [STORE_LOG] store_queues: store_queues = database cannot be used with store_messages = "
                      "memory"));
  CHECK(smp_error(stores("redis", "memory")) ==
        "/etc/opt/simplex/smp-server.ini:5: [STORE_LOG] store_queues: invalid value 'redis', expected memory or "
        "database");
  CHECK_THAT(xftp_error("[TRANSPORT]\nport = 443\n[FILES]\npath = /f\n[STORE_LOG]\nstore_files = journal\n"),
             Contains(":6: [STORE_LOG] store_files: invalid value 'journal', expected memory or database"));
}

TEST_CASE("config: countries", "[config]") {
  CHECK(smp_error(kMinimalSmp + "[INFORMATION]\nsource_code = https://x\nserver_country = U1\n") ==
        "/etc/opt/simplex/smp-server.ini:6: [INFORMATION] server_country: invalid value 'U1', expected an ISO3166 "
        "2-letter country code");
  CHECK(config::parse_country("us") == std::optional<std::string>("US"));
  CHECK(config::parse_country("uS") == std::optional<std::string>("US"));
  CHECK_FALSE(config::parse_country("USA"));
  CHECK_FALSE(config::parse_country("\xC3\xA9"));  // 2 bytes, not ASCII letters
  CHECK_FALSE(config::parse_country(""));
}

TEST_CASE("config: sizes", "[config]") {
  CHECK(xftp_error("[TRANSPORT]\nport = 443\n[FILES]\npath = /f\nstorage_quota = 10GB\n") ==
        "/etc/opt/simplex-xftp/file-server.ini:5: [FILES] storage_quota: invalid value '10GB', expected a size: "
        "<n> (bytes), <n>kb, <n>mb or <n>gb, e.g. 10gb");
  for (std::string_view bad : {"", "gb", "10 gb", "10tb", "-1", "1.5gb", "10g", "9999999999999gb"}) {
    INFO(bad);
    CHECK_FALSE(config::parse_size(bad));
  }
  CHECK(config::parse_size("0") == std::optional<uint64_t>(0));
  CHECK(config::parse_size("1023") == std::optional<uint64_t>(1023));
  CHECK(config::parse_size("1kb") == std::optional<uint64_t>(1024));
  CHECK(config::parse_size("10240mb") == std::optional<uint64_t>(10ull << 30));
  CHECK(config::parse_size("8589934591gb") == std::optional<uint64_t>(8589934591ull << 30));

  CHECK(config::format_size(10ull << 30) == "10gb");
  CHECK(config::format_size(1024ull << 20) == "1gb");
  CHECK(config::format_size(1536ull << 10) == "1536kb");
  CHECK(config::format_size(1025) == "1025");
  CHECK(config::format_size(3ull << 40) == "3072gb");  // no tb
  CHECK(config::format_size(0) == "0gb");              // as the reference's FileSize encoding writes it
  for (uint64_t bytes : {0ull, 1ull, 1023ull, 1024ull, 1536ull << 10, 5ull << 20, (5ull << 20) + 1, 7ull << 30,
                         (7ull << 30) + (1ull << 20)}) {
    INFO(bytes);
    CHECK(config::parse_size(config::format_size(bytes)) == std::optional<uint64_t>(bytes));
  }
  for (std::string_view text : {"10gb", "1536kb", "1025", "3mb"}) CHECK(config::format_size(*config::parse_size(text)) == text);
  CHECK(config::format_size(*config::parse_size("1024mb")) == "1gb");
}

TEST_CASE("config: TOML errors", "[config]") {
  CHECK_THAT(smp_toml_error("[TRANSPORT]\nport = [5223, 443\n"), Contains("/etc/opt/simplex/smp-server.toml:"));
  // line and column of the syntax error
  CHECK_THAT(smp_toml_error("[TRANSPORT]\nport = 5223\nwebsockets = = off\n"),
             Contains("/etc/opt/simplex/smp-server.toml:3:"));
  CHECK(smp_toml_error("[STORE_LOG]\nexpire_messages_days = 1.5\n") ==
        "/etc/opt/simplex/smp-server.toml:2: [STORE_LOG] expire_messages_days: a floating-point number is not "
        "supported, expected a string, an integer, a boolean or an array of ports");
  CHECK_THAT(smp_toml_error("[STORE_LOG.sub]\nx = 1\n"),
             Contains("smp-server.toml:1: [STORE_LOG] sub: a nested table is not supported"));
  CHECK_THAT(smp_toml_error("[TRANSPORT]\nhost = [\"a\", \"b\"]\n"),
             Contains("smp-server.toml:2: [TRANSPORT] host: an array of anything but integers is not supported"));
  CHECK_THAT(smp_toml_error("[INFORMATION]\nsince = 2024-01-01\n"), Contains(":2: [INFORMATION] since: a date"));
  CHECK_THAT(smp_toml_error("port = 5223\n"), Contains("smp-server.toml:1: port: expected a [SECTION] table"));
  // typed errors in TOML name the TOML way to write the value
  CHECK(smp_toml_error("[TRANSPORT]\nport = 5223\nwebsockets = false\n[STORE_LOG]\nenable = 1\n") ==
        "/etc/opt/simplex/smp-server.toml:5: [STORE_LOG] enable: invalid value '1', expected true or false");
}

TEST_CASE("config: Source::load picks the format by extension and reports unreadable files", "[config]") {
  TempDir dir;
  auto ini = dir.write("smp-server.ini", kMinimalSmp);
  auto toml = dir.write("smp-server.toml", "[TRANSPORT]\nport = 5223\nwebsockets = false\n");
  CHECK_FALSE(Source::load(ini).is_toml());
  CHECK(Source::load(toml).is_toml());
  check_same(smp::load_smp_config(Source::load(ini)), smp::load_smp_config(Source::load(toml)));
  CHECK(Source::load(ini).path() == ini);

  auto absent = dir.path / "absent.ini";
  try {
    Source::load(absent);
    FAIL("no error for a missing file");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == absent.string() + ": cannot read: No such file or directory");
  }
  CHECK_THROWS_WITH(Source::load(dir.path), Contains(": cannot read: Is a directory"));
}
