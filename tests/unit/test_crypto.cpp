#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/crypto.hpp"
#include "hex.hpp"

using namespace sr;
using namespace sr::test;
using namespace sr::crypto;

namespace {

// §12.2 inputs.
const Key32 A_sk = arr<32>("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
const Key32 B_sk = arr<32>("2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40");
const Key32 C_sk = arr<32>("4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60");
const Key32 R_sk = arr<32>("6162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80");
const Key32 Q_sk = arr<32>("8182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0");
const Bytes session_id = hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
const Bytes corr_id = hex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7");
const Bytes msg_id = hex("e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7");

// Fixture server.key (Appendix A), Ed448 PKCS#8.
const Bytes fixture_ed448_pkcs8 = hex(
    "3047020100300506032b6571043b043997174a3290dc543d1017ea1e614889d3aee0b79ca54822e4d54f321c7b992d9d40d4349456"
    "aca7e11fbcb12b6ecd5277dc4b5710358676499e");

}  // namespace

TEST_CASE("V1 X25519 public keys, DH and SPKI", "[crypto]") {
  CHECK(to_hex(x25519_public(A_sk)) == "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c");
  CHECK(to_hex(x25519_public(B_sk)) == "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b");
  CHECK(to_hex(x25519_public(C_sk)) == "64b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466");
  CHECK(to_hex(x25519_public(R_sk)) == "244fe3b963e899dd295baffce248d3530f3a9a7479ba063002680ebfe7adad49");
  CHECK(to_hex(x25519_keypair(Q_sk).pub) == "883186b800b41d5cf0429695da9b3cc4f328ebcd184a6e482fa578c103f06c77");
  const auto a_pk = x25519_public(A_sk);
  const auto b_pk = x25519_public(B_sk);
  const auto ab = x25519_dh(A_sk, b_pk);
  const auto ba = x25519_dh(B_sk, a_pk);
  REQUIRE(ab);
  REQUIRE(ba);
  CHECK(to_hex(*ab) == "a84dc7c3c8f058b1b2dc4cd1e9b5dc0a7987f88b6a9564cde3391fc421159e77");
  CHECK(*ab == *ba);
  CHECK(to_hex(encode_spki({KeyAlg::X25519, Bytes(a_pk.begin(), a_pk.end())})) ==
        "302a300506032b656e03210007a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c");
}

TEST_CASE("X25519 DH rejects low-order and malformed public keys", "[crypto]") {
  const Key32 zero{};
  CHECK_FALSE(x25519_dh(A_sk, zero));
  Key32 one{};
  one[0] = 1;  // u = 0 (order 2) and u = 1 (order 4) are low-order points: the DH result is all zeros
  CHECK_FALSE(x25519_dh(A_sk, one));
  const auto pk = x25519_public(B_sk);
  CHECK_FALSE(x25519_dh(A_sk, std::span<const uint8_t>(pk.data(), 31)));
  CHECK_FALSE(box_beforenm(A_sk, zero));
  const auto g = x25519_generate();
  CHECK(g.pub == x25519_public(g.priv));
}

TEST_CASE("V2 block-encryption key schedule", "[crypto]") {
  const auto dh = x25519_dh(A_sk, x25519_public(B_sk));
  REQUIRE(dh);
  auto chains = sbchain_init(session_id, *dh);
  CHECK(to_hex(chains.server_to_client.chain_key()) ==
        "4069d790fc04c703179b57b906021e73fd68ee50dc6af4bc239c5d12ae85a692");
  CHECK(to_hex(chains.client_to_server.chain_key()) ==
        "5e1f34bb33bb8630d93b5c029a50725f137ada37b7521cd86b6fcc5e4e3d457f");
  auto s1 = chains.server_to_client.next();
  CHECK(to_hex(chains.server_to_client.chain_key()) ==
        "ef2ef78f99820ff82b9b9f97ae9c554aecf727290c4e4b0225e2a1578e387e37");
  CHECK(to_hex(s1.key) == "d6fc8ca1cd568cfcbda59848375711b8f87f14e33966e2773d4bc464de43f4e8");
  CHECK(to_hex(s1.nonce) == "94564507c18f0e4571875e23efe86908489ac3cb7691c84d");
  auto s2 = chains.server_to_client.next();
  CHECK(to_hex(chains.server_to_client.chain_key()) ==
        "50cba64eca0094aac344135b06b2d5dad50488db733097554cacb3d77ed5510f");
  CHECK(to_hex(s2.key) == "e08351221ed01e2a1a15a3ebdf633775e5228313b106686c145be58e6630dd2b");
  CHECK(to_hex(s2.nonce) == "644a36da7860b4aaf66013859dcf0bae1fcb378bb46211c1");
  auto c1 = chains.client_to_server.next();
  CHECK(to_hex(chains.client_to_server.chain_key()) ==
        "eca60a7e249855c9167dc060ce952611770d7e386047b8eb1aa7c7b1181b0f05");
  CHECK(to_hex(c1.key) == "0b99fa111f84e66af41c797608c108a8a9ec16148dba4b2fc8c4471a857848d6");
  CHECK(to_hex(c1.nonce) == "48e387947dce03b26b6a9540e06d5fdebab380fb03f6f673");
}

TEST_CASE("V3 SimpleX secretbox applies the extra HSalsa20 step", "[crypto]") {
  Key32 key;
  Nonce nonce;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i + 1);
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(i + 1);
  const auto box = box_seal_padded(key, nonce, as_bytes("hello NaCl secretbox"), 256);
  REQUIRE(box);
  CHECK(to_hex(*box) ==
        "bc861d7776bd7b5ef059d8b5b415d38ad890960a28c657199bb296d55c36d0df7d9344af9014c6e672553847694f734f"
        "82358c0b2b8cd15c9655896bdf4e6b294112299991219760eda29c6d73bccac234c9239ee9e0759b4e7b1d76543be0cc"
        "41b340db7ebae098319cfd69128614c46f5d903c8d947d70683a213d9df1114a19cc41f86cc9e1e0b42a8106fb44daca"
        "bf711f3348ac92c022f3326a0eb710111b63a9463feda452f4dd248b8acc71ee425c93eeaefda0f6ba958b5fb428f183"
        "15cf0f33296e1ba116d5ab9960375e463c29b7a9b45f20cfccd83e424c981873d0dd5cf6159c6d0f4600d2978ede9b67"
        "3e69dedf5192185f2096c9ee298856ae091fcdded315a1ae5e607d38b441a581");
  // Plain crypto_secretbox with the key itself differs (spec contrast value).
  const Bytes plain_secretbox = secretbox_seal(key, nonce, *pad(as_bytes("hello NaCl secretbox"), 256));
  CHECK(to_hex(plain_secretbox).rfind("ce5c2ed8d780eb7b", 0) == 0);
  const auto opened = box_open_padded(key, nonce, *box);
  REQUIRE(opened);
  CHECK(std::string(opened->begin(), opened->end()) == "hello NaCl secretbox");
  Bytes tampered = *box;
  tampered[20] ^= 1;
  CHECK_FALSE(box_open(key, nonce, tampered));
  CHECK_FALSE(box_open(key, nonce, Bytes(15)));
  CHECK_FALSE(box_seal_padded(key, nonce, Bytes(255), 256));
}

