// Command-line pieces both roles share (server-operations.md §1). Operator-facing texts are the reference's
// (simplexmq: Server/CLI.hs, Server/Main.hs) so scripts and log parsers keep working.
#include "core/cli.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <system_error>

#include "build_info.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"

namespace sr::cli {

namespace fsys = std::filesystem;

namespace {

void out(std::string_view line) { log::out_line(line); }

void err_line(std::string_view line) {
  std::fflush(stdout);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

// Runs f; file-system and certificate failures end the command like the reference's uncaught I/O errors:
// the message on stderr, exit status 1.
template <typename F>
auto or_exit(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const certs::CertError& e) {
    err_line(e.what());
  } catch (const fs::FileError& e) {
    err_line(e.what());
  } catch (const fsys::filesystem_error& e) {
    err_line(e.what());
  }
  throw Exit{1};
}

// The reference's missing-credentials block (simplexmq: Server/Env/STM.hs getCredentials).
void exit_if_missing(std::string_view proto, const std::vector<fsys::path>& files) {
  std::string missing;
  for (const auto& f : files) {
    if (fsys::exists(f)) continue;
    if (!missing.empty()) missing += ", ";
    missing += f.string();
  }
  if (missing.empty()) return;
  out("----------");
  out(fmt::format("Error: no {} credentials: {}", proto, missing));
  throw Exit{1};
}

constexpr size_t kWidth = 80;    // optparse-applicative's default column limit
constexpr size_t kLeftCol = 24;  // width of the option/command column
constexpr size_t kRightCol = 27; // 2 indent + 24 + 1 space

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    if (j > i) words.push_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

// Appends words to `out` starting at column `col`; wrapped lines start with `indent` spaces.
void fill(std::string& out, size_t col, size_t indent, const std::vector<std::string_view>& words) {
  bool first = true;
  for (auto w : words) {
    if (!first && col + 1 + w.size() > kWidth) {
      out += '\n';
      out.append(indent, ' ');
      col = indent;
      first = true;
    }
    if (!first) {
      out += ' ';
      ++col;
    }
    out += w;
    col += w.size();
    first = false;
  }
}

}  // namespace

std::vector<std::string> strip_rts(int argc, const char* const* argv) {
  std::vector<std::string> args;
  bool in_rts = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--RTS") {  // GHC: everything after --RTS belongs to the program, verbatim
      for (++i; i < argc; ++i) args.emplace_back(argv[i]);
      break;
    }
    if (in_rts) {
      if (a == "-RTS") in_rts = false;
    } else if (a == "+RTS") {
      in_rts = true;
    } else {
      args.emplace_back(a);
    }
  }
  return args;
}

Paths role_paths(const char* cfg_env, const char* default_cfg, const char* log_env, const char* default_log) {
  return Paths{fs::getenv_nonempty(cfg_env).value_or(default_cfg), fs::getenv_nonempty(log_env).value_or(default_log)};
}

std::string prompt(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  std::string line;
  if (!std::getline(std::cin, line)) {
    // What the reference's getLine dies with at end of input.
    err_line(fmt::format("{}: <stdin>: hGetLine: end of file", program_invocation_short_name));
    throw Exit{1};
  }
  return line;
}

bool on_off_prompt(std::string_view text, bool default_value) {
  const std::string full = fmt::format("{}{}", text, default_value ? " (Yn): " : " (yN): ");
  for (;;) {
    const std::string answer = prompt(full);
    if (answer.empty()) return default_value;
    if (answer == "y" || answer == "Y") return true;
    if (answer == "n" || answer == "N") return false;
    out("Invalid input, please enter 'y' or 'n'");
  }
}

bool confirm_y(std::string_view text) { return prompt(fmt::format("{}\nContinue (Y/n): ", text)) == "Y"; }

void warn_ca_private_key(const fsys::path& ca_key) {
  out("----------");
  out("You should store CA private key securely and delete it from the server.");
  out("If server TLS credential is compromised this key can be used to sign a new one, keeping the same server "
      "identity and established connections.");
  out("CA private key location:");
  out(ca_key.string());
  out("----------");
}

void print_source_code(const std::optional<std::string>& uri) {
  if (uri) {
    out("Server source code: " + *uri);
  } else {
    out("Warning: server source code is not specified.");
    out("Add 'source_code' property to [INFORMATION] section of INI file.");
  }
}

