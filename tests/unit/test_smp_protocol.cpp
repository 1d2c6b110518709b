#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "hex.hpp"
#include "core/tls.hpp"
#include "smp/protocol.hpp"

using namespace sr;
using namespace sr::test;
using namespace sr::smp;
using crypto::KeyAlg;

namespace {

crypto::Key32 key32(std::string_view h) {
  const Bytes b = hex(h);
  crypto::Key32 k;
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

Bytes str(std::string_view s) { return Bytes(s.begin(), s.end()); }
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes view(ByteView v) { return Bytes(v.begin(), v.end()); }

// §12.2 inputs.
const crypto::Key32 A_sk = key32("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
const crypto::Key32 B_sk = key32("2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40");
const crypto::Key32 C_sk = key32("4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60");
const crypto::Key32 R_sk = key32("6162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80");
const crypto::Key32 Q_sk = key32("8182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0");
const Bytes session_id = hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
const Bytes corr_id = hex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7");
const Bytes msg_id = hex("e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7");
const Bytes entity_id = str("ENTITYIDENTITYIDENTITYID");

crypto::PublicKey x25519_pub(const crypto::Key32& sk) {
  const auto pk = crypto::x25519_public(sk);
  return {KeyAlg::X25519, Bytes(pk.begin(), pk.end())};
}
const crypto::PrivateKey ed_sk{KeyAlg::Ed25519, hex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")};
const crypto::PublicKey ed_pk{KeyAlg::Ed25519,
                              hex("79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664")};

crypto::SbChainPair chains() {
  const auto dh = crypto::x25519_dh(A_sk, x25519_pub(B_sk).raw);
  return crypto::sbchain_init(session_id, *dh);
}

SessionParams session(uint16_t v) { return SessionParams{v, session_id}; }

CmdError parse_err(const Bytes& b, uint16_t v = 18) {
  auto r = parse_command(b, v);
  REQUIRE(std::holds_alternative<CmdError>(r));
  return std::get<CmdError>(r);
}

Command parse_ok(const Bytes& b, uint16_t v) {
  auto r = parse_command(b, v);
  if (std::holds_alternative<CmdError>(r)) FAIL("parse failed: " << static_cast<int>(std::get<CmdError>(r)));
  return std::get<Command>(r);
}

}  // namespace

// ---- SHA3-384 ----

TEST_CASE("SHA3-384 FIPS 202 vectors and short-link sender ids", "[smp-protocol]") {
  CHECK(to_hex(crypto::sha3_384({})) ==
        "0c63a75b845e4f7d01107d852e4c2485c51a50aaaa94fc61995e71bbee983a2ac3713831264adb47fb6bd1e058d5f004");
  CHECK(to_hex(crypto::sha3_384(str("abc"))) ==
        "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25");
  const Bytes sid = sender_id_from_corr_id(str("abc"));
  CHECK(to_hex(sid) == "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c25");
}

// ---- Blocks ----

TEST_CASE("V5 first encrypted server block and the same content unencrypted", "[smp-protocol]") {
  const Bytes t = encode_server_transmission(session(18), corr_id, {}, encode_response(resp::PONG{}, 18));
  CHECK(to_hex(t) == "0018" + to_hex(corr_id) + "00504f4e47");
  const auto batches = batch_transmissions({t});
  REQUIRE(batches.size() == 1);
  CHECK(to_hex(batches[0]) == "01001f" + to_hex(t));

  BlockSender snd(chains().server_to_client);
  const auto block = snd.seal(batches[0]);
  REQUIRE(block);
  REQUIRE(block->size() == kBlockSize);
  CHECK(to_hex(crypto::sha256(*block)) == "42a43dc608a0bf19a7b890d30fa1cc03e14a3aa0b4082d4435c21b056a0a8156");
  CHECK(to_hex(Bytes(block->begin(), block->begin() + 48)) ==
        "ffaa53ee50269af134b18b5ba609c0386e716bd932e67e82810848d97dedf662a59def8353db99f64229a3990154506f");
  CHECK(to_hex(Bytes(block->end() - 16, block->end())) == "5772d4bba9dd8e67d464daf0140e248d");

  BlockSender plain;
  const auto pb = plain.seal(batches[0]);
  REQUIRE(pb);
  CHECK(to_hex(crypto::sha256(*pb)) == "9609c06107ffbbb133f474e26599eb8f78dbb1a5550d890c36d365a9a9d05954");
  CHECK(*plain_block(batches[0]) == *pb);
  BlockReceiver plain_rcv;
  CHECK(plain_rcv.open(*pb) == batches[0]);

  // The client receives with the same chain.
  BlockReceiver rcv(chains().server_to_client);
  CHECK(rcv.open(*block) == batches[0]);
}

TEST_CASE("V6 first encrypted client block; the chain advances past a bad block", "[smp-protocol]") {
  const Bytes t = encode_client_transmission(session(18), corr_id, {}, encode_command(cmd::PING{}, 18));
  const auto batches = batch_transmissions({t});
  REQUIRE(batches.size() == 1);
  CHECK(to_hex(batches[0]) == "01001f0018c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d70050494e47");
  BlockSender snd(chains().client_to_server);
  const auto b1 = snd.seal(batches[0]);
  REQUIRE(b1);
  CHECK(to_hex(crypto::sha256(*b1)) == "24aa14f1132535fde5f1b8559e8313bd52b067ef7f155fa086a624d6f9cbb9a5");
  CHECK(to_hex(Bytes(b1->begin(), b1->begin() + 48)) ==
        "0ade20ba5a32dcddd2f76b0039c93918bf0630df2c312a9bb9c625d0b9acaf4d16d6650449223cc2f07c298c730f749f");
  const auto b2 = snd.seal(str("second"));
  REQUIRE(b2);

  BlockReceiver rcv(chains().client_to_server);
  Bytes bad = *b1;
  bad[100] ^= 1;
  CHECK_FALSE(rcv.open(bad));         // bad tag: ERR BLOCK, but the chain has advanced
  CHECK(rcv.open(*b2) == str("second"));  // so the next block still opens

  // Too-large content: no block, and the sender's chain still advances (both sides stay in step).
  BlockSender s2(chains().client_to_server);
  CHECK_FALSE(s2.seal(Bytes(kEncryptedPaddedSize, 'x')));
  const auto after = s2.seal(str("second"));
  REQUIRE(after);
  CHECK(*after == *b2);
}

// ---- Batches ----

TEST_CASE("batch parsing consumes the content exactly", "[smp-protocol]") {
  const Bytes ok = hex("0200014100024243");
  const auto items = parse_batch(ok);
  REQUIRE(items);
  REQUIRE(items->size() == 2);
  CHECK(view((*items)[0]) == str("A"));
  CHECK(view((*items)[1]) == str("BC"));
  CHECK_FALSE(parse_batch(hex("00")));            // count 0
  CHECK_FALSE(parse_batch(hex("0200014100")));    // short item
  CHECK_FALSE(parse_batch(hex("01000141ff")));    // trailing byte
  CHECK_FALSE(parse_batch({}));
}

TEST_CASE("batch capacities of the reference sender (BatchingTests)", "[smp-protocol]") {
  const Bytes rcv_id(24, 'r');
  const Bytes corr(24, 'c');
  const ClientAuth auth{ed_sk, std::nullopt, std::nullopt, {}};

  SECTION("SUB v18: 121-byte items, 135 per block, 300 -> 30,135,135") {
    const Bytes sub = encode_client_transmission(session(18), corr, rcv_id, encode_command(cmd::SUB{}, 18), auth);
    CHECK(sub.size() + 2 == 121);
    const std::vector<Bytes> items(300, sub);
    const auto blocks = batch_transmissions(items);
    REQUIRE(blocks.size() == 3);
    CHECK(blocks[0][0] == 30);
    CHECK(blocks[1][0] == 135);
    CHECK(blocks[2][0] == 135);
    for (const auto& b : blocks) {
      CHECK(b.size() <= kMaxBatchBytes + 1);
      const auto parsed = parse_batch(b);
      REQUIRE(parsed);
      for (const auto& it : *parsed) CHECK(view(it) == sub);
    }
    BlockSender snd(chains().client_to_server);
    CHECK(snd.seal(blocks[2]));  // a full batch fits an encrypted block
  }
  SECTION("SUB v6: 153-byte items, 106 per block") {
    const Bytes sub = encode_client_transmission(session(6), corr, rcv_id, encode_command(cmd::SUB{}, 6), auth);
    CHECK(sub.size() + 2 == 153);
    const auto blocks = batch_transmissions(std::vector<Bytes>(212, sub));
    REQUIRE(blocks.size() == 2);
    CHECK(blocks[0][0] == 106);
    CHECK(blocks[1][0] == 106);
    CHECK(batch_transmissions(std::vector<Bytes>(107, sub)).size() == 2);
  }
  SECTION("END events: 32-byte items, 255 per block") {
    const Bytes end = encode_server_transmission(session(18), {}, rcv_id, encode_response(resp::END{}, 18));
    CHECK(end.size() + 2 == 32);
    const auto blocks = batch_transmissions(std::vector<Bytes>(256, end));
    REQUIRE(blocks.size() == 2);
    CHECK(blocks[0][0] == 1);
    CHECK(blocks[1][0] == 255);
  }
  SECTION("NMSG events: 203-byte items, 80 per block") {
    const resp::NMSG n{crypto::Nonce{}, Bytes(144, 'm')};
    const Bytes nmsg = encode_server_transmission(session(18), {}, rcv_id, encode_response(n, 18));
    CHECK(nmsg.size() + 2 == 203);
    const auto blocks = batch_transmissions(std::vector<Bytes>(160, nmsg));
    REQUIRE(blocks.size() == 2);
    CHECK(blocks[0][0] == 80);
    CHECK(blocks[1][0] == 80);
  }
  SECTION("an item over 16365 bytes is dropped and splits the batch") {
    size_t dropped = 0;
    const Bytes small(10, 's');
    const auto blocks = batch_transmissions({small, Bytes(kMaxBatchBytes - 1, 'L'), small}, &dropped);
    CHECK(dropped == 1);
    REQUIRE(blocks.size() == 2);
    CHECK(blocks[0][0] == 1);
    CHECK(blocks[1][0] == 1);
    const Bytes max_item(kMaxBatchBytes - 2, 'M');
    CHECK(batch_transmissions({max_item}, &dropped).size() == 1);
    CHECK(dropped == 0);
  }
}

// ---- Transmissions and authorization ----

TEST_CASE("V7 authorization and wire forms of SEND F hello", "[smp-protocol]") {
  const Bytes command = str("SEND F hello");
  CHECK(encode_command(cmd::SEND{false, str("hello")}, 18) == command);
  const Bytes authorized_hex = hex(
      "20a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
      "18c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7"
      "18454e544954594944454e544954594944454e544954594944"
      "53454e4420462068656c6c6f");
  const std::string authenticator =
      "e026301de5cb382208fc289d906f34d5fb6f72df90afedff2c9f7401db305d0e774d26802b01a3c56ed6fc59f0"
      "2a3307e8fc0ba2b4bf547819fd63c18b0e3f85d6a614fc6e54844dfef38356b052550b";
  const std::string signature =
      "4c0e275f06aa03ed5d3b54e2fcacf1099052d9b6f61f774095df6ef6425a1fa14eb39e7ad6dda4cf875de1b25183e4e9583e5e491841b1fb86ece90acddd0104";
  const std::string tail = "18" + to_hex(corr_id) + "18" + to_hex(entity_id) + "53454e4420462068656c6c6f";

  const auto a_pk = crypto::x25519_public(A_sk);
  const auto made = make_authenticator(C_sk, a_pk, corr_id, authorized_hex);
  REQUIRE(made);
  CHECK(to_hex(*made) == authenticator);

  const ClientAuth x_auth{crypto::PrivateKey{KeyAlg::X25519, Bytes(C_sk.begin(), C_sk.end())}, a_pk, std::nullopt, {}};
  const ClientAuth e_auth{ed_sk, std::nullopt, std::nullopt, {}};
  struct Form {
    uint16_t v;
    const ClientAuth* auth;
    std::string wire;
  };
  const std::vector<Form> forms = {
      {7, &x_auth, "50" + authenticator + tail},
      {15, &x_auth, "50" + authenticator + tail},
      {16, &x_auth, "50" + authenticator + "30" + tail},
      {18, &x_auth, "50" + authenticator + "30" + tail},
      {18, &e_auth, "40" + signature + "30" + tail},
      {6, &e_auth, "40" + signature + "20" + to_hex(session_id) + tail},
  };
  for (const auto& f : forms) {
    INFO("v" << f.v);
    const Bytes wire = encode_client_transmission(session(f.v), corr_id, entity_id, command, *f.auth);
    CHECK(to_hex(wire) == f.wire);
    const auto parsed = parse_transmission(session(f.v), wire);
    REQUIRE(std::holds_alternative<RawTransmission>(parsed));
    const auto& t = std::get<RawTransmission>(parsed);
    CHECK(view(t.corr_id) == corr_id);
    CHECK(view(t.entity_id) == entity_id);
    CHECK(view(t.command) == command);
    CHECK(t.service_sig.has_value() == false);
    const Bytes authorized = authorized_bytes(session(f.v), t);
    CHECK(authorized == authorized_hex);
    const AuthKey key = f.auth == &x_auth ? x25519_pub(C_sk) : ed_pk;
    CHECK(verify_auth(key, t.auth, authorized, t.corr_id, A_sk));
  }

  // Wrong key for the authorization kind, or a wrong key of the right kind: fails; the mismatch runs a dummy check.
  const Bytes sig = hex(signature);
  const auto before = dummy_verify_count();
  CHECK_FALSE(verify_auth(x25519_pub(C_sk), sig, authorized_hex, corr_id, A_sk));
  CHECK(dummy_verify_count() == before + 1);
  CHECK_FALSE(verify_auth(x25519_pub(R_sk), hex(authenticator), authorized_hex, corr_id, A_sk));
  CHECK_FALSE(verify_auth(ed_pk, sig, str("other"), corr_id, A_sk));
  CHECK_FALSE(dummy_verify(sig, authorized_hex, corr_id, A_sk));
  CHECK_FALSE(dummy_verify(hex(authenticator), authorized_hex, corr_id, A_sk));
  CHECK(dummy_verify_count() == before + 3);

  // X25519 without the server's session key cannot be authorized.
  ClientAuth no_key = x_auth;
  no_key.server_session_key.reset();
  CHECK_THROWS_AS(encode_client_transmission(session(18), corr_id, entity_id, command, no_key), std::runtime_error);
}

TEST_CASE("service signature slot (v16+)", "[smp-protocol]") {
  const crypto::PrivateKey svc_sk{KeyAlg::Ed25519, Bytes(32, 7)};
  const Bytes cert_hash(32, 0x33);
  const ClientAuth auth{ed_sk, std::nullopt, svc_sk, cert_hash};
  const Bytes wire = encode_client_transmission(session(16), corr_id, entity_id, str("SUB"), auth);
  const auto parsed = parse_transmission(session(16), wire);
  REQUIRE(std::holds_alternative<RawTransmission>(parsed));
  const auto& t = std::get<RawTransmission>(parsed);
  REQUIRE(t.service_sig);
  CHECK(t.service_sig->size() == 64);
  const Bytes authorized = authorized_bytes(session(16), t);
  CHECK(crypto::verify(crypto::public_key(svc_sk), authorized, *t.service_sig));
  CHECK(verify_auth(ed_pk, t.auth, cat({cert_hash, authorized}), t.corr_id, A_sk));

  // Below v16 there is no slot even with a service key.
  const Bytes w15 = encode_client_transmission(session(15), corr_id, entity_id, str("SUB"), auth);
  CHECK(w15[65] == 0x18);
}

TEST_CASE("transmission parse errors (transport §5.5)", "[smp-protocol]") {
  auto err = [](const SessionParams& s, const Bytes& item) {
    const auto r = parse_transmission(s, item);
    REQUIRE(std::holds_alternative<TransmissionError>(r));
    return std::get<TransmissionError>(r);
  };
  const auto block = ErrorType::of(ErrorType::Kind::BLOCK);
  // Framing failure: no corrId.
  auto e = err(session(18), hex("0003"));
  CHECK(e.err == block);
  CHECK(e.corr_id.empty());
  e = err(session(18), {});
  CHECK(e.err == block);
  // v16+: a bad service slot is a framing failure.
  const Bytes sig64(64, 1);
  e = err(session(16), cat({{64}, sig64, {'1', 63}, Bytes(63, 2), {3}, str("abc"), {0}, str("PING")}));
  CHECK(e.err == block);
  CHECK(e.corr_id.empty());
  e = err(session(16), cat({{64}, sig64, {'2'}, {3}, str("abc"), {0}, str("PING")}));
  CHECK(e.err == block);
  // v6: wrong session id -> SESSION with corrId.
  e = err(session(6), cat({{0, 3}, str("xyz"), {3}, str("abc"), {0}, str("PING")}));
  CHECK(e.err == ErrorType::of(ErrorType::Kind::SESSION));
  CHECK(e.corr_id == str("abc"));
  // Bad auth length -> BLOCK with corrId.
  e = err(session(15), cat({{5}, str("12345"), {3}, str("abc"), {0}, str("PING")}));
  CHECK(e.err == block);
  CHECK(e.corr_id == str("abc"));
  e = err(session(18), cat({{5}, str("12345"), {'0', 3}, str("abc"), {0}, str("PING")}));
  CHECK(e.err == block);
  CHECK(e.corr_id == str("abc"));
  // v16 with empty auth has no slot; '1' service slot with a 64-byte signature is accepted.
  const Bytes ok_item = cat({{0}, {3}, str("abc"), {0}, str("PING")});
  const auto ok = parse_transmission(session(16), ok_item);
  REQUIRE(std::holds_alternative<RawTransmission>(ok));
  CHECK(view(std::get<RawTransmission>(ok).command) == str("PING"));
  const Bytes sig_item = cat({{64}, sig64, {'1', 64}, sig64, {3}, str("abc"), {0}, str("PING")});
  const auto with_sig = parse_transmission(session(16), sig_item);
  REQUIRE(std::holds_alternative<RawTransmission>(with_sig));
  CHECK(view(*std::get<RawTransmission>(with_sig).service_sig) == sig64);
}

TEST_CASE("server transmissions encode and parse per version", "[smp-protocol]") {
  for (uint16_t v : {6, 7, 16, 18}) {
    INFO("v" << v);
    const Bytes w = encode_server_transmission(session(v), corr_id, entity_id, str("OK"));
    if (v == 6) CHECK(to_hex(w).substr(0, 4) == "0020");
    const auto t = parse_server_transmission(session(v), w);
    REQUIRE(t);
    CHECK(t->corr_id == corr_id);
    CHECK(t->entity_id == entity_id);
    CHECK(view(t->response) == str("OK"));
  }
  CHECK_FALSE(parse_server_transmission(SessionParams{6, Bytes(32, 1)},
                                        encode_server_transmission(session(6), corr_id, {}, str("OK"))));
}

// ---- Message encryption ----

TEST_CASE("V8 MSG body encryption and V9 NMSG metadata", "[smp-protocol]") {
  const auto secret = crypto::x25519_dh(Q_sk, x25519_pub(R_sk).raw);
  REQUIRE(secret);
  CHECK(to_hex(*secret) == "dbcc0f8cb8de72509d228b2c6d0bdbd383180949491cda1cdde85fd048cf762d");
  const Bytes enc = encrypt_rcv_message(*secret, msg_id, 1641032645, false, str("hello"), false);
  REQUIRE(enc.size() == kRcvMsgEncSize);
  CHECK(to_hex(crypto::sha256(enc)) == "563d3afb5a13720d828307456aa32bd614c4d075c4582cab8dd2a6013621e736");
  CHECK(to_hex(Bytes(enc.begin(), enc.begin() + 48)) ==
        "e0fe525cb6bd466d933c91c1cd07a7925d9c0b825eaa62250e46af01b45ef4e21822c950b4ed0b731a2266d4b61bde2b");
  CHECK(to_hex(Bytes(enc.end() - 16, enc.end())) == "b53968bb3b869f34019265277a771477");
  const auto m = decrypt_rcv_message(*secret, msg_id, enc);
  REQUIRE(m);
  CHECK(m->ts == 1641032645);
  CHECK_FALSE(m->quota);
  CHECK_FALSE(m->notification);
  CHECK(m->body == str("hello"));

  const auto q = decrypt_rcv_message(*secret, msg_id, encrypt_rcv_message(*secret, msg_id, 77, false, {}, true));
  REQUIRE(q);
  CHECK(q->quota);
  CHECK(q->ts == 77);
  const Bytes big(kMaxMessageLen, 'b');
  const auto n = decrypt_rcv_message(*secret, msg_id, encrypt_rcv_message(*secret, msg_id, 1, true, big, false));
  REQUIRE(n);
  CHECK(n->notification);
  CHECK(n->body == big);
  CHECK_FALSE(decrypt_rcv_message(*secret, corr_id, enc));  // wrong nonce

  crypto::Nonce nonce;
  std::copy(corr_id.begin(), corr_id.end(), nonce.begin());
  const Bytes meta = encrypt_ntf_meta(*secret, nonce, msg_id, 1641032645);
  CHECK(to_hex(meta) ==
        "3cd4bed8b7ef24036c5e7a192a5f2b3bb3e421355b861f477b41b55b9ca45a5d7095cd1f00b1bfb16c50259bfb4460ab"
        "a5b393349771453887123af6732bd8fc4ac75c22bcebf27c8db11861cd796e0278e1391e44b110e17288788cb78988b2"
        "6ee8f9eb08bbd202943234d40a5df3d6d46bd354e88320de0da048dd194237e12c73d2625ec8905f03d857a43038a92a");
  CHECK(max_message_length(6) == 16088);
  CHECK(max_message_length(7) == 16088);
  CHECK(max_message_length(8) == 16064);
  CHECK(max_message_length(10) == 16064);
  CHECK(max_message_length(11) == 16048);
  CHECK(max_message_length(18) == 16048);
}

// ---- Handshake ----

TEST_CASE("V11 server hello and V12 client hello", "[smp-protocol]") {
  const auto certs = tls::read_pem_certs(std::string(SR_FIXTURES_DIR) + "/server.crt");
  const auto ca = tls::read_pem_certs(std::string(SR_FIXTURES_DIR) + "/ca.crt");
  REQUIRE(certs.size() == 1);
  REQUIRE(ca.size() == 1);
  const Bytes server_der = tls::cert_der(certs[0].get());
  const Bytes ca_der = tls::cert_der(ca[0].get());
  CHECK(server_der.size() == 448);
  CHECK(ca_der.size() == 442);
  // V10 SignedKey DER (from the spec; signing needs Ed448, which the BoringSSL build lacks).
  const Bytes signed_key =
      hex("3081aa302c302a300506032b656e03210007a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c"
          "300506032b6571037300"
          "9811effa2a58b066c5ff36e7038a193e5d753906a0440726f4f65dc6eeaaf77560d6f73cbe12db6fb35b03c17d82c2"
          "8b4f69cdf95877d2b8805b5e844d210adfdc0df194a00b1bf950f83299836069f5fde08b4879bd2004195158959fd5"
          "11a9cb43637caa786f29feabd3e5a0fab78d1900");
  REQUIRE(signed_key.size() == 173);
  const ServerHello hello{kServerVersions, session_id, {server_der, ca_der}, signed_key};
  const Bytes content = encode_server_hello(hello);
  CHECK(content.size() == 1107);
  CHECK(to_hex(crypto::sha256(content)) == "6a4621c6a07312240b5b8e8a3466e5a68eb84acba8731c6e97feb63ba7846ed7");
  const auto block = plain_block(content);
  REQUIRE(block);
  CHECK(to_hex(crypto::sha256(*block)) == "36308044cdbbfd9aaecc337d24d97ae5ef128509b1b2b45782c6c7a563e6f272");
  const auto parsed = parse_server_hello(cat({content, str("future")}));
  REQUIRE(parsed);
  CHECK(parsed->versions == kServerVersions);
  CHECK(parsed->session_id == session_id);
  CHECK(parsed->cert_chain == std::vector<Bytes>{server_der, ca_der});
  CHECK(parsed->signed_key == signed_key);

  // Legacy hello: no key part.
  const Bytes legacy = encode_server_hello(ServerHello{kLegacyVersions, session_id, {}, {}});
  CHECK(to_hex(legacy) == "00060006" "20" + to_hex(session_id));
  const auto lp = parse_server_hello(legacy);
  REQUIRE(lp);
  CHECK(lp->cert_chain.empty());

  // V12.
  const auto key_hash = hex("2dc25431f561c03f32c6302249a0f3cc6177fa42c6e14874165fd9223ad1c232");
  const auto ca_hash = crypto::sha256(ca_der);
  CHECK(Bytes(ca_hash.begin(), ca_hash.end()) == key_hash);
  const ClientHello ch{18, key_hash, crypto::x25519_public(B_sk), false, std::nullopt};
  const Bytes chb = encode_client_hello(ch);
  CHECK(to_hex(chb) ==
        "001220" + to_hex(key_hash) +
            "2c302a300506032b656e0321005869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b4630");
  CHECK(chb.size() == 82);
  const auto cp = parse_client_hello(cat({chb, str("ignored")}));
  REQUIRE(cp);
  CHECK(cp->version == 18);
  CHECK(cp->key_hash == key_hash);
  REQUIRE(cp->client_key);
  CHECK(*cp->client_key == crypto::x25519_public(B_sk));
  CHECK_FALSE(cp->proxy_server);
  CHECK_FALSE(cp->service);
}

TEST_CASE("client hello: optional key backtracking, proxy flag and service", "[smp-protocol]") {
  const Bytes kh(32, 0x11);
  // v14 proxy without a key: 'T' is not a key, so the parser rewinds and reads it as the flag.
  auto p = parse_client_hello(encode_client_hello(ClientHello{14, kh, std::nullopt, true, std::nullopt}));
  REQUIRE(p);
  CHECK_FALSE(p->client_key);
  CHECK(p->proxy_server);
  // v7 without a key; v6 ignores anything after the key hash.
  p = parse_client_hello(encode_client_hello(ClientHello{7, kh, std::nullopt, false, std::nullopt}));
  REQUIRE(p);
  CHECK_FALSE(p->client_key);
  p = parse_client_hello(cat({hex("0006"), {32}, kh, {44}, Bytes(44, 0)}));
  REQUIRE(p);
  CHECK_FALSE(p->client_key);
  // An Ed25519 key is not a client key: rewound, then the Bool fails on the length byte.
  CHECK_FALSE(parse_client_hello(cat({hex("0012"), {32}, kh, {44}, crypto::encode_spki(ed_pk), {'F', '0'}})));
  // v16 service info round trip; missing mandatory fields fail.
  const ServiceInfo svc{'N', {Bytes(10, 1), Bytes(12, 2)}, Bytes(122, 3)};
  p = parse_client_hello(encode_client_hello(ClientHello{16, kh, crypto::x25519_public(B_sk), false, svc}));
  REQUIRE(p);
  REQUIRE(p->service);
  CHECK(p->service->role == 'N');
  CHECK(p->service->cert_chain == svc.cert_chain);
  CHECK(p->service->signed_key == svc.signed_key);
  CHECK_FALSE(parse_client_hello(cat({hex("0010"), {32}, kh, {'F'}})));
  CHECK_FALSE(parse_client_hello(cat({hex("0010"), {32}, kh, {'F', '1', 'X', 1, 0, 1, 9, 0, 1, 9}})));
  CHECK_FALSE(parse_client_hello(hex("0012")));

  CHECK(encode_service_response_ok(Bytes(24, 5)) == cat({{'R', 24}, Bytes(24, 5)}));
  CHECK(encode_service_response_error(TransportError::HANDSHAKE_BAD_AUTH) == str("EHANDSHAKE BAD_AUTH"));
}

// ---- Commands ----

namespace {

const AuthKey auth_key = ed_pk;
const DhKey dh_key = x25519_pub(A_sk);

std::vector<Command> sample_commands() {
  cmd::NEW plain_new{auth_key, dh_key, std::nullopt, true, std::nullopt, std::nullopt};
  cmd::NEW full_new{x25519_pub(C_sk), dh_key, std::string("pass-word"), false,
                    QueueReqData{QueueMode::Contact, LinkData{Bytes(24, 'l'), Bytes(24, 's'), str("fixed"), str("user")}},
                    NewNtfCreds{auth_key, x25519_pub(R_sk)}};
  cmd::NEW msg_new{auth_key, dh_key, std::nullopt, true,
                   QueueReqData{QueueMode::Messaging, LinkData{{}, Bytes(24, 's'), str("f"), {}}}, std::nullopt};
  return {
      plain_new,
      full_new,
      msg_new,
      cmd::SUB{},
      cmd::SUBS{},
      cmd::KEY{auth_key},
      cmd::RKEY{{auth_key, x25519_pub(C_sk)}},
      cmd::LSET{Bytes(24, 'l'), str("fixed"), str("user")},
      cmd::LDEL{},
      cmd::NKEY{auth_key, dh_key},
      cmd::NDEL{},
      cmd::GET{},
      cmd::ACK{msg_id},
      cmd::OFF{},
      cmd::DEL{},
      cmd::QUE{},
      cmd::SKEY{x25519_pub(C_sk)},
      cmd::SEND{true, str("body with spaces")},
      cmd::SEND{false, {}},
      cmd::PING{},
      cmd::LKEY{auth_key},
      cmd::LGET{},
      cmd::NSUB{},
      cmd::NSUBS{},
      cmd::PRXY{cmd::SMPServer{{"smp.example.com", "1.2.3.4", "xyz.onion", "::1"}, "", Bytes(32, 'k')}, std::nullopt},
      cmd::PRXY{cmd::SMPServer{{"relay.example"}, "5223", Bytes(32, 'k')}, std::string("secret")},
      cmd::PFWD{8, dh_key, Bytes(100, 'e')},
      cmd::RFWD{Bytes(100, 'f')},
  };
}

}  // namespace

TEST_CASE("every command round-trips at versions 6, 9, 11, 15, 16, 17, 18", "[smp-protocol]") {
  for (uint16_t v : {6, 9, 11, 15, 16, 17, 18}) {
    for (const auto& c : sample_commands()) {
      INFO("v" << v << " " << command_tag(c));
      const Bytes wire = encode_command(c, v);
      CHECK(std::string(wire.begin(), wire.begin() + static_cast<long>(std::string(command_tag(c)).size())) ==
            command_tag(c));
      const Command parsed = parse_ok(wire, v);
      CHECK(parsed.index() == c.index());
      CHECK(encode_command(parsed, v) == wire);
      CHECK_FALSE(check_credentials(parsed, true, !std::holds_alternative<cmd::NEW>(c) &&
                                                     !std::holds_alternative<cmd::PING>(c)) ==
                  std::optional<CmdError>(CmdError::SYNTAX));  // shape check never reports SYNTAX
      // One trailing byte is always a syntax error, except where the last field is a Tail.
      const bool tail = std::holds_alternative<cmd::SEND>(c) || std::holds_alternative<cmd::PFWD>(c) ||
                        std::holds_alternative<cmd::RFWD>(c);
      if (!tail) CHECK(parse_err(cat({wire, str(" x")}), v) == CmdError::SYNTAX);
      if (wire == str(command_tag(c))) CHECK(parse_err(cat({wire, {'x'}}), v) == CmdError::UNKNOWN);
    }
  }
}

TEST_CASE("NEW layouts per version (commands §3.1, §4.3)", "[smp-protocol]") {
  const Bytes rk = crypto::encode_spki(auth_key);
  const Bytes dk = crypto::encode_spki(dh_key);
  const Bytes head = cat({str("NEW "), {44}, rk, {44}, dk});
  const cmd::NEW n{auth_key, dh_key, std::nullopt, true, QueueReqData{QueueMode::Messaging, std::nullopt}, std::nullopt};
  CHECK(encode_command(n, 18) == cat({head, str("0S1M00")}));
  CHECK(encode_command(n, 15) == cat({head, str("0S1M0")}));
  CHECK(encode_command(n, 9) == cat({head, str("0ST")}));
  CHECK(encode_command(n, 8) == cat({head, str("S")}));
  cmd::NEW with_auth = n;
  with_auth.basic_auth = "pwd";
  CHECK(encode_command(with_auth, 6) == cat({head, str("A\x03pwdS")}));
  CHECK(encode_command(with_auth, 12) == cat({head, str("1\x03pwdST")}));

  // v9-14: senderCanSecure T -> Messaging, F -> Contact, without link data.
  auto p = std::get<cmd::NEW>(parse_ok(cat({head, str("0CF")}), 12));
  REQUIRE(p.req);
  CHECK(p.req->mode == QueueMode::Contact);
  CHECK_FALSE(p.req->link);
  CHECK_FALSE(p.subscribe);
  p = std::get<cmd::NEW>(parse_ok(cat({head, str("1\x03pwdST")}), 9));
  CHECK(p.basic_auth == "pwd");
  CHECK(p.req->mode == QueueMode::Messaging);
  // v6-8: optional 'A' basic auth, no request data.
  p = std::get<cmd::NEW>(parse_ok(cat({head, str("A\x03pwdC")}), 6));
  CHECK(p.basic_auth == "pwd");
  CHECK_FALSE(p.req);
  CHECK(parse_err(cat({head, str("0S")}), 6) == CmdError::SYNTAX);
  // Invalid basic auth characters, bad subMode, bad queue mode.
  CHECK(parse_err(cat({head, str("1\x03p@dS1M00")})) == CmdError::SYNTAX);
  CHECK(parse_err(cat({head, str("1\x03p dS1M00")})) == CmdError::SYNTAX);
  CHECK(parse_err(cat({head, str("1\x03p:dS1M00")})) == CmdError::SYNTAX);
  CHECK(parse_err(cat({head, str("0X1M00")})) == CmdError::SYNTAX);
  CHECK(parse_err(cat({head, str("0S1X00")})) == CmdError::SYNTAX);
  CHECK(parse_err(cat({head, str("0S1M0")}), 17) == CmdError::SYNTAX);  // missing ntf creds Maybe
  // Key families: the DH key must be X25519; auth keys may not be X448.
  CHECK(parse_err(cat({str("NEW "), {44}, rk, {44}, rk, str("0S1M00")})) == CmdError::SYNTAX);
  CHECK(parse_err(cat({str("KEY "), {44}, rk, {'x'}})) == CmdError::SYNTAX);
  CHECK(std::holds_alternative<Command>(parse_command(cat({str("KEY "), {44}, dk}), 18)));
}

TEST_CASE("serverSyntaxTests: unknown tags and syntax errors", "[smp-protocol]") {
  const Bytes pk = cat({{44}, crypto::encode_spki(auth_key)});
  const Bytes dhk = cat({{44}, crypto::encode_spki(dh_key)});
  CHECK(parse_err(str("HELLO")) == CmdError::UNKNOWN);
  CHECK(parse_err(str("NEW")) == CmdError::SYNTAX);
  CHECK(parse_err(cat({str("NEW "), {0x01, 'A'}, pk, dhk})) == CmdError::SYNTAX);
  CHECK(parse_err(str("KEY")) == CmdError::SYNTAX);
  CHECK(parse_err(cat({str("KEY "), {0x01, 'A'}, pk})) == CmdError::SYNTAX);
  for (const char* tag : {"SUB", "OFF", "DEL"}) {
    INFO(tag);
    CHECK(std::holds_alternative<Command>(parse_command(str(tag), 18)));
    CHECK(parse_err(cat({str(tag), {'='}})) == CmdError::UNKNOWN);
    CHECK(parse_err(cat({str(tag), {' '}})) == CmdError::SYNTAX);
  }
  CHECK(parse_err(str("SEND")) == CmdError::SYNTAX);
  CHECK(parse_err(str("SEND F")) == CmdError::SYNTAX);
  CHECK(parse_err(str("SEND X hello")) == CmdError::SYNTAX);
  CHECK(parse_err(str("ACK")) == CmdError::SYNTAX);
  CHECK(parse_err(str("ACK \x05" "1234")) == CmdError::SYNTAX);
  CHECK(std::get<cmd::ACK>(parse_ok(str("ACK \x04" "1234"), 18)).msg_id == str("1234"));
  CHECK(std::holds_alternative<cmd::PING>(parse_ok(str("PING"), 18)));
  for (const char* server_tag : {"OK", "MSG", "IDS", "PONG", "END", "ERR"}) CHECK(parse_err(str(server_tag)) == CmdError::UNKNOWN);
  CHECK(parse_err({}) == CmdError::UNKNOWN);

  // SEND skips extra flag bytes up to the SP; the body keeps its spaces.
  const auto s = std::get<cmd::SEND>(parse_ok(str("SEND Txyz hello world"), 18));
  CHECK(s.notification);
  CHECK(s.body == str("hello world"));
  CHECK(std::get<cmd::SEND>(parse_ok(str("SEND F "), 18)).body.empty());
  // PRXY: hosts must be non-empty and host-shaped; basicAuth validated.
  CHECK(parse_err(cat({str("PRXY "), {0, 0, 32}, Bytes(32, 'k'), {'0'}})) == CmdError::SYNTAX);
  CHECK(parse_err(cat({str("PRXY "), {1, 0, 0, 32}, Bytes(32, 'k'), {'0'}})) == CmdError::SYNTAX);
  CHECK(parse_err(cat({str("PRXY "), {1, 3}, str("a/b"), {0, 32}, Bytes(32, 'k'), {'0'}})) == CmdError::SYNTAX);
  CHECK(parse_err(cat({str("PRXY "), {1, 1, 'h', 0, 32}, Bytes(32, 'k'), {'1', 1, '@'}})) == CmdError::SYNTAX);
  // PFWD needs an X25519 key; RKEY a non-empty list.
  CHECK(parse_err(cat({str("PFWD "), {0, 8}, pk, str("x")})) == CmdError::SYNTAX);
  CHECK(parse_err(str("RKEY \x00")) == CmdError::SYNTAX);
}

TEST_CASE("credential shape checks (commands §3.0)", "[smp-protocol]") {
  const Command new_cmd = cmd::NEW{auth_key, dh_key, std::nullopt, true, std::nullopt, std::nullopt};
  using E = std::optional<CmdError>;
  CHECK(check_credentials(new_cmd, false, false) == E(CmdError::NO_AUTH));
  CHECK(check_credentials(new_cmd, true, true) == E(CmdError::HAS_AUTH));
  CHECK(check_credentials(new_cmd, true, false) == E());
  for (const Command& c : {Command(cmd::KEY{auth_key}), Command(cmd::SUB{}), Command(cmd::ACK{msg_id}),
                           Command(cmd::NSUB{}), Command(cmd::NSUBS{}), Command(cmd::SKEY{auth_key}),
                           Command(cmd::LKEY{auth_key}), Command(cmd::OFF{})}) {
    INFO(command_tag(c));
    CHECK(check_credentials(c, false, true) == E(CmdError::NO_AUTH));
    CHECK(check_credentials(c, true, false) == E(CmdError::NO_AUTH));
    CHECK(check_credentials(c, true, true) == E());
  }
  const Command send = cmd::SEND{false, str("hi")};
  CHECK(check_credentials(send, true, false) == E(CmdError::NO_ENTITY));
  CHECK(check_credentials(send, false, true) == E());
  CHECK(check_credentials(send, true, true) == E());
  for (const Command& c : {Command(cmd::LGET{}), Command(cmd::PFWD{8, dh_key, {}})}) {
    CHECK(check_credentials(c, false, false) == E(CmdError::NO_ENTITY));
    CHECK(check_credentials(c, true, true) == E(CmdError::HAS_AUTH));
    CHECK(check_credentials(c, false, true) == E());
  }
  for (const Command& c : {Command(cmd::PING{}), Command(cmd::RFWD{}), Command(cmd::PRXY{})}) {
    CHECK(check_credentials(c, false, false) == E());
    CHECK(check_credentials(c, true, false) == E(CmdError::HAS_AUTH));
    CHECK(check_credentials(c, false, true) == E(CmdError::HAS_AUTH));
  }
}

// ---- Responses ----

namespace {

std::vector<Response> sample_responses() {
  const crypto::Nonce nonce{1, 2, 3};
  return {
      resp::IDS{Bytes(24, 'r'), Bytes(24, 's'), dh_key, QueueMode::Messaging, std::nullopt, std::nullopt, std::nullopt},
      resp::IDS{Bytes(24, 'r'), Bytes(24, 's'), dh_key, QueueMode::Contact, Bytes(24, 'l'), Bytes(24, 'v'),
                std::make_pair(Bytes(24, 'n'), x25519_pub(R_sk))},
      resp::LNK{Bytes(24, 's'), str("fixed"), str("user")},
      resp::SOK{std::nullopt},
      resp::SOK{Bytes(24, 'v')},
      resp::SOKS{42},
      resp::MSG{msg_id, Bytes(kRcvMsgEncSize, 'e')},
      resp::NID{Bytes(24, 'n'), dh_key},
      resp::NMSG{nonce, Bytes(144, 'm')},
      resp::PKEY{session_id, VersionRange{8, 17}, {Bytes(10, 'a'), Bytes(20, 'b')}, Bytes(122, 'k')},
      resp::RRES{Bytes(50, 'x')},
      resp::PRES{Bytes(50, 'y')},
      resp::END{},
      resp::ENDS{-3},
      resp::DELD{},
      resp::INFO{R"({"qiSnd":true,"qiSize":0})"},
      resp::OK{},
      resp::ERR{ErrorType::command(CmdError::SYNTAX)},
      resp::PONG{},
  };
}

}  // namespace

TEST_CASE("responses round-trip at versions 6, 9, 11, 15, 16, 17, 18", "[smp-protocol]") {
  for (uint16_t v : {6, 9, 11, 15, 16, 17, 18}) {
    for (const auto& r : sample_responses()) {
      INFO("v" << v << " " << response_tag(r, v));
      const Bytes wire = encode_response(r, v);
      const auto parsed = parse_response(wire, v);
      REQUIRE(parsed);
      CHECK(encode_response(*parsed, v) == wire);
      const bool tail = std::holds_alternative<resp::MSG>(r) || std::holds_alternative<resp::RRES>(r) ||
                        std::holds_alternative<resp::PRES>(r) || std::holds_alternative<resp::INFO>(r);
      if (!tail) CHECK_FALSE(parse_response(cat({wire, {'#'}}), v));
    }
  }
  CHECK_FALSE(parse_response(str("NEW"), 18));
  CHECK_FALSE(parse_response(str("PONG="), 18));
}

TEST_CASE("response version switches (commands §4)", "[smp-protocol]") {
  CHECK(encode_response(resp::SOK{}, 15) == str("OK"));
  CHECK(encode_response(resp::SOK{}, 16) == str("SOK 0"));
  CHECK(std::holds_alternative<resp::OK>(*parse_response(str("OK"), 15)));
  CHECK(encode_response(resp::DELD{}, 9) == str("END"));
  CHECK(encode_response(resp::DELD{}, 10) == str("DELD"));
  CHECK(std::holds_alternative<resp::END>(*parse_response(str("END"), 9)));
  CHECK(std::string(response_tag(resp::SOK{}, 6)) == "OK");
  CHECK(std::string(response_tag(resp::DELD{}, 6)) == "END");

  const Bytes dk = crypto::encode_spki(dh_key);
  const Bytes head = cat({str("IDS "), {24}, Bytes(24, 'r'), {24}, Bytes(24, 's'), {44}, dk});
  const resp::IDS ids{Bytes(24, 'r'), Bytes(24, 's'), dh_key, QueueMode::Messaging, std::nullopt, std::nullopt,
                      std::nullopt};
  CHECK(encode_response(ids, 18) == cat({head, str("1M000")}));
  CHECK(encode_response(ids, 16) == cat({head, str("1M00")}));
  CHECK(encode_response(ids, 15) == cat({head, str("1M0")}));
  CHECK(encode_response(ids, 14) == cat({head, str("T")}));
  CHECK(encode_response(ids, 8) == head);
  const auto p9 = std::get<resp::IDS>(*parse_response(cat({head, str("F")}), 9));
  CHECK(p9.mode == QueueMode::Contact);
  const auto p8 = std::get<resp::IDS>(*parse_response(head, 8));
  CHECK_FALSE(p8.mode);
  CHECK_FALSE(parse_response(cat({head, str("T")}), 8));
  CHECK_FALSE(parse_response(head, 9));

  CHECK(encode_response(resp::INFO{"{}"}, 18) == str("INFO {}"));
  CHECK(encode_response(resp::ENDS{1}, 18) == cat({str("ENDS "), {0, 0, 0, 0, 0, 0, 0, 1}}));
}

// ---- Errors ----

TEST_CASE("ErrorType text encodings (commands §8.1)", "[smp-protocol]") {
  auto wire = [](const ErrorType& e, uint16_t v = 18) {
    Bytes out;
    Encoder enc(out);
    encode_error(enc, e, v);
    return std::string(out.begin(), out.end());
  };
  using K = ErrorType::Kind;
  CHECK(wire(ErrorType::command(CmdError::SYNTAX)) == "CMD SYNTAX");
  CHECK(wire(ErrorType::command(CmdError::NO_ENTITY)) == "CMD NO_ENTITY");
  CHECK(wire(ErrorType::of(K::AUTH)) == "AUTH");
  CHECK(wire(ErrorType::of(K::NO_MSG)) == "NO_MSG");
  CHECK(wire(ErrorType::of(K::LARGE_MSG)) == "LARGE_MSG");
  ErrorType store = ErrorType::of(K::STORE);
  store.store = "disk full";
  CHECK(wire(store) == "STORE disk full");
  const ErrorType transport = ErrorType::proxy_error(
      ProxyError{ProxyError::Kind::BROKER, nullptr, BrokerError{BrokerError::Kind::TRANSPORT, {}, TransportError::HANDSHAKE_IDENTITY}});
  CHECK(wire(transport) == "PROXY BROKER TRANSPORT HANDSHAKE IDENTITY");
  const ErrorType response = ErrorType::proxy_error(
      ProxyError{ProxyError::Kind::BROKER, nullptr, BrokerError{BrokerError::Kind::RESPONSE, "BLOCK", {}}});
  CHECK(wire(response) == "PROXY BROKER RESPONSE \x05" "BLOCK");
  CHECK(error_text(response) == "PROXY BROKER RESPONSE BLOCK");
  const ErrorType protocol = ErrorType::proxy_error(
      ProxyError{ProxyError::Kind::PROTOCOL, std::make_shared<const ErrorType>(ErrorType::of(K::AUTH)), {}});
  CHECK(wire(protocol) == "PROXY PROTOCOL AUTH");
  CHECK(wire(ErrorType::proxy_error(ProxyError{ProxyError::Kind::BASIC_AUTH, nullptr, {}})) == "PROXY BASIC_AUTH");

  const BlockingInfo info{BlockingInfo::Reason::spam, true, 86400};
  const ErrorType blocked = ErrorType::blocked_by(info);
  CHECK(wire(blocked, 18) == "BLOCKED reason=spam,notice={\"ttl\":86400}");
  CHECK(wire(blocked, 17) == "BLOCKED reason=spam");
  CHECK(wire(blocked, 12) == "BLOCKED reason=spam");
  CHECK(wire(blocked, 11) == "AUTH");
  CHECK(encode_response(resp::ERR{blocked}, 6) == str("ERR AUTH"));
  CHECK(encode_blocking_info(BlockingInfo{BlockingInfo::Reason::content, true, std::nullopt}) ==
        "reason=content,notice={}");
  CHECK(parse_blocking_info("reason=content") == BlockingInfo{BlockingInfo::Reason::content, false, std::nullopt});
  CHECK(parse_blocking_info("reason=spam,notice={ \"ttl\" : 5 }") == BlockingInfo{BlockingInfo::Reason::spam, true, 5});
  CHECK(parse_blocking_info("reason=spam,notice={\"ttl\":null}") ==
        BlockingInfo{BlockingInfo::Reason::spam, true, std::nullopt});
  CHECK_FALSE(parse_blocking_info("reason=other"));
  CHECK_FALSE(parse_blocking_info("reason=spam,notice="));

  // Every form parses back to the same value.
  std::vector<ErrorType> all = {ErrorType::command(CmdError::HAS_AUTH), store, transport, response, protocol, blocked};
  for (int k = 0; k <= static_cast<int>(K::INTERNAL); ++k) {
    const auto kind = static_cast<K>(k);
    if (kind != K::CMD && kind != K::PROXY && kind != K::BLOCKED && kind != K::STORE) all.push_back(ErrorType::of(kind));
  }
  for (const auto& e : all) {
    INFO(error_text(e));
    const Bytes w = str(wire(e));
    Decoder d(w);
    const auto p = parse_error(d);
    REQUIRE(p);
    CHECK(*p == e);
    CHECK(d.at_end());
  }
  auto parse_text = [](std::string_view s) {
    Decoder d(as_bytes(s));
    return parse_error(d);
  };
  CHECK(parse_text("CMD NO_QUEUE") == ErrorType::command(CmdError::NO_ENTITY));
  CHECK_FALSE(parse_text("CMD SYNTAX x"));
  CHECK_FALSE(parse_text("WHAT"));
  CHECK(parse_text("PROXY BROKER NETWORK") ==
        ErrorType::proxy_error(ProxyError{ProxyError::Kind::BROKER, nullptr, BrokerError{BrokerError::Kind::NETWORK, {}, {}}}));
  CHECK(parse_text("PROXY BROKER NETWORK FAILED") ==
        ErrorType::proxy_error(ProxyError{ProxyError::Kind::BROKER, nullptr, BrokerError{BrokerError::Kind::NETWORK, {}, {}}}));

  for (int t = 0; t <= static_cast<int>(TransportError::HANDSHAKE_BAD_SERVICE); ++t) {
    const auto te = static_cast<TransportError>(t);
    CHECK(parse_transport_error(transport_error_text(te)) == te);
  }
  CHECK(transport_error_text(TransportError::HANDSHAKE_BAD_AUTH) == "HANDSHAKE BAD_AUTH");
  CHECK_FALSE(parse_transport_error("HANDSHAKE"));
  CHECK_FALSE(parse_transport_error("BLOCK "));
}
