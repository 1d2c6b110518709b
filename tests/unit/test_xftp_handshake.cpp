// The per-connection XFTP handshake state machine (xftp-protocol.md §4.2 step 3, §5.3): every row of the table,
// the replies' bytes as clients check them (verify_server_handshake with the identity fixture), and the
// static-page resolver web connections use.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "core/certs.hpp"
#include "core/crypto.hpp"
#include "core/static_files.hpp"
#include "core/tls.hpp"
#include "text_files.hpp"
#include "xftp/handshake.hpp"
#include "xftp/protocol.hpp"

using namespace sr;
using namespace sr::xftp;

namespace {

const std::string kFixtures = SR_FIXTURES_DIR;

HandshakeIdentity fixture_identity() {
  const std::string dir = kFixtures + "/ed25519/";
  auto leaf = tls::read_pem_certs(dir + "server.crt");
  auto ca = tls::read_pem_certs(dir + "ca.crt");
  HandshakeIdentity id;
  id.cert_chain = {tls::cert_der(leaf[0].get()), tls::cert_der(ca[0].get())};
  const auto h = crypto::sha256(id.cert_chain[1]);
  id.key_hash.assign(h.begin(), h.end());
  id.leaf_key = tls::raw_private_key(tls::read_private_key(dir + "server.key").get());
  return id;
}

const Bytes kSession(32, 0x3c);
const Bytes kChallenge(32, 0x77);

crypto::X25519KeyPair fixed_key() { return crypto::x25519_keypair(crypto::Key32{0x11}); }

RequestRoute native() { return RequestRoute{"xftp/1", false, false, false}; }
RequestRoute web_route(bool hello = false, bool hs = false) { return RequestRoute{"h2", true, hello, hs}; }

Bytes reply(const HandshakeStep& s) {
  REQUIRE(std::holds_alternative<HandshakeReply>(s));
  return std::get<HandshakeReply>(s).body;
}
std::string bare(const HandshakeStep& s) { return parse_bare_error(reply(s)).value_or("<not a bare error>"); }

Bytes client_handshake(uint16_t v, const Bytes& key_hash) { return encode_client_handshake({v, key_hash}); }

}  // namespace

TEST_CASE("native handshake: empty hello, client handshake, then commands with the version and key", "[xftp-hs]") {
  const auto id = fixture_identity();
  HandshakeState hs(fixed_key);
  const Bytes sh = reply(hs.on_request(native(), {}, kSession, id));
  CHECK(hs.phase() == HandshakeState::Phase::Sent);
  const auto parsed = parse_server_handshake(sh);
  REQUIRE(parsed);
  CHECK(parsed->versions.min == 1);
  CHECK(parsed->versions.max == 3);
  CHECK(parsed->session_id == kSession);
  CHECK(parsed->web_identity_proof.empty());
  // What a native client checks: chain, key hash, the DH key signed by the leaf.
  const auto dh = verify_server_handshake(*parsed, id.key_hash, std::nullopt);
  REQUIRE(dh);
  const auto k = fixed_key();
  CHECK(dh->raw == Bytes(k.pub.begin(), k.pub.end()));

  // A command before the client handshake is taken as a (bad) client handshake: HANDSHAKE, still Sent.
  CHECK(bare(hs.on_request(native(), Bytes(kBlockSize, 0), kSession, id)) == "HANDSHAKE");
  CHECK(hs.phase() == HandshakeState::Phase::Sent);
  // Versions outside 1..3 and a wrong key hash are refused; the client may retry.
  CHECK(bare(hs.on_request(native(), client_handshake(4, id.key_hash), kSession, id)) == "HANDSHAKE");
  CHECK(bare(hs.on_request(native(), client_handshake(0, id.key_hash), kSession, id)) == "HANDSHAKE");
  CHECK(bare(hs.on_request(native(), client_handshake(3, Bytes(32, 1)), kSession, id)) == "HANDSHAKE");
  CHECK(hs.phase() == HandshakeState::Phase::Sent);

  CHECK(reply(hs.on_request(native(), client_handshake(2, id.key_hash), kSession, id)).empty());
  CHECK(hs.phase() == HandshakeState::Phase::Accepted);
  const auto step = hs.on_request(native(), Bytes(kBlockSize, 0), kSession, id);
  REQUIRE(std::holds_alternative<ProcessCommand>(step));
  CHECK(std::get<ProcessCommand>(step).version == 2);
  CHECK(std::get<ProcessCommand>(step).server_dh_priv == fixed_key().priv);
  // Accepted native connection: a repeated hello is not recognised and goes to command processing.
  CHECK(std::holds_alternative<ProcessCommand>(hs.on_request(native(), {}, kSession, id)));
}

TEST_CASE("native connection: a non-empty first request gets HANDSHAKE and no state", "[xftp-hs]") {
  const auto id = fixture_identity();
  HandshakeState hs(fixed_key);
  CHECK(bare(hs.on_request(native(), encode_client_hello({kChallenge}), kSession, id)) == "HANDSHAKE");
  CHECK(hs.phase() == HandshakeState::Phase::None);
  // http/1.1 (preset-domain web port) goes through the same machine.
  RequestRoute http11{"http/1.1", false, false, false};
  CHECK(std::holds_alternative<HandshakeReply>(hs.on_request(http11, {}, kSession, id)));
  CHECK(hs.phase() == HandshakeState::Phase::Sent);
}