TEST_CASE("V4 SimpleX box over a DH secret equals crypto_box", "[crypto]") {
  const auto dh = x25519_dh(A_sk, x25519_public(B_sk));
  REQUIRE(dh);
  const Nonce n = cb_nonce(corr_id);
  const Bytes box = box_seal(*dh, n, as_bytes("abc"));
  CHECK(to_hex(box) == "c454c0377385fc6b1e08be7041f8062dd03d1c");
  const auto k1 = box_beforenm(B_sk, x25519_public(A_sk));
  REQUIRE(k1);
  CHECK(*k1 == box_key(*dh));
  const auto opened = secretbox_open(*k1, n, box);
  REQUIRE(opened);
  CHECK(*opened == Bytes{'a', 'b', 'c'});
}

TEST_CASE("V5/V6 first encrypted blocks in each direction", "[crypto]") {
  const auto dh = x25519_dh(A_sk, x25519_public(B_sk));
  REQUIRE(dh);
  auto chains = sbchain_init(session_id, *dh);
  Bytes pong = hex("01001f0018");
  pong.insert(pong.end(), corr_id.begin(), corr_id.end());
  for (uint8_t b : hex("00504f4e47")) pong.push_back(b);
  const auto s1 = chains.server_to_client.next();
  const auto block = box_seal_padded(s1.key, s1.nonce, pong, 16368);
  REQUIRE(block);
  REQUIRE(block->size() == 16384);
  CHECK(to_hex(sha256(*block)) == "42a43dc608a0bf19a7b890d30fa1cc03e14a3aa0b4082d4435c21b056a0a8156");
  CHECK(to_hex(std::span(*block).first(16)) == "ffaa53ee50269af134b18b5ba609c038");
  CHECK(to_hex(std::span(*block).last(16)) == "5772d4bba9dd8e67d464daf0140e248d");
  const auto opened = box_open_padded(s1.key, s1.nonce, *block);
  REQUIRE(opened);
  CHECK(*opened == pong);

  const Bytes ping = hex("01001f0018c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d70050494e47");
  const auto c1 = chains.client_to_server.next();
  const auto cblock = box_seal_padded(c1.key, c1.nonce, ping, 16368);
  REQUIRE(cblock);
  CHECK(to_hex(sha256(*cblock)) == "24aa14f1132535fde5f1b8559e8313bd52b067ef7f155fa086a624d6f9cbb9a5");
}

