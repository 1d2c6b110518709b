// `smp-server start` as a real process (server-operations.md §1.7, §6.5–6.7, §8 Q3/Q14): the start-up lines,
// the checks that stop it, the TLS listener as a client sees it, timeouts, signals, INI and TOML configs.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "build_info.hpp"
#include "smp_fixture.hpp"

using namespace sr::test;
using namespace std::chrono_literals;
namespace fsys = std::filesystem;

namespace {

const std::string kBanner = std::string("SMP server v6.5.5.0 / ") + std::string(SR_COMMIT).substr(0, 7);

// The stdout lines of a start with these settings (spec §6.7 rows 1–10).
std::string start_lines(const StartDirs& d, const std::string& address_tail, const std::string& store,
                        const std::string& queues) {
  return kBanner + "\nFingerprint: " + d.fingerprint() + "\nServer address: smp://" + d.fingerprint() +
         address_tail +
         "\n"
         "Warning: server source code is not specified.\n"
         "Add 'source_code' property to [INFORMATION] section of INI file.\n" +
         store + "\nServing SMP protocol on port " + std::to_string(d.p1) +
         " (TLS)...\n"
         "Serving SMP protocol on port " +
         std::to_string(d.p2) +
         " (TLS)...\n"
         "\n"
         "WARNING: the clients will use port 443 by default soon.\n"
         "Set `port` in smp-server.ini section [TRANSPORT] to `5223,443`\n"
         "\n"
         "expiring messages after 21 days\n"
         "expiring clients inactive for 21600 seconds every 3600 seconds\n"
         "creating new queues " +
         queues + "\n";
}

int line_number(const std::string& text, const std::string& line) {
  auto lines = lines_of(text);
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i] == line) return static_cast<int>(i) + 1;
  return 0;
}

