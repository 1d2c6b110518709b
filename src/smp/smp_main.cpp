// `smp-server` command line (server-operations.md §1.1–1.10, §6.5–6.7): init, cert, start, delete, journal,
// database. Texts printed to operators are the reference's (simplexmq: Server/Main.hs, Server/CLI.hs,
// Server/Env/STM.hs); help follows optparse-applicative's layout with the reference's descriptions.
// Deliberate deviation (spec §8 Q14, which says the reference exits): when [WEB] https is set and its cert/key
// files are missing, start names each missing file and the fix, then serves SMP without the HTTPS site.
// Invalid or non-RSA-4096 web credentials still end start, as in the reference.
#include "smp/smp_main.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <cxxopts.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/certs.hpp"
#include "core/cli.hpp"
#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/control_port.hpp"
#include "core/metrics_http.hpp"
#include "core/stats_csv.hpp"
#include "core/stats_timers.hpp"
#include "core/web_server.hpp"
#include "core/web_site.hpp"
#include "smp/smp_config.hpp"
#include "smp/smp_control.hpp"
#include "smp/smp_init.hpp"
#include "smp/session.hpp"
#include "smp/journal_dirs.hpp"
#include "smp/msg_journal.hpp"
#include "smp/msg_log.hpp"
#include "smp/store_log_records.hpp"
#include "core/store_log.hpp"

namespace sr::smp {

namespace {

namespace fsys = std::filesystem;

constexpr const char* kProduct = "SMP server";
constexpr const char* kProgram = "smp-server";
constexpr const char* kIniStem = "smp-server";

void out(std::string_view line) { log::out_line(line); }

void err(std::string_view line) {
  std::fflush(stdout);
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

// ---- help ----------------------------------------------------------------------------------------------------

struct CommandHelp {
  std::string name;                     // "init", "journal import"
  std::string description;              // the reference's progDesc
  std::vector<std::string> usage;       // usage items after the command
  std::vector<cli::HelpRow> options;    // without -h, which is added last
  std::vector<cli::HelpRow> commands;   // nested commands (journal, database)

  std::string usage_text() const { return cli::format_usage(fmt::format("{} {}", kProgram, name), usage); }
  std::string full_text() const {
    std::vector<cli::HelpRow> opts = options;
    opts.push_back({"-h,--help", "Show this help text"});
    std::string s = usage_text() + "\n" + cli::format_paragraph(description, 2) + "\n\nAvailable options:\n" +
                    cli::format_rows(opts);
    if (!commands.empty()) s += "\n\nAvailable commands:\n" + cli::format_rows(commands);
    return s;
  }
};

const std::vector<cli::HelpRow> kDbOptionRows = {
    {"-d,--database DB_CONN", fmt::format("Database connection string (default: \"{}\")", kDefaultDbConnection)},
    {"--schema DB_SCHEMA", fmt::format("Database schema (default: \"{}\")", kDefaultDbSchema)},
    {"--pool-size POOL_SIZE", fmt::format("Database pool size (default: {})", kDefaultDbPoolSize)},
};
const std::vector<std::string> kDbUsage = {"[-d|--database DB_CONN]", "[--schema DB_SCHEMA]",
                                           "[--pool-size POOL_SIZE]"};

std::vector<cli::HelpRow> concat(std::vector<cli::HelpRow> a, const std::vector<cli::HelpRow>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

CommandHelp init_help(const cli::Paths& paths) {
  CommandHelp h;
  h.name = "init";
  h.description = fmt::format("Initialize server - creates {} and {} directories and configuration files",
                              paths.cfg.string(), paths.log.string());
  h.usage = {"[--disable-store-log | (-l|--store-log)]"};
  h.usage.insert(h.usage.end(), kDbUsage.begin(), kDbUsage.end());
  for (const char* u :
       {"[-s|--daily-stats]", "[-a|--sign-algorithm ALG]", "[--ip IP]", "[-n|--fqdn FQDN]",
        "[--no-password | --password PASSWORD]", "[--control-port | --control-port PORT]",
        "[--socks-proxy | --socks-proxy PROXY]", "[--own-domains DOMAINS]", "[--source-code | --source-code URI]",
        "[--operator OPERATOR_NAME]", "[--operator-country OPERATOR_COUNTRY]", "[--hosting HOSTING_NAME]",
        "[--hosting-country HOSTING_COUNTRY]", "[--hosting-type HOSTING_TYPE]", "[--server-country SERVER_COUNTRY]",
        "[--operator-website WEBSITE]", "[--web-path PATH]", "[--disable-web]", "[-y|--yes]"})
    h.usage.emplace_back(u);
  h.options = concat({{"--disable-store-log", "Disable store log for persistence (enabled by default)"},
                      {"-l,--store-log", "Enable store log for persistence (DEPRECATED, enabled by default)"}},
                     kDbOptionRows);
  h.options = concat(
      h.options,
      {{"-s,--daily-stats", "Enable logging daily server statistics"},
       {"-a,--sign-algorithm ALG", "Signature algorithm used for TLS certificates: ED25519, ED448 (default: ED25519)"},
       {"--ip IP",
        "Server IP address, used as Common Name for TLS online certificate if FQDN is not supplied (default: "
        "\"127.0.0.1\")"},
       {"-n,--fqdn FQDN", "Server FQDN used as Common Name for TLS online certificate"},
       {"--no-password", "Allow creating new queues without password"},
       {"--password PASSWORD", "Set password to create new messaging queues"},
       {"--control-port", fmt::format("Enable control port on {}", kDefaultControlPort)},
       {"--control-port PORT", "Enable control port"},
       {"--socks-proxy", "Outgoing SOCKS proxy on port 9050"},
       {"--socks-proxy PROXY", "Outgoing SOCKS proxy to forward messages to onion-only servers"},
       {"--own-domains DOMAINS", "Own server domain names (comma-separated)"},
       {"--source-code", fmt::format("Server source code (default: {})", kSimplexmqSource)},
       {"--source-code URI", "Server source code"},
       {"--operator OPERATOR_NAME", "Server operator name"},
       {"--operator-country OPERATOR_COUNTRY", "Server operator country"},
       {"--hosting HOSTING_NAME", "Hosting provider name"},
       {"--hosting-country HOSTING_COUNTRY", "Hosting provider country"},
       {"--hosting-type HOSTING_TYPE", "Hosting type: virtual, dedicated, colocation, owned"},
       {"--server-country SERVER_COUNTRY", "Server datacenter country"},
       {"--operator-website WEBSITE", "Operator public website"},
       {"--web-path PATH", "Directory to store generated static site with server information"},
       {"--disable-web", "Disable starting static web server with server information"},
       {"-y,--yes", "Non-interactive initialization using command-line options"}});
  return h;
}

CommandHelp cert_help(const fsys::path& ini) {
  return {"cert",
          fmt::format("Generate new online TLS server credentials (configuration: {})", ini.string()),
          {"[-a|--sign-algorithm ALG]", "[--cn FQDN]"},
          {{"-a,--sign-algorithm ALG", "Set new signature algorithm used for TLS certificates: ED25519, ED448"},
           {"--cn FQDN", "Set new Common Name for TLS online certificate"}},
          {}};
}

CommandHelp start_help(const fsys::path& ini) {
  return {"start",
          fmt::format("Start server (configuration: {})", ini.string()),
          {"[-m|--maintenance]", "[--compact-log]", "[--log-level LOG_LEVEL]", "[--skip-warnings]",
           "[--confirm-migrations CONFIRM_MIGRATIONS]"},
          {{"-m,--maintenance", "Do not start the server, only perform start and stop tasks"},
           {"--compact-log", "Compact store log (always enabled with `memory` storage for queues)"},
           {"--log-level LOG_LEVEL", "Logging level"},
           {"--skip-warnings", "Start the server with non-critical start warnings"},
           {"--confirm-migrations CONFIRM_MIGRATIONS",
            "Confirm PostgreSQL database migration: up, down (default is manual confirmation)"}},
          {}};
}

CommandHelp delete_help() { return {"delete", "Delete configuration and log files", {}, {}, {}}; }

// journal and database share the import/export/delete command set with different words.
std::vector<cli::HelpRow> store_commands(std::string_view src, std::string_view dest) {
  return {{"import", fmt::format("Import {} into a new {}", src, dest)},
          {"export", fmt::format("Export {} to {}", dest, src)},
          {"delete", fmt::format("Delete {}", dest)}};
}

CommandHelp journal_help() {
  return {"journal", "Import/export messages to/from journal storage", {"COMMAND"}, {},
          store_commands("message log file", "journal storage")};
}

CommandHelp database_help() {
  std::vector<std::string> usage = {"COMMAND", "[--table TABLE]"};
  usage.insert(usage.end(), kDbUsage.begin(), kDbUsage.end());
  return {"database", "Import/export queues to/from PostgreSQL database storage", usage,
          concat({{"--table TABLE", "Database tables: queues/messages"}}, kDbOptionRows),
          store_commands("queue store log file", "PostgreSQL database schema")};
}

// A nested command (`journal import`): its description is the row in the parent's command list.
CommandHelp nested_help(const CommandHelp& parent, const cli::HelpRow& row) {
  return {parent.name + " " + row.left, row.right, {}, {}, {}};
}

// ---- option parsing ------------------------------------------------------------------------------------------

// How the operator typed an option (`-a` or `--sign-algorithm`), for error messages as optparse words them.
std::string typed_name(const std::vector<std::string>& args, const std::string& long_name, char short_name) {
  for (auto it = args.rbegin(); it != args.rend(); ++it) {
    const std::string& a = *it;
    if (a == "--" + long_name || a.rfind("--" + long_name + "=", 0) == 0) return "--" + long_name;
    if (short_name && a.size() > 1 && a[0] == '-' && a[1] != '-' && a.find(short_name) != std::string::npos)
      return std::string("-") + short_name;
  }
  return "--" + long_name;
}

struct UsageError {
  std::string message;
};

// Parses args with cxxopts, rejecting what optparse-applicative rejects: unknown options, stray arguments,
// an option given twice, both alternatives of an either-or pair. Returns nullopt after printing help (-h).
std::optional<cxxopts::ParseResult> parse_command(cxxopts::Options& options, const std::vector<std::string>& args,
                                                  const CommandHelp& help,
                                                  std::initializer_list<std::pair<const char*, const char*>>
                                                      exclusive = {}) {
  options.allow_unrecognised_options();
  options.add_options()("h,help", "", cxxopts::value<bool>());
  std::vector<const char*> argv = {kProgram};
  for (const auto& a : args) argv.push_back(a.c_str());
  cxxopts::ParseResult r;
  try {
    r = options.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const cxxopts::exceptions::missing_argument&) {
    throw UsageError{fmt::format("The option `{}' expects an argument.", args.back())};
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError{e.what()};
  }
  if (r.count("help")) {
    out(help.full_text());
    return std::nullopt;
  }
  for (const auto& u : r.unmatched()) {
    if (u.size() > 1 && u[0] == '-') throw UsageError{fmt::format("Invalid option `{}'", u)};
    throw UsageError{fmt::format("Invalid argument `{}'", u)};
  }
  std::vector<std::string> seen;
  for (const auto& kv : r.arguments()) {
    if (std::find(seen.begin(), seen.end(), kv.key()) != seen.end())
      throw UsageError{fmt::format("Invalid option `--{}'", kv.key())};
    for (const auto& [a, b] : exclusive)
      if ((kv.key() == a && r.count(b)) || (kv.key() == b && r.count(a)))
        if (std::find(seen.begin(), seen.end(), kv.key() == a ? b : a) != seen.end())
          throw UsageError{fmt::format("Invalid option `--{}'", kv.key())};
    seen.push_back(kv.key());
  }
  return r;
}

std::optional<std::string> opt_string(const cxxopts::ParseResult& r, const std::string& name) {
  if (!r.count(name)) return std::nullopt;
  return r[name].as<std::string>();
}

// Value readers: each throws UsageError "option <as typed>: <reason>" like optparse's reader failures.
[[noreturn]] void bad_value(const std::vector<std::string>& args, const std::string& long_name, char short_name,
                            std::string_view reason) {
  throw UsageError{fmt::format("option {}: {}", typed_name(args, long_name, short_name), reason)};
}

std::string cannot_parse(std::string_view value) { return fmt::format("cannot parse value `{}'", value); }

std::optional<std::string> country_option(const cxxopts::ParseResult& r, const std::vector<std::string>& args,
                                          const std::string& prefix) {
  auto v = opt_string(r, prefix + "-country");
  if (!v) return std::nullopt;
  auto cc = config::parse_country(*v);
  if (!cc) bad_value(args, prefix + "-country", 0, "Use ISO3166 2-letter code for " + prefix);
  return cc;
}

// One host of the reference's TransportHost syntax (IPv4, IPv6, .onion, domain), as strEncode writes it back.
std::optional<std::string> transport_host(std::string_view s) {
  if (s.empty()) return std::nullopt;
  // IPv4: four decimal numbers; a text that starts like one must be one.
  {
    std::array<unsigned long, 4> parts{};
    size_t i = 0;
    int n = 0;
    for (; n < 4; ++n) {
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      if (j == i || j - i > 9) break;
      parts[n] = std::stoul(std::string(s.substr(i, j - i)));
      i = j;
      if (n < 3) {
        if (i >= s.size() || s[i] != '.') break;
        ++i;
      }
    }
    if (n == 4) {
      if (i != s.size() || std::any_of(parts.begin(), parts.end(), [](unsigned long p) { return p > 255; }))
        return std::nullopt;
      return fmt::format("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[3]);
    }
  }
  // IPv6, bracketed or bare.
  std::string v6(s);
  if (v6.size() > 2 && v6.front() == '[' && v6.back() == ']') v6 = v6.substr(1, v6.size() - 2);
  if (v6.find(':') != std::string::npos) {
    in6_addr addr{};
    char buf[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET6, v6.c_str(), &addr) != 1 || !inet_ntop(AF_INET6, &addr, buf, sizeof buf))
      return std::nullopt;
    return std::string(buf);
  }
  constexpr std::string_view onion = ".onion";
  if (s.size() >= onion.size() && s.substr(s.size() - onion.size()) == onion) {
    for (char c : s.substr(0, s.size() - onion.size()))
      if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c))))
        return std::nullopt;
    return std::string(s);
  }
  if (s.find_first_of(":#,;/ \n\r\t") != std::string_view::npos) return std::nullopt;
  return std::string(s);
}

