// `xftp-server` command line against the real binary (server-operations.md §1.1, §1.5–1.8, §1.10, §1.11,
// §3.6.2, §6.5–6.7): every run uses XFTP_SERVER_CFG_PATH / XFTP_SERVER_LOG_PATH inside a fresh TempDir.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "xftp_fixture.hpp"
#include "text_files.hpp"
#include "tests/reference_ini.hpp"

using namespace sr::test;
using namespace std::chrono_literals;
namespace fsys = std::filesystem;

namespace {

const std::string kReferenceIni(sr::test::kReferenceXftpIni);

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

unsigned mode_of(const fsys::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// ---- certificates, examined with the TLS library directly (not with the code under test) ---------------------

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr read_cert(const fsys::path& pem) {
  BIO* bio = BIO_new_file(pem.c_str(), "r");
  REQUIRE(bio != nullptr);
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  REQUIRE(cert != nullptr);
  return cert;
}

std::string base64url(const std::vector<uint8_t>& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const auto n = static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()), data.data(), data.size()));
  out.resize(n);
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string fingerprint_of_der(const std::vector<uint8_t>& der) {
  std::vector<uint8_t> digest(SHA256_DIGEST_LENGTH);
  SHA256(der.data(), der.size(), digest.data());
  return base64url(digest);
}

std::vector<uint8_t> der_of(X509* cert) {
  const int len = i2d_X509(cert, nullptr);
  REQUIRE(len > 0);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  i2d_X509(cert, &p);
  return der;
}

int key_type_of(const fsys::path& crt) {
  auto cert = read_cert(crt);
  EVP_PKEY* key = X509_get_pubkey(cert.get());
  REQUIRE(key != nullptr);
  const int id = EVP_PKEY_id(key);
  EVP_PKEY_free(key);
  return id;
}

std::string common_name_of(const fsys::path& crt) {
  auto cert = read_cert(crt);
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
  return cn;
}

const std::vector<std::string>& kAlgArgs = kXftpAlgArgs;

// A server's configuration and state directories in a temporary directory, with the binary linked as
// `xftp-server` next to them.
struct Server {
  TempDir tmp;
  fsys::path cfg = tmp / "etc";
  fsys::path log = tmp / "var";
  fsys::path files = tmp / "files";
  fsys::path program = symlink_as(tmp.path, "xftp-server");

  Env env() const { return {{"XFTP_SERVER_CFG_PATH", cfg.string()}, {"XFTP_SERVER_LOG_PATH", log.string()}}; }
  fsys::path ini() const { return cfg / "file-server.ini"; }

  RunResult xftp(std::vector<std::string> args, const std::string& input = "") const {
    args.insert(args.begin(), program.string());
    return run(args, env(), input);
  }
  // `init -p <files> -q 10gb` plus extra arguments (and Ed25519 in a BoringSSL build).
  RunResult init(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args = {"init", "-p", files.string(), "-q", "10gb"};
    args.insert(args.end(), kAlgArgs.begin(), kAlgArgs.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return xftp(args);
  }
  // The §3.6.2 text with this server's directories.
  std::string reference_ini() const {
    std::string s = replace_all(kReferenceIni, "/etc/opt/simplex-xftp", cfg.string());
    s = replace_all(s, "/var/opt/simplex-xftp", log.string());
    return replace_all(s, "path = /srv/xftp\n", "path = " + files.string() + "\n");
  }
  std::string fingerprint() const { return fingerprint_of_der(der_of(read_cert(cfg / "ca.crt").get())); }
  void edit_ini(const std::string& from, const std::string& to) const {
    const std::string text = read_text(ini());
    REQUIRE(text.find(from) != std::string::npos);
    write_text(ini(), replace_all(text, from, to));
  }
};

std::string banner() {
  auto r = run({relay_binary().string(), "xftp", "--version"});
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.rfind("SimpleX XFTP server v6.5.5.0 / ", 0) == 0);
  return r.out.substr(0, r.out.find('\n'));
}

