// The embedded web site: template rendering, the TTL text and the generated tree (server-operations.md §5.5, §5.6),
// and the static response rules the web servers share.
#include <catch2/catch.hpp>

#include "text_files.hpp"

#include <filesystem>
#include <string>

#include <zlib.h>

#include "core/config.hpp"
#include "core/fsutil.hpp"
#include "core/web_server.hpp"
#include "core/web_site.hpp"
#include "smp/smp_config.hpp"

using namespace sr;
using Catch::Matchers::Contains;
using sr::test::TempDir;

namespace {

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

std::string header(const web::Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

}  // namespace

TEST_CASE("sections are kept without markers when the name has a value, removed otherwise", "[web]") {
  const std::string src = "a<x-op>[${op}]</x-op>b<x-op>(${op})</x-op>c ${op}";
  CHECK(web::section("op", std::string("X"), src) == "a[X]b(X)c X");
  CHECK(web::section("op", std::nullopt, src) == "abc ");
  // Without a section only the items are replaced; an unset value is empty.
  CHECK(web::section("v", std::string("1"), "v=${v}, again ${v}") == "v=1, again 1");
  CHECK(web::section("v", std::nullopt, "v=${v}.") == "v=.");
  // The reference leaves the text before a section as it is (its items are not replaced).
  CHECK(web::section("v", std::string("1"), "${v}<x-v>${v}</x-v>${v}") == "${v}11");
  // Longer names are distinct: <x-admin> does not match <x-adminEmail>, ${admin} not ${adminEmail}.
  CHECK(web::section("admin", std::string(""), "<x-admin>A ${adminEmail}</x-admin>") == "A ${adminEmail}");
  CHECK_THROWS_WITH(web::section("op", std::string("X"), "<x-op>no end"), Contains("missing section end: </x-op>"));
}

TEST_CASE("render applies the substitutions in order, nested sections included", "[web]") {
  const web::Substs s{{"admin", ""}, {"adminEmail", "a@b.c"}, {"adminSimplex", std::nullopt}};
  CHECK(web::render("<x-admin><x-adminEmail>mail ${adminEmail}</x-adminEmail><x-adminSimplex>link</x-adminSimplex></x-admin>",
                    s) == "mail a@b.c");
  CHECK(web::render("<x-admin>gone ${adminEmail}</x-admin>.", {{"admin", std::nullopt}}) == ".");
}

TEST_CASE("timedTTLText matches the reference's table", "[web]") {
  CHECK(web::timed_ttl_text(0) == "0 sec");
  CHECK(web::timed_ttl_text(21 * 86400) == "21 days");   // SMP default message expiration
  CHECK(web::timed_ttl_text(48 * 3600) == "2 days");     // XFTP default file expiration
  CHECK(web::timed_ttl_text(86400) == "1 day");
  CHECK(web::timed_ttl_text(7 * 86400) == "1 week");
  CHECK(web::timed_ttl_text(14 * 86400) == "2 weeks");
  CHECK(web::timed_ttl_text(30 * 86400) == "1 month");
  CHECK(web::timed_ttl_text(60 * 86400) == "2 months");
  CHECK(web::timed_ttl_text(37 * 86400) == "1 month 1 week");
  CHECK(web::timed_ttl_text(3600) == "1 hour");
  CHECK(web::timed_ttl_text(36 * 3600) == "1 day 12 hours");
  CHECK(web::timed_ttl_text(90) == "1 min 30 sec");
  CHECK(web::timed_ttl_text(86400 + 3600 + 61) == "1 day 1 hour 1 min 1 sec");
}

TEST_CASE("the first .onion host of [TRANSPORT] host", "[web]") {
  CHECK(web::onion_host(std::string("smp.example.com, abcdef.onion")) == "abcdef.onion");
  CHECK_FALSE(web::onion_host(std::string("smp.example.com")).has_value());
  CHECK_FALSE(web::onion_host(std::nullopt).has_value());
}

TEST_CASE("the generated SMP site holds the server information from [INFORMATION]", "[web]") {
  const auto cfg = smp::load_smp_config(config::Source::from_ini("/etc/opt/simplex/smp-server.ini", R"INI([INFORMATION]
source_code = https://example.com/relay-src
operator = Example <Ops> Ltd
operator_country = de
website = https://example.com
admin_email = admin@example.com
hosting_type = dedicated
[STORE_LOG]
enable = on
[TRANSPORT]
host = smp.example.com,exampleonionaddr.onion
port = 5223
websockets = off
[WEB]
static_path = /tmp/unused
)INI"));
  TempDir dir;
  web::SmpPublicConfig pc;
  pc.persistence = "Queues and messages";
  pc.message_expiration = 21 * 86400;
  web::generate_site(dir.path, web::Role::smp, web::smp_substs(pc, cfg.information, web::onion_host(cfg.host)));

  const std::string index = fs::read_file(dir / "index.html");
  CHECK_THAT(index, Contains("Example &lt;Ops&gt; Ltd"));  // values are HTML-escaped
  CHECK_THAT(index, Contains("DE"));
  CHECK_THAT(index, Contains("https://example.com/relay-src"));
  CHECK_THAT(index, Contains("https://example.com/relay-src/commit/"));  // the build's commit in that repository
  CHECK_THAT(index, Contains("mailto:admin@example.com"));
  CHECK_THAT(index, Contains("Dedicated"));
  CHECK_THAT(index, Contains("exampleonionaddr.onion"));
  CHECK_THAT(index, Contains("21 days"));
  CHECK_THAT(index, Contains("Queues and messages"));
  CHECK_THAT(index, Contains("smp-server.ini"));
  CHECK_THAT(index, !Contains("${"));
  CHECK_THAT(index, !Contains("<x-"));
  CHECK_THAT(index, !Contains("XFTP server"));
  CHECK_THAT(index, !Contains("Hosting provider"));  // no [INFORMATION] hosting: the section is removed
  for (const char* page : {"contact", "invitation", "a", "c", "g", "r", "i"}) {
    INFO(page);
    CHECK_THAT(fs::read_file(dir.path / page / "index.html"), Contains("/media/link.js"));
  }
  CHECK(std::filesystem::is_regular_file(dir / "media/site.css"));
  CHECK(std::filesystem::is_regular_file(dir / "media/link.js"));
  CHECK_THAT(fs::read_file(dir / "well-known/apple-app-site-association"), Contains("chat.simplex.app"));
  CHECK_THAT(fs::read_file(dir / "well-known/assetlinks.json"), Contains("chat.simplex.app"));
  CHECK_FALSE(std::filesystem::exists(dir / "file"));

  // Every start overwrites what is there.
  fs::write_file(dir / "index.html", "stale");
  web::generate_site(dir.path, web::Role::smp, web::smp_substs(pc, cfg.information, std::nullopt));
  CHECK_THAT(fs::read_file(dir / "index.html"), Contains("Example &lt;Ops&gt; Ltd"));
}

TEST_CASE("the generated XFTP site has the file page and no link pages", "[web]") {
  TempDir dir;
  web::XftpPublicConfig pc;
  pc.file_expiration = 48 * 3600;
  web::generate_site(dir.path, web::Role::xftp, web::xftp_substs(pc, config::ServerInformation{}, std::nullopt));
  const std::string index = fs::read_file(dir / "index.html");
  CHECK_THAT(index, Contains("2 days"));
  CHECK_THAT(index, Contains("file-server.ini"));
  CHECK_THAT(index, Contains("has not published the source code"));  // noSourceCode
  CHECK_THAT(index, !Contains("/commit/"));  // no repository to link the build's commit to
  CHECK_THAT(fs::read_file(dir / "file/index.html"), Contains("xftp-cli recv"));
  CHECK_THAT(fs::read_file(dir / "file/index.html"), Contains("2 days"));
  CHECK_FALSE(std::filesystem::exists(dir / "a"));
}

TEST_CASE("static responses: index fallback, well-known, traversal, methods, gzip", "[web]") {
  TempDir dir;
  fs::write_file(dir / "index.html", "<p>home</p>");
  std::filesystem::create_directories(dir / "a");
  fs::write_file(dir / "a/index.html", "<p>link</p>");
  std::filesystem::create_directories(dir / "well-known");
  fs::write_file(dir / "well-known/apple-app-site-association", "{}");
  TempDir outside;
  fs::write_file(outside / "secret.txt", "secret");

  auto r = web::static_response(dir.path, "GET", "/", false);
  CHECK(r.status == 200);
  CHECK(r.body == "<p>home</p>");
  CHECK(header(r, "content-type") == "text/html");
  CHECK(web::static_response(dir.path, "GET", "/a/?x=1", false).body == "<p>link</p>");
  CHECK(web::static_response(dir.path, "GET", "/a#frag", false).body == "<p>link</p>");
  r = web::static_response(dir.path, "GET", "/.well-known/apple-app-site-association", false);
  CHECK(r.status == 200);
  CHECK(header(r, "content-type") == "application/json");
  const std::string escape = "/../" + outside.path.filename().string() + "/secret.txt";
  CHECK(web::static_response(dir.path, "GET", escape, false).status == 404);
  CHECK(web::static_response(dir.path, "GET", "/%2e%2e/" + outside.path.filename().string() + "/secret.txt", false)
            .status == 404);
  CHECK(web::static_response(dir.path, "GET", "/missing", false).status == 404);
  r = web::static_response(dir.path, "POST", "/", false);
  CHECK(r.status == 405);
  CHECK(header(r, "allow") == "GET, HEAD");
  r = web::static_response(dir.path, "HEAD", "/", false);
  CHECK(r.body.empty());
  CHECK(header(r, "content-length") == "11");
  r = web::static_response(dir.path, "GET", "/", true);
  CHECK(header(r, "content-encoding") == "gzip");
  CHECK(gunzip(r.body) == "<p>home</p>");
}

TEST_CASE("HTTP/1.1 request heads", "[web]") {
  const auto h = web::parse_request_head("GET /a/?q HTTP/1.1\r\nHost: x\r\nAccept-Encoding:  gzip, br \r\n\r\n");
  REQUIRE(h.has_value());
  CHECK(h->method == "GET");
  CHECK(h->target == "/a/?q");
  CHECK(h->version == "HTTP/1.1");
  REQUIRE(h->header("accept-encoding") != nullptr);
  CHECK(*h->header("accept-encoding") == "gzip, br");
  CHECK_FALSE(web::parse_request_head("GARBAGE\r\n\r\n").has_value());
  CHECK_FALSE(web::parse_request_head("GET / FTP/1\r\n\r\n").has_value());
}
