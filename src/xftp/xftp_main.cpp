// `xftp-server` command line (server-operations.md §1.1, §1.6–1.8, §1.10, §1.11, §6.5–6.7): subcommands
// init / cert / start / database / delete, parsed with cxxopts, help and usage errors laid out the way the
// reference's optparse-applicative prints them.
#include "xftp/xftp_main.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/options.hpp"

#include "core/certs.hpp"
#include "core/cli.hpp"
#include "core/config.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/metrics_http.hpp"
#include "core/stats_csv.hpp"
#include "core/stats_timers.hpp"
#include "core/server.hpp"
#include "core/chunk_store.hpp"
#include "core/control_port.hpp"
#include "core/store_log.hpp"
#include "core/tls.hpp"
#include "core/web_server.hpp"
#include "core/web_site.hpp"
#include "xftp/file_store.hpp"
#include "xftp/session.hpp"
#include "xftp/store_log_records.hpp"
#include "xftp/xftp_config.hpp"
#include "xftp/xftp_control.hpp"
#include "xftp/xftp_init.hpp"
#include "xftp/xftp_state.hpp"

namespace sr::xftp {

namespace {

namespace stdfs = std::filesystem;

constexpr const char* kProduct = "SimpleX XFTP server";
// The reference names the program "file-server" in its hints (spec §8 Q1).
constexpr const char* kHintName = "file-server";
constexpr const char* kConfigStem = "file-server";  // file-server.ini, or file-server.toml
constexpr const char* kStoreLogName = "file-server-store.log";
constexpr const char* kNoPostgres = "Error: server binary is compiled without support for PostgreSQL database.";
constexpr const char* kNoPostgresHint = "Please re-compile with `cabal build -fserver_postgres`.";

// XFTP's ALPN list: alpnSupportedXFTPhandshakes <> httpALPN in the reference.
const std::vector<std::string> kXftpAlpn = {"xftp/1", "h2", "http/1.1"};

// One option of a subcommand: what cxxopts parses and what help and usage show.
struct OptSpec {
  std::string cxx;      // cxxopts name: "a,sign-algorithm", "ip"
  std::string flags;    // help column: "-a,--sign-algorithm"
  std::string metavar;  // empty for a flag
  std::string help;
  std::string usage;    // usage-line item; empty: shown by a neighbour (alternatives)
};

struct SubSpec {
  std::string name;  // "init", "database import"
  std::string desc;
  std::vector<OptSpec> opts;
  std::string usage_suffix;  // "COMMAND" for a command group
  std::vector<std::pair<std::string, std::string>> commands;  // nested commands (database)
};

std::string usage_line(const std::string& prog, const SubSpec* sub) {
  std::vector<std::string> items;
  if (!sub) items = {"[-v|--version]", "COMMAND"};
  for (const auto& o : sub ? sub->opts : std::vector<OptSpec>{})
    if (!o.usage.empty()) items.push_back(o.usage);
  if (sub && !sub->usage_suffix.empty()) items.push_back(sub->usage_suffix);
  return cli::format_usage(sub ? prog + " " + sub->name : prog, items);
}

std::string options_section(const SubSpec* sub) {
  std::vector<cli::HelpRow> rows;
  for (const auto& o : sub ? sub->opts : std::vector<OptSpec>{})
    rows.push_back({o.metavar.empty() ? o.flags : o.flags + " " + o.metavar, o.help});
  rows.push_back({"-h,--help", "Show this help text"});
  if (!sub) rows.push_back({"-v,--version", "Show version"});
  return "Available options:\n" + cli::format_rows(rows) + "\n";
}

std::string commands_section(const std::vector<std::pair<std::string, std::string>>& commands) {
  std::vector<cli::HelpRow> rows;
  for (const auto& [name, desc] : commands) rows.push_back({name, desc});
  return "Available commands:\n" + cli::format_rows(rows) + "\n";
}

// ---- the command table ----------------------------------------------------------------------------------

struct Cli {
  std::string prog;  // program name shown in usage (basename of argv[0])
  cli::Paths paths;
  stdfs::path ini() const { return paths.cfg / (std::string(kConfigStem) + ".ini"); }
  stdfs::path store_log() const { return paths.log / kStoreLogName; }

