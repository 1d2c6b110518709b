// The embedded web site served by the real servers (server-operations.md §5.5, §5.6): [WEB] http, https on its
// own port, https sharing the SMP port by SNI, the missing web certificate warning, and XFTP's pages.
#include <catch2/catch.hpp>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-qualifiers"
#include <openssl/ssl.h>
#include <openssl/x509.h>
#pragma GCC diagnostic pop
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "smp_client_fixture.hpp"
#include "xftp/client.hpp"
#include "xftp_fixture.hpp"

using namespace sr;
using namespace sr::test;
namespace fsys = std::filesystem;

namespace {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

HttpReply parse_reply(const std::string& raw) {
  HttpReply r;
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.rfind("HTTP/1.1 ", 0) != 0) return r;
  r.status = std::stoi(raw.substr(9, 3));
  size_t pos = raw.find("\r\n") + 2;
  while (pos < end) {
    const size_t eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    const size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    pos = eol + 2;
  }
  r.body = raw.substr(end + 4);
  return r;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

// Connects, retrying while the listener is not up yet (its bind is not announced on stdout at the default level).
int connect_retry(uint16_t port) {
  for (int i = 0; i < 100; ++i) {
    const int fd = tcp_connect("127.0.0.1", port);
    if (fd >= 0) return fd;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

std::string request(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "Connection: close\r\n\r\n";
}

// Plain HTTP: one request, the reply read until the server closes.
HttpReply http(uint16_t port, const std::string& req) {
  const int fd = connect_retry(port);
  REQUIRE(fd >= 0);
  REQUIRE(::send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return parse_reply(raw);
}

bool g_cert_requested = false;  // the server sent a CertificateRequest (client_cert_cb ran)

struct HttpsReply {
  bool handshake_ok = false;
  bool cert_requested = false;
  std::vector<uint8_t> leaf_der;
  std::string alpn;
  HttpReply reply;
};

// HTTPS/1.1 with SNI (when sni is not empty): one request, the reply read until the server closes.
HttpsReply https(uint16_t port, const std::string& sni, const std::string& req) {
  HttpsReply out;
  const int fd = connect_retry(port);
  REQUIRE(fd >= 0);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  static const unsigned char kAlpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn - 1);
  g_cert_requested = false;
  SSL_CTX_set_client_cert_cb(ctx, [](SSL*, X509**, EVP_PKEY**) {
    g_cert_requested = true;
    return 0;  // no certificate
  });
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl, sni.c_str());
  if (SSL_connect(ssl) == 1) {
    out.handshake_ok = true;
    out.cert_requested = g_cert_requested;
    if (X509* leaf = SSL_get_peer_certificate(ssl)) {
      unsigned char* der = nullptr;
      const int len = i2d_X509(leaf, &der);
      out.leaf_der.assign(der, der + len);
      OPENSSL_free(der);
      X509_free(leaf);
    }
    const unsigned char* a = nullptr;
    unsigned alen = 0;
    SSL_get0_alpn_selected(ssl, &a, &alen);
    out.alpn.assign(reinterpret_cast<const char*>(a), alen);
    SSL_write(ssl, req.data(), static_cast<int>(req.size()));
    std::string raw;
    char buf[4096];
    for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;) raw.append(buf, static_cast<size_t>(n));
    out.reply = parse_reply(raw);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return out;
}

const fsys::path kWebCrt = fixtures_dir() / "web" / "web-rsa.crt";  // the SMP rule: RSA, 4096 bits
const fsys::path kWebKey = fixtures_dir() / "web" / "web-rsa.key";

void stop(Process& p) {
  p.signal(SIGTERM);
  const auto code = p.wait(std::chrono::seconds(20));
  INFO(p.out() << p.err());
  CHECK(code == 0);
}

}  // namespace

TEST_CASE("smp-server serves the generated site over [WEB] http", "[web-server]") {
  const uint16_t http_port = free_port();
  Relay relay([&](StartDirs& d) {
    d.add_to_section("INFORMATION", "source_code = https://example.com/src\noperator = Example Operator\n"
                                    "admin_email = admin@example.com\n");
    d.add_to_section("WEB", "http = " + std::to_string(http_port) + "\n");
  });
  const fsys::path www = relay.d.log / "www";

  auto index = http(http_port, request("/"));
  CHECK(index.status == 200);
  CHECK(index.headers["content-type"] == "text/html");
  CHECK(contains(index.body, "Example Operator"));
  CHECK(contains(index.body, "admin@example.com"));
  CHECK(contains(index.body, "https://example.com/src"));
  CHECK(contains(index.body, "21 days"));
  CHECK(index.body == read_text(www / "index.html"));

  auto link = http(http_port, request("/a/"));
  CHECK(link.status == 200);
  CHECK(contains(link.body, "/media/link.js"));
  CHECK(http(http_port, request("/invitation")).body == link.body);  // directory without the slash
  CHECK(http(http_port, request("/media/site.css")).headers["content-type"] == "text/css");

  auto aasa = http(http_port, request("/.well-known/apple-app-site-association"));
  CHECK(aasa.status == 200);
  CHECK(aasa.headers["content-type"] == "application/json");
  CHECK(contains(aasa.body, "chat.simplex.app"));

  // Nothing outside the site, and no listings.
  write_text(relay.d.log / "secret.txt", "secret");
  CHECK(http(http_port, request("/../secret.txt")).status == 404);
  CHECK(http(http_port, request("/%2e%2e/secret.txt")).status == 404);
  CHECK(http(http_port, request("/media/")).status == 404);
  CHECK(http(http_port, request("/nothing-here")).status == 404);
  auto post = http(http_port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  CHECK(post.status == 405);

  auto gz = http(http_port, request("/", "Accept-Encoding: gzip, deflate\r\n"));
  CHECK(gz.status == 200);
  CHECK(gz.headers["content-encoding"] == "gzip");
  CHECK(gunzip(gz.body) == index.body);

  // HEAD: the headers of GET, no body.
  auto head = http(http_port, "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(head.status == 200);
  CHECK(head.headers["content-length"] == std::to_string(index.body.size()));
  CHECK(head.body.empty());

  // Kept alive: two requests on one connection.
  const int fd = connect_retry(http_port);
  REQUIRE(fd >= 0);
  const std::string two = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /a/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  REQUIRE(::send(fd, two.data(), two.size(), 0) == static_cast<ssize_t>(two.size()));
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  CHECK(raw.find("HTTP/1.1 200 OK") != raw.rfind("HTTP/1.1 200 OK"));
  CHECK(contains(raw, "/media/link.js"));
  stop(*relay.proc);
}

TEST_CASE("smp-server serves HTTPS on a separate [WEB] https port", "[web-server]") {
  const uint16_t https_port = free_port();
  Relay relay([&](StartDirs& d) {
    d.add_to_section("WEB", "https = " + std::to_string(https_port) + "\ncert = " + kWebCrt.string() +
                                "\nkey = " + kWebKey.string() + "\n");
  });
  auto r = https(https_port, "localhost", request("/c/"));
  REQUIRE(r.handshake_ok);
  CHECK(r.leaf_der == first_cert_der(kWebCrt));
  CHECK(r.reply.status == 200);
  CHECK(contains(r.reply.body, "Open in SimpleX app"));
  // SMP is unaffected on its own ports.
  auto c = relay.connect();
  expect<smp::resp::PONG>(c->request({}, smp::cmd::PING{}));
  stop(*relay.proc);
}

TEST_CASE("smp-server shares its port with HTTPS: SNI gets the web site, no SNI gets SMP", "[web-server]") {
  Relay relay([&](StartDirs& d) {
    d.add_to_section("WEB", "https = " + std::to_string(d.p1) + "\ncert = " + kWebCrt.string() +
                                "\nkey = " + kWebKey.string() + "\n");
  });
  CHECK(contains(relay.proc->out(), "Serving static site on port " + std::to_string(relay.d.p1) + " (TLS)...\n"));

  // A browser-style client: SNI, the web certificate, HTTP/1.1 by ALPN.
  auto web = https(relay.d.p1, "localhost", request("/"));
  REQUIRE(web.handshake_ok);
  CHECK(web.leaf_der == first_cert_der(kWebCrt));
  CHECK(web.alpn == "http/1.1");
  CHECK_FALSE(web.cert_requested);  // SMP asks its clients for service certificates, not browsers
  CHECK(web.reply.status == 200);
  CHECK(web.reply.body == read_text(relay.d.log / "www" / "index.html"));

  // HTTP/2 when the browser prefers it.
  xftp::SyncXftpClient h2c;
  xftp::ClientOptions o;
  o.mode = xftp::ClientOptions::Mode::Web;
  o.sni = "localhost";
  o.xftp_handshake = false;
  h2c.connect("127.0.0.1", relay.d.p1, relay.d.key_hash_bytes(), o);
  xftp::RawRequest page;
  page.method = "GET";
  page.path = "/g/";
  auto pg = h2c.raw(page);
  CHECK(pg.status == 200);
  CHECK(contains(std::string(pg.body.begin(), pg.body.end()), "/media/link.js"));

  // Without SNI: the SMP chain and a complete SMP session on the same port.
  TlsProbeOptions native;
  const auto probe = tls_probe(relay.d.p1, native);
  REQUIRE(probe.handshake_ok);
  CHECK(probe.alpn == "smp/1");
  REQUIRE(probe.chain_der.size() == 2);
  CHECK(probe.chain_der[1] == first_cert_der(relay.d.cfg / "ca.crt"));
  auto c = relay.connect();
  expect<smp::resp::PONG>(c->request({}, smp::cmd::PING{}));
  stop(*relay.proc);
}

TEST_CASE("smp-server with https set and the web certificate files missing says so and serves SMP",
          "[web-server]") {
  const uint16_t http_port = free_port();
  StartDirs d;
  const fsys::path crt = d.cfg / "web.crt", key = d.cfg / "web.key";
  d.add_to_section("WEB", "https = " + std::to_string(d.p1) + "\ncert = " + crt.string() + "\nkey = " +
                              key.string() + "\nhttp = " + std::to_string(http_port) + "\n");
  auto p = d.start_ready();
  const std::string out = p->out();
  CHECK(contains(out, "Warning: no HTTPS credentials, the web site is not served on port " + std::to_string(d.p1) +
                          ".\n"));
  CHECK(contains(out, "Missing file: " + crt.string() + " ([WEB] cert in smp-server.ini)\n"));
  CHECK(contains(out, "Missing file: " + key.string() + " ([WEB] key in smp-server.ini)\n"));
  CHECK(contains(out, "certbot certonly --standalone"));
  CHECK(contains(out, "comment out `https` in smp-server.ini"));
  smp::SyncSmpClient c;
  c.connect("127.0.0.1", d.p1, d.key_hash_bytes());
  expect<smp::resp::PONG>(c.request({}, smp::cmd::PING{}));
  // The site itself is still generated and served over plain HTTP.
  CHECK(http(http_port, request("/")).status == 200);
  stop(*p);
}

TEST_CASE("xftp-server serves its file page over SNI connections, [WEB] http and [WEB] https", "[web-server]") {
  XftpRelay relay;
  const uint16_t http_port = free_port();
  const auto web = fixtures_dir() / "web";
  relay.set_line("# cert = " + (relay.cfg / "web.crt").string(), "cert = " + (web / "web.crt").string());
  relay.set_line("# key = " + (relay.cfg / "web.key").string(), "key = " + (web / "web.key").string());
  relay.set_line("# http = 8000", "http = " + std::to_string(http_port));
  uint16_t https_port = free_port();
  while (https_port == http_port || https_port == relay.port) https_port = free_port();
  relay.add_to_section("WEB", "https = " + std::to_string(https_port) + "\n");
  auto p = relay.start();
  REQUIRE(p->running());
  CHECK(p->wait_for("Serving static site on port " + std::to_string(http_port)));
  const fsys::path www = relay.log / "www";
  const std::string file_page = read_text(www / "file" / "index.html");
  CHECK(contains(file_page, "xftp-cli recv"));

  auto plain = http(http_port, request("/file/"));
  CHECK(plain.status == 200);
  CHECK(plain.body == file_page);
  CHECK(contains(http(http_port, request("/")).body, "file-server.ini"));

  // [WEB] https: a separate HTTPS static server with the web certificate (ECDSA is fine for XFTP).
  auto tls = https(https_port, "localhost", request("/file/"));
  REQUIRE(tls.handshake_ok);
  CHECK(tls.leaf_der == first_cert_der(web / "web.crt"));
  CHECK(tls.reply.status == 200);
  CHECK(tls.reply.body == file_page);

  xftp::SyncXftpClient c;
  xftp::ClientOptions o;
  o.mode = xftp::ClientOptions::Mode::Web;
  o.sni = "localhost";
  o.xftp_handshake = false;
  c.connect("127.0.0.1", relay.port, relay.key_hash_bytes(), o);
  xftp::RawRequest page;
  page.method = "GET";
  page.path = "/file/";
  page.headers = {{"accept-encoding", "gzip"}};
  auto pg = c.raw(page);
  CHECK(pg.status == 200);
  REQUIRE(pg.header("content-encoding") != nullptr);
  CHECK(gunzip(std::string(pg.body.begin(), pg.body.end())) == file_page);
  stop(*p);
}

namespace {

// The full path of a program on PATH, empty when it is not installed.
fsys::path on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const fsys::path candidate = fsys::path(rest.substr(0, colon)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return {};
}

}  // namespace

TEST_CASE("the link page draws a QR code of the link that a scanner reads back", "[web-qr]") {
  const fsys::path node = on_path("node"), zbarimg = on_path("zbarimg");
  if (node.empty() || zbarimg.empty()) {
    WARN("node or zbarimg is not installed (apt-get install nodejs zbar-tools): the QR code is not checked");
    return;
  }
  const uint16_t http_port = free_port();
  Relay relay([&](StartDirs& d) { d.add_to_section("WEB", "http = " + std::to_string(http_port) + "\n"); });

  // The page loads the encoder before the script that uses it, and has the place for the code.
  auto page = http(http_port, request("/contact/"));
  REQUIRE(page.status == 200);
  const size_t qr_script = page.body.find("<script src=\"/media/qrcode.js\""),
               link_script = page.body.find("<script src=\"/media/link.js\"");
  REQUIRE(qr_script != std::string::npos);
  CHECK(qr_script < link_script);
  CHECK(contains(page.body, "id=\"qr\""));
  CHECK(contains(http(http_port, request("/media/link.js")).body, "SimplexQR.svg(links.https"));

  // The encoder as served: qr_check.js encodes short and long links with it, draws them as SVG, and decodes the
  // images with zbarimg.
  auto js = http(http_port, request("/media/qrcode.js"));
  REQUIRE(js.status == 200);
  CHECK(contains(js.headers["content-type"], "javascript"));
  const fsys::path work = relay.d.log / "qr";
  fsys::create_directories(work);
  write_text(work / "qrcode.js", js.body);
  const auto r = run({node.string(), (fixtures_dir().parent_path() / "web" / "qr_check.js").string(),
                      (work / "qrcode.js").string(), work.string()},
                     {}, "", std::chrono::seconds(300));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "ok short link"));
  CHECK(contains(r.out, "ok contact link"));
  CHECK(contains(r.out, "ok long invitation"));
  CHECK(contains(r.out, "83 codes checked, 0 failed"));
  stop(*relay.proc);
}