// --own-domains: comma-separated hosts, written back comma-separated (spec §8 Q6); empty → not given.
std::optional<std::string> own_domains_option(std::string_view text, bool& ok) {
  ok = true;
  if (text.empty()) return std::nullopt;
  std::string joined;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    auto host = transport_host(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (!host) {
      ok = false;
      return std::nullopt;
    }
    if (!joined.empty()) joined += ',';
    joined += *host;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return joined;
}

bool valid_hosting_type(std::string_view t) {
  return t == "virtual" || t == "dedicated" || t == "colocation" || t == "owned";
}

std::optional<InitOptions> parse_init(const std::vector<std::string>& args, const cli::Paths& paths) {
  cxxopts::Options o(kProgram);
  auto str = [] { return cxxopts::value<std::string>(); };
  auto flag = [] { return cxxopts::value<bool>(); };
  o.add_options()("disable-store-log", "", flag())("l,store-log", "", flag())("d,database", "", str())(
      "schema", "", str())("pool-size", "", str())("s,daily-stats", "", flag())("a,sign-algorithm", "", str())(
      "ip", "", str())("n,fqdn", "", str())("no-password", "", flag())("password", "", str())(
      "control-port", "", str()->implicit_value(std::to_string(kDefaultControlPort)))(
      "socks-proxy", "", str()->implicit_value(kDefaultSocksProxy))("own-domains", "", str())(
      "source-code", "", str()->implicit_value(kSimplexmqSource))("operator", "", str())("operator-country", "",
                                                                                          str())(
      "hosting", "", str())("hosting-country", "", str())("hosting-type", "", str())("server-country", "", str())(
      "operator-website", "", str())("web-path", "", str())("disable-web", "", flag())("y,yes", "", flag());
  auto parsed = parse_command(o, args, init_help(paths), {{"disable-store-log", "store-log"}, {"no-password", "password"}});
  if (!parsed) return std::nullopt;
  const auto& r = *parsed;

  InitOptions io;
  io.enable_store_log = !r.count("disable-store-log");
  if (auto v = opt_string(r, "database")) io.db_connection = *v;
  if (auto v = opt_string(r, "schema")) io.db_schema = *v;
  if (auto v = opt_string(r, "pool-size")) {
    auto n = config::parse_int(*v);
    if (!n) bad_value(args, "pool-size", 0, cannot_parse(*v));
    io.db_pool_size = *n;
  }
  io.log_stats = r.count("daily-stats") > 0;
  if (auto v = opt_string(r, "sign-algorithm"))
    if (!certs::parse_alg(*v, io.alg)) bad_value(args, "sign-algorithm", 'a', cannot_parse(*v));
  if (auto v = opt_string(r, "ip")) io.ip = *v;
  io.fqdn = opt_string(r, "fqdn");
  if (r.count("no-password")) {
    io.password = InitOptions::Password::none;
  } else if (auto v = opt_string(r, "password")) {
    if (!config::valid_password(*v)) bad_value(args, "password", 0, "invalid character in BasicAuth");
    io.password = InitOptions::Password::given;
    io.given_password = *v;
  }
  if (auto v = opt_string(r, "control-port"); v && !v->empty()) {  // `--control-port=` means not enabled
    auto n = config::parse_int(*v);
    if (!n) bad_value(args, "control-port", 0, cannot_parse(*v));
    io.control_port = *n;
  }
  if (auto v = opt_string(r, "socks-proxy")) {
    io.socks_proxy = config::parse_socks_proxy(*v);
    if (!io.socks_proxy) bad_value(args, "socks-proxy", 0, cannot_parse(*v));
  }
  if (auto v = opt_string(r, "own-domains")) {
    bool ok = false;
    io.own_domains = own_domains_option(*v, ok);
    if (!ok) bad_value(args, "own-domains", 0, cannot_parse(*v));
  }
  io.source_code = opt_string(r, "source-code");
  io.op = opt_string(r, "operator");
  io.op_country = country_option(r, args, "operator");
  io.hosting = opt_string(r, "hosting");
  io.hosting_country = country_option(r, args, "hosting");
  if (auto v = opt_string(r, "hosting-type"); v && !v->empty()) {  // empty means not given, as in the reference
    if (!valid_hosting_type(*v)) bad_value(args, "hosting-type", 0, "Failed reading: bad HostingType");
    io.hosting_type = *v;
  }
  io.server_country = country_option(r, args, "server");
  io.website = opt_string(r, "operator-website");
  io.web_path = opt_string(r, "web-path");
  io.disable_web = r.count("disable-web") > 0;
  io.scripted = r.count("yes") > 0;
  return io;
}

// simplexmq: Server/Main.hs checkInitOptions.
bool check_init_options(const InitOptions& o) {
  const bool has_info = o.op || o.website || o.hosting || o.hosting_type || o.server_country;
  const char* error = nullptr;
  if (!o.source_code && has_info)
    error = "Error: passing any server information requires passing --source-code";
  else if (!o.op && o.op_country)
    error = "Error: passing --operator-country requires passing --operator";
  else if (!o.hosting && o.hosting_country)
    error = "Error: passing --hosting-country requires passing --hosting";
  if (error) out(error);
  return error == nullptr;
}

std::string random_base64url(size_t n) { return base64url_encode(crypto::random_bytes(n)); }

std::string server_address(const std::string& fp, const std::optional<std::string>& password, const std::string& host,
                           const std::string& port) {
  return fmt::format("smp://{}{}@{}{}", fp, password ? ":" + *password : "", host, port.empty() ? "" : ":" + port);
}

// ---- the commands --------------------------------------------------------------------------------------------

class SmpCli {
 public:
  explicit SmpCli(cli::Paths paths) : paths_(std::move(paths)) {}

  int run(const std::vector<std::string>& args) {
    if (args.empty()) {  // optparse's showHelpOnEmpty: help on stderr, failure
      err(top_help());
      return 1;
    }
    const std::string& cmd = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
      if (cmd == "-h" || cmd == "--help") return out(top_help()), 0;
      if (cmd == "-v" || cmd == "--version") return out(cli::banner(kProduct)), 0;
      if (cmd == "init") return init(rest);
      if (cmd == "cert") return cert(rest);
      if (cmd == "start") return start(rest);
      if (cmd == "delete") return del(rest);
      if (cmd == "journal") return journal(rest);
      if (cmd == "database") return database(rest);
      throw UsageError{fmt::format("Invalid {} `{}'", cmd.size() > 1 && cmd[0] == '-' ? "option" : "argument", cmd)};
    } catch (const UsageError& e) {
      return cli::usage_error(e.message, usage_for(cmd));
    }
  }

 private:
  cli::Paths paths_;

  fsys::path ini_file() const { return paths_.cfg / (std::string(kIniStem) + ".ini"); }
  fsys::path store_log_file() const { return paths_.log / "smp-server-store.log"; }

  fsys::path messages_file() const { return paths_.log / "smp-server-messages.log"; }
  fsys::path ntfs_file() const { return paths_.log / "smp-server-ntfs.log"; }

  fsys::path journal_file() const { return paths_.log / "smp-server-messages.journal"; }

  // The reference's saved messages and notifications (server-operations.md §4.4, §6.7 rows 14–17), imported
  // into the stores. A saved file is newer than our journal (the reference wrote it at its stop, or `journal
  // export` did), so its content replaces what the journal held.
  bool import_saved_state(ServerState& st, const SmpConfig& cfg, bool skip_warnings) const {
    const int64_t now = std::time(nullptr);
    try {
      if (fsys::exists(messages_file())) {
        LOG_NOTE("restoring messages from file {}", messages_file().string());
        st.messages().clear();
        auto r = restore_messages(messages_file(), st.queues(), st.messages(), now - 86400 * cfg.expire_messages_days,
                                  skip_warnings);
        if (!r.fatal.empty()) return false;
        LOG_NOTE("messages stored: {}, expired: {}, queues: {}", r.stored, r.expired, st.queues().size());
      }
      if (fsys::exists(ntfs_file())) {
        LOG_NOTE("restoring notifications from file {}", ntfs_file().string());
        st.notifications().clear();
        auto r = restore_notifications(ntfs_file(), st.notifications(), now - 3600 * cfg.expire_ntfs_hours);
        if (!r.fatal.empty()) return false;
        LOG_NOTE("notifications restored, {} lines processed", r.lines);
        LOG_NOTE("notifications stored: {}, expired: {}, queues: {}", r.stored, r.expired,
                 st.notifications().ids().size());
      }
    } catch (const std::exception& e) {
      LOG_ERROR("error restoring messages: {}", e.what());
      return false;
    }
    return true;
  }

  // The deprecated journal directories of `store_messages = journal` (§4.5), read without touching them, the
  // first time we start on them (afterwards our journal has their messages).
  void import_journal_dirs(ServerState& st) const {
    LOG_NOTE("importing messages from journal directory {} (left unchanged)", msgs_dir().string());
    size_t stored = 0, dropped = 0;
    auto report = read_journal_dirs(msgs_dir(), [&](JournalQueueMsgs&& q) {
      if (!st.queues().by_recipient(q.recipient_id)) {
        dropped += q.msgs.size();
        return;
      }
      for (auto& m : q.msgs) (st.messages().restore(q.recipient_id, std::move(m)) ? stored : dropped)++;
    });
    for (const auto& w : report.warnings) LOG_WARN("{}", w);
    LOG_NOTE("messages imported: {}, not imported: {}, queues: {}", stored, dropped, report.queues);
  }

  // Opens the durable message journal (DECISIONS.md "Message storage"): replays it, imports the reference's
  // files, then rewrites it as a snapshot and keeps it open. Damage is reported with its file and offset and the
  // damaged file is moved aside; records around the damage are kept. nullptr: the start must stop.
  std::unique_ptr<MsgJournalFile> open_message_journal(ServerState& st, const SmpConfig& cfg, bool journal_mode,
                                                       bool skip_warnings) const {
    const fsys::path j = journal_file();
    const fsys::path leftover = j.string() + ".new";
    if (fsys::exists(leftover)) {
      // Compaction stopped before its rename: the journal itself is complete, the partial copy is redundant.
      LOG_WARN("{}: incomplete compaction found, the journal {} is used", leftover.string(), j.string());
      fsys::remove(leftover);
    }
    const bool had_journal = fsys::exists(j);
    bool move_aside = false;
    if (had_journal) {
      LOG_NOTE("restoring messages from journal {}", j.string());
      const MsgReplayReport r = replay_msg_journal(j, st.messages(), st.notifications());
      if (r.read.bad_header) {
        LOG_ERROR("{}: not a message journal (bad header), nothing restored from it", j.string());
        move_aside = true;
      }
      if (r.read.torn_at)
        LOG_WARN("{}: incomplete last record at offset {} ({} bytes) dropped: the server stopped mid-write", j.string(),
                 *r.read.torn_at, r.read.file_size - *r.read.torn_at);
      for (const auto& d : r.read.damage)
        LOG_ERROR("{}: damaged record at offset {} ({} bytes skipped): {}", j.string(), d.offset, d.length, d.what);
      if (!r.read.damage.empty()) move_aside = true;
      if (r.inconsistent || r.unknown)
        LOG_WARN("{}: {} records did not apply, {} were not understood", j.string(), r.inconsistent, r.unknown);
      LOG_NOTE("messages restored: {}, notifications: {}, records: {}", st.messages().total_messages(),
               st.notifications().total(), r.read.records);
    }
    if (!journal_mode) {
      if (!import_saved_state(st, cfg, skip_warnings)) return nullptr;
    } else if (!had_journal && fsys::is_directory(msgs_dir())) {
      import_journal_dirs(st);
    }
    if (const size_t n = drop_orphans(st.queues(), st.messages(), st.notifications()))
      LOG_NOTE("dropped {} messages and notifications of deleted queues", n);
    try {
      if (move_aside) {
        fsys::path aside = j.string() + ".corrupt." + iso8601_show(std::chrono::system_clock::now());
        fsys::rename(j, aside);
        LOG_ERROR("{}: moved aside to {} for inspection; the recovered records are kept in a new journal",
                  j.string(), aside.string());
      }
      journal::write_snapshot(j, [&](const auto& emit) { write_msg_snapshot(emit, st.messages(), st.notifications()); });
      // The reference's files are renamed only now that their content is on disk in the journal.
      for (const fsys::path& f : {messages_file(), ntfs_file()})
        if (!journal_mode && fsys::exists(f)) fsys::rename(f, f.string() + ".bak");
      const auto policy = *journal::parse_fsync_policy(cfg.fsync);
      auto w = std::make_unique<journal::Writer>(j, policy, std::chrono::milliseconds(cfg.fsync_interval_ms));
      LOG_NOTE("message journal {} (fsync {})", j.string(), cfg.fsync);
      return std::make_unique<MsgJournalFile>(std::move(w));
    } catch (const std::exception& e) {
      LOG_ERROR("message journal {}: {}", j.string(), e.what());
      return nullptr;
    }
  }

  // At stop everything the journal holds is flushed to disk; nothing needs saving (the journal is the store).
  static void close_message_journal(Relay& relay) {
    if (MsgJournalFile* j = relay.message_journal()) {
      relay.message_journal()->writer().sync_now();
      LOG_NOTE("undelivered messages: {}, kept in {}", relay.state().messages().total_messages(),
               j->writer().path().string());
    }
  }

  // Loads smp-server-store.log into the state with the reference's start-up protocol and keeps it open for the
  // changes that follow (server-operations.md §4.2, §4.3). Unparsable lines and records that do not apply are
  // reported as the reference reports them and skipped.
  // Applies one store log file to the state; services are collected for add_service.
  void read_queue_store_log(const fsys::path& p, ServerState& st, std::vector<ServiceRec>& services) const {
    std::set<Id> deleted;
    storelog::read_lines(p, [&](std::string_view line) {
      auto r = parse_store_log_record(line);
      if (auto* e = std::get_if<std::string>(&r)) {
        out(fmt::format("Error parsing log: {} - {}", *e, line));
        return;
      }
      const std::string problem = apply_store_log_record(st.queues(), services, std::get<StoreLogRecord>(r), &deleted);
      if (problem.empty()) return;
      if (store_log_warning(problem))
        LOG_WARN("{}", problem);
      else
        LOG_ERROR("{}", problem);
    });
  }

  // Returns the open log (its descriptor joins the message journal's fsync policy).
  std::shared_ptr<storelog::Writer> open_queue_store_log(ServerState& st) const {
    const fsys::path f = store_log_file();
    LOG_NOTE("restoring queues from file {}", f.string());
    std::vector<ServiceRec> services;
    auto read = [&](const fsys::path& p) { read_queue_store_log(p, st, services); };
    auto compact = [&](storelog::Writer& w) {
      write_compacted(st.queues(), services, [&](std::string_view line) { w.append(line); });
    };
    auto w = std::make_shared<storelog::Writer>(
        storelog::open_store_log(f, read, compact, std::chrono::system_clock::now()));
    for (auto& s : services) st.add_service(std::move(s));
    st.store_log = [w](std::string_view line) -> std::string {
      try {
        w->append(line);
        return {};
      } catch (const std::exception& e) {
        LOG_ERROR("STORE: store log, withLog, {}", e.what());
        return std::string("store log, withLog, ") + e.what();
      }
    };
    return w;
  }
  fsys::path msgs_file() const { return paths_.log / "smp-server-messages.log"; }
  fsys::path msgs_dir() const { return paths_.log / "messages"; }

  std::string top_usage() const { return cli::format_usage(kProgram, {"[-v|--version]", "COMMAND"}); }

  std::string top_help() const {
    const std::vector<cli::HelpRow> commands = {
        {"init", init_help(paths_).description},   {"cert", cert_help(ini_file()).description},
        {"start", start_help(ini_file()).description}, {"delete", delete_help().description},
        {"journal", journal_help().description},    {"database", database_help().description}};
    return fmt::format("{}\n\n{}\n\nAvailable options:\n{}\n\nAvailable commands:\n{}", cli::banner(kProduct),
                       top_usage(),
                       cli::format_rows({{"-h,--help", "Show this help text"}, {"-v,--version", "Show version"}}),
                       cli::format_rows(commands));
  }

  std::string usage_for(const std::string& cmd) const {
    if (cmd == "init") return init_help(paths_).usage_text();
    if (cmd == "cert") return cert_help(ini_file()).usage_text();
    if (cmd == "start") return start_help(ini_file()).usage_text();
    if (cmd == "delete") return delete_help().usage_text();
    if (cmd == "journal") return journal_help().usage_text();
    if (cmd == "database") return database_help().usage_text();
    return top_usage();
  }

  // ---- init

  int init(const std::vector<std::string>& args) {
    auto parsed = parse_init(args, paths_);
    if (!parsed) return 0;
    InitOptions o = *parsed;
    if (auto existing = cli::existing_config_file(paths_.cfg, kIniStem)) {
      out(fmt::format("Error: server is already initialized ({} exists).", existing->string()));
      out(fmt::format("Run `{} start`.", kProgram));
      return 1;
    }
    try {
      certs::check_alg_supported(o.alg);
    } catch (const certs::CertError& e) {
      out(e.what());
      return 1;
    }
    if (!o.scripted) {
      out(fmt::format("Use `{} init -h` for available options.", kProgram));
      if (!check_init_options(o)) return 1;
      ask(o);
    }
    if (!check_init_options(o)) return 1;
    return initialize(o);
  }

  // Interactive init (spec §1.4): the answers replace the corresponding options.
  void ask(InitOptions& o) const {
    cli::prompt("SMP server will be initialized (press Enter)");
    o.enable_store_log = cli::on_off_prompt("Enable store log to restore queues and messages on server restart", true);
    o.log_stats = cli::on_off_prompt("Enable logging daily statistics", false);
    out("Require a password to create new messaging queues?");
    std::string answer = cli::prompt(
        "'r' for random (default), 'n' - no password (recommended for public servers), or enter password: ");
    for (;;) {
      if (answer.empty() || answer == "r") {
        o.password = InitOptions::Password::random;
      } else if (answer == "n") {
        o.password = InitOptions::Password::none;
      } else if (config::valid_password(answer)) {
        o.password = InitOptions::Password::given;
        o.given_password = answer;
      } else {
        out("Invalid password. Only latin letters, digits and symbols other than '@' and ':' are allowed");
        answer = cli::prompt("");  // the reference reads again without repeating the prompt
        continue;
      }
      break;
    }
    const std::string host = o.fqdn.value_or(o.ip);
    answer = cli::prompt(fmt::format("Enter server FQDN or IP address for certificate ({}): ", host));
    if (!answer.empty()) o.fqdn = answer;
    answer = cli::prompt(fmt::format("Enter server source code URI ({}): ", o.source_code.value_or(kSimplexmqSource)));
    while (!answer.empty() && answer.rfind("https://", 0) != 0 && answer.rfind("http://", 0) != 0) {
      out("Invalid source code. URI should start from http:// or https://");
      answer = cli::prompt("");
    }
    if (!answer.empty()) o.source_code = answer;
    if (!o.source_code) o.source_code = kSimplexmqSource;  // interactive init always writes source_code
    answer = cli::prompt(fmt::format("Enter path to store generated server pages to show connection links ({}): ",
                                     o.web_path.value_or((paths_.log / "www").string())));
    if (!answer.empty()) o.web_path = answer;
  }

  int initialize(const InitOptions& o) const {
    const std::string fp = cli::init_credentials(paths_, o.alg, o.fqdn.value_or(o.ip));
    InitSecrets secrets;
    if (o.password == InitOptions::Password::random) secrets.create_password = random_base64url(32);
    if (o.password == InitOptions::Password::given) secrets.create_password = o.given_password;
    if (o.control_port) secrets.control_passwords = {random_base64url(18), random_base64url(18)};
    try {
      fs::write_file(ini_file(), ini_file_content(paths_, o, secrets));
    } catch (const fs::FileError& e) {
      err(e.what());
      return 1;
    }
    out(fmt::format("Server initialized, please provide additional server information in {}.", ini_file().string()));
    out(fmt::format("Run `{} start` to start server.", kProgram));
    cli::warn_ca_private_key(paths_.cfg / "ca.key");
    out(cli::banner(kProduct));
    out("Fingerprint: " + fp);
    out("Server address: " + server_address(fp, secrets.create_password, init_host(o), ""));
    cli::print_source_code(o.source_code);
    return 0;
  }

  // ---- cert, delete

  int cert(const std::vector<std::string>& args) {
    cxxopts::Options o(kProgram);
    o.add_options()("a,sign-algorithm", "", cxxopts::value<std::string>())("cn", "", cxxopts::value<std::string>());
    auto r = parse_command(o, args, cert_help(ini_file()));
    if (!r) return 0;
    std::optional<certs::KeyAlg> alg;
    if (auto v = opt_string(*r, "sign-algorithm")) {
      certs::KeyAlg a;
      if (!certs::parse_alg(*v, a)) bad_value(args, "sign-algorithm", 'a', cannot_parse(*v));
      alg = a;
    }
    cli::load_config_source(cli::require_config_file(paths_.cfg, kIniStem, kProgram));
    return cli::run_cert(paths_, alg, opt_string(*r, "cn"));
  }

  int del(const std::vector<std::string>& args) {
    cxxopts::Options o(kProgram);
    if (!parse_command(o, args, delete_help())) return 0;
    return cli::run_delete(paths_);
  }

  // ---- journal, database

  // "<cmd> COMMAND": -h, a nested command word, or the parent's help on stderr when nothing follows.
  std::optional<std::string> nested_command(const CommandHelp& help, const std::vector<std::string>& args,
                                            std::vector<std::string>& rest) const {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a == "-h" || a == "--help") {
        out(help.full_text());
        return std::nullopt;
      }
      for (const auto& row : help.commands) {
        if (a == row.left) {
          rest.assign(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(i));
          rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
          return a;
        }
      }
      if (a.empty() || a[0] != '-') throw UsageError{fmt::format("Invalid argument `{}'", a)};
      if (a.find('=') == std::string::npos) ++i;  // an option before the command takes the next word
    }
    err(help.full_text());
    throw cli::Exit{1};
  }

  int journal(const std::vector<std::string>& args) {
    const CommandHelp help = journal_help();
    std::vector<std::string> rest;
    if (!args.empty() && args[0][0] == '-' && args[0] != "-h" && args[0] != "--help")
      throw UsageError{fmt::format("Invalid option `{}'", args[0])};
    auto cmd = nested_command(help, args, rest);
    if (!cmd) return 0;
    const cli::HelpRow& row = *std::find_if(help.commands.begin(), help.commands.end(),
                                            [&](const cli::HelpRow& r) { return r.left == *cmd; });
    cxxopts::Options o(kProgram);
    if (!parse_command(o, rest, nested_help(help, row))) return 0;

    config::Source src = cli::load_config_source(cli::require_config_file(paths_.cfg, kIniStem, kProgram));
    std::optional<bool> enable;
    try {
      enable = src.opt_on_off("STORE_LOG", "enable");
    } catch (const config::ConfigError& e) {
      err(e.what());
      return 1;
    }
    const bool dir_exists = fsys::is_directory(msgs_dir()), file_exists = fsys::is_regular_file(msgs_file());
    if (!enable.value_or(false)) {
      out("Store log disabled, see `[STORE_LOG] enable`");
      return 1;
    }
    if (!fsys::exists(store_log_file())) {
      out(fmt::format("Store log file {} not found", store_log_file().string()));
      return 1;
    }
    if (*cmd == "delete") {
      if (!dir_exists) {
        out(fmt::format("{} directory does not exists.", msgs_dir().string()));
        return 1;
      }
      if (!cli::confirm_y(fmt::format("WARNING: journal directory {} will be permanently deleted.\nTHIS CANNOT BE "
                                      "UNDONE!",
                                      msgs_dir().string()))) {
        out("Messages NOT deleted");
        return 1;
      }
      fsys::remove_all(msgs_dir());
      out(fmt::format("Deleted all messages in journal {}", msgs_dir().string()));
      return 0;
    }
    if (file_exists && dir_exists) return exit_configure_msg_storage();
    const std::string store_messages = src.opt_string("STORE_LOG", "store_messages").value_or("memory");
    // Offline: queues are read from the store log without compacting it.
    RelayConfig rc;
    rc.msg_queue_quota = static_cast<size_t>(src.opt_int("STORE_LOG", "msg_queue_quota").value_or(128));
    ServerState st(rc);
    std::vector<ServiceRec> services;
    if (*cmd == "import") {
      if (dir_exists) {
        out(fmt::format("{} directory already exists.", msgs_dir().string()));
        return 1;
      }
      if (!file_exists) {
        out(fmt::format("{} file does not exist.", msgs_file().string()));
        return 1;
      }
      if (!cli::confirm_y(fmt::format("WARNING: message log file {} will be imported to journal directory {}",
                                      msgs_file().string(), msgs_dir().string()))) {
        out("Messages not imported");
        return 1;
      }
      read_queue_store_log(store_log_file(), st, services);
      auto r = restore_messages(msgs_file(), st.queues(), st.messages(), INT64_MIN, false);  // no expiration
      if (!r.fatal.empty()) return 1;
      for (const Id& rid : st.messages().queue_ids()) {
        std::vector<Message> msgs;
        st.messages().for_each_message(rid, [&](const Message& m) { msgs.push_back(m); });
        write_journal_queue(msgs_dir(), rid, msgs);
      }
      fsys::rename(msgs_file(), msgs_file().string() + ".bak");
      // The imported file was newer than our own journal, which would otherwise shadow the directories.
      if (fsys::exists(journal_file())) {
        fsys::rename(journal_file(), journal_file().string() + ".bak");
        out(fmt::format("{} renamed to {}.bak", journal_file().string(), journal_file().string()));
      }
      out("Import completed");
      LOG_NOTE("Messages stored: {}, expired: {}, queues: {}", r.stored, r.expired, st.messages().queue_ids().size());
      out(store_messages == "journal" ? "store_messages set to `journal`"
                                      : "store_messages set to `" + store_messages + "`, update it to `journal` in INI file");
      return 0;
    }
    if (file_exists) {
      out(fmt::format("{} file already exists.", msgs_file().string()));
      return 1;
    }
    const bool ours = fsys::exists(journal_file());
    if (!cli::confirm_y(fmt::format("WARNING: {} {} will be exported to message log file {}",
                                    ours ? "message journal" : "journal directory",
                                    ours ? journal_file().string() : msgs_dir().string(), msgs_file().string()))) {
      out("Journal not exported");
      return 1;
    }
    read_queue_store_log(store_log_file(), st, services);
    if (ours) {
      const MsgReplayReport r = replay_msg_journal(journal_file(), st.messages(), st.notifications());
      if (!r.read.clean()) LOG_WARN("{}: damaged; exporting the {} records that are intact", journal_file().string(),
                                    r.read.records);
    } else if (dir_exists) {
      import_journal_dirs(st);
    }
    drop_orphans(st.queues(), st.messages(), st.notifications());
    try {
      LOG_NOTE("saving messages to file {}", msgs_file().string());
      LOG_NOTE("messages saved: {}", save_messages(msgs_file(), st.messages()));
      if (st.notifications().total()) {
        LOG_NOTE("saving notifications to file {}", ntfs_file().string());
        save_notifications(ntfs_file(), st.notifications());
      }
    } catch (const std::exception& e) {
      LOG_ERROR("error exporting messages: {}", e.what());
      return 1;
    }
    out("Export completed");
    out(store_messages == "journal" ? "store_messages set to `journal`, update it to `memory` in INI file"
                                    : "store_messages set to `memory`, start the server.");
    return 0;
  }

  int database(const std::vector<std::string>& args) {
    const CommandHelp help = database_help();
    std::vector<std::string> rest;
    auto cmd = nested_command(help, args, rest);
    if (!cmd) return 0;
    const cli::HelpRow& row = *std::find_if(help.commands.begin(), help.commands.end(),
                                            [&](const cli::HelpRow& r) { return r.left == *cmd; });
    cxxopts::Options o(kProgram);
    o.add_options()("table", "", cxxopts::value<std::string>())("d,database", "", cxxopts::value<std::string>())(
        "schema", "", cxxopts::value<std::string>())("pool-size", "", cxxopts::value<std::string>());
    CommandHelp nested = nested_help(help, row);
    nested.options = help.options;
    auto r = parse_command(o, rest, nested);
    if (!r) return 0;
    if (auto t = opt_string(*r, "table"); t && *t != "queues" && *t != "messages" && *t != "all")
      bad_value(rest, "table", 0, "Failed reading: DatabaseTable");
    if (auto v = opt_string(*r, "pool-size"); v && !config::parse_int(*v))
      bad_value(rest, "pool-size", 0, cannot_parse(*v));
    return exit_no_postgres();
  }

  static int exit_no_postgres() {
    out("Error: server binary is compiled without support for PostgreSQL database.");
    out("Please download `smp-server-postgres` or re-compile with `cabal build -fserver_postgres`.");
    return 1;
  }

  int exit_configure_msg_storage() const {
    out(fmt::format("Error: both {} file and {} directory are present.", msgs_file().string(), msgs_dir().string()));
    out("Configure memory storage.");
    return 1;
  }

  // ---- start

  int start(const std::vector<std::string>& args) {
    cxxopts::Options o(kProgram);
    o.add_options()("m,maintenance", "", cxxopts::value<bool>())("compact-log", "", cxxopts::value<bool>())(
        "log-level", "", cxxopts::value<std::string>())("skip-warnings", "", cxxopts::value<bool>())(
        "confirm-migrations", "", cxxopts::value<std::string>());
    auto r = parse_command(o, args, start_help(ini_file()));
    if (!r) return 0;
    log::Level level = log::Level::Info;
    if (auto v = opt_string(*r, "log-level"); v && !log::parse_level(*v, level))
      bad_value(args, "log-level", 0, "Invalid log level");
    if (auto v = opt_string(*r, "confirm-migrations"); v && *v != "up" && *v != "down")
      bad_value(args, "confirm-migrations", 0, "invalid migration confirmation, pass 'up' or 'down'");

    const fsys::path file = cli::require_config_file(paths_.cfg, kIniStem, kProgram);
    log::set_level(level);
    const config::Source src = cli::load_config_source(file);
    SmpConfig cfg;
    try {
      cfg = load_smp_config(src);
    } catch (const config::ConfigError& e) {
      err(e.what());
      return 1;
    }
    return run_server(cfg, r->count("maintenance") > 0, r->count("skip-warnings") > 0);
  }

  // The reference's runServer order (spec §1.7, §6.7).
  int run_server(const SmpConfig& cfg, bool maintenance, bool skip_warnings) const {
    const std::string fp = cli::check_fingerprint(paths_.cfg);
    out(cli::banner(kProduct));
    out("Fingerprint: " + fp);
    out("Server address: " + server_address(fp, cfg.create_password, cfg.host.value_or("<hostnames>"),
                                            cfg.port_text == "5223" ? "" : cfg.port_text));
    cli::print_source_code(cfg.information.source_code);

    if (cfg.store_queues == "database") return exit_no_postgres();
    const bool journal = cfg.store_messages == "journal";  // journal storage always uses the store log
    out(cfg.store_log || journal ? "Store log: " + store_log_file().string() : "Store log disabled.");
    print_transports(cfg);
    if (int rc = check_msg_store_mode(journal)) return rc;

    out("expiring messages after " + cli::show_ttl(86400 * cfg.expire_messages_days));
    out(cfg.inactive_clients.disconnect
            ? fmt::format("expiring clients inactive for {} seconds every {} seconds", cfg.inactive_clients.ttl,
                          cfg.inactive_clients.check_interval)
            : "not expiring inactive clients");
    out(std::string("creating new queues ") +
        (!cfg.new_queues ? "NOT allowed" : cfg.create_password ? "requires password" : "allowed"));

    if (cfg.web.static_path) {
      if (int rc = generate_web_site(cfg, journal)) return rc;
    } else {
      LOG_WARN("No server static path set");
    }
    if (journal)
      LOG_WARN(
          "Journal message store is deprecated and will be removed soon.\n"
          "Please migrate to in-memory storage using `journal export` command.\n"
          "After that you can migrate to PostgreSQL using `database import` command.");

    RelayConfig rc;
    rc.msg_queue_quota = static_cast<size_t>(cfg.msg_queue_quota);
    rc.new_queues = cfg.new_queues;
    rc.create_password = cfg.create_password;
    rc.message_ttl = 86400 * cfg.expire_messages_days;
    rc.expire_messages_on_send = cfg.expire_messages_on_send;
    rc.ntf_ttl = 3600 * cfg.expire_ntfs_hours;
    RelayTimeouts rt;
    rt.handshake = std::chrono::seconds(cfg.timeouts.protocol_handshake);
    rt.expire_messages_on_start = cfg.expire_messages_on_start;
    rt.disconnect_inactive = cfg.inactive_clients.disconnect;
    rt.inactive_ttl = std::chrono::seconds(cfg.inactive_clients.ttl);
    rt.inactive_check = std::chrono::seconds(cfg.inactive_clients.check_interval);
    auto relay = std::make_shared<Relay>(rc, RelayIdentity{}, rt);
    relay->set_proxy_config(proxy_agent_config(cfg), static_cast<size_t>(cfg.client_concurrency));
    // Queues are kept in the reference's store log (server-operations.md §4.2, §4.3).
    std::shared_ptr<storelog::Writer> queue_log;
    if (cfg.store_log || journal) {
      try {
        queue_log = open_queue_store_log(relay->state());
      } catch (const std::exception& e) {
        err(fmt::format("{}: {}", store_log_file().string(), e.what()));
        return 1;
      }
    }

    tls::ServerOptions tls_options;
    tls_options.request_client_cert = cfg.accept_service_credentials;
    tls::CtxPtr ctx = cli::load_server_credentials(paths_.cfg, "SMP", tls_options);
    bool web_https = false;
    if (int rc2 = check_https_credentials(cfg.web, web_https)) return rc2;
    // §5.5: [WEB] https on an SMP port shares it: ClientHellos with SNI get the web certificate and the site.
    const bool shared_https = web_https && cfg.web.static_path &&
                              std::find(cfg.ports.begin(), cfg.ports.end(), *cfg.web.https) != cfg.ports.end();
    if (shared_https) {
      LOG_DEBUG("Allocated web server resources");
      tls_options.web = tls::WebCertificate{*cfg.web.cert, *cfg.web.key, {"h2", "http/1.1"}};
      ctx = cli::load_server_credentials(paths_.cfg, "SMP", tls_options);
    }
    // Messages are kept whenever queues are: in the durable journal (DECISIONS.md "Message storage").
    if ((cfg.store_log && cfg.restore_messages) || journal) {
      auto j = open_message_journal(relay->state(), cfg, journal, skip_warnings);
      if (!j) return 1;
      relay->set_message_journal(std::move(j));
      // The fsync policy covers queue records too: a queue confirmed under `always` survives a power loss.
      if (queue_log) {
        journal::Writer* jw = &relay->message_journal()->writer();
        jw->add_companion(queue_log->fd());
        relay->state().store_log = [inner = std::move(relay->state().store_log), jw](std::string_view line) {
          std::string e = inner(line);
          if (e.empty()) jw->mark_written();
          return e;
        };
      }
    }
    // The statistics backup (server-operations.md §5.2): read once the stores are loaded, written at stop
    // (simplexmq: Server.hs restoreServerStats / saveServerStats).
    const fsys::path stats_file = paths_.log / "smp-server-stats.log";
    {
      ServerStatsData fresh;
      fresh.fromTime = std::time(nullptr);
      relay->state().set_stats(std::move(fresh));
    }
    if (cfg.log_stats && fsys::exists(stats_file)) {
      LOG_NOTE("restoring server stats from file {}", stats_file.string());
      auto loaded = load_stats(stats_file);
      if (auto* e = std::get_if<std::string>(&loaded)) {
        LOG_NOTE("error restoring server stats: {}", *e);
        return 1;
      }
      ServerStatsData d = std::get<ServerStatsData>(std::move(loaded));
      const int64_t saved_queues = d.qCount, store_queues = static_cast<int64_t>(relay->state().queues().size());
      d.qCount = store_queues;
      relay->state().set_stats(std::move(d));
      fsys::rename(stats_file, stats_file.string() + ".bak");
      LOG_NOTE("server stats restored");
      if (saved_queues != store_queues)
        LOG_WARN("Queue count differs: stats: {}, store: {}", saved_queues, store_queues);
    }
    auto save_server_stats = [stats_file, on = cfg.log_stats](const ServerState& st) {
      if (!on) return;
      LOG_NOTE("saving server stats to file {}", stats_file.string());
      try {
        save_stats(stats_file, st.stats());
        LOG_NOTE("server stats saved");
      } catch (const std::exception& e) {
        LOG_ERROR("error saving server stats: {}", e.what());
      }
    };

    if (maintenance) {
      out("Server started in 'maintenance' mode, exiting");
      save_server_stats(relay->state());  // the reference saves its state on this exit too
      LOG_NOTE("Server stopped");
      return 0;
    }

    net::ServerOptions options;
    options.ports = cfg.ports;
    options.tls_handshake_timeout = std::chrono::seconds(cfg.timeouts.tls_handshake);
    options.log_tls_errors = cfg.log_tls_errors;
    cli::ServerIdentity id = cli::load_server_identity(paths_.cfg);
    relay->set_identity(RelayIdentity{id.key_hash, id.cert_chain, id.online_key});
    std::optional<fsys::path> shared_site;
    if (shared_https) shared_site = *cfg.web.static_path;
    net::Handler handler = [relay, shared_site](net::ConnectionPtr conn) {
      if (shared_site && conn->sni_used()) return web::serve_connection(std::move(conn), *shared_site);
      return relay->serve(std::move(conn));
    };
    // [WEB] http, and https on its own port (simplexmq: Server/Main.hs runWebServer).
    auto web_listeners = std::make_shared<web::Listeners>();
    web::ListenOptions web_options;
    if (cfg.web.static_path) {
      web_options.root = *cfg.web.static_path;
      web_options.http = cfg.web.http;
      if (web_https && !shared_https) {
        web_options.https = cfg.web.https;
        web_options.https_ctx = tls::make_web_context(tls::WebCertificate{*cfg.web.cert, *cfg.web.key, {}},
                                                      {"h2", "http/1.1"});
      }
    }
    // Statistics outputs (server-operations.md §5.1–§5.3) and the metrics over HTTP (our extension).
    auto timers = std::make_shared<stats::Timers>();
    auto metrics_server = std::make_shared<std::unique_ptr<metrics_http::Server>>();
    // The TLS server, once bound (ServeHooks::attach), for the socket counts.
    auto listener = std::make_shared<const net::TlsServer*>(nullptr);
    auto render_metrics = [relay, listener] {
      ServerState& st = relay->state();
      RealTimeMetrics rt;
      if (*listener) rt.sockets = (*listener)->socket_counts();
      st.realtime_counts(rt, std::time(nullptr));
      rt.threadsCount = stats::thread_count();
      const EntityCounts e = st.entity_counts();
      rt.loadedNotifierCount = e.notifierCount;  // memory storage: every notifier is loaded
      return prometheus_metrics(st.stats(), st.store_gauges(), e, rt, st.ack_times(),
                                stats::rts_options("SMP_RTS_OPTIONS"), std::chrono::system_clock::now());
    };
    auto start_stats = [relay, timers, metrics_server, render_metrics, stats_file, log_stats = cfg.log_stats,
                        prometheus_interval = cfg.prometheus_interval, prometheus_address = cfg.prometheus_address,
                        log_dir = paths_.log](asio::io_context& io) {
      if (log_stats) {
        const fsys::path daily = log_dir / "smp-server-stats.daily.log";
        out("server stats log enabled: " + daily.string());
        auto snapshot = std::make_shared<std::optional<EntityCounts>>();
        timers->every(io, std::chrono::seconds(stats::first_row_delay(std::time(nullptr))),
                      std::chrono::seconds(stats::kRowInterval), [relay, daily, snapshot] {
                        ServerState& st = relay->state();
                        if (!*snapshot) *snapshot = st.entity_counts();  // taken once, as the reference (8.Q9)
                        const StoreGauges g = st.store_gauges();
                        const StatsPeriod p = st.roll_stats_period(std::time(nullptr));
                        try {
                          stats::append_row(daily, stats_csv_row(p, g, **snapshot));
                        } catch (const std::exception& e) {
                          LOG_ERROR("error writing server stats: {}", e.what());
                        }
                      });
        // The backup is also refreshed hourly, so a crash loses at most an hour of counts.
        timers->every(io, std::chrono::hours(1), std::chrono::hours(1), [relay, stats_file] {
          try {
            save_stats(stats_file, relay->state().stats());
          } catch (const std::exception& e) {
            LOG_ERROR("error saving server stats: {}", e.what());
          }
        });
      }
      if (prometheus_interval) {
        const fsys::path file = log_dir / "smp-server-metrics.txt";
        out(fmt::format("Prometheus metrics saved every {} seconds to {}", *prometheus_interval, file.string()));
        const std::chrono::seconds every(*prometheus_interval);
        timers->every(io, every, every, [file, render_metrics] {
          try {
            stats::write_metrics_file(file, render_metrics());
          } catch (const std::exception& e) {
            LOG_ERROR("error saving metrics: {}", e.what());
          }
        });
      }
      if (prometheus_address) {
        const auto addr = config::parse_listen_address(*prometheus_address);  // checked when the config was read
        *metrics_server = std::make_unique<metrics_http::Server>(io, *addr, render_metrics);
        LOG_NOTE("Prometheus metrics served at http://{}/metrics", *prometheus_address);
      }
    };
    auto cport = control_port_hook(cfg, relay, queue_log, save_server_stats, [listener] {
      return *listener ? (*listener)->socket_counts() : std::vector<SocketCounts>{};
    });
    cli::ServeHooks hooks{[relay, start_stats, cport, web_listeners, web_options](asio::io_context& io) {
                            cport->start(io);  // first: a port in use stops the start before anything runs
                            relay->start_housekeeping(io);
                            start_stats(io);
                            web_listeners->start(io, web_options);
                          },
                          [relay, timers, metrics_server, cport, web_listeners] {
                            web_listeners->stop();
                            timers->stop();
                            if (*metrics_server) (*metrics_server)->stop();
                            cport->stop();
                            relay->stop();
                          },
                          [relay, save_server_stats] {
                            close_message_journal(*relay);
                            save_server_stats(relay->state());
                          },
                          [listener](const net::TlsServer& s) { *listener = &s; }};
    return cli::serve_until_signal(std::move(ctx), std::move(options), std::move(handler), std::move(hooks));
  }

  // The control port (server-operations.md §5.4), started with the other listeners. `save` writes the stats
  // backup and makes the message journal and store log durable, leaving everything open (DECISIONS.md, 8.Q16).
  template <class SaveStats>
  static std::shared_ptr<control::Hook> control_port_hook(const SmpConfig& cfg, std::shared_ptr<Relay> relay,
                                                          std::shared_ptr<storelog::Writer> queue_log,
                                                          SaveStats save_stats,
                                                          std::function<std::vector<SocketCounts>()> sockets) {
    auto hook = std::make_shared<control::Hook>();
    if (!cfg.control_port) return hook;
    SmpControl c;
    c.relay = relay;
    c.daily_block_queue_quota = cfg.daily_block_queue_quota;
    c.sockets = std::move(sockets);
    c.save = [relay, queue_log, save_stats] {
      try {
        if (MsgJournalFile* j = relay->message_journal()) j->writer().sync_now();
        if (queue_log) queue_log->sync();
      } catch (const std::exception& e) {
        LOG_ERROR("STORE: {}", e.what());
      }
      save_stats(relay->state());
    };
    hook->port = *cfg.control_port;
    hook->commands = smp_commands(std::move(c));
    hook->passwords = {cfg.control_port_admin_password, cfg.control_port_user_password};
    return hook;
  }

  // [PROXY] as the proxy role uses it (server-operations.md §3.3).
  static ProxyAgentConfig proxy_agent_config(const SmpConfig& cfg) {
    ProxyAgentConfig p;
    if (cfg.socks_proxy) {
      // Normalised "a.b.c.d:port" or "[v6]:port".
      const std::string& t = *cfg.socks_proxy;
      const size_t colon = t.rfind(':');
      socks::Proxy sp;
      sp.host = t.substr(0, colon);
      if (sp.host.size() > 1 && sp.host.front() == '[') sp.host = sp.host.substr(1, sp.host.size() - 2);
      sp.port = static_cast<uint16_t>(std::stoi(t.substr(colon + 1)));
      if (cfg.socks_auth == SmpConfig::SocksAuth::username) {
        sp.username = cfg.socks_username;
        sp.password = cfg.socks_password;
      }
      p.socks = std::move(sp);
    }
    p.socks_isolate = cfg.socks_auth == SmpConfig::SocksAuth::isolate;
    p.socks_always = cfg.socks_mode == "always";
    p.prefer_onion = cfg.host_mode == "onion";
    p.required_host_mode = cfg.required_host_mode;
    p.own_server_domains = cfg.own_server_domains;
    return p;
  }

  // simplexmq: Server/CLI.hs printServerTransports.
  void print_transports(const SmpConfig& cfg) const {
    bool has_443 = false;
    auto serving = [&](uint16_t port, std::string_view transport) {
      out(fmt::format("Serving SMP protocol on port {} ({})...", port, transport));
      if (cfg.web.https == port) out(fmt::format("Serving static site on port {} ({})...", port, transport));
      has_443 = has_443 || port == 443;
    };
    for (uint16_t p : cfg.ports) serving(p, "TLS");
    for (uint16_t p : cfg.websocket_ports)
      if (std::find(cfg.ports.begin(), cfg.ports.end(), p) == cfg.ports.end()) serving(p, "WebSockets");
    if (!has_443) {
      out("");
      out("WARNING: the clients will use port 443 by default soon.");
      out("Set `port` in smp-server.ini section [TRANSPORT] to `5223,443`");
      out("");
    }
  }

  // simplexmq: Server/Main.hs checkMsgStoreMode, without the PostgreSQL cases. Returns the exit code or 0.
  int check_msg_store_mode(bool journal) const {
    const bool dir_exists = fsys::is_directory(msgs_dir()), file_exists = fsys::is_regular_file(msgs_file());
    if (file_exists && dir_exists) return exit_configure_msg_storage();
    if (journal) {
      if (file_exists) {
        out(fmt::format("Error: store_messages is `journal` with {} file present.", msgs_file().string()));
        out("Set store_messages to `memory` or use `smp-server journal export` to migrate.");
        return 1;
      }
      if (!dir_exists)
        out(fmt::format("store_messages is `journal`, {} directory will be created.", msgs_dir().string()));
      else if (!fsys::exists(store_log_file()))
        out(fmt::format("store_queues is `memory`, {} file will be created.", store_log_file().string()));
    } else if (dir_exists) {
      out(fmt::format("Error: store_messages is `memory` with {} directory present.", msgs_dir().string()));
      out("Set store_messages to `journal` or use `smp-server journal import` to migrate.");
      return 1;
    }
    return 0;
  }

  // [WEB] https + cert + key (simplexmq: Server/Env/STM.hs newEnv): the files must load, and the leaf must be an
  // RSA key of at least 4096 bits, else start ends as in the reference. Missing files are our deviation from the
  // reference (spec §8 Q14, which exits): the server says which files are missing and how to fix it, then serves
  // SMP without the HTTPS site. Returns the exit code or 0; usable: the web certificate can be served.
  static int check_https_credentials(const config::WebConfig& web, bool& usable) {
    usable = false;
    if (!web.https || !web.cert || !web.key) return 0;
    const char* lets_encrypt =
        "Use Let's Encrypt to generate: certbot certonly --standalone -d yourdomainname --key-type rsa "
        "--rsa-key-size 4096";
    std::vector<std::pair<const char*, std::string>> missing;
    for (const auto& [key, f] : {std::pair{"cert", *web.cert}, std::pair{"key", *web.key}})
      if (!fsys::exists(f)) missing.emplace_back(key, f);
    if (!missing.empty()) {
      out("----------");
      out("Warning: no HTTPS credentials, the web site is not served on port " + std::to_string(*web.https) + ".");
      for (const auto& [key, f] : missing)
        out(fmt::format("Missing file: {} ([WEB] {} in smp-server.ini)", fsys::absolute(f).string(), key));
      out("Server should serve static pages to show connection links in the browser.");
      out("To fix: put the certificate and its key at these paths (or change [WEB] cert and key), e.g. from Let's "
          "Encrypt:");
      out("certbot certonly --standalone -d yourdomainname --key-type rsa --rsa-key-size 4096");
      out("or comment out `https` in smp-server.ini to run without the HTTPS site.");
      out("Serving SMP without the HTTPS site.");
      out("----------");
      return 0;
    }
    std::vector<tls::X509Ptr> chain;
    bool loaded = false;
    try {
      chain = tls::read_pem_certs(*web.cert);
      loaded = !chain.empty() && tls::read_private_key(*web.key) != nullptr;
    } catch (const tls::TlsError& e) {
      LOG_DEBUG("HTTPS credential load failed: {}", e.what());
    }
    if (!loaded) {
      out("invalid credential");
      return 1;
    }
    tls::PkeyPtr pub(X509_get_pubkey(chain.front().get()));
    if (!pub || EVP_PKEY_id(pub.get()) != EVP_PKEY_RSA || EVP_PKEY_bits(pub.get()) < 4096) {
      out("Error: unsupported HTTPS credentials, required 4096-bit RSA");
      out(lets_encrypt);
      out("----------");
      return 1;
    }
    usable = true;
    return 0;
  }

  // The site under [WEB] static_path, written at every start (server-operations.md §5.5, simplexmq SMPWeb.hs).
  int generate_web_site(const SmpConfig& cfg, bool journal) const {
    web::SmpPublicConfig pc;
    pc.persistence = !cfg.store_log && !journal      ? "In-memory only"
                     : !journal && !cfg.restore_messages ? "Queues"
                                                          : "Queues and messages";
    pc.message_expiration = 86400 * cfg.expire_messages_days;
    pc.stats_enabled = cfg.log_stats;
    pc.new_queues_allowed = cfg.new_queues;
    pc.basic_auth_enabled = cfg.create_password.has_value();
    try {
      web::generate_site(*cfg.web.static_path, web::Role::smp,
                         web::smp_substs(pc, cfg.information, web::onion_host(cfg.host)));
    } catch (const std::exception& e) {
      err(fmt::format("Error: cannot generate the web site in {} ([WEB] static_path): {}", *cfg.web.static_path,
                      e.what()));
      return 1;
    }
    return 0;
  }
};

}  // namespace

int smp_server_main(int argc, char** argv) {
  try {
    SmpCli cli(cli::role_paths("SMP_SERVER_CFG_PATH", "/etc/opt/simplex", "SMP_SERVER_LOG_PATH", "/var/opt/simplex"));
    return cli.run(cli::strip_rts(argc, argv));
  } catch (const cli::Exit& e) {
    return e.code;
  } catch (const std::exception& e) {
    // Anything unexpected (I/O errors above all) ends the command like the reference's uncaught exceptions.
    err(e.what());
    return 1;
  }
}

}  // namespace sr::smp