  std::vector<std::pair<std::string, std::string>> top_commands() const {
    return {
        {"init", fmt::format("Initialize server - creates {} and {} directories and configuration files",
                             paths.cfg.string(), paths.log.string())},
        {"cert", fmt::format("Generate new online TLS server credentials (configuration: {})", ini().string())},
        {"start", fmt::format("Start server (configuration: {})", ini().string())},
        {"database", "Import/export file store to/from PostgreSQL database"},
        {"delete", "Delete configuration and log files"},
    };
  }

  SubSpec sub(std::string_view name) const {
    auto commands = top_commands();
    std::string desc;
    for (const auto& [n, d] : commands)
      if (n == name) desc = d;
    SubSpec s{std::string(name), desc, {}, "", {}};
    if (name == "init") {
      s.opts = {
          {"disable-store-log", "--disable-store-log", "", "Disable store log for persistence (enabled by default)",
           "[--disable-store-log | (-l|--store-log)]"},
          {"l,store-log", "-l,--store-log", "", "Enable store log for persistence (DEPRECATED, enabled by default)",
           ""},
          {"a,sign-algorithm", "-a,--sign-algorithm", "ALG",
           "Signature algorithm used for TLS certificates: ED25519, ED448 (default: ED448)",
           "[-a|--sign-algorithm ALG]"},
          {"ip", "--ip", "IP",
           "Server IP address, used as Common Name for TLS online certificate if FQDN is not supplied "
           "(default: \"127.0.0.1\")",
           "[--ip IP]"},
          {"n,fqdn", "-n,--fqdn", "FQDN", "Server FQDN used as Common Name for TLS online certificate",
           "[-n|--fqdn FQDN]"},
          {"p,path", "-p,--path", "PATH", "Path to the directory to store files", "(-p|--path PATH)"},
          {"q,quota", "-q,--quota", "QUOTA", "File storage quota (e.g. 100gb)", "(-q|--quota QUOTA)"},
          {"web-path", "--web-path", "PATH", "Directory to store generated static site with server information",
           "[--web-path PATH]"},
      };
    } else if (name == "cert") {
      s.opts = {
          {"a,sign-algorithm", "-a,--sign-algorithm", "ALG",
           "Set new signature algorithm used for TLS certificates: ED25519, ED448", "[-a|--sign-algorithm ALG]"},
          {"cn", "--cn", "FQDN", "Set new Common Name for TLS online certificate", "[--cn FQDN]"},
      };
    } else if (name == "start") {
      s.opts = {
          {"confirm-migrations", "--confirm-migrations", "CONFIRM_MIGRATIONS",
           "Confirm PostgreSQL database migration: up, down (default is manual confirmation)",
           "[--confirm-migrations CONFIRM_MIGRATIONS]"},
      };
    } else if (name == "database") {
      s.usage_suffix = "COMMAND";
      s.commands = {{"import", "Import store log file into PostgreSQL database"},
                    {"export", "Export PostgreSQL database to store log file"}};
    } else if (name == "database import") {
      s.desc = "Import store log file into PostgreSQL database";
    } else if (name == "database export") {
      s.desc = "Export PostgreSQL database to store log file";
    }
    return s;
  }

  std::string help(const SubSpec* s) const {
    std::string h;
    if (!s) h += cli::banner(kProduct) + "\n\n";
    h += usage_line(prog, s) + "\n";
    if (s && !s->desc.empty()) h += "\n" + cli::format_paragraph(s->desc, 2) + "\n";
    h += "\n" + options_section(s);
    const auto commands = s ? s->commands : top_commands();
    if (!commands.empty()) h += "\n" + commands_section(commands);
    return h;
  }

