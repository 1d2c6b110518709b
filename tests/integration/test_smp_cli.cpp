// smp-server command line run as a real process (server-operations.md §1.1–1.8, §3.6.1): init (scripted and
// interactive), the generated files and INI text, option validation, cert, delete, help, journal, database.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <regex>

#include "build_info.hpp"
#include "smp_fixture.hpp"
#include "tests/reference_ini.hpp"

using namespace sr::test;
namespace fsys = std::filesystem;

namespace {

const std::string kReferenceIni(sr::test::kReferenceSmpIni);

const std::string kBanner = std::string("SMP server v6.5.5.0 / ") + std::string(SR_COMMIT).substr(0, 7);
const std::string kSimplexmq = "https://github.com/simplex-chat/simplexmq";
const std::string kNoPasswordLine =
    "# create_password = password to create new queues and forward messages (any printable ASCII characters "
    "without whitespace, '@', ':' and '/')";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

// The reference INI for these directories.
std::string reference_ini(const SmpDirs& d) {
  return replace_all(replace_all(kReferenceIni, "/etc/opt/simplex", d.cfg.string()), "/var/opt/simplex",
                     d.log.string());
}

// The value of the first uncommented `key = value` line.
std::string ini_value(const std::string& ini, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(ini, m, std::regex("(^|\n)" + key + " = ([^\n]*)"))) return "";
  return m[2];
}

bool is_base64url(const std::string& s, size_t len) {
  return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '=';
         });
}

// What `init` prints (spec §1.5) for the given server address tail and source-code lines.
std::string init_output(const SmpDirs& d, const std::string& address, const std::vector<std::string>& source) {
  std::string s = "Server initialized, please provide additional server information in " + d.ini().string() +
                  ".\n"
                  "Run `smp-server start` to start server.\n"
                  "----------\n"
                  "You should store CA private key securely and delete it from the server.\n"
                  "If server TLS credential is compromised this key can be used to sign a new one, keeping the same "
                  "server identity and established connections.\n"
                  "CA private key location:\n" +
                  (d.cfg / "ca.key").string() +
                  "\n"
                  "----------\n" +
                  kBanner + "\nFingerprint: " + d.fingerprint() + "\nServer address: " + address + "\n";
  for (const auto& l : source) s += l + "\n";
  return s;
}

const std::vector<std::string> kNoSourceCode = {"Warning: server source code is not specified.",
                                                "Add 'source_code' property to [INFORMATION] section of INI file."};

