// smp-server.ini keys, defaults and checks as the reference's Server/Main.hs reads them (spec §3.3).
#include "smp/smp_config.hpp"

#include "core/metrics_http.hpp"

#include <algorithm>

namespace sr::smp {
namespace {

using config::Source;

void read_store_log(const Source& src, SmpConfig& c) {
  constexpr std::string_view S = "STORE_LOG";
  c.store_log = src.opt_on_off(S, "enable").value_or(false);

  c.store_queues = src.opt_choice(S, "store_queues", {"memory", "database"}).value_or("memory");
  c.store_messages = src.opt_choice(S, "store_messages", {"memory", "journal", "database"}).value_or("memory");
  bool db_queues = c.store_queues == "database";
  bool db_messages = c.store_messages == "database";
  if ((db_queues && c.store_messages == "memory") || (!db_queues && db_messages)) {
    // One of the two keys is present (both absent is memory + memory); blame store_messages when it is.
    std::string_view key = src.find(S, "store_messages") ? "store_messages" : "store_queues";
    src.fail(S, key, *src.find(S, key),
             "store_queues = " + c.store_queues + " cannot be used with store_messages = " + c.store_messages +
                 "; valid pairs: memory + memory, memory + journal, database + journal, database + database");
  }
  // PostgreSQL settings are read only with the database queue store, as in the reference.
  if (db_queues) {
    c.db_connection = src.opt_string(S, "db_connection").value_or(c.db_connection);
    c.db_schema = src.opt_string(S, "db_schema").value_or(c.db_schema);
    c.db_pool_size = src.opt_int(S, "db_pool_size").value_or(c.db_pool_size);
    c.db_store_log = src.opt_on_off(S, "db_store_log").value_or(false);
    c.db_deleted_ttl_days = src.opt_int(S, "db_deleted_ttl").value_or(c.db_deleted_ttl_days);
  }

  c.restore_messages = src.opt_on_off(S, "restore_messages").value_or(c.store_log);
  c.expire_messages_days = src.opt_int(S, "expire_messages_days").value_or(c.expire_messages_days);
  c.expire_messages_on_start = src.opt_on_off(S, "expire_messages_on_start").value_or(true);
  c.expire_messages_on_send = src.opt_on_off(S, "expire_messages_on_send").value_or(true);
  c.expire_ntfs_hours = src.opt_int(S, "expire_ntfs_hours").value_or(c.expire_ntfs_hours);
  // Our extension (the reference hard-codes 128): messages a queue holds before ERR QUOTA.
  c.msg_queue_quota = src.opt_int(S, "msg_queue_quota").value_or(c.msg_queue_quota);
  if (c.msg_queue_quota < 1 || c.msg_queue_quota > 65535)
    src.invalid(S, "msg_queue_quota", *src.find(S, "msg_queue_quota"), "a number of messages from 1 to 65535");
  c.fsync = src.opt_choice(S, "fsync", {"never", "interval", "always"}).value_or(c.fsync);
  if (const ini::Value* v = src.find(S, "fsync_interval")) {
    auto i = config::parse_int(v->text);
    if (!i || *i < 1 || *i > 3600) src.invalid(S, "fsync_interval", *v, "a number of seconds from 1 to 3600");
    c.fsync_interval_ms = *i * 1000;
  }
  c.log_stats = src.opt_on_off(S, "log_stats").value_or(false);
  // readMaybe in the reference: anything but a number disables the metrics file.
  if (const ini::Value* v = src.find(S, "prometheus_interval")) {
    auto i = config::parse_int(v->text);
    if (i && *i > 0) c.prometheus_interval = i;
  }
  // Our extension: the same metrics over HTTP (GET /metrics) on a local address, "127.0.0.1:9090".
  if (const ini::Value* v = src.find(S, "prometheus_address")) {
    if (!config::parse_listen_address(v->text))
      src.invalid(S, "prometheus_address", *v, "an IP address and port, e.g. 127.0.0.1:9090");
    c.prometheus_address = v->text;
  }
}

void read_auth(const Source& src, SmpConfig& c) {
  constexpr std::string_view S = "AUTH";
  c.new_queues = src.opt_on_off(S, "new_queues").value_or(true);
  c.create_password = src.opt_password(S, "create_password");
  c.control_port_admin_password = src.opt_password(S, "control_port_admin_password");
  c.control_port_user_password = src.opt_password(S, "control_port_user_password");
  c.daily_block_queue_quota = src.opt_int(S, "daily_block_queue_quota").value_or(c.daily_block_queue_quota);
}

void read_transport(const Source& src, SmpConfig& c) {
  constexpr std::string_view S = "TRANSPORT";
  c.host = src.opt_string(S, "host");
  if (src.find(S, "port") == nullptr) src.missing(S, "port", "5223,443");
  c.port_text = src.find(S, "port")->text;
  c.ports = src.req_ports(S, "port");
  c.log_tls_errors = src.opt_on_off(S, "log_tls_errors").value_or(false);

  const ini::Value* ws = src.find(S, "websockets");
  if (ws == nullptr) src.missing(S, "websockets", "off");
  if (ws->text == "on") {
    c.websocket_ports = {80};
  } else if (ws->text != "off") {
    auto ports = config::parse_ports(ws->text);
    if (!ports) src.invalid(S, "websockets", *ws, "off, on (port 80) or comma-separated ports");
    // Ports already serving SMP over TLS are not opened again for WebSockets.
    for (uint16_t p : *ports)
      if (std::find(c.ports.begin(), c.ports.end(), p) == c.ports.end()) c.websocket_ports.push_back(p);
  }

  c.control_port = src.opt_port(S, "control_port");
  c.accept_service_credentials = src.opt_on_off(S, "accept_service_credentials").value_or(true);
  c.timeouts = config::read_timeouts(src);
}

// `[user:pass@ | @]address`: the reference's SocksProxyWithAuth.
void read_socks_proxy(const Source& src, SmpConfig& c) {
  constexpr std::string_view S = "PROXY";
  const ini::Value* v = src.find(S, "socks_proxy");
  if (v == nullptr) return;
  std::string_view text = v->text;
  size_t colon = text.find(':');
  size_t at = colon == std::string_view::npos ? colon : text.find('@', colon + 1);
  if (at != std::string_view::npos) {  // tried first, as in the reference
    c.socks_auth = SmpConfig::SocksAuth::username;
    c.socks_username = std::string(text.substr(0, colon));
    c.socks_password = std::string(text.substr(colon + 1, at - colon - 1));
    text.remove_prefix(at + 1);
  } else if (!text.empty() && text[0] == '@') {
    c.socks_auth = SmpConfig::SocksAuth::none;
    text.remove_prefix(1);
  }
  c.socks_proxy = config::parse_socks_proxy(text);
  if (!c.socks_proxy)
    src.invalid(S, "socks_proxy", *v, "[user:password@]<IPv4 or [IPv6]>[:port], e.g. 127.0.0.1:9050");
}

void read_proxy(const Source& src, SmpConfig& c) {
  constexpr std::string_view S = "PROXY";
  c.host_mode = src.opt_choice(S, "host_mode", {"public", "onion"}).value_or("public");
  c.required_host_mode = src.opt_on_off(S, "required_host_mode").value_or(false);
  // The reference splits on white space; init writes the list comma-separated, so commas split too (spec §8 Q6).
  if (auto domains = src.opt_string(S, "own_server_domains")) {
    std::string_view rest = *domains;
    constexpr std::string_view separators = " \t\r\n\v\f,";
    while (true) {
      size_t start = rest.find_first_not_of(separators);
      if (start == std::string_view::npos) break;
      rest.remove_prefix(start);
      size_t end = rest.find_first_of(separators);
      c.own_server_domains.emplace_back(rest.substr(0, end));
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end);
    }
  }
  read_socks_proxy(src, c);
  c.socks_mode = src.opt_choice(S, "socks_mode", {"onion", "always"}).value_or("onion");
  c.client_concurrency = src.opt_int(S, "client_concurrency").value_or(c.client_concurrency);
  if (c.client_concurrency <= 0)
    src.invalid(S, "client_concurrency", *src.find(S, "client_concurrency"), "a positive integer");
}

}  // namespace

SmpConfig load_smp_config(const config::Source& src) {
  SmpConfig c;
  c.information = config::read_information(src);
  read_store_log(src, c);
  read_auth(src, c);
  read_transport(src, c);
  read_proxy(src, c);
  c.inactive_clients = config::read_inactive_clients(src);
  c.web = config::read_web(src);
  return c;
}

}  // namespace sr::smp