  // optparse's parse failure: the message, a blank line, the usage; stderr, exit 1.
  [[noreturn]] void usage_error(const std::string& message, const SubSpec* s) const {
    throw cli::Exit{cli::usage_error(message, usage_line(prog, s))};
  }
  [[noreturn]] void show_help(const SubSpec* s) const {
    std::fputs(help(s).c_str(), stdout);
    std::fflush(stdout);
    throw cli::Exit{0};
  }

  // Parses the arguments after a subcommand's name; -h/--help anywhere shows the subcommand's help.
  cxxopts::ParseResult parse(const SubSpec& s, const std::vector<std::string>& args) const {
    for (const auto& a : args) {
      if (a == "--") break;
      if (a == "-h" || a == "--help") show_help(&s);
    }
    cxxopts::Options options(prog + " " + s.name);
    options.allow_unrecognised_options();
    auto adder = options.add_options();
    for (const auto& o : s.opts) {
      if (o.metavar.empty())
        adder(o.cxx, o.help);
      else
        adder(o.cxx, o.help, cxxopts::value<std::string>());
    }
    std::vector<const char*> argv{s.name.c_str()};
    for (const auto& a : args) argv.push_back(a.c_str());
    try {
      auto result = options.parse(static_cast<int>(argv.size()), argv.data());
      if (!result.unmatched().empty()) {
        const auto& bad = result.unmatched().front();
        bool is_option = bad.size() > 1 && bad[0] == '-';
        usage_error(fmt::format("Invalid {} `{}'", is_option ? "option" : "argument", bad), &s);
      }
      return result;
    } catch (const cxxopts::exceptions::exception& e) {
      usage_error(e.what(), &s);
    }
  }

  std::optional<stdfs::path> existing_config() const { return cli::existing_config_file(paths.cfg, kConfigStem); }
  stdfs::path require_config() const { return cli::require_config_file(paths.cfg, kConfigStem, kHintName); }

