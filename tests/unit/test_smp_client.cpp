// Pure parts of our SMP client's handshake (smp-transport.md §3.4, §4.4, §4.8).
#include <catch2/catch.hpp>

#include "core/certs.hpp"
#include "core/tls.hpp"
#include "smp/client.hpp"

using namespace sr;
using namespace sr::smp;

namespace {
std::vector<Bytes> fixture_chain(const std::string& dir) {
  std::vector<Bytes> chain;
  for (const char* f : {"/server.crt", "/ca.crt"})
    for (auto& c : tls::read_pem_certs(dir + f)) chain.push_back(tls::cert_der(c.get()));
  return chain;
}
}  // namespace

TEST_CASE("client picks the highest common version", "[smp-client]") {
  CHECK(choose_version({6, 18}, {6, 18}, false) == 18);
  CHECK(choose_version({6, 6}, {6, 18}, false) == 6);  // no ALPN: legacy range
  CHECK(choose_version({6, 18}, {6, 10}, false) == 10);
  CHECK(choose_version({6, 18}, {11, 16}, false) == 16);
  CHECK_FALSE(choose_version({6, 6}, {7, 18}, false).has_value());
  CHECK_FALSE(choose_version({12, 18}, {6, 11}, false).has_value());
}

TEST_CASE("a proxy caps its version below relays without the proxy handshake", "[smp-client]") {
  // Relay max < 14: the proxy lowers its own max to max(own min, 10), which keeps the link unencrypted.
  CHECK(choose_version({6, 12}, {6, 18}, true) == 10);
  CHECK(choose_version({6, 13}, {11, 18}, true) == 11);
  CHECK(choose_version({6, 18}, {6, 18}, true) == 18);
  CHECK(choose_version({6, 12}, {6, 18}, false) == 12);
}

TEST_CASE("server identity is the SHA-256 of the second certificate", "[smp-client]") {
  const auto chain = fixture_chain(SR_FIXTURES_DIR);
  REQUIRE(chain.size() == 2);
  const auto ca_hash = crypto::sha256(chain[1]);
  const auto leaf_hash = crypto::sha256(chain[0]);
  CHECK(chain_matches_key_hash(chain, ca_hash));
  CHECK_FALSE(chain_matches_key_hash(chain, leaf_hash));
  CHECK_FALSE(chain_matches_key_hash(chain, Bytes(32, 0)));
  CHECK_FALSE(chain_matches_key_hash({chain[1]}, ca_hash));  // one certificate is not a chain
  auto five = chain;
  five.insert(five.end(), {chain[0], chain[0], chain[0]});
  CHECK_FALSE(chain_matches_key_hash(five, ca_hash));
  auto four = chain;
  four.insert(four.end(), {chain[0], chain[0]});
  CHECK(chain_matches_key_hash(four, ca_hash));  // the identity is cert[1] for 2..4 certificates
}

TEST_CASE("the leaf's public key verifies the signed session key", "[smp-client]") {
  const std::string dir = std::string(SR_FIXTURES_DIR) + "/ed25519";
  const auto chain = fixture_chain(dir);
  auto leaf = certs::cert_public_key(chain[0]);
  REQUIRE(leaf.has_value());
  CHECK(leaf->alg == crypto::KeyAlg::Ed25519);
  // Sign a fresh X25519 key with the leaf's private key (server.key) as the server hello does.
  auto priv = std::optional<crypto::PrivateKey>(tls::raw_private_key(tls::read_private_key(dir + "/server.key").get()));
  const auto session = generate_dh_key();
  const Bytes signed_key = crypto::sign_signed_key(*priv, session.pub);
  auto verified = crypto::verify_signed_key(*leaf, signed_key);
  REQUIRE(verified.has_value());
  CHECK(*verified == session.pub);
  // The CA's key is not the signer.
  CHECK_FALSE(crypto::verify_signed_key(*certs::cert_public_key(chain[1]), signed_key).has_value());
  CHECK_FALSE(certs::cert_public_key(Bytes{1, 2, 3}).has_value());
}

TEST_CASE("generated auth keys sign and verify", "[smp-client]") {
  const Bytes msg = {'m', 's', 'g'};
  for (auto alg : {crypto::KeyAlg::Ed25519, crypto::KeyAlg::Ed448}) {
    if (alg == crypto::KeyAlg::Ed448 && !crypto::ed448_supported()) continue;
    const auto k = generate_auth_key(alg);
    CHECK(k.pub.alg == alg);
    CHECK(crypto::verify(k.pub, msg, crypto::sign(k.priv, msg)));
  }
  const auto a = generate_dh_key();
  const auto b = generate_dh_key();
  CHECK(crypto::x25519_dh(x25519_private(a.priv), b.pub.raw) == crypto::x25519_dh(x25519_private(b.priv), a.pub.raw));
}