std::string show_ttl(int64_t seconds) {
  // Largest unit that divides exactly, always plural (simplexmq: Server/Expiration.hs showTTL).
  if (seconds % 60 != 0) return fmt::format("{} seconds", seconds);
  const int64_t minutes = seconds / 60;
  if (minutes % 60 != 0) return fmt::format("{} minutes", minutes);
  const int64_t hours = minutes / 60;
  if (hours % 24 != 0) return fmt::format("{} hours", hours);
  return fmt::format("{} days", hours / 24);
}

std::string check_fingerprint(const fsys::path& cfg) {
  const fsys::path fp_file = cfg / "fingerprint";
  std::optional<std::string> saved = or_exit([&] { return fs::read_first_line(fp_file); });
  if (!saved) {
    err_line(fmt::format("{}: withFile: does not exist (No such file or directory)", fp_file.string()));
    throw Exit{1};
  }
  std::string fp = or_exit([&] { return certs::fingerprint_of_file(cfg / "ca.crt"); });
  if (*saved != fp) {
    out("Stored fingerprint is invalid.");
    throw Exit{1};
  }
  return fp;
}

std::string banner(std::string_view product) {
  return fmt::format("{} v{} / {}", product, SR_COMPAT_VERSION, std::string_view(SR_COMMIT).substr(0, 7));
}

std::string init_credentials(const Paths& paths, certs::KeyAlg alg, const std::string& cn) {
  return or_exit([&] {
    certs::check_alg_supported(alg);  // before anything is removed
    fs::empty_directory(paths.cfg);
    fs::empty_directory(paths.log);
    fsys::create_directories(paths.cfg);
    fsys::create_directories(paths.log);
    certs::create_ca_and_online(paths.cfg, alg, cn);
    return certs::fingerprint_of_file(paths.cfg / "ca.crt");
  });
}

int run_cert(const Paths& paths, std::optional<certs::KeyAlg> alg, std::optional<std::string> cn) {
  if (!alg || !cn) {
    try {
      const certs::CertInfo old = certs::read_cert_info(paths.cfg / "server.crt");
      if (!alg) alg = old.alg;
      if (!cn) cn = old.cn;
    } catch (const certs::CertError& e) {
      out(e.what());  // the reference's exitError: stdout, status 1
      return 1;
    }
  }
  or_exit([&] {
    certs::check_alg_supported(*alg);
    certs::create_online(paths.cfg, *alg, *cn);
  });
  out("Generated new server credentials");
  warn_ca_private_key(paths.cfg / "ca.key");
  return 0;
}

int run_delete(const Paths& paths) {
  if (!confirm_y("WARNING: deleting the server will make all queues inaccessible, because the server identity "
                 "(certificate fingerprint) will change.\nTHIS CANNOT BE UNDONE!")) {
    out("Server NOT deleted");
    return 1;
  }
  or_exit([&] {
    for (const auto& dir : {paths.cfg, paths.log})
      if (fsys::is_directory(dir)) fsys::remove_all(dir);
  });
  out("Deleted configuration and log files");
  return 0;
}

tls::CtxPtr load_server_credentials(const fsys::path& cfg, std::string_view proto,
                                    const tls::ServerOptions& options) {
  const fsys::path ca = cfg / "ca.crt", crt = cfg / "server.crt", key = cfg / "server.key";
  exit_if_missing(proto, {ca, crt, key});
  try {
    return tls::make_server_context(crt.string(), ca.string(), key.string(), options);
  } catch (const tls::TlsError& e) {
    LOG_DEBUG("credential load failed: {}", e.what());
    out("invalid credential");
    throw Exit{1};
  }
}

ServerIdentity load_server_identity(const fsys::path& cfg) {
  ServerIdentity id;
  try {
    auto online = tls::read_pem_certs((cfg / "server.crt").string());
    auto ca = tls::read_pem_certs((cfg / "ca.crt").string());
    if (online.empty() || ca.empty()) throw tls::TlsError("no certificate");
    id.cert_chain = {tls::cert_der(online[0].get()), tls::cert_der(ca[0].get())};
    const auto hash = crypto::sha256(id.cert_chain[1]);
    id.key_hash.assign(hash.begin(), hash.end());
    id.online_key = tls::raw_private_key(tls::read_private_key((cfg / "server.key").string()).get());
  } catch (const tls::TlsError& e) {
    LOG_DEBUG("credential load failed: {}", e.what());
    out("invalid credential");
    throw Exit{1};
  }
  return id;
}