unsigned mode_of(const fsys::path& p) {
  struct stat st {};
  REQUIRE(stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("init -y creates the credentials, the reference INI and prints the result block", "[smp-cli]") {
  SmpDirs d;
  auto r = d.smp({"init", "-y"});
  REQUIRE(r.exit_code == 0);

  for (const char* f : {"openssl_ca.conf", "ca.key", "ca.crt", "openssl_server.conf", "server.key", "server.csr",
                        "server.crt", "ca.srl", "fingerprint", "smp-server.ini"})
    CHECK(fsys::is_regular_file(d.cfg / f));
  CHECK(fsys::is_directory(d.log));
  CHECK(fsys::is_empty(d.log));
  CHECK(mode_of(d.cfg / "ca.key") == 0600);
  CHECK(mode_of(d.cfg / "server.key") == 0600);
  CHECK(cert_key_type(d.cfg / "ca.crt") == EVP_PKEY_ED25519);  // v6.5.5 SMP default
  CHECK(cert_key_type(d.cfg / "server.crt") == EVP_PKEY_ED25519);

  const std::string fp = d.fingerprint();
  CHECK(read_text(d.cfg / "fingerprint") == fp + "\n");
  CHECK(fp.size() == 44);

  const std::string ini = read_text(d.ini());
  const std::string password = ini_value(ini, "create_password");
  CHECK(is_base64url(password, 44));
  CHECK(password.back() == '=');
  std::string expected = reference_ini(d);
  REQUIRE(replace_line(expected, kNoPasswordLine, "create_password = " + password));
  CHECK(ini == expected);

  CHECK(r.out == init_output(d, "smp://" + fp + ":" + password + "@<hostnames>", kNoSourceCode));

  // A second init refuses and leaves everything as it was.
  auto again = d.smp({"init", "-y", "--no-password"});
  CHECK(again.exit_code == 1);
  CHECK(again.out == "Error: server is already initialized (" + d.ini().string() +
                         " exists).\nRun `smp-server start`.\n");
  CHECK(read_text(d.ini()) == ini);
  CHECK(d.fingerprint() == fp);
}

TEST_CASE("init options change exactly their lines of the INI", "[smp-cli]") {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> lines;  // reference line → written line
  };
  const std::string info_country = "ISO-3166 2-letter code";
  const std::string entity = "entity (organization or person name)";
  const std::vector<Case> cases = {
      {{"--password", "s3cret!"}, {{kNoPasswordLine, "create_password = s3cret!"}}},
      {{"--disable-store-log"}, {{"enable = on", "enable = off"}, {"restore_messages = on", "restore_messages = off"}}},
      {{"-s"}, {{"log_stats = off", "log_stats = on"}}},
      {{"--daily-stats"}, {{"log_stats = off", "log_stats = on"}}},
      {{"-l"}, {}},
      {{"--ip", "192.168.1.5"}, {{"host = <hostnames>", "host = 192.168.1.5"}}},
      {{"--ip", "192.168.1.5", "-n", "smp.example.com"}, {{"host = <hostnames>", "host = smp.example.com"}}},
      {{"-d", "postgresql://u@/db", "--schema", "s1", "--pool-size", "5"},
       {{"# db_connection = postgresql://smp@/smp_server_store", "db_connection = postgresql://u@/db"},
        {"# db_schema = smp_server", "db_schema = s1"},
        {"# db_pool_size = 10", "db_pool_size = 5"}}},
      {{"--database=postgresql://smp@/smp_server_store", "--schema", "smp_server", "--pool-size", "10"}, {}},
      {{"--control-port="}, {}},
      {{"--socks-proxy"}, {{"# socks_proxy = localhost:9050", "socks_proxy = 127.0.0.1:9050"}}},
      {{"--socks-proxy=10.0.0.2:1080"}, {{"# socks_proxy = localhost:9050", "socks_proxy = 10.0.0.2:1080"}}},
      {{"--socks-proxy=10.0.0.2"}, {{"# socks_proxy = localhost:9050", "socks_proxy = 10.0.0.2:9050"}}},
      {{"--own-domains=example.com,example.net"},
       {{"# own_server_domains = ", "own_server_domains = example.com,example.net"}}},
      {{"--own-domains", "relay.example.com"}, {{"# own_server_domains = ", "own_server_domains = relay.example.com"}}},
      {{"--source-code"}, {{"# source_code = URI", "source_code = " + kSimplexmq}}},
      {{"--source-code=https://example.com/src"}, {{"# source_code = URI", "source_code = https://example.com/src"}}},
      {{"--source-code", "--operator", "Op Name", "--operator-country", "us", "--hosting", "Host Co",
        "--hosting-country", "DE", "--hosting-type", "dedicated", "--server-country", "fr", "--operator-website",
        "https://op.example"},
       {{"# source_code = URI", "source_code = " + kSimplexmq},
        {"# server_country = " + info_country, "server_country = FR"},
        {"# operator = " + entity, "operator = Op Name"},
        {"# operator_country = " + info_country, "operator_country = US"},
        {"# website = ", "website = https://op.example"},
        {"# hosting = " + entity, "hosting = Host Co"},
        {"# hosting_country = " + info_country, "hosting_country = DE"},
        {"hosting_type = virtual", "hosting_type = dedicated"}}},
      {{"--source-code", "--operator", "Op"},
       {{"# source_code = URI", "source_code = " + kSimplexmq}, {"# operator = " + entity, "operator = Op"}}},
      {{"--source-code", "--hosting-type", "owned"},
       {{"# source_code = URI", "source_code = " + kSimplexmq}, {"hosting_type = virtual", "hosting_type = owned"}}},
      {{"--web-path", "/srv/smp/www"}, {{"static_path = /var/opt/simplex/www", "static_path = /srv/smp/www"}}},
      {{"--disable-web"},
       {{"https = 443", "# https = 443"},
        {"cert = /etc/opt/simplex/web.crt", "# cert = /etc/opt/simplex/web.crt"},
        {"key = /etc/opt/simplex/web.key", "# key = /etc/opt/simplex/web.key"}}},
      {{"-a", "ED25519"}, {}},
  };
  for (const auto& c : cases) {
    SmpDirs d;
    std::vector<std::string> args = {"init", "-y"};
    if (c.args[0] != "--password") args.push_back("--no-password");
    args.insert(args.end(), c.args.begin(), c.args.end());
    CAPTURE(args);
    auto r = d.smp(args);
    REQUIRE(r.exit_code == 0);
    std::string expected = kReferenceIni;
    for (const auto& [from, to] : c.lines) REQUIRE(replace_line(expected, from, to));
    CHECK(read_text(d.ini()) == replace_all(replace_all(expected, "/etc/opt/simplex", d.cfg.string()),
                                            "/var/opt/simplex", d.log.string()));
  }
}

TEST_CASE("init --control-port writes random control port passwords", "[smp-cli]") {
  for (const auto& [arg, port] : std::vector<std::pair<std::string, std::string>>{{"--control-port", "5224"},
                                                                                  {"--control-port=5225", "5225"}}) {
    SmpDirs d;
    REQUIRE(d.smp({"init", "-y", "--no-password", arg}).exit_code == 0);
    const std::string ini = read_text(d.ini());
    const std::string admin = ini_value(ini, "control_port_admin_password");
    const std::string user = ini_value(ini, "control_port_user_password");
    CHECK(is_base64url(admin, 24));
    CHECK(is_base64url(user, 24));
    CHECK(admin != user);
    std::string expected = reference_ini(d);
    REQUIRE(replace_line(expected, "# control_port_admin_password = ", "control_port_admin_password = " + admin));
    REQUIRE(replace_line(expected, "# control_port_user_password = ", "control_port_user_password = " + user));
    REQUIRE(replace_line(expected, "# control_port = 5224", "control_port = " + port));
    CHECK(ini == expected);
  }
}

TEST_CASE("init prints the address with host and source code", "[smp-cli]") {
  SmpDirs d;
  auto r = d.smp({"init", "-y", "--no-password", "--ip", "10.1.2.3", "--source-code=https://example.com/src"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == init_output(d, "smp://" + d.fingerprint() + "@10.1.2.3",
                             {"Server source code: https://example.com/src"}));
  CHECK(contains(read_text(d.cfg / "openssl_server.conf"), "CN = 10.1.2.3\n"));

  SmpDirs f;
  r = f.smp({"init", "-y", "--password", "pw1", "-n", "smp.example.com", "--source-code"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == init_output(f, "smp://" + f.fingerprint() + ":pw1@smp.example.com",
                             {"Server source code: " + kSimplexmq}));
  CHECK(contains(read_text(f.cfg / "openssl_server.conf"), "CN = smp.example.com\n"));
}

TEST_CASE("init -a selects the key algorithm", "[smp-cli]") {
  SmpDirs d;
  auto r = d.smp({"init", "-y", "--no-password", "-a", "ED448"});
#if defined(SR_TLS_BORINGSSL)
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out + r.err, "Ed448"));
  CHECK_FALSE(fsys::exists(d.cfg));
#else
  REQUIRE(r.exit_code == 0);
  CHECK(cert_key_type(d.cfg / "ca.crt") == EVP_PKEY_ED448);
  CHECK(cert_key_type(d.cfg / "server.crt") == EVP_PKEY_ED448);
#endif
  SmpDirs e;
  REQUIRE(e.smp({"init", "-y", "--no-password", "--sign-algorithm", "ED25519"}).exit_code == 0);
  CHECK(cert_key_type(e.cfg / "server.crt") == EVP_PKEY_ED25519);
}

TEST_CASE("init validates options before touching anything", "[smp-cli]") {
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string out;  // exact stdout (CLI checks)
    std::string err;  // part of stderr (parser errors)
  };
  const std::vector<Case> cases = {
      {{"--operator", "Op"}, 1, "Error: passing any server information requires passing --source-code\n", ""},
      {{"--hosting-type", "virtual"}, 1, "Error: passing any server information requires passing --source-code\n", ""},
      {{"--server-country", "DE"}, 1, "Error: passing any server information requires passing --source-code\n", ""},
      {{"--source-code", "--operator-country", "US"},
       1,
       "Error: passing --operator-country requires passing --operator\n",
       ""},
      {{"--source-code", "--hosting-country", "US"}, 1, "Error: passing --hosting-country requires passing --hosting\n", ""},
      {{"--source-code", "--operator", "Op", "--operator-country", "USA"},
       1,
       "",
       "option --operator-country: Use ISO3166 2-letter code for operator"},
      {{"--source-code", "--hosting", "H", "--hosting-country", "1A"},
       1,
       "",
       "option --hosting-country: Use ISO3166 2-letter code for hosting"},
      {{"--source-code", "--server-country", "d"}, 1, "", "Use ISO3166 2-letter code for server"},
      {{"--source-code", "--hosting-type", "cloud"}, 1, "", "option --hosting-type:"},
      {{"--password", "a@b"}, 1, "", "option --password:"},
      {{"--password", "two words"}, 1, "", "option --password:"},
      {{"-a", "ed25519"}, 1, "", "option -a: cannot parse value `ed25519'"},
      {{"--sign-algorithm", "RSA"}, 1, "", "option --sign-algorithm: cannot parse value `RSA'"},
      {{"--control-port", "5225"}, 1, "", "Invalid argument `5225'"},
      {{"--bogus"}, 1, "", "Invalid option `--bogus'"},
      {{"--ip", "1.1.1.1", "--ip", "2.2.2.2"}, 1, "", "Invalid option `--ip'"},
      {{"--no-password", "--password", "x"}, 1, "", "Invalid option `--password'"},
      {{"--fqdn"}, 1, "", "The option `--fqdn' expects an argument."},
  };
  for (const auto& c : cases) {
    SmpDirs d;
    std::vector<std::string> args = {"init", "-y"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CAPTURE(args);
    auto r = d.smp(args);
    CHECK(r.exit_code == c.code);
    CHECK(r.out == c.out);
    if (!c.err.empty()) {
      CHECK(contains(r.err, c.err));
      CHECK(contains(r.err, "Usage: smp-server init"));
    }
    CHECK_FALSE(fsys::exists(d.cfg));
    CHECK_FALSE(fsys::exists(d.log));
  }
}

TEST_CASE("init empties leftover directories without an INI", "[smp-cli]") {
  SmpDirs d;
  fsys::create_directories(d.cfg);
  fsys::create_directories(d.log);
  write_text(d.cfg / "stale.txt", "x");
  write_text(d.log / "smp-server-store.log", "old");
  REQUIRE(d.smp({"init", "-y", "--no-password"}).exit_code == 0);
  CHECK_FALSE(fsys::exists(d.cfg / "stale.txt"));
  CHECK(fsys::is_empty(d.log));
}

TEST_CASE("interactive init asks the reference's questions", "[smp-cli]") {
  SECTION("answers replace the options, invalid answers are asked again") {
    SmpDirs d;
    const std::string input =
        "\n"                      // press Enter
        "maybe\n"                 // store log: invalid, asked again
        "n\n"                     // store log: no
        "Y\n"                     // daily statistics: yes
        "bad password\n"          // invalid password, read again without the prompt
        "good:pw\n"               // still invalid (':')
        "GoodPw1\n"               // password
        "smp.example.org\n"       // FQDN
        "ftp://example.com\n"     // invalid source code URI
        "https://src.example\n"   // source code
        "/srv/smp/www\n";         // web path
    auto r = d.smp({"init", "--ip", "10.0.0.1"}, input);
    REQUIRE(r.exit_code == 0);
    const std::string store_prompt = "Enable store log to restore queues and messages on server restart (Yn): ";
    const std::string expected_prompts =
        "Use `smp-server init -h` for available options.\n"
        "SMP server will be initialized (press Enter)" +
        store_prompt + "Invalid input, please enter 'y' or 'n'\n" + store_prompt +
        "Enable logging daily statistics (yN): "
        "Require a password to create new messaging queues?\n"
        "'r' for random (default), 'n' - no password (recommended for public servers), or enter password: "
        "Invalid password. Only latin letters, digits and symbols other than '@' and ':' are allowed\n"
        "Invalid password. Only latin letters, digits and symbols other than '@' and ':' are allowed\n"
        "Enter server FQDN or IP address for certificate (10.0.0.1): "
        "Enter server source code URI (" +
        kSimplexmq +
        "): "
        "Invalid source code. URI should start from http:// or https://\n"
        "Enter path to store generated server pages to show connection links (" +
        (d.log / "www").string() + "): ";
    CHECK(r.out == expected_prompts + init_output(d, "smp://" + d.fingerprint() + ":GoodPw1@smp.example.org",
                                                  {"Server source code: https://src.example"}));
    std::string expected = reference_ini(d);
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"# source_code = URI", "source_code = https://src.example"},
             {"enable = on", "enable = off"},
             {"restore_messages = on", "restore_messages = off"},
             {"log_stats = off", "log_stats = on"},
             {kNoPasswordLine, "create_password = GoodPw1"},
             {"host = <hostnames>", "host = smp.example.org"},
             {"static_path = " + (d.log / "www").string(), "static_path = /srv/smp/www"}})
      REQUIRE(replace_line(expected, from, to));
    CHECK(read_text(d.ini()) == expected);
    CHECK(contains(read_text(d.cfg / "openssl_server.conf"), "CN = smp.example.org\n"));
  }

  SECTION("empty answers take the defaults; source code is always written") {
    SmpDirs d;
    auto r = d.smp({"init", "--disable-web"}, "\n\n\n\n\n\n\n");
    REQUIRE(r.exit_code == 0);
    const std::string ini = read_text(d.ini());
    const std::string password = ini_value(ini, "create_password");
    CHECK(is_base64url(password, 44));
    std::string expected = reference_ini(d);
    REQUIRE(replace_line(expected, "# source_code = URI", "source_code = " + kSimplexmq));
    REQUIRE(replace_line(expected, kNoPasswordLine, "create_password = " + password));
    for (const char* l : {"https = 443", "cert = ", "key = "}) {
      auto pos = expected.find(std::string("\n") + l);
      REQUIRE(pos != std::string::npos);
      expected.insert(pos + 1, "# ");
    }
    CHECK(ini == expected);
    CHECK(contains(r.out, "Server source code: " + kSimplexmq + "\n"));
  }

  SECTION("'n' means no password, 'r' random") {
    SmpDirs d;
    REQUIRE(d.smp({"init"}, "\n\n\nn\n\n\n\n").exit_code == 0);
    CHECK(contains(read_text(d.ini()), kNoPasswordLine + "\n"));
    SmpDirs e;
    REQUIRE(e.smp({"init", "--no-password"}, "\n\n\nr\n\n\n\n").exit_code == 0);
    CHECK(is_base64url(ini_value(read_text(e.ini()), "create_password"), 44));
  }

  SECTION("end of input at a prompt fails without writing the INI") {
    SmpDirs d;
    auto r = d.smp({"init"}, "\n");
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "end of file"));
    CHECK_FALSE(fsys::exists(d.ini()));
  }

  SECTION("option checks run before the questions") {
    SmpDirs d;
    auto r = d.smp({"init", "--operator", "Op"}, "\n\n\n\n\n\n\n");
    CHECK(r.exit_code == 1);
    CHECK(r.out ==
          "Use `smp-server init -h` for available options.\n"
          "Error: passing any server information requires passing --source-code\n");
  }
}

