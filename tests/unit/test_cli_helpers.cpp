// The command-line helpers both roles share (src/core/cli): argv clean-up, paths, prompts, operator-facing
// blocks, configuration lookup, help layout, credentials.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "text_files.hpp"
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "build_info.hpp"
#include "core/cli.hpp"

namespace fsys = std::filesystem;
using sr::cli::Exit;

using sr::test::TempDir;

namespace {

// Redirects a standard stream (fd 1 or 2) into a temporary file for the object's lifetime.
class Capture {
 public:
  explicit Capture(int fd) : fd_(fd) {
    std::fflush(nullptr);
    file_ = std::tmpfile();
    saved_ = dup(fd_);
    dup2(fileno(file_), fd_);
  }
  ~Capture() {
    restore();
    std::fclose(file_);
  }
  std::string text() {
    restore();
    std::string s;
    std::rewind(file_);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) s.append(buf, n);
    return s;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(nullptr);
    dup2(saved_, fd_);
    close(saved_);
    saved_ = -1;
  }
  int fd_;
  int saved_ = -1;
  FILE* file_ = nullptr;
};

// Feeds std::cin from a string for the object's lifetime.
class Input {
 public:
  explicit Input(const std::string& text) : buf_(text), saved_(std::cin.rdbuf(buf_.rdbuf())) {}
  ~Input() {
    std::cin.rdbuf(saved_);
    std::cin.clear();
  }

 private:
  std::istringstream buf_;
  std::streambuf* saved_;
};

