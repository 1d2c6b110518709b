// Multi-call dispatch: by argv[0] (symlinks), by first argument, and the role list for unknown names.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace sr::test;

TEST_CASE("dispatch by symlink name reaches the role", "[dispatch]") {
  TempDir dir;
  auto smp = symlink_as(dir.path, "smp-server");
  auto xftp = symlink_as(dir.path, "xftp-server");

  auto r = run({smp.string(), "--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("SMP server v6.5.5.0 / ", 0) == 0);

  r = run({xftp.string(), "--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("SimpleX XFTP server v6.5.5.0 / ", 0) == 0);
}

TEST_CASE("dispatch by subcommand gives the same role as the symlink", "[dispatch]") {
  TempDir dir;
  auto via_link = run({symlink_as(dir.path, "smp-server").string(), "--version"});
  auto via_sub = run({relay_binary().string(), "smp", "--version"});
  CHECK(via_sub.exit_code == 0);
  CHECK(via_sub.out == via_link.out);

  auto xftp_sub = run({relay_binary().string(), "xftp", "--version"});
  CHECK(xftp_sub.exit_code == 0);
  CHECK(xftp_sub.out.rfind("SimpleX XFTP server v", 0) == 0);

  // The program names work as subcommands too.
  auto by_program = run({relay_binary().string(), "xftp-server", "--version"});
  CHECK(by_program.out == xftp_sub.out);
}

TEST_CASE("role help is reached through both dispatch paths", "[dispatch]") {
  auto r = run({relay_binary().string(), "smp", "--help"});
  CHECK(r.exit_code == 0);
  for (const char* cmd : {"init", "start", "delete", "cert"}) CHECK(r.out.find(cmd) != std::string::npos);
}

TEST_CASE("unknown role lists the roles and exits 2", "[dispatch]") {
  auto r = run({relay_binary().string(), "ntf"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown role 'ntf'") != std::string::npos);
  CHECK(r.err.find("smp") != std::string::npos);
  CHECK(r.err.find("xftp") != std::string::npos);

  // An unknown program name (a symlink nobody knows) falls back to simplex-relay's own dispatch.
  TempDir dir;
  auto odd = symlink_as(dir.path, "relay-odd");
  r = run({odd.string()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("Roles:") != std::string::npos);
}

TEST_CASE("simplex-relay --version and --help", "[dispatch]") {
  auto v = run({relay_binary().string(), "--version"});
  CHECK(v.exit_code == 0);
  CHECK(v.out.rfind("simplex-relay v", 0) == 0);
  CHECK(v.out.find("6.5.5.0") != std::string::npos);

  auto h = run({relay_binary().string(), "--help"});
  CHECK(h.exit_code == 0);
  CHECK(h.out.find("Roles:") != std::string::npos);
  CHECK(h.out.find("smp-server") != std::string::npos);
  CHECK(h.out.find("xftp-server") != std::string::npos);
}
