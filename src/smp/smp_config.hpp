// smp-server.ini (or smp-server.toml) as one typed struct (server-operations.md §3.3).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace sr::smp {

struct SmpConfig {
  config::ServerInformation information;

  // [STORE_LOG]
  bool store_log = false;               // enable
  std::string store_queues = "memory";  // memory | database
  std::string store_messages = "memory";  // memory | journal | database (valid pairs checked on load)
  std::string db_connection = "postgresql://smp@/smp_server_store";
  std::string db_schema = "smp_server";
  int64_t db_pool_size = 10;
  bool db_store_log = false;
  int64_t db_deleted_ttl_days = 21;
  bool restore_messages = false;        // absent → same as enable
  int64_t expire_messages_days = 21;
  bool expire_messages_on_start = true;
  bool expire_messages_on_send = true;  // absent → on (init writes off, spec §8 Q5)
  int64_t expire_ntfs_hours = 24;
  int64_t msg_queue_quota = 128;        // extension key; the reference's fixed defaultMsgQueueQuota
  // Extension keys: when the message journal reaches the disk (DECISIONS.md "Message storage").
  std::string fsync = "interval";       // never | interval | always
  int64_t fsync_interval_ms = 1000;     // fsync_interval, in seconds in the file
  bool log_stats = false;
  std::optional<int64_t> prometheus_interval;  // invalid value silently disables (reference)
  std::optional<std::string> prometheus_address;  // [STORE_LOG] prometheus_address (our extension)

  // [AUTH]
  bool new_queues = true;
  std::optional<std::string> create_password;
  std::optional<std::string> control_port_admin_password;
  std::optional<std::string> control_port_user_password;
  int64_t daily_block_queue_quota = 20;

  // [TRANSPORT]
  std::optional<std::string> host;      // absent → "<hostnames>" in the printed address
  std::string port_text;                // raw value, printed in "Server address:" (spec §8 Q3)
  std::vector<uint16_t> ports;          // required
  bool log_tls_errors = false;
  std::vector<uint16_t> websocket_ports;  // required key: off | on (=80) | port list
  std::optional<uint16_t> control_port;
  bool accept_service_credentials = true;
  config::Timeouts timeouts;            // our extension keys

  // [PROXY]
  std::string host_mode = "public";     // public | onion
  bool required_host_mode = false;
  std::vector<std::string> own_server_domains;  // split on whitespace and commas (spec §8 Q6)
  std::optional<std::string> socks_proxy;       // normalised "host:port"
  // SOCKS authentication, written before the address as in the reference: nothing → isolate streams by
  // per-connection credentials (default), "@" → no authentication, "user:pass@" → these credentials.
  enum class SocksAuth { isolate, none, username };
  SocksAuth socks_auth = SocksAuth::isolate;
  std::string socks_username, socks_password;
  std::string socks_mode = "onion";     // onion | always
  int64_t client_concurrency = 32;

  config::InactiveClients inactive_clients;
  config::WebConfig web;
};

// Reads and validates; throws config::ConfigError (message names file, line, key and what is expected).
SmpConfig load_smp_config(const config::Source& src);

}  // namespace sr::smp