int serve_until_signal(tls::CtxPtr ctx, net::ServerOptions options, net::Handler handler, ServeHooks hooks) {
  // A file size limit (RLIMIT_FSIZE) fails the write with EFBIG, which the journals report, instead of killing us.
  ::signal(SIGXFSZ, SIG_IGN);
  asio::io_context io;
  net::TlsServer server(io, std::move(ctx), std::move(options), std::move(handler));
  // Watch the signals before the listeners announce themselves, so a signal sent as soon as the ports are bound
  // already stops gracefully. The first signal stops watching, so run() returns once every connection is closed.
  net::on_shutdown_signal(io, [&server, &hooks] {
    if (hooks.stop) hooks.stop();
    server.stop();
  });
  try {
    server.listen();
  } catch (const net::BindError& e) {
    net::cancel_shutdown_signal();
    err_line(e.what());
    return 1;
  }
  if (hooks.attach) hooks.attach(server);
  if (hooks.start) hooks.start(io);
  server.start();
  io.run();
  if (hooks.finish) hooks.finish();
  // What the hooks hold (timers, listeners) must go while the io_context that owns their services still exists.
  hooks = ServeHooks{};
  LOG_NOTE("Server stopped");
  return 0;
}

std::optional<fsys::path> existing_config_file(const fsys::path& cfg, std::string_view stem) {
  for (const char* ext : {".ini", ".toml"}) {
    fsys::path p = cfg / (std::string(stem) + ext);
    if (fsys::exists(p)) return p;
  }
  return std::nullopt;
}

fsys::path require_config_file(const fsys::path& cfg, std::string_view stem, std::string_view program) {
  const fsys::path ini = cfg / (std::string(stem) + ".ini"), toml = cfg / (std::string(stem) + ".toml");
  const bool has_ini = fsys::exists(ini), has_toml = fsys::exists(toml);
  if (has_ini && has_toml) {
    out(fmt::format("Error: both {} and {} exist, remove one of them.", ini.string(), toml.string()));
    throw Exit{1};
  }
  if (has_ini) return ini;
  if (has_toml) return toml;
  out(fmt::format("Error: server is not initialized ({} does not exist).", ini.string()));
  out(fmt::format("Run `{} init`.", program));
  throw Exit{1};
}

config::Source load_config_source(const fsys::path& file) {
  try {
    config::Source src = config::Source::load(file);
    for (const auto& w : src.warnings()) LOG_WARN("{}:{}: {}", file.string(), w.line, w.message);
    return src;
  } catch (const config::ConfigError& e) {
    err_line(e.what());
    throw Exit{1};
  }
}

std::string format_rows(const std::vector<HelpRow>& rows) {
  std::string text;
  for (const auto& row : rows) {
    if (!text.empty()) text += '\n';
    text += "  " + row.left;
    if (row.right.empty()) continue;
    if (row.left.size() <= kLeftCol) {
      text.append(kRightCol - 2 - row.left.size(), ' ');
    } else {
      text += '\n';
      text.append(kRightCol, ' ');
    }
    fill(text, kRightCol, kRightCol, words_of(row.right));
  }
  return text;
}

std::string format_usage(std::string_view prefix, const std::vector<std::string>& items) {
  std::string text = fmt::format("Usage: {}", prefix);
  const size_t indent = text.size() + 1;
  size_t col = text.size();
  for (const auto& item : items) {
    if (col + 1 + item.size() > kWidth && col > indent) {
      text += '\n';
      text.append(indent, ' ');
      col = indent;
    } else {
      text += ' ';
      ++col;
    }
    text += item;
    col += item.size();
  }
  return text;
}

std::string format_paragraph(std::string_view text, size_t indent) {
  std::string s(indent, ' ');
  fill(s, indent, indent, words_of(text));
  return s;
}

int usage_error(std::string_view message, std::string_view usage) {
  err_line(fmt::format("{}\n\n{}", message, usage));
  return 1;
}

}  // namespace sr::cli
