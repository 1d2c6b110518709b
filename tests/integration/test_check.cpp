// `simplex-relay check ADDRESS` against running relays, misconfigured ones and unreachable addresses: the exit
// code and the line that names the failed step, the cause and the fix.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>
#include <vector>

#include "harness.hpp"
#include "smp_fixture.hpp"
#include "socks_server.hpp"
#include "xftp_fixture.hpp"

using namespace sr::test;

namespace {

RunResult check(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {relay_binary().string(), "check", "--timeout", "20"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

std::string smp_address(const StartDirs& d, const std::string& password = "") {
  return "smp://" + d.fingerprint() + (password.empty() ? "" : ":" + password) + "@127.0.0.1:" +
         std::to_string(d.p1);
}
std::string xftp_fingerprint(const XftpRelay& r) { return key_hash(first_cert_der(r.cfg / "ca.crt")); }
std::string xftp_address(const XftpRelay& r, const std::string& password = "") {
  return "xftp://" + xftp_fingerprint(r) + (password.empty() ? "" : ":" + password) + "@127.0.0.1:" +
         std::to_string(r.port);
}

const std::vector<std::string> kSmpSteps = {"✓ connect (TLS 1.3, SMP v", "✓ create queue", "✓ secure queue",
                                            "✓ send message", "✓ receive message", "✓ delete queue"};
const std::vector<std::string> kXftpSteps = {"✓ connect (TLS 1.3, XFTP v", "✓ create file", "✓ upload file (64 KB)",
                                             "✓ download file", "✓ compare file", "✓ delete file"};

}  // namespace

TEST_CASE("check: a working SMP relay passes every step with exit code 0", "[check]") {
  StartDirs d;
  auto server = d.start_ready();
  auto r = check({smp_address(d)});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  for (const auto& step : kSmpSteps) CHECK(contains(r.out, step));
  CHECK(contains(r.out, "Server test passed: 6 steps."));
}

TEST_CASE("check: a working XFTP relay passes every step with exit code 0", "[check]") {
  XftpRelay relay;
  auto server = relay.start();
  auto r = check({xftp_address(relay)});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  for (const auto& step : kXftpSteps) CHECK(contains(r.out, step));
  CHECK(contains(r.out, "Server test passed: 6 steps."));
}

TEST_CASE("check: a wrong fingerprint shows the expected and the presented one", "[check]") {
  StartDirs d;
  auto server = d.start_ready();
  StartDirs other;  // its fingerprint is a valid one that is not d's
  const std::string wrong = other.fingerprint();
  auto r = check({"smp://" + wrong + "@127.0.0.1:" + std::to_string(d.p1)});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "✗ connect: HANDSHAKE IDENTITY — fingerprint mismatch: the address expects " + wrong +
                            ", the server presents " + d.fingerprint()));
  CHECK_FALSE(contains(r.out, "create queue"));

  XftpRelay relay;
  auto xserver = relay.start();
  auto x = check({"xftp://" + wrong + "@127.0.0.1:" + std::to_string(relay.port)});
  INFO(x.out << x.err);
  CHECK(x.exit_code == 1);
  CHECK(contains(x.out, "✗ connect: HANDSHAKE IDENTITY — fingerprint mismatch: the address expects " + wrong +
                            ", the server presents " + xftp_fingerprint(relay)));
}

TEST_CASE("check: an SMP relay with create_password: missing, wrong and right password", "[check]") {
  StartDirs d;
  d.add_to_section("AUTH", "create_password = s3cret\n");
  auto server = d.start_ready();

  auto missing = check({smp_address(d)});
  INFO(missing.out << missing.err);
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.out, "✓ connect"));
  CHECK(contains(missing.out, "✗ create queue: ERR AUTH — the server requires a password: add it to the address "
                              "as smp://KEYHASH:PASSWORD@host"));

  auto wrong = check({smp_address(d, "guess")});
  INFO(wrong.out << wrong.err);
  CHECK(wrong.exit_code == 1);
  CHECK(contains(wrong.out, "✗ create queue: ERR AUTH — the server refused the password in the address"));

  auto right = check({smp_address(d, "s3cret")});
  INFO(right.out << right.err);
  CHECK(right.exit_code == 0);
}

TEST_CASE("check: an SMP relay with new_queues = off", "[check]") {
  StartDirs d;
  d.set_ini_line("new_queues = on", "new_queues = off");
  auto server = d.start_ready();
  auto r = check({smp_address(d)});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "✗ create queue: ERR AUTH"));
  CHECK(contains(r.out, "(new_queues = off)"));
}

