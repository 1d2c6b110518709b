// The smp-server.ini template (server-operations.md §3.6.1). Constant text is reproduced byte for byte,
// including the four lines that end in "= " with a trailing space; option-dependent lines follow the table
// below §3.6.1. A line "switched off" by an option is written commented out with "# ".
#include "smp/smp_init.hpp"

#include <fmt/format.h>

namespace sr::smp {

namespace {

std::string off_if(bool disabled) { return disabled ? "# " : ""; }

template <typename T>
std::string off_unless(const std::optional<T>& v) {
  return off_if(!v.has_value());
}

std::string on_off(bool on) { return on ? "on" : "off"; }

std::string country_line(std::string_view name, const std::optional<std::string>& country) {
  return fmt::format("{}{}_country = {}\n", off_unless(country), name, country.value_or("ISO-3166 2-letter code"));
}

// "<name> = <entity>" and "<name>_country = <cc>"; the country is only written together with the entity.
std::string entity_lines(std::string_view name, const std::optional<std::string>& entity,
                         const std::optional<std::string>& country) {
  return fmt::format("{}{} = {}\n", off_unless(entity), name, entity.value_or("entity (organization or person name)")) +
         country_line(name, entity ? country : std::nullopt);
}

std::string information_section(const InitOptions& o) {
  std::string s =
      "[INFORMATION]\n"
      "# AGPLv3 license requires that you make any source code modifications\n"
      "# available to the end users of the server.\n"
      "# LICENSE: https://github.com/simplex-chat/simplexmq/blob/stable/LICENSE\n"
      "# Include correct source code URI in case the server source code is modified in any way.\n"
      "# If any other information fields are present, source code property also MUST be present.\n"
      "\n";
  s += fmt::format("{}source_code = {}\n", off_unless(o.source_code), o.source_code.value_or("URI"));
  s +=
      "\n"
      "# Declaring all below information is optional, any of these fields can be omitted.\n"
      "\n"
      "# Server usage conditions and amendments.\n"
      "# It is recommended to use standard conditions with any amendments in a separate document.\n"
      "# usage_conditions = https://github.com/simplex-chat/simplex-chat/blob/stable/PRIVACY.md\n"
      "# condition_amendments = link\n"
      "\n"
      "# Server location and operator.\n";
  s += country_line("server", o.server_country);
  s += entity_lines("operator", o.op, o.op_country);
  s += fmt::format("{}website = {}\n", off_unless(o.website), o.website.value_or(""));
  s +=
      "\n"
      "# Administrative contacts.\n"
      "# admin_simplex = SimpleX address\n"
      "# admin_email =\n"
      "# admin_pgp =\n"
      "# admin_pgp_fingerprint =\n"
      "\n"
      "# Contacts for complaints and feedback.\n"
      "# complaints_simplex = SimpleX address\n"
      "# complaints_email =\n"
      "# complaints_pgp =\n"
      "# complaints_pgp_fingerprint =\n"
      "\n"
      "# Hosting provider.\n";
  s += entity_lines("hosting", o.hosting, o.hosting_country);
  s +=
      "\n"
      "# Hosting type can be `virtual`, `dedicated`, `colocation`, `owned`\n";
  s += fmt::format("hosting_type = {}\n\n", o.hosting_type.value_or("virtual"));
  return s;
}

std::string store_log_section(const InitOptions& o) {
  std::string s =
      "[STORE_LOG]\n"
      "# The server uses memory or PostgreSQL database for persisting queue records.\n"
      "# Use `enable = on` to use append-only log to preserve and restore queue records on restart.\n"
      "# Log is compacted on start (deleted objects are removed).\n";
  s += fmt::format("enable = {}\n\n", on_off(o.enable_store_log));
  s +=
      "# Queue storage mode: `memory` or `database` (to store queue records in PostgreSQL database).\n"
      "# `memory` - in-memory persistence, with optional append-only log (`enable = on`).\n"
      "# `database`- PostgreSQL databass (requires `store_messages = journal`).\n"
      "store_queues = memory\n"
      "\n"
      "# Database connection settings for PostgreSQL database (`store_queues = database`).\n";
  // Each database line stays commented while it holds the default.
  s += fmt::format("{}db_connection = {}\n", off_if(o.db_connection == kDefaultDbConnection), o.db_connection);
  s += fmt::format("{}db_schema = {}\n", off_if(o.db_schema == kDefaultDbSchema), o.db_schema);
  s += fmt::format("{}db_pool_size = {}\n\n", off_if(o.db_pool_size == kDefaultDbPoolSize), o.db_pool_size);
  s +=
      "# Write database changes to store log file\n"
      "# db_store_log = off\n"
      "\n"
      "# Time to retain deleted queues in the database, days.\n"
      "# db_deleted_ttl = 21\n"
      "\n"
      "# Message storage mode: `memory` or `journal`.\n"
      "store_messages = memory\n"
      "\n"
      "# When store_messages is `memory`, undelivered messages are optionally saved and restored\n"
      "# when the server restarts, they are preserved in the .bak file until the next restart.\n";
  s += fmt::format("restore_messages = {}\n\n", on_off(o.enable_store_log));
  s +=
      "# Messages and notifications expiration periods.\n"
      "expire_messages_days = 21\n"
      "expire_messages_on_start = on\n"
      "expire_messages_on_send = off\n"
      "expire_ntfs_hours = 24\n"
      "\n"
      "# Log daily server statistics to CSV file\n";
  s += fmt::format("log_stats = {}\n\n", on_off(o.log_stats));
  s +=
      "# Log interval for real-time Prometheus metrics\n"
      "# prometheus_interval = 60\n"
      "\n";
  return s;
}

std::string auth_section(const InitSecrets& secrets) {
  std::string s =
      "[AUTH]\n"
      "# Set new_queues option to off to completely prohibit creating new messaging queues.\n"
      "# This can be useful when you want to decommission the server, but not all connections are switched yet.\n"
      "new_queues = on\n"
      "\n"
      "# Use create_password option to enable basic auth to create new messaging queues.\n"
      "# The password should be used as part of server address in client configuration:\n"
      "# smp://fingerprint:password@host1,host2\n"
      "# The password will not be shared with the connecting contacts, you must share it only\n"
      "# with the users who you want to allow creating messaging queues on your server.\n";
  s += fmt::format("{}create_password = {}\n\n", off_unless(secrets.create_password),
                   secrets.create_password.value_or(
                       "password to create new queues and forward messages (any printable ASCII characters without "
                       "whitespace, '@', ':' and '/')"));
  const auto& cp = secrets.control_passwords;
  s += fmt::format("{}control_port_admin_password = {}\n", off_unless(cp), cp ? cp->first : "");
  s += fmt::format("{}control_port_user_password = {}\n\n", off_unless(cp), cp ? cp->second : "");
  s +=
      "# The limit for queues that can be blocked via control port per day, resets at 0:00 UTC.\n"
      "# Set to 0 to disable limit, to -1 to prohibit blocking. Default is 20.\n"
      "# daily_block_queue_quota = 20\n"
      "\n";
  return s;
}

std::string transport_section(const InitOptions& o) {
  std::string s =
      "[TRANSPORT]\n"
      "# Host is only used to print server address on start.\n"
      "# You can specify multiple server ports.\n";
  s += fmt::format("host = {}\n", init_host(o));
  s +=
      "port = 5223,443\n"
      "log_tls_errors = off\n"
      "\n"
      "# Use `websockets = 443` to run websockets server in addition to plain TLS.\n"
      "# This option is deprecated and should be used for testing only.\n"
      "# , port 443 should be specified in port above\n"
      "websockets = off\n";
  s += fmt::format("{}control_port = {}\n\n", off_unless(o.control_port), o.control_port.value_or(kDefaultControlPort));
  return s;
}

std::string proxy_section(const InitOptions& o) {
  std::string s =
      "[PROXY]\n"
      "# Network configuration for SMP proxy client.\n"
      "# `host_mode` can be 'public' (default) or 'onion'.\n"
      "# It defines prefferred hostname for destination servers with multiple hostnames.\n"
      "# host_mode = public\n"
      "# required_host_mode = off\n"
      "\n"
      "# The domain suffixes of the relays you operate (space-separated) to count as separate proxy statistics.\n";
  s += fmt::format("{}own_server_domains = {}\n\n", off_unless(o.own_domains), o.own_domains.value_or(""));
  s +=
      "# SOCKS proxy port for forwarding messages to destination servers.\n"
      "# You may need a separate instance of SOCKS proxy for incoming single-hop requests.\n";
  s += fmt::format("{}socks_proxy = {}\n\n", off_unless(o.socks_proxy), o.socks_proxy.value_or("localhost:9050"));
  s +=
      "# `socks_mode` can be 'onion' for SOCKS proxy to be used for .onion destination hosts only (default)\n"
      "# or 'always' to be used for all destination hosts (can be used if it is an .onion server).\n"
      "# socks_mode = onion\n"
      "\n"
      "# Limit number of threads a client can spawn to process proxy commands in parrallel.\n"
      "# client_concurrency = 32\n"
      "\n"
      "[INACTIVE_CLIENTS]\n"
      "# TTL and interval to check inactive clients\n"
      "disconnect = on\n"
      "ttl = 21600\n"
      "check_interval = 3600\n"
      "\n";
  return s;
}

std::string web_section(const cli::Paths& paths, const InitOptions& o) {
  std::string s =
      "[WEB]\n"
      "# Set path to generate static mini-site for server information and qr codes/links\n";
  s += fmt::format("static_path = {}\n\n", o.web_path.value_or((paths.log / "www").string()));
  s +=
      "# Run an embedded server on this port\n"
      "# Onion sites can use any port and register it in the hidden service config.\n"
      "# Running on a port 80 may require setting process capabilities.\n"
      "# http = 8000\n"
      "\n"
      "# You can run an embedded TLS web server too if you provide port and cert and key files.\n"
      "# Not required for running relay on onion address.\n";
  const std::string web = off_if(o.disable_web);
  s += web + "https = 443\n";
  s += fmt::format("{}cert = {}\n", web, (paths.cfg / "web.crt").string());
  s += fmt::format("{}key = {}\n", web, (paths.cfg / "web.key").string());
  return s;
}

}  // namespace

std::string init_host(const InitOptions& opts) {
  if (opts.fqdn) return *opts.fqdn;
  return opts.ip == "127.0.0.1" ? "<hostnames>" : opts.ip;
}

std::string ini_file_content(const cli::Paths& paths, const InitOptions& opts, const InitSecrets& secrets) {
  return information_section(opts) + store_log_section(opts) + auth_section(secrets) + transport_section(opts) +
         proxy_section(opts) + web_section(paths, opts);
}

}  // namespace sr::smp