  int run(const std::vector<std::string>& args) const;
  int init(const std::vector<std::string>& args) const;
  int cert(const std::vector<std::string>& args) const;
  int start(const std::vector<std::string>& args) const;
  int database(const std::vector<std::string>& args) const;
  int remove(const std::vector<std::string>& args) const;
};

std::optional<certs::KeyAlg> alg_option(const Cli& c, const SubSpec& s, const cxxopts::ParseResult& r) {
  if (!r.count("sign-algorithm")) return std::nullopt;
  const auto word = r["sign-algorithm"].as<std::string>();
  certs::KeyAlg alg;
  if (!certs::parse_alg(word, alg)) c.usage_error(fmt::format("option -a: cannot parse value `{}'", word), &s);
  return alg;
}

std::optional<std::string> string_option(const cxxopts::ParseResult& r, const std::string& name) {
  if (!r.count(name)) return std::nullopt;
  return r[name].as<std::string>();
}

int Cli::run(const std::vector<std::string>& args) const {
  if (args.empty()) {
    // optparse's showHelpOnEmpty: the full help, on stderr, failing.
    std::fputs(help(nullptr).c_str(), stderr);
    return 1;
  }
  size_t i = 0;
  for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
    const auto& a = args[i];
    if (a == "-h" || a == "--help") show_help(nullptr);
    if (a == "-v" || a == "--version") {
      log::out_line(cli::banner(kProduct));
      return 0;
    }
    if (a == "--") {
      ++i;
      break;
    }
    usage_error(fmt::format("Invalid option `{}'", a), nullptr);
  }
  if (i == args.size()) usage_error("Missing: COMMAND", nullptr);
  const std::string& cmd = args[i];
  const std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  if (cmd == "init") return init(rest);
  if (cmd == "cert") return cert(rest);
  if (cmd == "start") return start(rest);
  if (cmd == "database") return database(rest);
  if (cmd == "delete") return remove(rest);
  usage_error(fmt::format("Invalid argument `{}'", cmd), nullptr);
}

int Cli::init(const std::vector<std::string>& args) const {
  const SubSpec s = sub("init");
  const auto r = parse(s, args);
  if (!r.count("path") || !r.count("quota")) {
    std::string missing;
    if (!r.count("path")) missing += " (-p|--path PATH)";
    if (!r.count("quota")) missing += " (-q|--quota QUOTA)";
    usage_error("Missing:" + missing, &s);
  }
  if (r.count("disable-store-log") && r.count("store-log"))
    usage_error("Invalid option: --disable-store-log and -l|--store-log exclude each other", &s);

  InitOptions o;
  o.store_log = !r.count("disable-store-log");
  if (auto alg = alg_option(*this, s, r)) o.alg = *alg;
  if (auto ip = string_option(r, "ip")) o.ip = *ip;
  o.fqdn = string_option(r, "fqdn");
  o.files_path = r["path"].as<std::string>();
  o.web_path = string_option(r, "web-path");

  // Refuse before anything is touched: an existing configuration, a bad quota, an unsupported algorithm.
  if (auto existing = existing_config()) {
    log::out_line(fmt::format("Error: server is already initialized ({} exists).", existing->string()));
    log::out_line(fmt::format("Run `{} start`.", kHintName));
    return 1;
  }
  const auto quota_text = r["quota"].as<std::string>();
  const auto quota = config::parse_size(quota_text);
  if (!quota) {
    std::fprintf(stderr, "Error: invalid quota `%s': expected a size such as 500mb or 100gb (N, Nkb, Nmb or Ngb)\n",
                 quota_text.c_str());
    return 1;
  }
  o.quota = *quota;
  certs::check_alg_supported(o.alg);
  return run_init(paths, o);
}

int Cli::cert(const std::vector<std::string>& args) const {
  const SubSpec s = sub("cert");
  const auto r = parse(s, args);
  const auto alg = alg_option(*this, s, r);
  const auto cn = string_option(r, "cn");
  require_config();  // exists; the reference does not parse it for `cert`
  if (alg) certs::check_alg_supported(*alg);
  return cli::run_cert(paths, alg, cn);
}

int Cli::remove(const std::vector<std::string>& args) const {
  parse(sub("delete"), args);
  return cli::run_delete(paths);
}

int Cli::database(const std::vector<std::string>& args) const {
  const SubSpec group = sub("database");
  size_t i = 0;
  for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
    if (args[i] == "-h" || args[i] == "--help") show_help(&group);
    usage_error(fmt::format("Invalid option `{}'", args[i]), &group);
  }
  if (i == args.size()) usage_error("Missing: COMMAND", &group);
  const std::string& cmd = args[i];
  if (cmd != "import" && cmd != "export") usage_error(fmt::format("Invalid argument `{}'", cmd), &group);
  parse(sub("database " + cmd), {args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end()});