TEST_CASE("V7 authenticator and Ed25519 signature", "[crypto]") {
  Bytes authorized{0x20};
  authorized.insert(authorized.end(), session_id.begin(), session_id.end());
  authorized.push_back(0x18);
  authorized.insert(authorized.end(), corr_id.begin(), corr_id.end());
  authorized.push_back(0x18);
  for (uint8_t b : as_bytes("ENTITYIDENTITYIDENTITYIDSEND F hello")) authorized.push_back(b);
  REQUIRE(authorized.size() == 95);
  const auto h = sha512(authorized);
  CHECK(to_hex(h) ==
        "566178a1752d3f888902a685a473c64e62c84cb19d63a6c79254c796ff0300bf"
        "8f39cabe84994670eee41c8c6676dd5ecd18f13f937237abedeef155b9361e8d");

  const auto client_dh = x25519_dh(C_sk, x25519_public(A_sk));
  REQUIRE(client_dh);
  const Bytes auth = box_seal(*client_dh, cb_nonce(corr_id), h);
  CHECK(to_hex(auth) ==
        "e026301de5cb382208fc289d906f34d5fb6f72df90afedff2c9f7401db305d0e774d26802b01a3c56ed6fc59f0"
        "2a3307e8fc0ba2b4bf547819fd63c18b0e3f85d6a614fc6e54844dfef38356b052550b");
  const auto server_dh = x25519_dh(A_sk, x25519_public(C_sk));
  REQUIRE(server_dh);
  const auto opened = box_open(*server_dh, cb_nonce(corr_id), auth);
  REQUIRE(opened);
  CHECK(std::equal(opened->begin(), opened->end(), h.begin(), h.end()));

  PrivateKey seed{KeyAlg::Ed25519, Bytes(32)};
  for (size_t i = 0; i < 32; ++i) seed.raw[i] = static_cast<uint8_t>(i + 1);
  const PublicKey pub = public_key(seed);
  CHECK(to_hex(pub.raw) == "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664");
  CHECK(base64url_encode(encode_spki(pub)) == "MCowBQYDK2VwAyEAebVWLo_mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=");
  const Bytes sig = sign(seed, authorized);
  CHECK(to_hex(sig) ==
        "4c0e275f06aa03ed5d3b54e2fcacf1099052d9b6f61f774095df6ef6425a1fa1"
        "4eb39e7ad6dda4cf875de1b25183e4e9583e5e491841b1fb86ece90acddd0104");
  CHECK(verify(pub, authorized, sig));
}