TEST_CASE("check: an XFTP relay with create_password, new_files = off, and a full quota", "[check]") {
  SECTION("password") {
    XftpRelay relay;
    relay.add_to_section("AUTH", "create_password = s3cret\n");
    auto server = relay.start();
    auto missing = check({xftp_address(relay)});
    INFO(missing.out << missing.err);
    CHECK(missing.exit_code == 1);
    CHECK(contains(missing.out, "✗ create file: ERR AUTH — the server requires a password: add it to the address "
                                "as xftp://KEYHASH:PASSWORD@host"));
    auto wrong = check({xftp_address(relay, "guess")});
    CHECK(contains(wrong.out, "✗ create file: ERR AUTH — the server refused the password in the address"));
    CHECK(check({xftp_address(relay, "s3cret")}).exit_code == 0);
  }
  SECTION("new_files = off") {
    XftpRelay relay;
    relay.set_line("new_files = on", "new_files = off");
    auto server = relay.start();
    auto r = check({xftp_address(relay)});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "✗ create file: ERR AUTH"));
    CHECK(contains(r.out, "(new_files = off)"));
  }
  SECTION("quota") {
    XftpRelay relay("32kb");  // below the check's one 64 KB chunk
    auto server = relay.start();
    auto r = check({xftp_address(relay)});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "ERR QUOTA — the server's storage is full: storage_quota"));
  }
}

TEST_CASE("check: a closed port is a refused TCP connection", "[check]") {
  const uint16_t port = free_port();  // nothing listens there
  const std::string hash = StartDirs().fingerprint();
  auto r = check({"smp://" + hash + "@127.0.0.1:" + std::to_string(port)});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "✗ connect: NETWORK: connect: Connection refused — TCP connection to 127.0.0.1:" +
                            std::to_string(port) + " refused"));
  auto x = check({"xftp://" + hash + "@127.0.0.1:" + std::to_string(port)});
  CHECK(x.exit_code == 1);
  CHECK(contains(x.out, "refused: nothing listens on that port"));
}

TEST_CASE("check: a port that accepts TCP but never answers times out", "[check]") {
  ThreadedListener silent([](int fd) {
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
  });
  const std::string hash = StartDirs().fingerprint();
  auto r = run({relay_binary().string(), "check", "--timeout", "1",
                "smp://" + hash + "@127.0.0.1:" + std::to_string(silent.port())});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "✗ connect: TIMEOUT — no answer from 127.0.0.1:" + std::to_string(silent.port()) +
                            " within 1 s"));
}

TEST_CASE("check: an address with the other protocol's port", "[check]") {
  XftpRelay relay;
  auto server = relay.start();
  auto r = check({"smp://" + xftp_fingerprint(relay) + "@127.0.0.1:" + std::to_string(relay.port)});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "refused the SMP protocol (ALPN)"));
  CHECK(contains(r.out, "an XFTP port in an smp:// address?"));
}

TEST_CASE("check: a name that does not resolve is a DNS failure", "[check]") {
  const std::string hash = StartDirs().fingerprint();
  auto r = check({"smp://" + hash + "@no-such-relay.invalid"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "✗ connect: NETWORK: resolve no-such-relay.invalid"));
  CHECK(contains(r.out, "DNS lookup of no-such-relay.invalid failed"));
}

TEST_CASE("check: through a SOCKS proxy, by address and by .onion name", "[check][socks]") {
  StartDirs d;
  auto server = d.start_ready();
  const std::string onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion";
  SocksServer socks({{{"127.0.0.1", d.p1}, {onion, d.p1}}, std::nullopt});
  const std::string proxy = "127.0.0.1:" + std::to_string(socks.port());

  auto r = check({"--socks", proxy, smp_address(d)});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "via SOCKS proxy " + proxy));
  REQUIRE(socks.requests().size() == 1);
  CHECK(socks.requests()[0].host == "127.0.0.1");

  // With a proxy the .onion host of the address is used, sent to the proxy by name.
  auto o = check({"--socks", proxy, "smp://" + d.fingerprint() + "@127.0.0.1," + onion + ":" + std::to_string(d.p1)});
  INFO(o.out << o.err);
  CHECK(o.exit_code == 0);
  REQUIRE(socks.requests().size() == 2);
  CHECK(socks.requests()[1].host == onion);
  CHECK(socks.requests()[1].atyp == 3);

  // A proxy that is not there.
  const uint16_t closed = free_port();
  auto down = check({"--socks", "127.0.0.1:" + std::to_string(closed), smp_address(d)});
  CHECK(down.exit_code == 1);
  CHECK(contains(down.out, "the SOCKS proxy 127.0.0.1:" + std::to_string(closed) + " does not work: start Tor"));
}

TEST_CASE("check: usage errors exit with 2", "[check]") {
  CHECK(check({}).exit_code == 2);
  auto bad = check({"http://example.com"});
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "invalid server address: the address must start with smp:// or xftp://"));
  CHECK(check({"--socks", "nope:", "smp://x@y"}).exit_code == 2);
}