  cli::load_config_source(require_config());  // the reference reads the INI before looking at the store log
  const auto log_file = store_log().string();
  const bool import = cmd == "import";
  const bool exists = stdfs::exists(store_log());
  if (import && !exists) {
    log::out_line(fmt::format("Error: store log file {} does not exist.", log_file));
    return 1;
  }
  if (!import && exists) {
    log::out_line(fmt::format("Error: store log file {} already exists.", log_file));
    return 1;
  }
  const bool ok = import ? cli::confirm_y(fmt::format("Import store log {} to PostgreSQL database?", log_file))
                         : cli::confirm_y(fmt::format("Export PostgreSQL database to store log {}?", log_file));
  if (!ok) {
    log::out_line(import ? "Import cancelled." : "Export cancelled.");
    return 1;
  }
  // This build has no PostgreSQL file store: the reference's non-PostgreSQL build fails here, on stderr.
  std::fprintf(stderr, "%s\n%s\n", kNoPostgres, kNoPostgresHint);
  return 1;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string mbs(uint64_t bytes) { return fmt::format("{}mb", bytes / 1048576); }

// §6.1: the expiry pass at start and every 2 hours, with the reference's NOTE lines.
void expire_files(XftpState& state, const chunks::ChunkStore& chunks) {
  const uint64_t used_before = chunks.used();
  LOG_NOTE("Expiration check: {} files", state.file_count());
  state.expire(unix_now());
  const uint64_t used_after = chunks.used();
  LOG_NOTE("Used {} -> {}, {} reclaimed.", mbs(used_before), mbs(used_after),
           mbs(used_before > used_after ? used_before - used_after : 0));
}

// The chunk directory against the records after loading the log: a chunk file of a record without a recorded
// upload is an upload that was never confirmed (the client retries it) and is deleted; chunk files without any
// record are left alone, as the reference leaves them, but reported since they count against the quota.
void reconcile_chunks(const FileStore& store, chunks::ChunkStore& chunks) {
  size_t unconfirmed = 0;
  store.for_each([&](const FileRec& f) {
    if (!f.uploaded() && chunks.committed_size(f.sender_id)) {
      chunks.remove(f.sender_id);
      ++unconfirmed;
    }
  });
  if (unconfirmed > 0) LOG_NOTE("deleted {} chunk files of unconfirmed uploads", unconfirmed);
  size_t orphans = 0;
  for (const auto& id : chunks.committed_ids())
    if (store.by_sender(id) == nullptr) ++orphans;
  if (orphans > 0)
    LOG_WARN("{} files in {} have no file record (kept; they count against the storage quota; remove them by "
             "hand if the store log was not lost)",
             orphans, chunks.dir().string());
}

// The periodic expiry on the server's io_context (started and stopped with it).
struct ExpiryTimer {
  std::unique_ptr<asio::steady_timer> timer;
  bool stopped = false;
};

int Cli::start(const std::vector<std::string>& args) const {
  const SubSpec s = sub("start");
  const auto r = parse(s, args);
  if (auto confirm = string_option(r, "confirm-migrations"); confirm && *confirm != "up" && *confirm != "down")
    usage_error("invalid migration confirmation, pass 'up' or 'down'", &s);

  const auto src = cli::load_config_source(require_config());
  const XftpConfig cfg = load_xftp_config(src);

  // §1.7 / §6.7: the start-up lines in the reference's order.
  const std::string fp = cli::check_fingerprint(paths.cfg);
  log::out_line(cli::banner(kProduct));
  log::out_line("Fingerprint: " + fp);
  // Never the password (spec §8 Q4); the port only when it is not exactly "443".
  log::out_line(fmt::format("Server address: xftp://{}@{}{}", fp, cfg.host.value_or("<hostnames>"),
                            cfg.port_text == "443" ? "" : ":" + cfg.port_text));
  cli::print_source_code(cfg.information.source_code);
  if (cfg.store_files == "database") {
    log::out_line(kNoPostgres);
    log::out_line(kNoPostgresHint);
    return 1;
  }
  log::out_line(cfg.store_log ? "Store log: " + store_log().string() : std::string("Store log disabled."));
  log::out_line("expiring files after " + cli::show_ttl(3600 * cfg.expire_files_hours));
  log::out_line(cfg.inactive_clients.disconnect
                    ? fmt::format("expiring clients inactive for {} seconds every {} seconds",
                                  cfg.inactive_clients.ttl, cfg.inactive_clients.check_interval)
                    : std::string("not expiring inactive clients"));
  log::out_line(!cfg.new_files          ? "Uploading new files NOT allowed."
                : cfg.create_password ? "Uploading new files requires password."
                                      : "Uploading new files allowed.");
  log::out_line(fmt::format("Listening on port {}...", cfg.port_text));

  if (cfg.web.static_path) {
    // The site is written at every start (server-operations.md §5.5, simplexmq XFTPWeb.hs).
    web::XftpPublicConfig pc;
    pc.file_expiration = 3600 * cfg.expire_files_hours;
    pc.stats_enabled = cfg.log_stats;
    pc.new_uploads_allowed = cfg.new_files;
    pc.basic_auth_enabled = cfg.create_password.has_value();
    try {
      web::generate_site(*cfg.web.static_path, web::Role::xftp,
                         web::xftp_substs(pc, cfg.information, web::onion_host(cfg.host)));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "Error: cannot generate the web site in %s ([WEB] static_path): %s\n",
                   cfg.web.static_path->c_str(), e.what());
      return 1;
    }
  }
  chunks::ChunkStore chunk_store(cfg.files_path, cfg.storage_quota, chunks::Options{cfg.evict_oldest});
  try {
    chunk_store.open();
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "Error: cannot use the files directory %s ([FILES] path): %s\n", cfg.files_path.c_str(),
                 e.what());
    return 1;
  }
  FileStore store;
  std::shared_ptr<storelog::Writer> writer;
  if (cfg.store_log) {
    auto read = [&](const stdfs::path& p) {
      storelog::read_lines(
          p,
          [&](std::string_view line) {
            if (auto message = load_store_log_line(store, line)) log::out_line(*message);
          },
          false);
    };
    auto compact = [&](storelog::Writer& w) {
      w.begin_bulk();
      write_compacted(store, [&](std::string_view line) { w.append(line); });
      w.flush();
    };
    try {
      writer = std::make_shared<storelog::Writer>(
          storelog::open_store_log(store_log(), read, compact, std::chrono::system_clock::now()));
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "Error: cannot open the store log %s: %s\n", store_log().c_str(), e.what());
      return 1;
    }
  }
  reconcile_chunks(store, chunk_store);

  XftpStateConfig state_config;
  state_config.new_files = cfg.new_files;
  state_config.create_password = cfg.create_password;
  state_config.file_ttl = cfg.expire_files_hours * 3600;
  XftpState state(state_config, store, chunk_store);
  if (writer) {
    state.store_log = [writer](std::string_view line) {
      try {
        writer->append(line);
      } catch (const std::exception& e) {
        LOG_ERROR("STORE: store log, {}", e.what());
      }
    };
  }

  // The statistics backup (server-operations.md §5.2; simplexmq: FileTransfer/Server.hs restoreServerStats).
  const stdfs::path stats_file = paths.log / "file-server-stats.log";
  {
    FileServerStatsData fresh;
    fresh.fromTime = unix_now();
    state.set_stats(std::move(fresh));
  }
  if (cfg.log_stats && stdfs::exists(stats_file)) {
    LOG_NOTE("restoring server stats from file {}", stats_file.string());
    auto loaded = load_file_stats(stats_file);
    if (auto* e = std::get_if<std::string>(&loaded)) {
      LOG_NOTE("error restoring server stats: {}", *e);
      return 1;
    }
    FileServerStatsData d = std::get<FileServerStatsData>(std::move(loaded));
    const int64_t saved_count = d.filesCount, saved_size = d.filesSize;
    d.filesCount = static_cast<int64_t>(state.file_count());
    d.filesSize = static_cast<int64_t>(chunk_store.used());
    state.set_stats(d);
    stdfs::rename(stats_file, stats_file.string() + ".bak");
    LOG_NOTE("server stats restored");
    if (saved_count != d.filesCount) LOG_WARN("Files count differs: stats: {}, store: {}", saved_count, d.filesCount);
    if (saved_size != d.filesSize) LOG_WARN("Files size differs: stats: {}, store: {}", saved_size, d.filesSize);
    LOG_NOTE("Restored {} MBs in {} files", d.filesSize / 1048576, d.filesCount);
  }
  auto save_server_stats = [stats_file, on = cfg.log_stats, &state](bool quiet) {
    if (!on) return;
    if (!quiet) LOG_NOTE("saving server stats to file {}", stats_file.string());
    try {
      save_file_stats(stats_file, state.stats());
      if (!quiet) LOG_NOTE("server stats saved");
    } catch (const std::exception& e) {
      LOG_ERROR("error saving server stats: {}", e.what());
    }
  };

  if (cfg.storage_quota) {
    const auto quota = static_cast<int64_t>(*cfg.storage_quota);
    const auto used = static_cast<int64_t>(chunk_store.used());
    LOG_NOTE("Total / available storage: {} / {}", quota, quota - used);
    if (used > quota) LOG_WARN("WARNING: storage quota is less than used storage, no files can be uploaded!");
  }
  expire_files(state, chunk_store);

  tls::ServerOptions tls_options;
  tls_options.alpn = kXftpAlpn;
  if (cfg.web.cert || cfg.web.key) {
    // Both or neither: a browser needs the pair; say which line is missing.
    for (const auto& [key, file] : {std::pair{"cert", cfg.web.cert}, std::pair{"key", cfg.web.key}}) {
      if (!file) {
        std::fprintf(stderr,
                     "Error: [WEB] %s is not set while the other web certificate file is: set both cert and key "
                     "(the web certificate for browsers), or remove both.\n",
                     key);
        return 1;
      }
      if (!stdfs::exists(*file)) {
        std::fprintf(stderr,
                     "Error: web certificate file %s ([WEB] %s) does not exist: put the HTTPS certificate for "
                     "your domain there, or remove the cert and key lines from [WEB].\n",
                     file->c_str(), key);
        return 1;
      }
    }
    tls_options.web = tls::WebCertificate{*cfg.web.cert, *cfg.web.key, {}};
  }
  auto ctx = cli::load_server_credentials(paths.cfg, "XFTP", tls_options);
  auto identity = cli::load_server_identity(paths.cfg);

  asio::thread_pool blocking(2);
  auto server_ctx = std::make_shared<ServerContext>(
      state, HandshakeIdentity{identity.key_hash, identity.cert_chain, identity.online_key});
  server_ctx->static_path = cfg.web.static_path;
  server_ctx->blocking = &blocking;
  if (cfg.inactive_clients.disconnect)
    server_ctx->http2.idle_timeout = std::chrono::seconds(cfg.inactive_clients.ttl);

  net::ServerOptions options;
  options.ports = {cfg.port};
  options.tls_handshake_timeout = std::chrono::seconds(cfg.timeouts.tls_handshake);
  options.log_tls_errors = cfg.log_tls_errors;

  // [WEB] http and https: separate static servers; https must differ from the XFTP port (§5.5).
  auto web_listeners = std::make_shared<web::Listeners>();
  web::ListenOptions web_options;
  if (cfg.web.static_path) {
    web_options.root = *cfg.web.static_path;
    web_options.http = cfg.web.http;
    if (cfg.web.https && tls_options.web) {
      web_options.https = cfg.web.https;
      web_options.https_ctx = tls::make_web_context(*tls_options.web, {"h2", "http/1.1"});
    }
  }
  auto expiry = std::make_shared<ExpiryTimer>();
  cli::ServeHooks hooks;
  // Statistics outputs (server-operations.md §5.1–§5.3) and the metrics over HTTP (our extension).
  auto timers = std::make_shared<stats::Timers>();
  auto metrics_server = std::make_shared<std::unique_ptr<metrics_http::Server>>();
  auto render_metrics = [&state] {
    return xftp_prometheus_metrics(state.stats(), stats::rts_options("XFTP_RTS_OPTIONS"),
                                   std::chrono::system_clock::now());
  };
  auto start_stats = [&, timers, metrics_server, render_metrics](asio::io_context& io) {
    if (cfg.log_stats) {
      const stdfs::path daily = paths.log / "file-server-stats.daily.log";
      log::out_line("server stats log enabled: " + daily.string());
      timers->every(io, std::chrono::seconds(stats::first_row_delay(unix_now())),
                    std::chrono::seconds(stats::kRowInterval), [&state, daily] {
                      try {
                        stats::append_row(daily, file_stats_csv_row(state.roll_stats(unix_now())));
                      } catch (const std::exception& e) {
                        LOG_ERROR("error writing server stats: {}", e.what());
                      }
                    });
      // The backup is also refreshed hourly, so a crash loses at most an hour of counts.
      timers->every(io, std::chrono::hours(1), std::chrono::hours(1), [save_server_stats] { save_server_stats(true); });
    }
    if (cfg.prometheus_interval) {
      const stdfs::path file = paths.log / "xftp-server-metrics.txt";
      log::out_line(fmt::format("Prometheus metrics saved every {} seconds to {}", *cfg.prometheus_interval,
                                file.string()));
      const std::chrono::seconds every(*cfg.prometheus_interval);
      timers->every(io, every, every, [file, render_metrics] {
        try {
          stats::write_metrics_file(file, render_metrics());
        } catch (const std::exception& e) {
          LOG_ERROR("error saving metrics: {}", e.what());
        }
      });
    }
    if (cfg.prometheus_address) {
      *metrics_server = std::make_unique<metrics_http::Server>(io, *config::parse_listen_address(*cfg.prometheus_address),
                                                               render_metrics);
      LOG_NOTE("Prometheus metrics served at http://{}/metrics", *cfg.prometheus_address);
    }
  };
  // The control port (server-operations.md §5.4).
  auto cport = std::make_shared<control::Hook>(
      control::Hook{cfg.control_port, xftp_commands(state),
                    {cfg.control_port_admin_password, cfg.control_port_user_password}, nullptr});
  hooks.start = [expiry, &state, &chunk_store, start_stats, cport, web_listeners, web_options](asio::io_context& io) {
    cport->start(io);  // first: a port in use stops the start before anything runs
    start_stats(io);
    web_listeners->start(io, web_options);
    expiry->timer = std::make_unique<asio::steady_timer>(io);
    asio::co_spawn(
        io,
        [expiry, &state, &chunk_store]() -> asio::awaitable<void> {
          for (;;) {
            expiry->timer->expires_after(std::chrono::hours(2));
            asio::error_code ec;
            co_await expiry->timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (expiry->stopped) co_return;
            expire_files(state, chunk_store);
          }
        },
        asio::detached);
  };
  hooks.stop = [expiry, timers, metrics_server, cport, web_listeners] {
    web_listeners->stop();
    timers->stop();
    cport->stop();
    if (*metrics_server) (*metrics_server)->stop();
    expiry->stopped = true;
    if (expiry->timer) expiry->timer->cancel();
  };
  hooks.finish = [&blocking, writer, save_server_stats, expiry] {
    expiry->timer.reset();  // a timer must go before the io_context that owns its service
    blocking.join();  // uploads being committed finish before the log is closed
    save_server_stats(false);
    if (writer) {
      try {
        writer->sync();
      } catch (const std::exception& e) {
        LOG_ERROR("STORE: store log, {}", e.what());
      }
    }
  };
  std::shared_ptr<const ServerContext> shared = server_ctx;
  return cli::serve_until_signal(std::move(ctx), std::move(options),
                                 [shared](net::ConnectionPtr conn) { return serve_connection(std::move(conn), shared); },
                                 std::move(hooks));
}

std::string program_name(const char* argv0) {
  std::string name = argv0 ? stdfs::path(argv0).filename().string() : "";
  return name.empty() ? "xftp-server" : name;
}

}  // namespace

int xftp_server_main(int argc, char** argv) {
  log::set_level(log::Level::Debug);  // the reference's XFTP server always logs at debug level
  try {
    const Cli c{program_name(argc > 0 ? argv[0] : nullptr),
                cli::role_paths("XFTP_SERVER_CFG_PATH", "/etc/opt/simplex-xftp", "XFTP_SERVER_LOG_PATH",
                                "/var/opt/simplex-xftp")};
    return c.run(cli::strip_rts(argc, argv));
  } catch (const cli::Exit& e) {
    std::fflush(stdout);
    return e.code;
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
  } catch (const certs::CertError& e) {
    std::fprintf(stderr, "Error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "Error: %s\n", e.what());
  }
  return 1;
}

}  // namespace sr::xftp