TEST_CASE("V8/V9 MSG and NMSG encryption", "[crypto]") {
  const auto secret = x25519_dh(Q_sk, x25519_public(R_sk));
  REQUIRE(secret);
  CHECK(to_hex(*secret) == "dbcc0f8cb8de72509d228b2c6d0bdbd383180949491cda1cdde85fd048cf762d");
  const auto body = box_seal_padded(*secret, cb_nonce(msg_id), hex("0000000061d02bc5462068656c6c6f"), 16106);
  REQUIRE(body);
  CHECK(body->size() == 16122);
  CHECK(to_hex(sha256(*body)) == "563d3afb5a13720d828307456aa32bd614c4d075c4582cab8dd2a6013621e736");

  Bytes meta{0x18};
  meta.insert(meta.end(), msg_id.begin(), msg_id.end());
  for (uint8_t b : hex("0000000061d02bc5")) meta.push_back(b);
  const auto enc = box_seal_padded(*secret, cb_nonce(corr_id), meta, 128);
  REQUIRE(enc);
  CHECK(to_hex(*enc) ==
        "3cd4bed8b7ef24036c5e7a192a5f2b3bb3e421355b861f477b41b55b9ca45a5d7095cd1f00b1bfb16c50259bfb4460ab"
        "a5b393349771453887123af6732bd8fc4ac75c22bcebf27c8db11861cd796e0278e1391e44b110e17288788cb78988b2"
        "6ee8f9eb08bbd202943234d40a5df3d6d46bd354e88320de0da048dd194237e12c73d2625ec8905f03d857a43038a92a");
}

TEST_CASE("SPKI encoding round trip and strict decoding", "[crypto]") {
  // §6.5 dummy keys, one per family.
  for (const char* h : {"302a300506032b6570032100d77f4eaace10829a9b026074a3bad97fa4f5f6bca5ec4eb99380187b4904dd0b",
                        "3043300506032b6571033a00ea26d073d5e99122edc2b7fb3cbbe9f35a96fdeb62ba672454522608c45d7ed706"
                        "fd7a296ce49aabdab22e1ae025628e2f236b40f355be9300",
                        "302a300506032b656e032100e0919231886dd7c1f899ab3f8c7781c1f70cee32f035824d380862dbf8384578"}) {
    const Bytes der = hex(h);
    const auto key = decode_spki(der);
    REQUIRE(key);
    CHECK(key->raw.size() == public_key_size(key->alg));
    CHECK(encode_spki(*key) == der);
  }
  const PublicKey x448{KeyAlg::X448, Bytes(56, 7)};
  const Bytes x448_der = encode_spki(x448);
  CHECK(x448_der.size() == 68);
  CHECK(decode_spki(x448_der) == x448);

  const Bytes good = hex("302a300506032b656e03210007a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c");
  REQUIRE(decode_spki(good)->alg == KeyAlg::X25519);
  Bytes trailing = good;
  trailing.push_back(0);
  CHECK_FALSE(decode_spki(trailing));
  CHECK_FALSE(decode_spki(std::span(good).first(43)));
  Bytes unknown_oid = good;
  unknown_oid[8] = 0x72;  // 1.3.101.114
  CHECK_FALSE(decode_spki(unknown_oid));
  CHECK_FALSE(decode_spki({}));
  CHECK_THROWS_AS(encode_spki({KeyAlg::Ed25519, Bytes(31)}), std::invalid_argument);
}

TEST_CASE("PKCS#8 private key encoding", "[crypto]") {
  const PrivateKey x{KeyAlg::X25519, Bytes(A_sk.begin(), A_sk.end())};
  const Bytes der = encode_pkcs8(x);
  CHECK(to_hex(der) == "302e020100300506032b656e04220420" + to_hex(A_sk));
  CHECK(decode_pkcs8(der) == x);
  const PrivateKey ed{KeyAlg::Ed25519, Bytes(32, 9)};
  CHECK(to_hex(encode_pkcs8(ed)).rfind("302e020100300506032b657004220420", 0) == 0);
  CHECK(decode_pkcs8(encode_pkcs8(ed)) == ed);
  const auto fixture = decode_pkcs8(fixture_ed448_pkcs8);
  REQUIRE(fixture);
  CHECK(fixture->alg == KeyAlg::Ed448);
  CHECK(encode_pkcs8(*fixture) == fixture_ed448_pkcs8);
  Bytes trailing = der;
  trailing.push_back(0);
  CHECK_FALSE(decode_pkcs8(trailing));
  CHECK_FALSE(decode_pkcs8(std::span(der).first(40)));
}