TEST_CASE("delete asks for an exact Y", "[smp-cli]") {
  const std::string warning =
      "WARNING: deleting the server will make all queues inaccessible, because the server identity (certificate "
      "fingerprint) will change.\nTHIS CANNOT BE UNDONE!\nContinue (Y/n): ";
  for (const char* answer : {"y\n", "n\n", "\n", "yes\n"}) {
    SmpDirs d;
    REQUIRE(d.smp({"init", "-y", "--no-password"}).exit_code == 0);
    auto r = d.smp({"delete"}, answer);
    CAPTURE(answer);
    CHECK(r.exit_code == 1);
    CHECK(r.out == warning + "Server NOT deleted\n");
    CHECK(fsys::exists(d.ini()));
    CHECK(fsys::exists(d.log));
  }
  SmpDirs d;
  REQUIRE(d.smp({"init", "-y", "--no-password"}).exit_code == 0);
  auto r = d.smp({"delete"}, "Y\n");
  CHECK(r.exit_code == 0);
  CHECK(r.out == warning + "Deleted configuration and log files\n");
  CHECK_FALSE(fsys::exists(d.cfg));
  CHECK_FALSE(fsys::exists(d.log));
  // Nothing to delete is not an error.
  r = d.smp({"delete"}, "Y\n");
  CHECK(r.exit_code == 0);
}