void write(const fsys::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string read(const fsys::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

template <typename F>
int exit_code_of(F&& f) {
  try {
    f();
  } catch (const Exit& e) {
    return e.code;
  }
  return -1;
}

std::vector<std::string> strip(std::vector<const char*> args) {
  args.insert(args.begin(), "smp-server");
  return sr::cli::strip_rts(static_cast<int>(args.size()), args.data());
}

const fsys::path kFixtures = SR_FIXTURES_DIR;

}  // namespace

TEST_CASE("strip_rts removes GHC runtime blocks", "[cli]") {
  using V = std::vector<std::string>;
  CHECK(strip({"start", "+RTS", "-N", "-RTS"}) == V{"start"});
  CHECK(strip({"+RTS", "-N", "-A16m", "-RTS", "init", "-y"}) == V{"init", "-y"});
  CHECK(strip({"start", "+RTS", "-N", "-RTS", "-m", "+RTS", "-s", "-RTS"}) == V{"start", "-m"});
  CHECK(strip({"start", "+RTS", "-N"}) == V{"start"});  // no -RTS: the rest is the runtime's
  CHECK(strip({"start", "--RTS", "+RTS", "-N"}) == V{"start", "+RTS", "-N"});
  CHECK(strip({"start", "-RTS"}) == V{"start", "-RTS"});
  CHECK(strip({}).empty());
}

TEST_CASE("role_paths: environment overrides unless empty", "[cli]") {
  unsetenv("SR_TEST_CFG");
  setenv("SR_TEST_LOG", "", 1);
  auto p = sr::cli::role_paths("SR_TEST_CFG", "/etc/opt/x", "SR_TEST_LOG", "/var/opt/x");
  CHECK(p.cfg == "/etc/opt/x");
  CHECK(p.log == "/var/opt/x");
  setenv("SR_TEST_CFG", "/tmp/c", 1);
  setenv("SR_TEST_LOG", "/tmp/l", 1);
  p = sr::cli::role_paths("SR_TEST_CFG", "/etc/opt/x", "SR_TEST_LOG", "/var/opt/x");
  CHECK(p.cfg == "/tmp/c");
  CHECK(p.log == "/tmp/l");
  unsetenv("SR_TEST_CFG");
  unsetenv("SR_TEST_LOG");
}

TEST_CASE("show_ttl uses the largest exact unit, always plural", "[cli]") {
  CHECK(sr::cli::show_ttl(21 * 86400) == "21 days");
  CHECK(sr::cli::show_ttl(48 * 3600) == "2 days");
  CHECK(sr::cli::show_ttl(36 * 3600) == "36 hours");
  CHECK(sr::cli::show_ttl(86400) == "1 days");
  CHECK(sr::cli::show_ttl(120) == "2 minutes");
  CHECK(sr::cli::show_ttl(90) == "90 seconds");
  CHECK(sr::cli::show_ttl(3660) == "61 minutes");
}

TEST_CASE("banner: product, compatible version, 7-character commit", "[cli]") {
  const std::string commit = std::string(SR_COMMIT).substr(0, 7);
  CHECK(sr::cli::banner("SMP server") == "SMP server v6.5.5.0 / " + commit);
  CHECK(sr::cli::banner("SimpleX XFTP server") == "SimpleX XFTP server v6.5.5.0 / " + commit);
}

TEST_CASE("operator-facing blocks", "[cli]") {
  Capture out(1);
  sr::cli::warn_ca_private_key("/etc/opt/simplex/ca.key");
  sr::cli::print_source_code(std::string("https://example.com/src"));
  sr::cli::print_source_code(std::nullopt);
  CHECK(out.text() ==
        "----------\n"
        "You should store CA private key securely and delete it from the server.\n"
        "If server TLS credential is compromised this key can be used to sign a new one, keeping the same server "
        "identity and established connections.\n"
        "CA private key location:\n"
        "/etc/opt/simplex/ca.key\n"
        "----------\n"
        "Server source code: https://example.com/src\n"
        "Warning: server source code is not specified.\n"
        "Add 'source_code' property to [INFORMATION] section of INI file.\n");
}

TEST_CASE("prompts read one line each and re-ask invalid y/n answers", "[cli]") {
  {
    Input in("x\n\nY\nn\nmaybe\ny\n");
    Capture out(1);
    const std::string name = sr::cli::prompt("Name: ");
    const bool a = sr::cli::on_off_prompt("Enable", true);  // empty → default
    const bool b = sr::cli::on_off_prompt("Enable", false);  // Y
    const bool c = sr::cli::on_off_prompt("Enable", true);   // n
    const bool d = sr::cli::on_off_prompt("Again", false);   // maybe → asked again → y
    const std::string text = out.text();
    CHECK(name == "x");
    CHECK(a);
    CHECK(b);
    CHECK_FALSE(c);
    CHECK(d);
    CHECK(text ==
          "Name: Enable (Yn): Enable (yN): Enable (Yn): Again (yN): Invalid input, please enter 'y' or 'n'\n"
          "Again (yN): ");
  }
  {
    Input in("y\nY\n");
    Capture out(1);
    const bool a = sr::cli::confirm_y("Sure?");
    const bool b = sr::cli::confirm_y("Sure?");
    const std::string text = out.text();
    CHECK_FALSE(a);
    CHECK(b);
    CHECK(text == "Sure?\nContinue (Y/n): Sure?\nContinue (Y/n): ");
  }
  {
    Input in("");
    Capture out(1), err(2);
    const int code = exit_code_of([] { sr::cli::on_off_prompt("Enable", true); });
    const std::string text = err.text();
    CHECK(code == 1);
    CHECK(text.find("end of file") != std::string::npos);
  }
}

TEST_CASE("check_fingerprint compares the stored line with ca.crt", "[cli]") {
  TempDir dir;
  fsys::copy_file(kFixtures / "ca.crt", dir.path / "ca.crt");
  const std::string fp = sr::certs::fingerprint_of_file(dir.path / "ca.crt");
  write(dir.path / "fingerprint", fp + "\n");
  CHECK(sr::cli::check_fingerprint(dir.path) == fp);

  write(dir.path / "fingerprint", "Z" + fp.substr(1) + "\n");
  {
    Capture out(1);
    const int code = exit_code_of([&] { sr::cli::check_fingerprint(dir.path); });
    const std::string text = out.text();
    CHECK(code == 1);
    CHECK(text == "Stored fingerprint is invalid.\n");
  }
  fsys::remove(dir.path / "fingerprint");
  Capture err(2);
  const int code = exit_code_of([&] { sr::cli::check_fingerprint(dir.path); });
  const std::string text = err.text();
  CHECK(code == 1);
  CHECK(text.find((dir.path / "fingerprint").string()) != std::string::npos);
}

TEST_CASE("init_credentials empties both directories and makes the CA and online credentials", "[cli]") {
  TempDir dir;
  sr::cli::Paths paths{dir.path / "etc", dir.path / "var"};
  fsys::create_directories(paths.log / "sub");
  write(paths.log / "old.log", "x");
  const std::string fp = sr::cli::init_credentials(paths, sr::certs::KeyAlg::Ed25519, "relay.example.com");
  CHECK(fsys::is_empty(paths.log));
  CHECK(read(paths.cfg / "fingerprint") == fp + "\n");
  for (const char* f : {"ca.key", "ca.crt", "server.key", "server.crt", "openssl_ca.conf", "openssl_server.conf"})
    CHECK(fsys::exists(paths.cfg / f));
  CHECK(sr::certs::read_cert_info(paths.cfg / "server.crt").cn == "relay.example.com");
}

TEST_CASE("run_cert and run_delete", "[cli]") {
  TempDir dir;
  sr::cli::Paths paths{dir.path / "etc", dir.path / "var"};
  {
    Capture out(1);
    const int code = sr::cli::run_cert(paths, std::nullopt, std::nullopt);  // no server.crt
    const std::string text = out.text();
    CHECK(code == 1);
    CHECK(text.find("server.crt") != std::string::npos);
  }
  const std::string fp = sr::cli::init_credentials(paths, sr::certs::KeyAlg::Ed25519, "a.example");
  const std::string crt = read(paths.cfg / "server.crt");
  {
    Capture out(1);
    const int code = sr::cli::run_cert(paths, std::nullopt, std::string("b.example"));
    const std::string text = out.text();
    CHECK(code == 0);
    CHECK(text.rfind("Generated new server credentials\n----------\n", 0) == 0);
  }
  CHECK(read(paths.cfg / "server.crt") != crt);
  CHECK(sr::certs::read_cert_info(paths.cfg / "server.crt").cn == "b.example");
  CHECK(read(paths.cfg / "fingerprint") == fp + "\n");

  {
    Input in("n\n");
    Capture out(1);
    const int code = sr::cli::run_delete(paths);
    const std::string text = out.text();
    CHECK(code == 1);
    CHECK(text.find("Server NOT deleted\n") != std::string::npos);
  }
  CHECK(fsys::exists(paths.cfg));
  Input in("Y\n");
  Capture out(1);
  const int code = sr::cli::run_delete(paths);
  const std::string text = out.text();
  CHECK(code == 0);
  CHECK(text.find("Deleted configuration and log files\n") != std::string::npos);
  CHECK_FALSE(fsys::exists(paths.cfg));
  CHECK_FALSE(fsys::exists(paths.log));
}

TEST_CASE("load_server_credentials: missing files block, invalid credential, a working context", "[cli]") {
  TempDir dir;
  {
    Capture out(1);
    const int code = exit_code_of([&] { sr::cli::load_server_credentials(dir.path, "SMP"); });
    const std::string text = out.text();
    CHECK(code == 1);
    CHECK(text == "----------\nError: no SMP credentials: " + (dir.path / "ca.crt").string() + ", " +
                            (dir.path / "server.crt").string() + ", " + (dir.path / "server.key").string() + "\n");
  }
  for (const char* f : {"ca.crt", "server.crt", "server.key"}) fsys::copy_file(kFixtures / "ed25519" / f, dir.path / f);
  CHECK(sr::cli::load_server_credentials(dir.path, "SMP") != nullptr);

  write(dir.path / "server.key", "not a key\n");
  Capture out(1);
  const int code = exit_code_of([&] { sr::cli::load_server_credentials(dir.path, "XFTP"); });
  const std::string text = out.text();
  CHECK(code == 1);
  CHECK(text == "invalid credential\n");
}

TEST_CASE("configuration file lookup: INI, TOML, neither, both", "[cli]") {
  TempDir dir;
  CHECK_FALSE(sr::cli::existing_config_file(dir.path, "smp-server"));
  {
    Capture out(1);
    const int code = exit_code_of([&] { sr::cli::require_config_file(dir.path, "smp-server", "smp-server"); });
    const std::string text = out.text();
    CHECK(code == 1);
    CHECK(text == "Error: server is not initialized (" + (dir.path / "smp-server.ini").string() +
                            " does not exist).\nRun `smp-server init`.\n");
  }
  write(dir.path / "file-server.toml", "");
  CHECK(sr::cli::require_config_file(dir.path, "file-server", "file-server") == dir.path / "file-server.toml");
  CHECK(sr::cli::existing_config_file(dir.path, "file-server") == dir.path / "file-server.toml");
  write(dir.path / "file-server.ini", "");
  CHECK(sr::cli::existing_config_file(dir.path, "file-server") == dir.path / "file-server.ini");
  Capture out(1);
  const int code = exit_code_of([&] { sr::cli::require_config_file(dir.path, "file-server", "file-server"); });
  const std::string text = out.text();
  CHECK(code == 1);
  CHECK(text.find("Error: both " + (dir.path / "file-server.ini").string() + " and " +
                        (dir.path / "file-server.toml").string()) == 0);
}

TEST_CASE("load_config_source warns about malformed lines and fails on a broken TOML file", "[cli]") {
  TempDir dir;
  const fsys::path ini = dir.path / "x.ini";
  write(ini, "[AUTH]\nnew_queues = on\nnot a line\n");
  {
    Capture err(2);
    auto src = sr::cli::load_config_source(ini);
    const std::string e = err.text();
    CHECK(src.opt_on_off("AUTH", "new_queues") == std::optional<bool>(true));
    CHECK(e.find("WARN") != std::string::npos);
    CHECK(e.find(ini.string() + ":3: ") != std::string::npos);
  }
  const fsys::path toml = dir.path / "x.toml";
  write(toml, "[AUTH\n");
  Capture err(2);
  const int code = exit_code_of([&] { sr::cli::load_config_source(toml); });
  const std::string text = err.text();
  CHECK(code == 1);
  CHECK(text.find(toml.string()) != std::string::npos);
}

TEST_CASE("help layout follows optparse-applicative", "[cli]") {
  // The command list quoted by the SMP hosting guide.
  CHECK(sr::cli::format_rows({{"init",
                               "Initialize server - creates /etc/opt/simplex and /var/opt/simplex directories and "
                               "configuration files"},
                              {"start", "Start server (configuration: /etc/opt/simplex/smp-server.ini)"},
                              {"delete", "Delete configuration and log files"}}) ==
        "  init                     Initialize server - creates /etc/opt/simplex and\n"
        "                           /var/opt/simplex directories and configuration files\n"
        "  start                    Start server (configuration:\n"
        "                           /etc/opt/simplex/smp-server.ini)\n"
        "  delete                   Delete configuration and log files");
  // A left column wider than 24 puts the description on the next line; exactly 24 keeps it.
  CHECK(sr::cli::format_rows({{"--operator-country OPERATOR_COUNTRY", "Server operator country"},
                              {std::string(24, 'x'), "d"},
                              {"--flag", ""}}) ==
        "  --operator-country OPERATOR_COUNTRY\n"
        "                           Server operator country\n"
        "  xxxxxxxxxxxxxxxxxxxxxxxx d\n"
        "  --flag");
  CHECK(sr::cli::format_usage("smp-server", {"[-v|--version]", "COMMAND"}) ==
        "Usage: smp-server [-v|--version] COMMAND");
  const std::string usage = sr::cli::format_usage(
      "smp-server init", {"[--disable-store-log | (-l|--store-log)]", "[-d|--database DB_CONN]", "[--schema DB_SCHEMA]",
                          "[--pool-size POOL_SIZE]"});
  CHECK(usage ==
        "Usage: smp-server init [--disable-store-log | (-l|--store-log)]\n"
        "                       [-d|--database DB_CONN] [--schema DB_SCHEMA]\n"
        "                       [--pool-size POOL_SIZE]");
  CHECK(sr::cli::format_paragraph("Delete configuration and log files", 2) == "  Delete configuration and log files");
  Capture err(2);
  const int code = sr::cli::usage_error("Invalid option `--x'", "Usage: p");
  const std::string text = err.text();
  CHECK(code == 1);
  CHECK(text == "Invalid option `--x'\n\nUsage: p\n");
}