TEST_CASE("Ed25519 sign/verify and tamper rejection", "[crypto]") {
  PrivateKey key{KeyAlg::Ed25519, Bytes(32)};
  random_bytes(key.raw);
  const PublicKey pub = public_key(key);
  const Bytes msg = hex("00112233445566778899");
  Bytes sig = sign(key, msg);
  REQUIRE(sig.size() == signature_size(KeyAlg::Ed25519));
  CHECK(verify(pub, msg, sig));
  Bytes msg2 = msg;
  msg2[0] ^= 1;
  CHECK_FALSE(verify(pub, msg2, sig));
  Bytes bad = sig;
  bad[5] ^= 0x80;
  CHECK_FALSE(verify(pub, msg, bad));
  CHECK_FALSE(verify(pub, msg, std::span(sig).first(63)));
  CHECK_FALSE(verify({KeyAlg::X25519, pub.raw}, msg, sig));
  CHECK_THROWS_AS(sign({KeyAlg::X25519, key.raw}, msg), std::invalid_argument);
}

TEST_CASE("X.509 signed key with Ed25519", "[crypto]") {
  PrivateKey signer{KeyAlg::Ed25519, Bytes(32, 3)};
  const auto a_pk = x25519_public(A_sk);
  const PublicKey key{KeyAlg::X25519, Bytes(a_pk.begin(), a_pk.end())};
  const Bytes der = sign_signed_key(signer, key);
  REQUIRE(der.size() == 122);
  CHECK(to_hex(std::span(der).first(50)) == "3078302c" + to_hex(encode_spki(key)) + "3005");
  CHECK(verify(public_key(signer), std::span(der).subspan(2, 46), std::span(der).last(64)));
  CHECK(verify_signed_key(public_key(signer), der) == key);
  Bytes tampered = der;
  tampered[20] ^= 1;
  CHECK_FALSE(verify_signed_key(public_key(signer), tampered));
  CHECK_FALSE(verify_signed_key(public_key(PrivateKey{KeyAlg::Ed25519, Bytes(32, 4)}), der));
  CHECK_FALSE(verify_signed_key(public_key(signer), std::span(der).first(121)));
  Bytes trailing = der;
  trailing.push_back(0);
  CHECK_FALSE(verify_signed_key(public_key(signer), trailing));
}

#ifndef SR_TLS_BORINGSSL
TEST_CASE("V10 Ed448 signed session key with the fixture key", "[crypto]") {
  REQUIRE(ed448_supported());
  const auto signer = decode_pkcs8(fixture_ed448_pkcs8);
  REQUIRE(signer);
  const PublicKey signer_pub = public_key(*signer);
  // Matches the SPKI in fixture server.crt.
  CHECK(to_hex(signer_pub.raw) ==
        "58fe7e68e680e30116043b9577c8092952681e6c629d70ce133621aaa09958566c3b374f0ed6a145c526c5a92a4bb59058cb1f6c"
        "a1a8822700");
  const auto a_pk = x25519_public(A_sk);
  const PublicKey key{KeyAlg::X25519, Bytes(a_pk.begin(), a_pk.end())};
  const std::string sig =
      "9811effa2a58b066c5ff36e7038a193e5d753906a0440726f4f65dc6eeaaf77560d6f73cbe12db6fb35b03c17d82c2"
      "8b4f69cdf95877d2b8805b5e844d210adfdc0df194a00b1bf950f83299836069f5fde08b4879bd2004195158959fd5"
      "11a9cb43637caa786f29feabd3e5a0fab78d1900";
  const Bytes der = sign_signed_key(*signer, key);
  CHECK(to_hex(der) == "3081aa302c" + to_hex(encode_spki(key)) + "300506032b6571037300" + sig);
  CHECK(verify_signed_key(signer_pub, der) == key);
  // Algorithm mismatch between signer key and object.
  CHECK_FALSE(verify_signed_key(public_key(PrivateKey{KeyAlg::Ed25519, Bytes(32, 3)}), der));
}

