// Command-line pieces both roles share: argv clean-up, paths, prompts, and the operator-facing lines that the
// reference prints the same way for SMP and XFTP (server-operations.md §1).
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/certs.hpp"
#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/server.hpp"

namespace sr::cli {

// Exit with this status after printing what was wrong (thrown by helpers, caught in the role's main).
struct Exit {
  int code;
};

// argv[1..] without GHC RTS blocks: every "+RTS … -RTS" span is removed, "+RTS" without "-RTS" consumes the
// rest, "--RTS" ends RTS processing and is removed itself (spec §1.1; packaged units append "+RTS -N -RTS").
std::vector<std::string> strip_rts(int argc, const char* const* argv);

struct Paths {
  std::filesystem::path cfg;  // configuration directory
  std::filesystem::path log;  // state ("log") directory
};
// Env override, where set and non-empty, else the default (spec §1.1).
Paths role_paths(const char* cfg_env, const char* default_cfg, const char* log_env, const char* default_log);

// Prints text (no newline) and reads one line from stdin; end of input throws Exit{1} after the reference's
// message, like the reference's I/O error.
std::string prompt(std::string_view text);
// y/Y/n/N, empty → default; anything else re-prompts after "Invalid input, please enter 'y' or 'n'".
bool on_off_prompt(std::string_view text, bool default_value);
// "Continue (Y/n): ": only an exact "Y" proceeds.
bool confirm_y(std::string_view text);

// The CA-key warning block (6 lines, spec §1.5).
void warn_ca_private_key(const std::filesystem::path& ca_key);
// "Server source code: <uri>" or the two warning lines.
void print_source_code(const std::optional<std::string>& uri);
// The reference's showTTL: largest unit dividing exactly; "21 days", "36 hours", "1 days".
std::string show_ttl(int64_t seconds);

// Start-up fingerprint check: first line of <cfg>/fingerprint vs base64url(SHA-256(ca.crt)).
// Mismatch → stdout "Stored fingerprint is invalid.", Exit{1}. Returns the fingerprint.
std::string check_fingerprint(const std::filesystem::path& cfg);

// "<product> v6.5.5.0 / <commit7>" (product: "SMP server" or "SimpleX XFTP server").
std::string banner(std::string_view product);

// Step 1 of init for both roles: empty <cfg> and <log> if they exist, create both (with parents), create the CA
// and online credentials and the fingerprint file. Returns the fingerprint.
std::string init_credentials(const Paths& paths, certs::KeyAlg alg, const std::string& cn);

// `cert [-a ALG] [--cn FQDN]` for both roles (spec §1.6): defaults from server.crt, new online credentials,
// prints "Generated new server credentials" and the CA-key warning block. Returns the exit code.
int run_cert(const Paths& paths, std::optional<certs::KeyAlg> alg, std::optional<std::string> cn);

// `delete` for both roles (spec §1.8): the warning, "Continue (Y/n): ", exact Y deletes <cfg> and <log>.
int run_delete(const Paths& paths);

// Loads the TLS identity [server.crt…, ca.crt…] + server.key from <cfg>. Missing files: the reference's block
// ("----------", "Error: no <proto> credentials: <paths>") and Exit{1}; unloadable: "invalid credential", Exit{1}.
tls::CtxPtr load_server_credentials(const std::filesystem::path& cfg, std::string_view proto,
                                    const tls::ServerOptions& options = {});

// Runs the TLS server until SIGINT/SIGTERM, then stops gracefully and logs NOTE "Server stopped".
// A port in use prints which port and how to fix it, and returns 1. Returns the exit code.
// What a role's handshake presents: the address fingerprint, the TLS chain [online, CA] as DER, and the online
// private key that signs each connection's session key. Read from <cfg>/ca.crt, server.crt, server.key after
// load_server_credentials accepted them; an unusable key prints "invalid credential" and ends with Exit{1}.
struct ServerIdentity {
  std::vector<uint8_t> key_hash;
  std::vector<std::vector<uint8_t>> cert_chain;
  crypto::PrivateKey online_key;
};
ServerIdentity load_server_identity(const std::filesystem::path& cfg);

// Role-wide background work (housekeeping timers) started with the server and stopped with it: start() runs on
// the server's io_context before it accepts; stop() must cancel whatever start() left running.
struct ServeHooks {
  std::function<void(asio::io_context&)> start;
  std::function<void()> stop;
  std::function<void()> finish;  // after every connection closed, before "Server stopped" (saving state)
  // Once the ports are bound, before `start`: the server, valid until the hooks are dropped (after `finish`), for
  // its socket counts.
  std::function<void(const net::TlsServer&)> attach;
};
int serve_until_signal(tls::CtxPtr ctx, net::ServerOptions options, net::Handler handler, ServeHooks hooks = {});


// ---- Configuration file lookup shared by the roles' commands that need an initialized server ----------------

// <cfg>/<stem>.ini, else <cfg>/<stem>.toml, whichever exists (nullopt: neither). Used by `init` to refuse.
std::optional<std::filesystem::path> existing_config_file(const std::filesystem::path& cfg, std::string_view stem);
// The file `start`/`cert`/`journal` read: <cfg>/<stem>.ini, or <cfg>/<stem>.toml when only that exists.
// Neither: stdout "Error: server is not initialized (<cfg>/<stem>.ini does not exist)." and
// "Run `<program> init`.", Exit{1}. Both: stdout error naming both files and asking to remove one, Exit{1}.
std::filesystem::path require_config_file(const std::filesystem::path& cfg, std::string_view stem,
                                          std::string_view program);
// config::Source::load; a ConfigError is printed to stderr and ends with Exit{1}; each INI warning becomes a
// WARN log line "<file>:<line>: <message>".
config::Source load_config_source(const std::filesystem::path& file);

// ---- Help and usage errors in the layout of optparse-applicative (the reference's option parser) -----------

// One row of an "Available options:" / "Available commands:" table.
struct HelpRow {
  std::string left;   // "-a,--sign-algorithm ALG" or a command name
  std::string right;  // description, wrapped at 80 columns
};
// Rows indented by 2, descriptions from column 27 (next line when `left` is wider than 24), no trailing newline.
std::string format_rows(const std::vector<HelpRow>& rows);
// "Usage: <prefix> item item ..." wrapped at 80 columns, continuation lines aligned after "<prefix> ".
std::string format_usage(std::string_view prefix, const std::vector<std::string>& items);
// Words of text filled to 80 columns, every line indented by `indent` spaces.
std::string format_paragraph(std::string_view text, size_t indent);
// A parse error: "<message>", an empty line and the usage on stderr; returns 1 (the exit code).
int usage_error(std::string_view message, std::string_view usage);

}  // namespace sr::cli
