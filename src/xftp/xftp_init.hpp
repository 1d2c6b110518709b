// `xftp-server init`: the always non-interactive initialisation (server-operations.md §1.5, §1.11, §3.6.2).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "core/certs.hpp"
#include "core/cli.hpp"

namespace sr::xftp {

struct InitOptions {
  bool store_log = true;                        // --disable-store-log turns it off; -l is the (deprecated) default
  certs::KeyAlg alg = certs::KeyAlg::Ed448;     // -a, the reference's XFTP default
  std::string ip = "127.0.0.1";                 // --ip
  std::optional<std::string> fqdn;              // -n
  std::string files_path;                       // -p, written verbatim
  uint64_t quota = 0;                           // -q, bytes (validated by the caller)
  std::optional<std::string> web_path;          // --web-path, default <log>/www
};

// The host printed in the address and written to [TRANSPORT] host: FQDN, else the IP unless it is 127.0.0.1,
// else the literal "<hostnames>".
std::string init_host(const InitOptions& o);

// The byte-exact file-server.ini text of the reference template (§3.6.2) for these options and paths.
std::string file_server_ini(const InitOptions& o, const cli::Paths& paths);

// Steps 1–4 of §1.5 for XFTP: credentials, INI, printed block. The caller has checked that no configuration
// file exists and that the algorithm is supported. Returns the exit code.
int run_init(const cli::Paths& paths, const InitOptions& o);

}  // namespace sr::xftp
