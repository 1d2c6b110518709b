// `simplex-relay check`: address parsing, the route (host and proxy) and the diagnosis of every failure kind.
#include <catch2/catch.hpp>

#include <string>

#include "core/encoding.hpp"
#include "tools/check.hpp"

using namespace sr;
using namespace sr::tools;

namespace {

const std::string kHash = "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=";

CheckContext smp_ctx(bool password = false) {
  CheckContext c;
  c.protocol = CheckProtocol::SMP;
  c.host = "smp.example.com";
  c.port = 5223;
  c.has_password = password;
  c.expected_fingerprint = kHash;
  c.timeout_seconds = 7;
  return c;
}
CheckContext xftp_ctx(bool password = false) {
  CheckContext c = smp_ctx(password);
  c.protocol = CheckProtocol::XFTP;
  c.port = 443;
  return c;
}
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("check: SMP and XFTP addresses with passwords, several hosts and default ports", "[check]") {
  auto a = parse_check_address("smp://" + kHash + ":s3cret@smp.example.com,abc.onion");
  CHECK(a.protocol == CheckProtocol::SMP);
  CHECK(base64url_encode(a.key_hash) == kHash);
  CHECK(a.password == std::optional<std::string>("s3cret"));
  CHECK(a.hosts == std::vector<std::string>{"smp.example.com", "abc.onion"});
  CHECK(a.port == 5223);

  auto x = parse_check_address("xftp://" + kHash + "@[::1]:8443");
  CHECK(x.protocol == CheckProtocol::XFTP);
  CHECK_FALSE(x.password);
  CHECK(x.hosts == std::vector<std::string>{"::1"});
  CHECK(x.port == 8443);
  CHECK(parse_check_address("xftp://" + kHash + "@files.example.com").port == 443);
}

TEST_CASE("check: malformed addresses are refused with the reason", "[check]") {
  auto err = [](const std::string& text) {
    try {
      parse_check_address(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  CHECK(has(err("ntf://" + kHash + "@host"), "smp:// or xftp://"));
  CHECK(has(err("smp://" + kHash + "host"), "'@'"));
  CHECK(has(err("smp://abc@host"), "key hash"));  // 2 bytes, not a fingerprint
  CHECK(has(err("smp://" + kHash + "@host:99999"), "port"));
  CHECK(has(err("smp://" + kHash + ":@host"), "password"));
}

TEST_CASE("check: .onion hosts go through the proxy, public ones directly unless a proxy is given", "[check]") {
  auto both = parse_check_address("smp://" + kHash + "@smp.example.com,abc.onion");
  auto direct = choose_route(both, std::nullopt);
  CHECK(direct.host == "smp.example.com");
  CHECK_FALSE(direct.socks);

  auto proxy = parse_proxy("127.0.0.1:9150");
  REQUIRE(proxy);
  auto via = choose_route(both, proxy);
  CHECK(via.host == "abc.onion");
  REQUIRE(via.socks);
  CHECK(via.socks->port == 9150);

  auto onion_only = choose_route(parse_check_address("smp://" + kHash + "@abc.onion"), std::nullopt);
  CHECK(onion_only.host == "abc.onion");
  REQUIRE(onion_only.socks);
  CHECK(onion_only.socks->host == "127.0.0.1");
  CHECK(onion_only.socks->port == 9050);
}

TEST_CASE("check: --socks values", "[check]") {
  auto p = parse_proxy("localhost:9050");  // as [PROXY] socks_proxy reads it
  REQUIRE(p);
  CHECK(p->host == "127.0.0.1");
  auto port_only = parse_proxy(":9150");
  REQUIRE(port_only);
  CHECK(port_only->host == "127.0.0.1");
  CHECK(port_only->port == 9150);
  auto name = parse_proxy("tor.lan:9050");
  REQUIRE(name);
  CHECK(name->host == "tor.lan");
  auto v6 = parse_proxy("[::1]:1080");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 1080);
  CHECK(parse_proxy("127.0.0.1")->port == 9050);
  CHECK_FALSE(parse_proxy("127.0.0.1:0"));
  CHECK_FALSE(parse_proxy("host:70000"));
  CHECK_FALSE(parse_proxy("host:"));
}

TEST_CASE("check: connection failures name DNS, refused ports, timeouts, TLS and the proxy", "[check]") {
  const auto c = smp_ctx();
  auto dns = diagnose(CheckStep::Connect, "NETWORK: resolve smp.example.com: Host not found", c);
  CHECK(has(dns, "NETWORK: resolve smp.example.com: Host not found — DNS lookup of smp.example.com failed"));

  auto refused = diagnose(CheckStep::Connect, "NETWORK: connect: Connection refused", c);
  CHECK(has(refused, "TCP connection to smp.example.com:5223 refused"));
  CHECK(has(refused, "server is running"));

  auto unreachable = diagnose(CheckStep::Connect, "NETWORK: connect: Network is unreachable", c);
  CHECK(has(unreachable, "TCP connection to smp.example.com:5223 failed"));

  auto timeout = diagnose(CheckStep::Connect, "TIMEOUT", c);
  CHECK(has(timeout, "no answer from smp.example.com:5223 within 7 s"));
  CHECK(has(timeout, "--timeout"));

  auto tls = diagnose(CheckStep::Connect, "NETWORK: TLS handshake: handshake failure", c);
  CHECK(has(tls, "TLS handshake with smp.example.com:5223 failed"));
  CHECK(has(tls, "does not serve a SimpleX SMP server"));

  // Our relays refuse the other protocol's ALPN: an XFTP port in an smp:// address.
  auto alpn = diagnose(CheckStep::Connect,
                       "NETWORK: TLS handshake: tlsv1 alert no application protocol (SSL routines)", c);
  CHECK(has(alpn, "refused the SMP protocol (ALPN)"));
  CHECK(has(alpn, "an XFTP port in an smp:// address?"));
  CHECK(has(diagnose(CheckStep::Connect,
                    "NETWORK: TLS handshake: TLSV1_ALERT_NO_APPLICATION_PROTOCOL (SSL routines, OPENSSL_internal)", c),
            "refused the SMP protocol (ALPN)"));  // BoringSSL's wording

  auto c6 = c;
  c6.host = "::1";
  CHECK(has(diagnose(CheckStep::Connect, "NETWORK: connect: Connection refused", c6), "[::1]:5223 refused"));
}

TEST_CASE("check: SOCKS failures tell the proxy apart from the destination", "[check]") {
  auto c = smp_ctx();
  c.host = "abcdef.onion";
  c.socks = parse_proxy("127.0.0.1:9050");
  auto proxy_down = diagnose(CheckStep::Connect, "NETWORK: SOCKS proxy 127.0.0.1:9050: connection refused", c);
  CHECK(has(proxy_down, "the SOCKS proxy 127.0.0.1:9050 does not work: start Tor"));
  auto offline = diagnose(CheckStep::Connect, "NETWORK: SOCKS: onion service descriptor can not be found", c);
  CHECK(has(offline, "could not reach abcdef.onion:5223"));
  CHECK(has(offline, "onion service is offline"));
  c.host = "smp.example.com";
  CHECK(has(diagnose(CheckStep::Connect, "NETWORK: SOCKS: host unreachable", c), "check the host and the port"));
}

TEST_CASE("check: a fingerprint mismatch shows the expected and the presented fingerprint", "[check]") {
  auto c = smp_ctx();
  c.actual_fingerprint = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  auto m = diagnose(CheckStep::Connect, "HANDSHAKE IDENTITY", c);
  CHECK(has(m, "fingerprint mismatch: the address expects " + kHash + ", the server presents " +
                   c.actual_fingerprint));
  CHECK(has(m, "smp-server start"));
  c.actual_fingerprint.clear();
  CHECK(has(diagnose(CheckStep::Connect, "HANDSHAKE IDENTITY", c), "expects " + kHash + " but"));
  auto x = xftp_ctx();
  x.actual_fingerprint = "B";
  CHECK(has(diagnose(CheckStep::Connect, "HANDSHAKE IDENTITY", x), "xftp-server start"));
}

TEST_CASE("check: handshake failures: version, session, bad proof, wrong protocol", "[check]") {
  const auto c = smp_ctx();
  CHECK(has(diagnose(CheckStep::Connect, "VERSION", c), "version mismatch: the server and this tool share no SMP"));
  CHECK(has(diagnose(CheckStep::Connect, "SESSION", c), "terminates TLS"));
  CHECK(has(diagnose(CheckStep::Connect, "HANDSHAKE BAD_AUTH", c), "impostor"));
  CHECK(has(diagnose(CheckStep::Connect, "HANDSHAKE PARSE", c), "an XFTP port in an smp:// address?"));
  CHECK(has(diagnose(CheckStep::Connect, "HANDSHAKE PARSE", xftp_ctx()), "an SMP port in an xftp:// address?"));
}

TEST_CASE("check: ERR AUTH on creation is about the password or disabled creation", "[check]") {
  auto missing = diagnose(CheckStep::CreateQueue, "ERR AUTH", smp_ctx(false));
  CHECK(has(missing, "ERR AUTH — the server requires a password: add it to the address as "
                     "smp://KEYHASH:PASSWORD@host"));
  CHECK(has(missing, "new_queues = off"));
  auto wrong = diagnose(CheckStep::CreateQueue, "ERR AUTH", smp_ctx(true));
  CHECK(has(wrong, "the server refused the password in the address"));
  CHECK(has(wrong, "create_password in [AUTH] of smp-server.ini"));

  auto xmissing = diagnose(CheckStep::CreateFile, "ERR AUTH", xftp_ctx(false));
  CHECK(has(xmissing, "xftp://KEYHASH:PASSWORD@host"));
  CHECK(has(xmissing, "new_files = off"));
  CHECK(has(diagnose(CheckStep::CreateFile, "ERR AUTH", xftp_ctx(true)), "file-server.ini"));

  // Later steps use keys the server just accepted: AUTH there is a lost entity, not a password.
  auto later = diagnose(CheckStep::SecureQueue, "ERR AUTH", smp_ctx(true));
  CHECK(has(later, "the queue disappeared"));
  CHECK_FALSE(has(later, "password"));
}

TEST_CASE("check: command errors: quota, size, blocked, syntax, server failures", "[check]") {
  CHECK(has(diagnose(CheckStep::UploadFile, "ERR QUOTA", xftp_ctx()), "storage is full: storage_quota"));
  CHECK(has(diagnose(CheckStep::SendMessage, "ERR QUOTA", smp_ctx()), "queue is full"));
  CHECK(has(diagnose(CheckStep::UploadFile, "ERR SIZE", xftp_ctx()), "does not accept a 64 KB chunk"));
  CHECK(has(diagnose(CheckStep::DownloadFile, "ERR SIZE", xftp_ctx()), "wrong size"));
  CHECK(has(diagnose(CheckStep::CreateQueue, "ERR BLOCKED reason=spam", smp_ctx()), "blocked this queue"));
  CHECK(has(diagnose(CheckStep::CreateFile, "ERR CMD SYNTAX", xftp_ctx()), "version mismatch"));
  CHECK(has(diagnose(CheckStep::CreateQueue, "ERR INTERNAL", smp_ctx()), "server's log"));
  CHECK(has(diagnose(CheckStep::CreateQueue, "ERR STORE disk", smp_ctx()), "server's log"));
  CHECK(has(diagnose(CheckStep::DownloadFile, "ERR NO_FILE", xftp_ctx()), "lost the file"));
  CHECK(has(diagnose(CheckStep::DownloadFile, "ERR CRYPTO", xftp_ctx()), "corrupts data"));
  CHECK(has(diagnose(CheckStep::DeleteQueue, "ERR LARGE_MSG", smp_ctx()), "refused the command"));
}

TEST_CASE("check: failures after connecting: timeouts, closed connections, lost or changed data", "[check]") {
  CHECK(has(diagnose(CheckStep::SendMessage, "TIMEOUT", smp_ctx()), "no reply within 7 s"));
  CHECK(has(diagnose(CheckStep::UploadFile, "CLOSED", xftp_ctx()), "the connection broke"));
  CHECK(has(diagnose(CheckStep::UploadFile, "NETWORK: stream closed without a response", xftp_ctx()),
            "the connection broke"));
  CHECK(has(diagnose(CheckStep::ReceiveMessage, "NO MESSAGE", smp_ctx()), "did not deliver it"));
  CHECK(has(diagnose(CheckStep::ReceiveMessage, "DIFFERENT", smp_ctx()), "delivered message differs"));
  CHECK(has(diagnose(CheckStep::CompareFile, "DIFFERENT", xftp_ctx()), "downloaded file differs"));
  CHECK(has(diagnose(CheckStep::CreateQueue, "RESPONSE: unexpected OK", smp_ctx()), "not compatible"));
  CHECK(has(diagnose(CheckStep::CreateQueue, "something new", smp_ctx()), "something new — an unexpected failure"));
}

TEST_CASE("check: step names as printed", "[check]") {
  CHECK(step_name(CheckStep::Connect) == "connect");
  CHECK(step_name(CheckStep::CreateQueue) == "create queue");
  CHECK(step_name(CheckStep::ReceiveMessage) == "receive message");
  CHECK(step_name(CheckStep::CompareFile) == "compare file");
  CHECK(step_name(CheckStep::DeleteFile) == "delete file");
}
