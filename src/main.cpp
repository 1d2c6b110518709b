// simplex-relay: one multi-call binary (busybox-style). The table below maps a name to a role's main.
// Dispatch: basename(argv[0]) first (symlinks smp-server, xftp-server), then the first argument
// (`simplex-relay smp start`). Unknown names list the roles and exit 2.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "build_info.hpp"
#include "smp/smp_main.hpp"
#include "tools/check.hpp"
#include "xftp/xftp_cli.hpp"
#include "xftp/xftp_main.hpp"

namespace {

struct Role {
  std::string_view name;       // subcommand of simplex-relay
  std::string_view program;    // argv[0] name (symlink)
  int (*main)(int, char**);
  std::string_view summary;
};

constexpr Role kRoles[] = {
    {"smp", "smp-server", sr::smp::smp_server_main, "SMP messaging relay (drop-in for smp-server)"},
    {"xftp", "xftp-server", sr::xftp::xftp_server_main, "XFTP file relay (drop-in for xftp-server)"},
    {"xftp-cli", "xftp-cli", sr::xftp::xftp_cli_main, "XFTP client: send / recv / del / info files"},
    {"check", "simplex-relay-check", sr::tools::check_main, "test an SMP or XFTP server address as the apps do"},
};

std::string_view basename_of(const char* path) {
  std::string_view p = path ? path : "";
  auto slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

void print_usage(FILE* out) {
  std::fprintf(out,
               "simplex-relay %s (%s, TLS backend: %s) - SimpleX SMP and XFTP relays in one binary\n\n"
               "Usage: simplex-relay ROLE COMMAND [OPTIONS]\n"
               "       ROLE-program COMMAND [OPTIONS]   (symlinked as smp-server, xftp-server, xftp-cli)\n\n"
               "Roles:\n",
               SR_VERSION, SR_COMMIT, SR_TLS_BACKEND);
  int name_width = 0, program_width = 0;
  for (const auto& r : kRoles) {
    name_width = std::max(name_width, static_cast<int>(r.name.size()));
    program_width = std::max(program_width, static_cast<int>(r.program.size()));
  }
  for (const auto& r : kRoles)
    std::fprintf(out, "  %-*s %-*s %.*s\n", name_width, std::string(r.name).c_str(), program_width,
                 std::string(r.program).c_str(), static_cast<int>(r.summary.size()), r.summary.data());
  std::fprintf(out,
               "\nExamples:\n"
               "  simplex-relay smp init -y --no-password --disable-web\n"
               "  simplex-relay smp start\n"
               "  simplex-relay xftp init -p /srv/xftp -q 10gb\n"
               "  smp-server start +RTS -N -RTS\n\n"
               "Run `simplex-relay ROLE --help` for the role's commands.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // stdout lines interleave with stderr logs in order
  // A peer that closed its end makes a write fail with EPIPE, handled where it happens, instead of killing us.
  std::signal(SIGPIPE, SIG_IGN);
  std::string_view self = basename_of(argc > 0 ? argv[0] : nullptr);
  for (const auto& r : kRoles)
    if (self == r.program) return r.main(argc, argv);

  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  std::string_view arg = argv[1];
  if (arg == "--help" || arg == "-h" || arg == "help") {
    print_usage(stdout);
    return 0;
  }
  if (arg == "--version" || arg == "-v") {
    std::printf("simplex-relay v%s / %s (simplexmq v%s compatible, TLS backend: %s)\n", SR_VERSION, SR_COMMIT,
                SR_COMPAT_VERSION, SR_TLS_BACKEND);
    return 0;
  }
  for (const auto& r : kRoles) {
    if (arg == r.name || arg == r.program) {
      // The role sees its program name as argv[0], so usage texts read "smp-server ...".
      std::string program(r.program);
      argv[1] = program.data();
      return r.main(argc - 1, argv + 1);
    }
  }
  std::fprintf(stderr, "simplex-relay: unknown role '%s'\n\n", argv[1]);
  print_usage(stderr);
  return 2;
}