// A self-signed RSA certificate and key, made with libcrypto directly.
void write_rsa_credentials(const fsys::path& crt, const fsys::path& key, int bits) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> kctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr),
                                                                   EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  REQUIRE(EVP_PKEY_keygen_init(kctx.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_keygen_bits(kctx.get(), bits) == 1);
  REQUIRE(EVP_PKEY_keygen(kctx.get(), &raw) == 1);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(raw, EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_set_pubkey(x.get(), pkey.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  REQUIRE(X509_sign(x.get(), pkey.get(), EVP_sha256()) > 0);
  std::unique_ptr<BIO, decltype(&BIO_free)> c(BIO_new_file(crt.c_str(), "w"), BIO_free);
  REQUIRE(PEM_write_bio_X509(c.get(), x.get()) == 1);
  std::unique_ptr<BIO, decltype(&BIO_free)> k(BIO_new_file(key.c_str(), "w"), BIO_free);
  REQUIRE(PEM_write_bio_PrivateKey(k.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
}

}  // namespace

TEST_CASE("start needs an initialized server", "[start]") {
  SmpDirs d;
  auto r = d.smp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Error: server is not initialized (" + d.ini().string() + " does not exist).\nRun `smp-server init`.\n");
}

TEST_CASE("start after a default init names the missing web certificates and serves SMP", "[start]") {
  // Our deviation from the reference (spec §8 Q14, which exits here): say what is missing and go on without HTTPS.
  SmpDirs d;
  REQUIRE(d.smp({"init", "-y", "--no-password"}).exit_code == 0);
  uint16_t p1 = free_port(), p2 = free_port();
  while (p2 == p1) p2 = free_port();
  d.set_ini_line("port = 5223,443", "port = " + std::to_string(p1) + "," + std::to_string(p2));
  d.set_ini_line("https = 443", "https = " + std::to_string(p2));
  auto p = d.start();
  REQUIRE(p->wait_for(":" + std::to_string(p2) + "\n"));
  p->signal(SIGTERM);
  CHECK(p->wait() == 0);
  const std::string fp = d.fingerprint();
  const std::string expected =
      kBanner + "\nFingerprint: " + fp + "\nServer address: smp://" + fp + "@<hostnames>:" + std::to_string(p1) +
      "," + std::to_string(p2) +
      "\n"
      "Warning: server source code is not specified.\n"
      "Add 'source_code' property to [INFORMATION] section of INI file.\n"
      "Store log: " +
      (d.log / "smp-server-store.log").string() +
      "\n"
      "Serving SMP protocol on port " + std::to_string(p1) + " (TLS)...\n"
      "Serving SMP protocol on port " + std::to_string(p2) + " (TLS)...\n"
      "Serving static site on port " + std::to_string(p2) + " (TLS)...\n"
      "\n"
      "WARNING: the clients will use port 443 by default soon.\n"
      "Set `port` in smp-server.ini section [TRANSPORT] to `5223,443`\n"
      "\n"
      "expiring messages after 21 days\n"
      "expiring clients inactive for 21600 seconds every 3600 seconds\n"
      "creating new queues allowed\n"
      "----------\n"
      "Warning: no HTTPS credentials, the web site is not served on port " + std::to_string(p2) + ".\n"
      "Missing file: " + (d.cfg / "web.crt").string() + " ([WEB] cert in smp-server.ini)\n"
      "Missing file: " + (d.cfg / "web.key").string() + " ([WEB] key in smp-server.ini)\n"
      "Server should serve static pages to show connection links in the browser.\n"
      "To fix: put the certificate and its key at these paths (or change [WEB] cert and key), e.g. from Let's "
      "Encrypt:\n"
      "certbot certonly --standalone -d yourdomainname --key-type rsa --rsa-key-size 4096\n"
      "or comment out `https` in smp-server.ini to run without the HTTPS site.\n"
      "Serving SMP without the HTTPS site.\n"
      "----------\n";
  CHECK(p->out().substr(0, expected.size()) == expected);
}

TEST_CASE("start prints the start-up lines and serves TLS until SIGTERM", "[start]") {
  StartDirs d;
  auto server = d.start_ready();
  CHECK(server->out() == start_lines(d, "@<hostnames>:" + d.ports(), "Store log: " + (d.log / "smp-server-store.log").string(),
                                     "allowed"));
  CHECK(contains(server->err(), "binding to"));
  CHECK(fsys::is_directory(d.log / "www"));  // static_path is created

  const std::string fp = d.fingerprint();
  auto p = tls_probe(d.p1);
  INFO("probe: " << p.error);
  REQUIRE(p.handshake_ok);
  CHECK(p.alpn == "smp/1");
  CHECK(p.version == "TLSv1.3");
  REQUIRE(p.chain_der.size() == 2);
  CHECK(p.chain_der[0] == first_cert_der(d.cfg / "server.crt"));
  CHECK(p.chain_der[1] == first_cert_der(d.cfg / "ca.crt"));
  CHECK(key_hash(p.chain_der[1]) == fp);
  CHECK_FALSE(p.got_session_ticket);

  TlsProbeOptions no_alpn;
  no_alpn.alpn = {};
  auto q = tls_probe(d.p2, no_alpn);
  INFO("probe: " << q.error);
  REQUIRE(q.handshake_ok);
  CHECK(q.alpn.empty());
  CHECK(q.chain_der.size() == 2);

  server->signal(SIGTERM);
  auto code = server->wait(30s);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(contains(server->err(), "Received SIGTERM, stopping server..."));
  CHECK(contains(server->err(), "Server stopped"));
}

TEST_CASE("SIGINT stops the server; GHC RTS options are ignored", "[start]") {
  StartDirs d;
  auto server = d.start_ready({"start", "+RTS", "-N", "-RTS"});
  auto p = tls_probe(d.p1);
  INFO("probe: " << p.error);
  CHECK(p.handshake_ok);
  server->signal(SIGINT);
  auto code = server->wait(30s);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(contains(server->err(), "Received SIGINT, stopping server..."));
  CHECK(contains(server->err(), "Server stopped"));
}

TEST_CASE("idle connections are closed after the handshake timeouts", "[start]") {
  StartDirs d;
  d.add_to_section("TRANSPORT", "tls_handshake_timeout = 2\nhandshake_timeout = 1\n");
  auto server = d.start_ready();

  // After TLS: nothing sent within the protocol handshake timeout.
  TlsProbeOptions wait;
  wait.close_wait = 15s;
  auto p = tls_probe(d.p1, wait);
  INFO("probe: " << p.error);
  REQUIRE(p.handshake_ok);
  CHECK(p.closed_by_server);
  CHECK(p.closed_after < 15s);

  // Before TLS: a TCP connection that never starts the handshake.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(d.p2);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  pollfd pfd{fd, POLLIN, 0};
  REQUIRE(poll(&pfd, 1, 15000) == 1);
  char b;
  CHECK(read(fd, &b, 1) <= 0);  // closed, nothing sent
  close(fd);

  server->signal(SIGTERM);
  CHECK(server->wait(30s) == std::optional<int>(0));
}

TEST_CASE("a port in use is reported with its number", "[start]") {
  StartDirs d;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(d.p2);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(fd, 1) == 0);
  auto r = d.smp({"start"});
  close(fd);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, std::to_string(d.p2)));
  CHECK(contains(r.err, "in use"));
}

