// `xftp-server init`: credentials, the reference's file-server.ini template and the printed result block.
#include "xftp/xftp_init.hpp"

#include <fmt/format.h>

#include "core/config.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"

namespace sr::xftp {

namespace {

// The reference's default file expiration (defFileExpirationHours) and inactive-client expiration
// (defaultInactiveClientExpiration), as written to the template.
constexpr int kExpireFilesHours = 48;
constexpr int kInactiveTtl = 21600;
constexpr int kInactiveCheckInterval = 3600;

const char* on_off(bool v) { return v ? "on" : "off"; }

}  // namespace

std::string init_host(const InitOptions& o) {
  if (o.fqdn) return *o.fqdn;
  return o.ip == "127.0.0.1" ? "<hostnames>" : o.ip;
}

std::string file_server_ini(const InitOptions& o, const cli::Paths& paths) {
  // Operator-facing template text reproduced byte-exact (server-operations.md §3.5: entrypoints sed these lines).
  std::string s;
  s += "[INFORMATION]\n"
       "# AGPLv3 license requires that you make any source code modifications\n"
       "# available to the end users of the server.\n"
       "# LICENSE: https://github.com/simplex-chat/simplexmq/blob/stable/LICENSE\n"
       "# Include correct source code URI in case the server source code is modified in any way.\n"
       "# source_code = https://github.com/simplex-chat/simplexmq\n"
       "\n"
       "# Declaring all below information is optional, any of these fields can be omitted.\n"
       "# server_country = ISO-3166 2-letter code\n"
       "# operator = entity (organization or person name)\n"
       "# operator_country = ISO-3166 2-letter code\n"
       "# website =\n"
       "# admin_simplex = SimpleX address\n"
       "# admin_email =\n"
       "# complaints_simplex = SimpleX address\n"
       "# complaints_email =\n"
       "# hosting = entity (organization or person name)\n"
       "# hosting_country = ISO-3166 2-letter code\n"
       "# hosting_type = virtual\n"
       "\n"
       "[STORE_LOG]\n"
       "# The server uses STM memory for persistence,\n"
       "# that will be lost on restart (e.g., as with redis).\n"
       "# This option enables saving memory to append only log,\n"
       "# and restoring it when the server is started.\n"
       "# Log is compacted on start (deleted objects are removed).\n";
  s += fmt::format("enable = {}\n\n", on_off(o.store_log));
  s += "# File storage mode: `memory` or `database` (PostgreSQL).\n"
       "store_files = memory\n"
       "\n"
       "# Database connection settings for PostgreSQL database (`store_files = database`).\n"
       "# db_connection = postgresql://xftp@/xftp_server_store\n"
       "# db_schema = xftp_server\n"
       "# db_pool_size = 10\n"
       "\n"
       "# Write database changes to store log file\n"
       "# db_store_log = off\n"
       "\n"
       "# Expire files after the specified number of hours.\n";
  s += fmt::format("expire_files_hours = {}\n\n", kExpireFilesHours);
  s += "log_stats = off\n"
       "\n"
       "# Log interval for real-time Prometheus metrics\n"
       "# prometheus_interval = 60\n"
       "\n"
       "[AUTH]\n"
       "# Set new_files option to off to completely prohibit uploading new files.\n"
       "# This can be useful when you want to decommission the server, but still allow downloading the existing "
       "files.\n"
       "new_files = on\n"
       "\n"
       "# Use create_password option to enable basic auth to upload new files.\n"
       "# The password should be used as part of server address in client configuration:\n"
       "# xftp://fingerprint:password@host1,host2\n"
       "# The password will not be shared with file recipients, you must share it only\n"
       "# with the users who you want to allow uploading files to your server.\n"
       "# create_password = password to upload files (any printable ASCII characters without whitespace, '@', ':' "
       "and '/')\n"
       "\n"
       "# control_port_admin_password =\n"
       "# control_port_user_password =\n"
       "\n"
       "[TRANSPORT]\n"
       "# host is only used to print server address on start\n";
  s += fmt::format("host = {}\n", init_host(o));
  s += "port = 443\n"
       "log_tls_errors = off\n"
       "# control_port = 5226\n"
       "\n"
       "[FILES]\n";
  s += fmt::format("path = {}\n", o.files_path);
  s += fmt::format("storage_quota = {}\n", config::format_size(o.quota));
  s += "\n"
       "[INACTIVE_CLIENTS]\n"
       "# TTL and interval to check inactive clients\n"
       "disconnect = off\n";
  s += fmt::format("# ttl = {}\n", kInactiveTtl);
  s += fmt::format("# check_interval = {}\n", kInactiveCheckInterval);
  s += "\n"
       "[WEB]\n"
       "# Set path to generate static mini-site for server information\n";
  s += fmt::format("static_path = {}\n\n", o.web_path ? *o.web_path : (paths.log / "www").string());
  s += "# Run an embedded HTTP server on this port.\n"
       "# http = 8000\n"
       "\n"
       "# TLS credentials for HTTPS web server on the same port as XFTP.\n";
  s += fmt::format("# cert = {}\n", (paths.cfg / "web.crt").string());
  s += fmt::format("# key = {}\n", (paths.cfg / "web.key").string());
  return s;
}

int run_init(const cli::Paths& paths, const InitOptions& o) {
  const std::string cn = o.fqdn ? *o.fqdn : o.ip;
  const std::string fingerprint = cli::init_credentials(paths, o.alg, cn);
  const auto ini = paths.cfg / "file-server.ini";
  fs::write_file(ini, file_server_ini(o, paths), 0644);

  log::out_line(fmt::format("Server initialized, you can modify configuration in {}.", ini.string()));
  log::out_line("Run `file-server start` to start server.");  // sic: "file-server" (spec §8 Q1)
  cli::warn_ca_private_key(paths.cfg / "ca.key");
  log::out_line(cli::banner("SimpleX XFTP server"));
  log::out_line("Fingerprint: " + fingerprint);
  // Never a password or a port in the address printed by init (spec §1.5).
  log::out_line(fmt::format("Server address: xftp://{}@{}", fingerprint, init_host(o)));
  return 0;
}

}  // namespace sr::xftp