TEST_CASE("Ed448 sign/verify round trip", "[crypto]") {
  PrivateKey key{KeyAlg::Ed448, Bytes(57)};
  random_bytes(key.raw);
  const PublicKey pub = public_key(key);
  REQUIRE(pub.raw.size() == 57);
  const Bytes msg = hex("cafebabe");
  const Bytes sig = sign(key, msg);
  REQUIRE(sig.size() == 114);
  CHECK(verify(pub, msg, sig));
  Bytes bad = sig;
  bad[0] ^= 1;
  CHECK_FALSE(verify(pub, msg, bad));
  CHECK_FALSE(verify(pub, hex("cafebabf"), sig));
}
#else
TEST_CASE("Ed448 is reported unsupported in the BoringSSL build", "[crypto]") {
  CHECK_FALSE(ed448_supported());
  const auto signer = decode_pkcs8(fixture_ed448_pkcs8);
  REQUIRE(signer);
  CHECK_THROWS_AS(sign(*signer, hex("00")), std::runtime_error);
  CHECK_FALSE(verify({KeyAlg::Ed448, Bytes(57)}, hex("00"), Bytes(114)));
}
#endif

TEST_CASE("pad/unpad and nonces", "[crypto]") {
  CHECK(to_hex(*pad(as_bytes("abc"), 5)) == "0003616263");
  CHECK_FALSE(pad(as_bytes("abc"), 4));
  CHECK(pad(Bytes(65533), 65535));
  CHECK_FALSE(pad(Bytes(65534), 65536));
  CHECK(unpad(hex("0000"))->empty());
  CHECK_FALSE(unpad(hex("00")));
  CHECK_FALSE(unpad({}));
  CHECK_FALSE(unpad(hex("00036162")));
  CHECK(to_hex(cb_nonce(hex("0102"))) == "0102" + std::string(44, '0'));
  Bytes long_id(30, 5);
  CHECK(cb_nonce(long_id) == Nonce{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5});
  const Nonce n = cb_nonce(corr_id);
  CHECK(to_hex(reverse_nonce(n)) == "d7d6d5d4d3d2d1d0cfcecdcccbcac9c8c7c6c5c4c3c2c1c0");
  CHECK(random_nonce() != random_nonce());
}

TEST_CASE("HKDF-SHA512 treats an empty salt as HashLen zero bytes", "[crypto]") {
  const Bytes ikm(22, 0x0b);
  CHECK(hkdf_sha512({}, ikm, "x", 42) == hkdf_sha512(Bytes(64, 0), ikm, "x", 42));
  CHECK(hkdf_sha512({}, ikm, "x", 42) != hkdf_sha512({}, ikm, "y", 42));
}

TEST_CASE("random_bytes", "[crypto]") {
  const auto a = sr::crypto::random_bytes(32);
  const auto b = sr::crypto::random_bytes(32);
  CHECK(a.size() == 32);
  CHECK(a != b);
  CHECK(sr::crypto::random_bytes(0).empty());
}

TEST_CASE("Streaming SHA-256 and SHA-512 equal the one-shot digests over any slicing", "[crypto]") {
  // FIPS 180 "abc" vectors, then a 100 KB body hashed in uneven slices as chunk bodies arrive.
  Sha256Stream abc256;
  abc256.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("ab"), 2));
  abc256.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("c"), 1));
  CHECK(to_hex(abc256.finish()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha512Stream abc512;
  abc512.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("abc"), 3));
  CHECK(to_hex(abc512.finish()) ==
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
        "454d4423643ce80e2a9ac94fa54ca49f");
  Bytes body(100000);
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<uint8_t>(i * 7 + (i >> 9));
  Sha256Stream s256;
  Sha512Stream s512;
  for (size_t off = 0, n = 1; off < body.size(); off += n, n = n * 3 + 1) {
    const size_t len = std::min(n, body.size() - off);
    s256.update(std::span<const uint8_t>(body).subspan(off, len));
    s512.update(std::span<const uint8_t>(body).subspan(off, len));
  }
  CHECK(s256.finish() == sha256(body));
  CHECK(s512.finish() == sha512(body));
}