// Starts `xftp-server start` and returns once the server answers TLS (see start_xftp_process).
std::unique_ptr<Process> start_server(const Server& s, uint16_t port, std::vector<std::string> extra = {}) {
  auto p = start_xftp_process(s.program, s.env(), port, std::move(extra));
  REQUIRE(p->running());
  return p;
}

std::vector<std::string> ca_key_block(const fsys::path& cfg) {
  return {"----------",
          "You should store CA private key securely and delete it from the server.",
          "If server TLS credential is compromised this key can be used to sign a new one, keeping the same server "
          "identity and established connections.",
          "CA private key location:",
          (cfg / "ca.key").string(),
          "----------"};
}

}  // namespace

TEST_CASE("xftp init writes the reference INI, owner-only keys and the CA fingerprint", "[xftp-cli]") {
  Server s;
  auto r = s.init();
  REQUIRE(r.exit_code == 0);

  CHECK(read_text(s.ini()) == s.reference_ini());
  CHECK(mode_of(s.cfg / "ca.key") == 0600);
  CHECK(mode_of(s.cfg / "server.key") == 0600);
  for (const char* f : {"ca.crt", "server.crt", "server.csr", "openssl_ca.conf", "openssl_server.conf"})
    CHECK(fsys::exists(s.cfg / f));

  const std::string fp = s.fingerprint();
  CHECK(fp.size() == 44);
  CHECK(read_text(s.cfg / "fingerprint") == fp + "\n");

  // The printed block of §1.5, line for line.
  std::vector<std::string> expected = {
      "Server initialized, you can modify configuration in " + s.ini().string() + ".",
      "Run `file-server start` to start server."};
  for (auto& l : ca_key_block(s.cfg)) expected.push_back(l);
  expected.push_back(banner());
  expected.push_back("Fingerprint: " + fp);
  expected.push_back("Server address: xftp://" + fp + "@<hostnames>");
  CHECK(lines_of(r.out) == expected);

  // The state directory is created empty; the files directory is the operator's to create.
  CHECK(fsys::is_directory(s.log));
  CHECK(fsys::is_empty(s.log));
  CHECK_FALSE(fsys::exists(s.files));
}

