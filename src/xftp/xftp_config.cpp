// file-server.ini keys, defaults and checks as the reference's FileTransfer/Server/Main.hs reads them (spec §3.4).
#include "xftp/xftp_config.hpp"

#include "core/metrics_http.hpp"

namespace sr::xftp {

XftpConfig load_xftp_config(const config::Source& src) {
  XftpConfig c;
  c.information = config::read_information(src);

  constexpr std::string_view STORE = "STORE_LOG";
  c.store_log = src.opt_on_off(STORE, "enable").value_or(false);
  c.store_files = src.opt_choice(STORE, "store_files", {"memory", "database"}).value_or("memory");
  // PostgreSQL settings are read only with the database file store, as in the reference.
  if (c.store_files == "database") {
    c.db_connection = src.opt_string(STORE, "db_connection").value_or(c.db_connection);
    c.db_schema = src.opt_string(STORE, "db_schema").value_or(c.db_schema);
    c.db_pool_size = src.opt_int(STORE, "db_pool_size").value_or(c.db_pool_size);
    c.db_store_log = src.opt_on_off(STORE, "db_store_log").value_or(false);
  }
  c.expire_files_hours = src.opt_int(STORE, "expire_files_hours").value_or(c.expire_files_hours);
  c.log_stats = src.opt_on_off(STORE, "log_stats").value_or(false);
  // readMaybe in the reference: anything but a number disables the metrics file.
  if (const ini::Value* v = src.find(STORE, "prometheus_interval")) {
    auto i = config::parse_int(v->text);
    if (i && *i > 0) c.prometheus_interval = i;
  }
  // Our extension: the same metrics over HTTP (GET /metrics) on a local address, "127.0.0.1:9090".
  if (const ini::Value* v = src.find(STORE, "prometheus_address")) {
    if (!config::parse_listen_address(v->text))
      src.invalid(STORE, "prometheus_address", *v, "an IP address and port, e.g. 127.0.0.1:9090");
    c.prometheus_address = v->text;
  }

  constexpr std::string_view AUTH = "AUTH";
  c.new_files = src.opt_on_off(AUTH, "new_files").value_or(true);
  c.create_password = src.opt_password(AUTH, "create_password");
  c.control_port_admin_password = src.opt_password(AUTH, "control_port_admin_password");
  c.control_port_user_password = src.opt_password(AUTH, "control_port_user_password");

  constexpr std::string_view TRANSPORT = "TRANSPORT";
  c.host = src.opt_string(TRANSPORT, "host");
  if (src.find(TRANSPORT, "port") == nullptr) src.missing(TRANSPORT, "port", "443");
  c.port_text = src.find(TRANSPORT, "port")->text;
  c.port = *src.opt_port(TRANSPORT, "port");
  c.log_tls_errors = src.opt_on_off(TRANSPORT, "log_tls_errors").value_or(false);
  c.control_port = src.opt_port(TRANSPORT, "control_port");
  c.timeouts = config::read_timeouts(src);

  constexpr std::string_view FILES = "FILES";
  if (src.find(FILES, "path") == nullptr) src.missing(FILES, "path", "/srv/xftp");
  c.files_path = src.find(FILES, "path")->text;
  c.storage_quota = src.opt_size(FILES, "storage_quota");
  // Our extension: when the quota is full, delete the oldest uploaded files instead of refusing uploads.
  c.evict_oldest = src.opt_on_off(FILES, "evict_oldest").value_or(false);

  c.inactive_clients = config::read_inactive_clients(src);
  c.web = config::read_web(src);
  return c;
}

}  // namespace sr::xftp