TEST_CASE("start checks the stored fingerprint and the SMP credentials", "[start]") {
  StartDirs d;
  write_text(d.cfg / "fingerprint", "AAAA\n");
  auto r = d.smp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Stored fingerprint is invalid.\n");

  StartDirs e;
  fsys::remove(e.cfg / "server.key");
  r = e.smp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "creating new queues allowed\n----------\nError: no SMP credentials: " +
                            (e.cfg / "server.key").string() + "\n"));

  StartDirs f;
  write_text(f.cfg / "server.key", "not a key\n");
  r = f.smp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "creating new queues allowed\ninvalid credential\n"));
}

TEST_CASE("start lines follow the configuration", "[start]") {
  SECTION("password, host, source code, port 5223 omitted from the address") {
    StartDirs d({"--password", "pw1", "-n", "smp.example.com", "--source-code=https://example.com/src"});
    d.set_ini_line("port = " + d.ports(), "port = 5223");
    auto r = d.smp({"start", "-m"});
    CHECK(r.exit_code == 0);
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() >= 5);
    CHECK(lines[2] == "Server address: smp://" + d.fingerprint() + ":pw1@smp.example.com");
    CHECK(lines[3] == "Server source code: https://example.com/src");
    CHECK(contains(r.out, "creating new queues requires password\n"));
    CHECK(contains(r.out, "Serving SMP protocol on port 5223 (TLS)...\n\nWARNING: the clients will use port 443"));
    CHECK(lines.back() == "Server started in 'maintenance' mode, exiting");
  }
  SECTION("store log off, queues not allowed, inactive clients kept, message TTL") {
    StartDirs d({"--no-password", "--disable-store-log"});
    d.set_ini_line("new_queues = on", "new_queues = off");
    d.set_ini_line("disconnect = on", "disconnect = off");
    d.set_ini_line("expire_messages_days = 21", "expire_messages_days = 1");
    auto r = d.smp({"start", "--maintenance"});
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "\nStore log disabled.\n"));
    CHECK(contains(r.out, "\nexpiring messages after 1 days\nnot expiring inactive clients\ncreating new queues NOT allowed\n"));
  }
  SECTION("no static path") {
    StartDirs d;
    d.set_ini_line("static_path = " + (d.log / "www").string(), "# static_path =");
    auto r = d.smp({"start", "-m"});
    CHECK(r.exit_code == 0);
    CHECK(contains(r.err, "No server static path set"));
    CHECK_FALSE(fsys::exists(d.log / "www"));
  }
  SECTION("--log-level") {
    StartDirs d;
    auto r = d.smp({"start", "-m", "--log-level", "error"});
    CHECK(r.exit_code == 0);
    CHECK_FALSE(contains(r.err, "[NOTE"));
    CHECK_FALSE(contains(r.err, "[WARN"));
    r = d.smp({"start", "-m", "--log-level", "loud"});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "option --log-level: Invalid log level"));
  }
}

TEST_CASE("start refuses inconsistent message storage", "[start]") {
  StartDirs d;
  const std::string msgs_dir = (d.log / "messages").string(), msgs_file = (d.log / "smp-server-messages.log").string();
  fsys::create_directories(msgs_dir);
  auto r = d.smp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "Error: store_messages is `memory` with " + msgs_dir +
                            " directory present.\nSet store_messages to `journal` or use `smp-server journal import` "
                            "to migrate.\n"));

  write_text(msgs_file, "");
  r = d.smp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "Error: both " + msgs_file + " file and " + msgs_dir +
                            " directory are present.\nConfigure memory storage.\n"));

  fsys::remove_all(msgs_dir);
  d.set_ini_line("store_messages = memory", "store_messages = journal");
  r = d.smp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "Error: store_messages is `journal` with " + msgs_file + " file present.\n"));

  d.set_ini_line("store_queues = memory", "store_queues = database");
  r = d.smp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out,
                 "Error: server binary is compiled without support for PostgreSQL database.\n"
                 "Please download `smp-server-postgres` or re-compile with `cabal build -fserver_postgres`.\n"));
}

