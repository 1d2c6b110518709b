// file-server.ini (or file-server.toml) as one typed struct (server-operations.md §3.4).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "core/config.hpp"

namespace sr::xftp {

struct XftpConfig {
  config::ServerInformation information;

  // [STORE_LOG]
  bool store_log = false;
  std::string store_files = "memory";  // memory | database
  std::string db_connection = "postgresql://xftp@/xftp_server_store";
  std::string db_schema = "xftp_server";
  int64_t db_pool_size = 10;
  bool db_store_log = false;
  int64_t expire_files_hours = 48;
  bool log_stats = false;
  std::optional<int64_t> prometheus_interval;
  std::optional<std::string> prometheus_address;  // [STORE_LOG] prometheus_address (our extension)

  // [AUTH]
  bool new_files = true;
  std::optional<std::string> create_password;
  std::optional<std::string> control_port_admin_password;
  std::optional<std::string> control_port_user_password;

  // [TRANSPORT]
  std::optional<std::string> host;
  std::string port_text;  // raw value for the printed address
  uint16_t port = 443;    // required, single port
  bool log_tls_errors = false;
  std::optional<uint16_t> control_port;
  config::Timeouts timeouts;

  // [FILES]
  std::string files_path;               // required
  std::optional<uint64_t> storage_quota;  // bytes; absent = unlimited
  bool evict_oldest = false;               // quota full: evict the oldest files instead of refusing (ours)

  config::InactiveClients inactive_clients;
  config::WebConfig web;
};

XftpConfig load_xftp_config(const config::Source& src);

}  // namespace sr::xftp