TEST_CASE("cert makes new online credentials under the same CA", "[smp-cli]") {
  SmpDirs d;
  auto r = d.smp({"cert"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Error: server is not initialized (" + d.ini().string() + " does not exist).\nRun `smp-server init`.\n");

  REQUIRE(d.smp({"init", "-y", "--no-password", "-n", "old.example.com"}).exit_code == 0);
  const std::string fp = d.fingerprint();
  const std::string ca = read_text(d.cfg / "ca.crt");
  const std::string crt = read_text(d.cfg / "server.crt");
  r = d.smp({"cert"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "Generated new server credentials\n"
        "----------\n"
        "You should store CA private key securely and delete it from the server.\n"
        "If server TLS credential is compromised this key can be used to sign a new one, keeping the same server "
        "identity and established connections.\n"
        "CA private key location:\n" +
            (d.cfg / "ca.key").string() + "\n----------\n");
  CHECK(read_text(d.cfg / "ca.crt") == ca);
  CHECK(read_text(d.cfg / "fingerprint") == fp + "\n");
  CHECK(read_text(d.cfg / "server.crt") != crt);
  CHECK(contains(read_text(d.cfg / "openssl_server.conf"), "CN = old.example.com\n"));  // kept from server.crt
  CHECK(cert_key_type(d.cfg / "server.crt") == EVP_PKEY_ED25519);
  CHECK(mode_of(d.cfg / "server.key") == 0600);

  REQUIRE(d.smp({"cert", "--cn", "new.example.com"}).exit_code == 0);
  CHECK(contains(read_text(d.cfg / "openssl_server.conf"), "CN = new.example.com\n"));
  CHECK(d.fingerprint() == fp);
#if !defined(SR_TLS_BORINGSSL)
  REQUIRE(d.smp({"cert", "-a", "ED448"}).exit_code == 0);
  CHECK(cert_key_type(d.cfg / "server.crt") == EVP_PKEY_ED448);
  CHECK(contains(read_text(d.cfg / "openssl_server.conf"), "CN = new.example.com\n"));
#endif
  r = d.smp({"cert", "-a", "ed448"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "option -a: cannot parse value `ed448'"));
}

TEST_CASE("help, version, no arguments and GHC RTS options", "[smp-cli]") {
  SmpDirs d;
  auto r = d.smp({});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.rfind(kBanner + "\n\nUsage: smp-server [-v|--version] COMMAND\n", 0) == 0);
  CHECK(contains(r.err, "Available commands:\n  init                     Initialize server - creates"));
  CHECK(contains(r.err, "  delete                   Delete configuration and log files\n"));

  auto h = d.smp({"--help"});
  CHECK(h.exit_code == 0);
  CHECK(h.out == r.err);

  auto v = d.smp({"-v"});
  CHECK(v.exit_code == 0);
  CHECK(v.out == kBanner + "\n");
  CHECK(d.smp({"+RTS", "-N", "-RTS", "--version"}).out == kBanner + "\n");
  CHECK(d.smp({"--version", "+RTS", "-N"}).out == kBanner + "\n");
  // After --RTS every word is the program's own, so +RTS is not removed.
  CHECK(d.smp({"--RTS", "+RTS"}).exit_code == 1);
  // Packaged units append the RTS block to every command.
  auto init = d.smp({"init", "-y", "--no-password", "+RTS", "-N", "-RTS"});
  CHECK(init.exit_code == 0);

  auto ih = d.smp({"init", "--help"});
  CHECK(ih.exit_code == 0);
  CHECK(ih.out.rfind("Usage: smp-server init [--disable-store-log | (-l|--store-log)]", 0) == 0);
  for (const char* opt : {"--control-port PORT", "--socks-proxy PROXY", "-a,--sign-algorithm ALG", "--web-path PATH",
                          "--disable-web", "-y,--yes", "-h,--help"})
    CHECK(contains(ih.out, opt));
  CHECK(contains(d.smp({"start", "-h"}).out, "--log-level LOG_LEVEL"));
  CHECK(contains(d.smp({"cert", "-h"}).out, "--cn FQDN"));

  auto bad = d.smp({"stop"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err == "Invalid argument `stop'\n\nUsage: smp-server [-v|--version] COMMAND\n");
  bad = d.smp({"start", "--verbose"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.rfind("Invalid option `--verbose'\n\nUsage: smp-server start", 0) == 0);
}

TEST_CASE("journal and database commands", "[smp-cli]") {
  SmpDirs d;
  auto r = d.smp({"journal", "import"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "Error: server is not initialized"));

  r = d.smp({"journal"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "Usage: smp-server journal COMMAND"));
  CHECK(contains(r.err, "Import message log file into a new journal storage"));

  r = d.smp({"database", "import"});
  CHECK(r.exit_code == 1);
  CHECK(r.out ==
        "Error: server binary is compiled without support for PostgreSQL database.\n"
        "Please download `smp-server-postgres` or re-compile with `cabal build -fserver_postgres`.\n");
  CHECK(d.smp({"database", "export", "--table", "queues"}).exit_code == 1);

  REQUIRE(d.smp({"init", "-y", "--no-password", "--disable-store-log"}).exit_code == 0);
  r = d.smp({"journal", "export"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Store log disabled, see `[STORE_LOG] enable`\n");

  d.set_ini_line("enable = off", "enable = on");
  const fsys::path store_log = d.log / "smp-server-store.log";
  r = d.smp({"journal", "import"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Store log file " + store_log.string() + " not found\n");

  write_text(store_log, "");
  r = d.smp({"journal", "import"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == (d.log / "smp-server-messages.log").string() + " file does not exist.\n");
  r = d.smp({"journal", "delete"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == (d.log / "messages").string() + " directory does not exists.\n");

  fsys::create_directories(d.log / "messages" / "q");
  r = d.smp({"journal", "delete"}, "n\n");
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "Messages NOT deleted"));
  CHECK(fsys::exists(d.log / "messages"));
  r = d.smp({"journal", "delete"}, "Y\n");
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "Deleted all messages in journal " + (d.log / "messages").string() + "\n"));
  CHECK_FALSE(fsys::exists(d.log / "messages"));

  // Export asks first; anything but `Y` leaves everything as it was.
  r = d.smp({"journal", "export"}, "n\n");
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "WARNING: journal directory " + (d.log / "messages").string() +
                            " will be exported to message log file " + (d.log / "smp-server-messages.log").string()));
  CHECK(contains(r.out, "Journal not exported"));
  CHECK_FALSE(fsys::exists(d.log / "smp-server-messages.log"));
  r = d.smp({"journal", "export"}, "Y\n");
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "Export completed"));
  CHECK(read_text(d.log / "smp-server-messages.log").empty());
}