TEST_CASE("xftp init signature algorithm: ED448 by default, ED25519 on request", "[xftp-cli]") {
#ifdef SR_TLS_BORINGSSL
  SECTION("BoringSSL refuses the ED448 default with a clear message and writes nothing") {
    Server s;
    auto r = s.xftp({"init", "-p", s.files.string(), "-q", "10gb"});
    CHECK(r.exit_code == 1);
    std::string text = r.out + r.err;
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK(text.find("ed448") != std::string::npos);
    CHECK(text.find("boringssl") != std::string::npos);     // says why
    CHECK(text.find("-a ed25519") != std::string::npos);    // and what to use instead
    CHECK_FALSE(fsys::exists(s.cfg));
  }
#else
  SECTION("default is ED448") {
    Server s;
    REQUIRE(s.xftp({"init", "-p", s.files.string(), "-q", "10gb"}).exit_code == 0);
    CHECK(key_type_of(s.cfg / "server.crt") == EVP_PKEY_ED448);
    CHECK(key_type_of(s.cfg / "ca.crt") == EVP_PKEY_ED448);
  }
#endif
  SECTION("-a ED25519") {
    Server s;
    REQUIRE(s.xftp({"init", "-p", s.files.string(), "-q", "10gb", "-a", "ED25519"}).exit_code == 0);
    CHECK(key_type_of(s.cfg / "server.crt") == EVP_PKEY_ED25519);
    CHECK(key_type_of(s.cfg / "ca.crt") == EVP_PKEY_ED25519);
  }
  SECTION("an unknown algorithm is a usage error") {
    Server s;
    auto r = s.xftp({"init", "-p", s.files.string(), "-q", "10gb", "-a", "ed25519"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("Usage: xftp-server init") != std::string::npos);
    CHECK_FALSE(fsys::exists(s.cfg));
  }
}

TEST_CASE("xftp init quota is validated before anything is written and written normalised", "[xftp-cli]") {
  SECTION("10240mb is written as 10gb") {
    Server s;
    REQUIRE(s.xftp({"init", "-p", s.files.string(), "-q", "10240mb", "-a", "ED25519"}).exit_code == 0);
    CHECK(read_text(s.ini()).find("\nstorage_quota = 10gb\n") != std::string::npos);
  }
  SECTION("1536kb stays 1536kb, a plain byte count stays bytes") {
    Server s;
    REQUIRE(s.xftp({"init", "-p", s.files.string(), "-q", "1536kb", "-a", "ED25519"}).exit_code == 0);
    CHECK(read_text(s.ini()).find("\nstorage_quota = 1536kb\n") != std::string::npos);
    Server t;
    REQUIRE(t.xftp({"init", "-p", t.files.string(), "-q", "1000", "-a", "ED25519"}).exit_code == 0);
    CHECK(read_text(t.ini()).find("\nstorage_quota = 1000\n") != std::string::npos);
  }
  for (const char* bad : {"10GB", "ten", "10 gb", "-5gb", ""}) {
    DYNAMIC_SECTION("invalid quota '" << bad << "'") {
      Server s;
      auto r = s.xftp({"init", "-p", s.files.string(), "-q", bad, "-a", "ED25519"});
      CHECK(r.exit_code == 1);
      CHECK(r.err.find("quota") != std::string::npos);
      CHECK_FALSE(fsys::exists(s.cfg));
      CHECK_FALSE(fsys::exists(s.log));
    }
  }
}

TEST_CASE("xftp init requires -p and -q", "[xftp-cli]") {
  Server s;
  auto r = s.xftp({"init", "-q", "10gb"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("Missing: (-p|--path PATH)") != std::string::npos);
  CHECK(r.err.find("Usage: xftp-server init") != std::string::npos);

  r = s.xftp({"init", "--path", s.files.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("Missing: (-q|--quota QUOTA)") != std::string::npos);

  r = s.xftp({"init"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("Missing: (-p|--path PATH) (-q|--quota QUOTA)") != std::string::npos);

  r = s.xftp({"init", "-p", s.files.string(), "-q", "10gb", "--bogus"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("Invalid option `--bogus'") != std::string::npos);

  r = s.xftp({"init", "-p", s.files.string(), "-q", "10gb", "extra"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("Invalid argument `extra'") != std::string::npos);
  CHECK_FALSE(fsys::exists(s.cfg));
}

TEST_CASE("xftp init options change exactly their lines", "[xftp-cli]") {
  SECTION("--ip sets the host, the address and the certificate CN") {
    Server s;
    auto r = s.init({"--ip", "192.168.1.5"});
    REQUIRE(r.exit_code == 0);
    CHECK(read_text(s.ini()) == replace_all(s.reference_ini(), "host = <hostnames>\n", "host = 192.168.1.5\n"));
    CHECK(common_name_of(s.cfg / "server.crt") == "192.168.1.5");
    CHECK(lines_of(r.out).back() == "Server address: xftp://" + s.fingerprint() + "@192.168.1.5");
  }
  SECTION("-n wins over --ip") {
    Server s;
    auto r = s.init({"--ip", "192.168.1.5", "-n", "files.example.com"});
    REQUIRE(r.exit_code == 0);
    CHECK(read_text(s.ini()) == replace_all(s.reference_ini(), "host = <hostnames>\n", "host = files.example.com\n"));
    CHECK(common_name_of(s.cfg / "server.crt") == "files.example.com");
    CHECK(lines_of(r.out).back() == "Server address: xftp://" + s.fingerprint() + "@files.example.com");
  }
  SECTION("default --ip 127.0.0.1 is the certificate CN, <hostnames> the host") {
    Server s;
    REQUIRE(s.init().exit_code == 0);
    CHECK(common_name_of(s.cfg / "server.crt") == "127.0.0.1");
  }
  SECTION("--disable-store-log") {
    Server s;
    REQUIRE(s.init({"--disable-store-log"}).exit_code == 0);
    CHECK(read_text(s.ini()) == replace_all(s.reference_ini(), "\nenable = on\n", "\nenable = off\n"));
  }
  SECTION("-l (deprecated) keeps the default") {
    Server s;
    REQUIRE(s.init({"-l"}).exit_code == 0);
    CHECK(read_text(s.ini()) == s.reference_ini());
  }
  SECTION("--web-path") {
    Server s;
    REQUIRE(s.init({"--web-path", "/srv/www/xftp"}).exit_code == 0);
    CHECK(read_text(s.ini()) == replace_all(s.reference_ini(), "static_path = " + (s.log / "www").string() + "\n",
                                        "static_path = /srv/www/xftp\n"));
  }
  SECTION("-p is written verbatim, trailing slash kept (the hosting guide's example)") {
    Server s;
    auto r = s.xftp({"init", "-l", "--ip", "192.168.1.5", "-q", "20gb", "-p", "/srv/xftp/", "-a", "ED25519"});
    REQUIRE(r.exit_code == 0);
    const std::string ini = read_text(s.ini());
    CHECK(ini.find("\npath = /srv/xftp/\nstorage_quota = 20gb\n") != std::string::npos);
  }
}

TEST_CASE("xftp init refuses an initialized server", "[xftp-cli]") {
  Server s;
  REQUIRE(s.init().exit_code == 0);
  const std::string ca = read_text(s.cfg / "ca.crt");
  auto r = s.init({"--ip", "10.0.0.1"});
  CHECK(r.exit_code == 1);
  CHECK(lines_of(r.out) == std::vector<std::string>{
                               "Error: server is already initialized (" + s.ini().string() + " exists).",
                               "Run `file-server start`."});
  CHECK(read_text(s.cfg / "ca.crt") == ca);
  CHECK(read_text(s.ini()) == s.reference_ini());
}

TEST_CASE("xftp command line: help, version, usage errors, both invocation forms", "[xftp-cli]") {
  Server s;
  const std::string relay = relay_binary().string();

  auto none = s.xftp({});
  CHECK(none.exit_code == 1);
  CHECK(none.out.empty());
  CHECK(none.err.rfind(banner() + "\n", 0) == 0);
  for (const char* cmd : {"init", "cert", "start", "database", "delete"})
    CHECK(none.err.find("\n  " + std::string(cmd) + " ") != std::string::npos);
  CHECK(none.err.find("Start server (configuration:") != std::string::npos);
  CHECK(none.err.find(s.ini().string() + ")") != std::string::npos);  // descriptions name the env's paths

  auto help = s.xftp({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out == none.err);

  auto init_help = run({relay, "xftp", "init", "-h"}, s.env());
  CHECK(init_help.exit_code == 0);
  CHECK(init_help.out.rfind("Usage: xftp-server init ", 0) == 0);
  for (const char* opt : {"--disable-store-log", "-l,--store-log", "-a,--sign-algorithm ALG", "(default: ED448)",
                          "--ip IP", "-n,--fqdn FQDN", "-p,--path PATH", "-q,--quota QUOTA", "--web-path PATH"})
    CHECK(init_help.out.find(opt) != std::string::npos);

  auto version = s.xftp({"-v"});
  CHECK(version.exit_code == 0);
  CHECK(version.out == banner() + "\n");

  auto bad = s.xftp({"frobnicate"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("Invalid argument `frobnicate'") != std::string::npos);
  CHECK(bad.err.find("Usage: xftp-server ") != std::string::npos);

  // `simplex-relay xftp init` works like the symlink and leaves a server the symlink can use.
  auto via_relay = run({relay, "xftp", "init", "-p", s.files.string(), "-q", "10gb", "-a", "ED25519"}, s.env());
  REQUIRE(via_relay.exit_code == 0);
  CHECK(via_relay.out.rfind("Server initialized, you can modify configuration in " + s.ini().string() + ".", 0) == 0);
  auto again = s.xftp({"init", "-p", s.files.string(), "-q", "10gb"});
  CHECK(again.exit_code == 1);
  CHECK(again.out.find("already initialized") != std::string::npos);
}

TEST_CASE("xftp start before init names the missing INI", "[xftp-cli]") {
  Server s;
  auto r = s.xftp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(lines_of(r.out) == std::vector<std::string>{
                               "Error: server is not initialized (" + s.ini().string() + " does not exist).",
                               "Run `file-server init`."});
  auto c = s.xftp({"cert"});
  CHECK(c.exit_code == 1);
  CHECK(c.out == r.out);
}

TEST_CASE("xftp start prints the start-up lines, serves TLS with the XFTP ALPN list and stops on SIGTERM",
          "[xftp-cli]") {
  Server s;
  REQUIRE(s.init().exit_code == 0);
  const uint16_t port = free_port();
  s.edit_ini("\nport = 443\n", "\nport = " + std::to_string(port) + "\n");
  const std::string fp = s.fingerprint();

  auto server = start_server(s, port, {"+RTS", "-N", "-RTS"});
  Process& p = *server;

  const std::vector<std::string> expected = {
      banner(),
      "Fingerprint: " + fp,
      "Server address: xftp://" + fp + "@<hostnames>:" + std::to_string(port),
      "Warning: server source code is not specified.",
      "Add 'source_code' property to [INFORMATION] section of INI file.",
      "Store log: " + (s.log / "file-server-store.log").string(),
      "expiring files after 2 days",
      "not expiring inactive clients",
      "Uploading new files allowed.",
      "Listening on port " + std::to_string(port) + "...",
  };
  CHECK(lines_of(p.out()) == expected);
  CHECK(p.err().find("Total / available storage: 10737418240 / 10737418240") != std::string::npos);
  CHECK(fsys::is_directory(s.log / "www"));  // static_path is prepared

  for (const std::string alpn : {"h2", "xftp/1"}) {
    TlsProbeOptions o;
    o.alpn = {alpn};
    auto probe = tls_probe(port, o);
    INFO("ALPN " << alpn << ": " << probe.error);
    CHECK(probe.handshake_ok);
    CHECK(probe.version == "TLSv1.3");
    CHECK(probe.alpn == alpn);
    REQUIRE(probe.chain_der.size() == 2);
    CHECK(fingerprint_of_der(probe.chain_der[1]) == fp);  // [online, CA]
  }
  TlsProbeOptions smp_only;
  smp_only.alpn = {"smp/1"};
  CHECK_FALSE(tls_probe(port, smp_only).handshake_ok);  // not an SMP server

  p.signal(SIGTERM);
  auto code = p.wait(30s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(p.err().find("Server stopped") != std::string::npos);
}

TEST_CASE("xftp start reflects the configuration in its policy lines", "[xftp-cli]") {
  Server s;
  REQUIRE(s.init({"--disable-store-log", "-n", "files.example.com"}).exit_code == 0);
  const uint16_t port = free_port();
  s.edit_ini("\nport = 443\n", "\nport = " + std::to_string(port) + "\n");
  s.edit_ini("# create_password = password to upload files", "create_password = s3cret\n# create_password = x");
  s.edit_ini("\nexpire_files_hours = 48\n", "\nexpire_files_hours = 36\n");
  s.edit_ini("\ndisconnect = off\n# ttl = 21600\n# check_interval = 3600\n",
             "\ndisconnect = on\nttl = 600\ncheck_interval = 60\n");
  s.edit_ini("# source_code = ", "source_code = ");

  auto server = start_server(s, port);
  Process& p = *server;
  const auto lines = lines_of(p.out());
  REQUIRE(lines.size() == 9);
  CHECK(lines[2].rfind("Server address: xftp://" + s.fingerprint() + "@files.example.com:", 0) == 0);
  CHECK(lines[2].find("s3cret") == std::string::npos);  // never the password
  CHECK(lines[3] == "Server source code: https://github.com/simplex-chat/simplexmq");
  CHECK(lines[4] == "Store log disabled.");
  CHECK(lines[5] == "expiring files after 36 hours");
  CHECK(lines[6] == "expiring clients inactive for 600 seconds every 60 seconds");
  CHECK(lines[7] == "Uploading new files requires password.");
  p.signal(SIGINT);
  CHECK(p.wait(30s) == std::optional<int>(0));
}

TEST_CASE("xftp start without uploads and with the PostgreSQL file store", "[xftp-cli]") {
  Server s;
  REQUIRE(s.init().exit_code == 0);
  const uint16_t port = free_port();
  s.edit_ini("\nport = 443\n", "\nport = " + std::to_string(port) + "\n");

  SECTION("new_files = off") {
    s.edit_ini("\nnew_files = on\n", "\nnew_files = off\n");
    auto server = start_server(s, port);
    Process& p = *server;
    CHECK(p.out().find("\nUploading new files NOT allowed.\n") != std::string::npos);
    p.signal(SIGTERM);
    CHECK(p.wait(30s) == std::optional<int>(0));
  }
  SECTION("a malformed INI line is a WARN naming the line, and start goes on") {
    s.edit_ini("\n[FILES]\n", "\n[FILES]\nthis line is not ini\n");
    const auto lines = lines_of(read_text(s.ini()));
    const auto bad = std::find(lines.begin(), lines.end(), "this line is not ini") - lines.begin() + 1;
    auto server = start_server(s, port);
    CHECK(server->err().find("[WARN ") != std::string::npos);
    CHECK(server->err().find(s.ini().string() + ":" + std::to_string(bad) + ":") != std::string::npos);
    CHECK(server->out().find("\nListening on port " + std::to_string(port) + "...\n") != std::string::npos);
    server->signal(SIGTERM);
    CHECK(server->wait(30s) == std::optional<int>(0));
  }
  SECTION("store_files = database is refused by this build") {
    s.edit_ini("\nstore_files = memory\n", "\nstore_files = database\n");
    auto r = s.xftp({"start"});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("Error: server binary is compiled without support for PostgreSQL database.\n") !=
          std::string::npos);
    CHECK(r.out.find("Store log") == std::string::npos);  // refused before the policy lines
  }
  SECTION("an invalid value stops start with a message naming the key") {
    s.edit_ini("\nnew_files = on\n", "\nnew_files = yes\n");
    auto r = s.xftp({"start"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("new_files") != std::string::npos);
    CHECK(r.out.find("Listening") == std::string::npos);
  }
  SECTION("a changed CA fails the fingerprint check") {
    write_text(s.cfg / "fingerprint", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    auto r = s.xftp({"start"});
    CHECK(r.exit_code == 1);
    CHECK(r.out == "Stored fingerprint is invalid.\n");
  }
}

TEST_CASE("xftp cert makes new online credentials and keeps the identity", "[xftp-cli]") {
  Server s;
  REQUIRE(s.init({"-n", "files.example.com"}).exit_code == 0);
  const std::string fp = read_text(s.cfg / "fingerprint");
  const std::string ca = read_text(s.cfg / "ca.crt");
  const std::string crt = read_text(s.cfg / "server.crt");
  const int alg = key_type_of(s.cfg / "server.crt");

  auto r = s.xftp({"cert"});
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> expected = {"Generated new server credentials"};
  for (auto& l : ca_key_block(s.cfg)) expected.push_back(l);
  CHECK(lines_of(r.out) == expected);
  CHECK(read_text(s.cfg / "fingerprint") == fp);
  CHECK(read_text(s.cfg / "ca.crt") == ca);
  CHECK(read_text(s.cfg / "server.crt") != crt);
  CHECK(common_name_of(s.cfg / "server.crt") == "files.example.com");  // kept from the old certificate
  CHECK(key_type_of(s.cfg / "server.crt") == alg);

  REQUIRE(s.xftp({"cert", "--cn", "other.example.com", "-a", "ED25519"}).exit_code == 0);
  CHECK(common_name_of(s.cfg / "server.crt") == "other.example.com");
  CHECK(key_type_of(s.cfg / "server.crt") == EVP_PKEY_ED25519);
  CHECK(read_text(s.cfg / "fingerprint") == fp);
}

TEST_CASE("xftp delete asks and only an exact Y deletes", "[xftp-cli]") {
  Server s;
  REQUIRE(s.init().exit_code == 0);
  fsys::create_directories(s.files);
  const std::string warning =
      "WARNING: deleting the server will make all queues inaccessible, because the server identity (certificate "
      "fingerprint) will change.\nTHIS CANNOT BE UNDONE!\nContinue (Y/n): ";

  for (const char* answer : {"n\n", "y\n", "\n"}) {
    auto r = s.xftp({"delete"}, answer);
    CHECK(r.exit_code == 1);
    CHECK(r.out == warning + "Server NOT deleted\n");
    CHECK(fsys::exists(s.ini()));
  }
  auto r = s.xftp({"delete"}, "Y\n");
  CHECK(r.exit_code == 0);
  CHECK(r.out == warning + "Deleted configuration and log files\n");
  CHECK_FALSE(fsys::exists(s.cfg));
  CHECK_FALSE(fsys::exists(s.log));
  CHECK(fsys::is_directory(s.files));  // the files directory is not the server's to delete
}

TEST_CASE("xftp database commands in a build without PostgreSQL", "[xftp-cli]") {
  Server s;
  REQUIRE(s.init().exit_code == 0);
  const auto store_log = (s.log / "file-server-store.log").string();
  const std::string no_pg =
      "Error: server binary is compiled without support for PostgreSQL database.\n"
      "Please re-compile with `cabal build -fserver_postgres`.\n";

  auto r = s.xftp({"database", "import"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Error: store log file " + store_log + " does not exist.\n");

  r = s.xftp({"database", "export"}, "Y\n");
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Export PostgreSQL database to store log " + store_log + "?\nContinue (Y/n): ");
  CHECK(r.err == no_pg);

  write_text(store_log, "");
  r = s.xftp({"database", "import"}, "n\n");
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Import store log " + store_log + " to PostgreSQL database?\nContinue (Y/n): Import cancelled.\n");

  r = s.xftp({"database", "import"}, "Y\n");
  CHECK(r.exit_code == 1);
  CHECK(r.err == no_pg);
  CHECK(fsys::exists(store_log));

  r = s.xftp({"database", "export"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Error: store log file " + store_log + " already exists.\n");

  r = s.xftp({"database"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("Usage: xftp-server database COMMAND") != std::string::npos);
}

TEST_CASE("xftp reads file-server.toml when it is the only configuration", "[xftp-cli]") {
  Server s;
  REQUIRE(s.init().exit_code == 0);
  SECTION("both files") {
    write_text(s.cfg / "file-server.toml", "[TRANSPORT]\nport = 443\n");
    auto r = s.xftp({"start"});
    CHECK(r.exit_code == 1);
    CHECK((r.out + r.err).find((s.cfg / "file-server.toml").string()) != std::string::npos);
    CHECK((r.out + r.err).find(s.ini().string()) != std::string::npos);
  }
  SECTION("start reads the TOML file") {
    const uint16_t port = free_port();
    fsys::remove(s.ini());
    write_text(s.cfg / "file-server.toml", "[TRANSPORT]\nport = " + std::to_string(port) + "\n\n[FILES]\npath = \"" +
                                         s.files.string() + "\"\n");
    auto server = start_server(s, port);
    Process& p = *server;
    const auto lines = lines_of(p.out());
    REQUIRE(lines.size() == 10);
    CHECK(lines[5] == "Store log disabled.");
    CHECK(lines[9] == "Listening on port " + std::to_string(port) + "...");
    CHECK(p.err().find("Total / available storage") == std::string::npos);  // no quota: unlimited
    p.signal(SIGTERM);
    CHECK(p.wait(30s) == std::optional<int>(0));
  }
  SECTION("init refuses when only the TOML file exists") {
    fsys::rename(s.ini(), s.cfg / "file-server.toml");
    auto r = s.init();
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("already initialized") != std::string::npos);
  }
}