TEST_CASE("start checks the HTTPS credentials of the web server", "[start]") {
  StartDirs d;
  const fsys::path crt = d.tmp.path / "web.crt", key = d.tmp.path / "web.key";
  d.set_ini_line("# https = 443", "https = " + std::to_string(d.p2));
  d.set_ini_line("# cert = " + (d.cfg / "web.crt").string(), "cert = " + crt.string());
  d.set_ini_line("# key = " + (d.cfg / "web.key").string(), "key = " + key.string());
  const std::string unsupported =
      "Error: unsupported HTTPS credentials, required 4096-bit RSA\n"
      "Use Let's Encrypt to generate: certbot certonly --standalone -d yourdomainname --key-type rsa --rsa-key-size "
      "4096\n"
      "----------\n";

  fsys::copy_file(fixtures_dir() / "ed25519" / "server.crt", crt);
  fsys::copy_file(fixtures_dir() / "ed25519" / "server.key", key);
  auto r = d.smp({"start", "-m"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "Serving SMP protocol on port " + std::to_string(d.p2) +
                            " (TLS)...\nServing static site on port " + std::to_string(d.p2) + " (TLS)...\n"));
  CHECK(contains(r.out, "creating new queues allowed\n" + unsupported));

  write_rsa_credentials(crt, key, 2048);
  r = d.smp({"start", "-m"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, unsupported));

  write_text(key, "garbage\n");
  r = d.smp({"start", "-m"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "\ninvalid credential\n"));

  write_rsa_credentials(crt, key, 4096);
  r = d.smp({"start", "-m"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "Server started in 'maintenance' mode, exiting"));
}

TEST_CASE("configuration errors and warnings name the file and the line", "[start]") {
  StartDirs d;
  d.set_ini_line("new_queues = on", "new_queues = maybe");
  auto r = d.smp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  const int line = line_number(read_text(d.ini()), "new_queues = maybe");
  REQUIRE(line > 0);
  CHECK(contains(r.err, d.ini().string() + ":" + std::to_string(line) + ":"));
  CHECK(contains(r.err, "new_queues"));

  d.set_ini_line("new_queues = maybe", "new_queues = on");
  d.add_to_section("AUTH", "this line is neither a key nor a section\n");
  const int bad = line_number(read_text(d.ini()), "this line is neither a key nor a section");
  r = d.smp({"start", "-m"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "[WARN"));
  CHECK(contains(r.err, d.ini().string() + ":" + std::to_string(bad) + ":"));
  CHECK(contains(r.out, "creating new queues allowed\n"));

  d.set_ini_line("websockets = off", "# websockets = off");
  r = d.smp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "no key websockets in section TRANSPORT"));
}

TEST_CASE("a TOML configuration alone starts the same server", "[start]") {
  StartDirs d;
  const fsys::path toml = d.cfg / "smp-server.toml";
  write_text(toml,
             "[STORE_LOG]\n"
             "enable = true\n"
             "[TRANSPORT]\n"
             "port = [" +
                 std::to_string(d.p1) + ", " + std::to_string(d.p2) +
                 "]\n"
                 "websockets = false\n"
                 "[INACTIVE_CLIENTS]\n"
                 "disconnect = true\n"
                 "ttl = 21600\n"
                 "check_interval = 3600\n"
                 "[WEB]\n"
                 "static_path = \"" +
                 (d.log / "www").string() + "\"\n");

  auto r = d.smp({"start", "-m"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Error: both " + d.ini().string() + " and " + toml.string() + " exist, remove one of them.\n");

  fsys::remove(d.ini());
  auto server = d.start_ready();
  CHECK(server->out() == start_lines(d, "@<hostnames>:" + d.ports(),
                                     "Store log: " + (d.log / "smp-server-store.log").string(), "allowed"));
  auto p = tls_probe(d.p1);
  INFO("probe: " << p.error);
  REQUIRE(p.handshake_ok);
  CHECK(p.alpn == "smp/1");
  REQUIRE(p.chain_der.size() == 2);
  CHECK(key_hash(p.chain_der[1]) == d.fingerprint());
  server->signal(SIGTERM);
  CHECK(server->wait(30s) == std::optional<int>(0));
}