TEST_CASE("web handshake: hello header with a challenge gets the identity proof; re-handshakes", "[xftp-hs]") {
  const auto id = fixture_identity();
  HandshakeState hs(fixed_key);
  // Without the hello header a fresh web connection is told its session is gone.
  CHECK(bare(hs.on_request(web_route(), encode_client_hello({kChallenge}), kSession, id)) == "SESSION");
  CHECK(hs.phase() == HandshakeState::Phase::None);

  const Bytes sh = reply(hs.on_request(web_route(true), encode_client_hello({kChallenge}), kSession, id));
  const auto parsed = parse_server_handshake(sh);
  REQUIRE(parsed);
  CHECK(parsed->web_identity_proof.size() == 64);
  CHECK(verify_server_handshake(*parsed, id.key_hash, kChallenge));
  CHECK_FALSE(verify_server_handshake(*parsed, id.key_hash, Bytes(32, 0x78)));

  // A challenge of the wrong length is a HANDSHAKE error, the state stays Sent.
  Bytes short_hello = encode_client_hello({Bytes(32, 1)});
  short_hello[3] = 31;  // short() length of the challenge
  CHECK(bare(hs.on_request(web_route(true), short_hello, kSession, id)) == "HANDSHAKE");

  CHECK(reply(hs.on_request(web_route(false, true), client_handshake(3, id.key_hash), kSession, id)).empty());
  CHECK(hs.phase() == HandshakeState::Phase::Accepted);
  CHECK(std::get<ProcessCommand>(hs.on_request(web_route(), Bytes(kBlockSize, 0), kSession, id)).version == 3);

  // A new page on the same connection: hello again (same DH key), then the handshake header again.
  const Bytes again = reply(hs.on_request(web_route(true), encode_client_hello({kChallenge}), kSession, id));
  CHECK(hs.phase() == HandshakeState::Phase::Sent);
  CHECK(parse_server_handshake(again)->signed_dh_key == parsed->signed_dh_key);
  CHECK(reply(hs.on_request(web_route(false, true), client_handshake(1, id.key_hash), kSession, id)).empty());
  CHECK(hs.version() == 1);
  // A failed re-handshake in Accepted keeps the accepted version.
  CHECK(bare(hs.on_request(web_route(false, true), client_handshake(9, id.key_hash), kSession, id)) == "HANDSHAKE");
  CHECK(hs.phase() == HandshakeState::Phase::Accepted);
  CHECK(hs.version() == 1);
}

TEST_CASE("ALPN routing: none is legacy v1, h2 without a web certificate is not XFTP", "[xftp-hs]") {
  const auto id = fixture_identity();
  HandshakeState hs(fixed_key);
  const auto legacy = hs.on_request(RequestRoute{"", false, false, false}, Bytes(kBlockSize, 0), kSession, id);
  REQUIRE(std::holds_alternative<ProcessCommand>(legacy));
  CHECK(std::get<ProcessCommand>(legacy).version == 1);
  CHECK_FALSE(std::get<ProcessCommand>(legacy).server_dh_priv);
  CHECK(reply(hs.on_request(RequestRoute{"h2", false, false, false}, {}, kSession, id)).empty());
  CHECK(hs.phase() == HandshakeState::Phase::None);
}

TEST_CASE("static pages resolve under the root with index.html and .well-known, never outside", "[xftp-hs]") {
  test::TempDir dir;
  const auto root = dir.path / "www";
  std::filesystem::create_directories(root / "sub");
  std::filesystem::create_directories(root / "well-known");
  test::write_text(root / "index.html", "<html>");
  test::write_text(root / "sub" / "index.html", "sub");
  test::write_text(root / "style.css", "x");
  test::write_text(root / "well-known" / "apple-app-site-association", "{}");
  test::write_text(dir.path / "secret.txt", "no");
  std::filesystem::create_symlink(dir.path / "secret.txt", root / "link.txt");

  CHECK(sr::web::resolve_static_file(root, "/")->path.filename() == "index.html");
  CHECK(sr::web::resolve_static_file(root, "/")->mime == "text/html");
  CHECK(sr::web::resolve_static_file(root, "/sub")->path == std::filesystem::canonical(root / "sub" / "index.html"));
  CHECK(sr::web::resolve_static_file(root, "/style.css?v=1")->mime == "text/css");
  CHECK(sr::web::resolve_static_file(root, "/.well-known/apple-app-site-association")->mime == "application/json");
  CHECK_FALSE(sr::web::resolve_static_file(root, "/../secret.txt"));
  CHECK_FALSE(sr::web::resolve_static_file(root, "/link.txt"));
  CHECK_FALSE(sr::web::resolve_static_file(root, "/missing.html"));
  CHECK_FALSE(sr::web::resolve_static_file(dir.path / "nowhere", "/"));
}
