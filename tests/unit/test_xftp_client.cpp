// The XFTP client's request bodies against the vectors (xftp-vectors.md V4, V5), its reading of server replies
// (V6) with the retry rule of V10, and the streamed FGET decryption (§9).
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "hex.hpp"
#include "xftp_vectors.hpp"
#include "xftp/client.hpp"

using namespace sr;
using namespace sr::test;
using namespace sr::xftp;
using crypto::KeyAlg;
using namespace sr::test::xftpv;

namespace {


// V1 inputs.
const Bytes kSenderId = str("sender-id-000001");
const Bytes kRcpId1 = str("recipient-id-001");
const Bytes kKeyHash = hex("3f211f7780c618804db26658c406a0d52fd8d0e90a51ec872d293659bed24265");

Bytes chunk64k() {
  Bytes c(65536);
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(i);
  return c;
}

SessionInfo vector_session() {
  SessionInfo s;
  s.version = 3;
  s.session_id = kSessionId;
  return s;
}

FileInfo vector_file() {
  const Bytes chunk = chunk64k();
  const auto d = crypto::sha256(chunk);
  return FileInfo{crypto::public_key(kSndSk), 65536, Bytes(d.begin(), d.end())};
}

// Everything a producer yields, concatenated.
asio::awaitable<void> drain_into(h2::BodyProducer p, Bytes* all, size_t* parts) {
  for (;;) {
    auto part = co_await p();
    if (part.empty()) break;
    ++*parts;
    all->insert(all->end(), part.begin(), part.end());
  }
}
Bytes drain(const h2::BodyProducer& p, size_t* parts = nullptr) {
  asio::io_context io;
  Bytes all;
  size_t n = 0;
  std::exception_ptr error;
  asio::co_spawn(io, drain_into(p, &all, &n), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
  if (parts) *parts = n;
  return all;
}

// A V6 response block: 01 ‖ w16(len) ‖ 00 ‖ short(sessionId) ‖ corrId/entity ‖ command.
Bytes response_block(const Bytes& corr_entity, const Bytes& command) {
  Bytes t{0x00, static_cast<uint8_t>(kSessionId.size())};
  t.insert(t.end(), kSessionId.begin(), kSessionId.end());
  t.insert(t.end(), corr_entity.begin(), corr_entity.end());
  t.insert(t.end(), command.begin(), command.end());
  Bytes m{0x01, static_cast<uint8_t>(t.size() >> 8), static_cast<uint8_t>(t.size())};
  m.insert(m.end(), t.begin(), t.end());
  return block_of(m);
}

}  // namespace

TEST_CASE("Handshake request bodies equal V4.1 and V4.6", "[xftp-client]") {
  CHECK(hello_body(std::nullopt).empty());  // native hello: empty body
  const Bytes web = hello_body(kChallenge);
  CHECK(web.size() == kBlockSize);
  CHECK(sha_hex(web) == "7d2a6f406533b4bec7e49b4b89ae58ffc13c58703a675222fb02acc1a4d92d32");
  const Bytes hs = client_handshake_body(3, kKeyHash);
  CHECK(sha_hex(hs) == "7c1d6f40e88c69fe5613216dccfee12c68da92d6063d5262d405714493d88d55");
}

TEST_CASE("Version choice is the highest common version", "[xftp-client]") {
  CHECK(choose_version({1, 3}, {1, 3}) == 3);
  CHECK(choose_version({1, 3}, {1, 2}) == 2);
  CHECK(choose_version({2, 5}, {1, 3}) == 3);
  CHECK_FALSE(choose_version({4, 5}, {1, 3}).has_value());
}

TEST_CASE("Command blocks equal the V5 vectors", "[xftp-client]") {
  const SessionInfo s = vector_session();
  const AuthKey rcv1 = crypto::public_key(kRcv1Sk);
  const AuthKey rcv2 = crypto::public_key(kRcv2Sk);
  const auto dh_pub = crypto::x25519_public(kRcvDhSk);
  const DhKey rcv_dh{KeyAlg::X25519, Bytes(dh_pub.begin(), dh_pub.end())};

  CHECK(sha_hex(command_block(s, {}, FNEW{vector_file(), {rcv1}, std::nullopt}, kSndSk)) ==
        "d7d3d2e41a50b7f4ed33704f0e4057d8ab7f469e725f7594a0526b57f567909b");
  CHECK(sha_hex(command_block(s, {}, FNEW{vector_file(), {rcv1, rcv2}, std::string("s3cret-pass")}, kSndSk)) ==
        "62d69be89fa0fc3579b001b3f886a27066dcf72e54654ea57da9231bc8016dec");
  CHECK(sha_hex(command_block(s, kSenderId, FPUT{}, kSndSk)) ==
        "79815d23edca6a7d54247de3d4ceba85b6bb5251b2c4413d22b0bc7dca302a66");
  CHECK(sha_hex(command_block(s, kRcpId1, FGET{rcv_dh}, kRcv1Sk)) ==
        "9ca3a8f12a99346145b91339974230b4cc927a262b92a3954ad65320a031aa1d");
  CHECK(sha_hex(command_block(s, kRcpId1, FACK{}, kRcv1Sk)) ==
        "c05b7203971d8f7480d16f07004d6deb0bbdc699031ca22efe869c93f547bb6a");
  CHECK(sha_hex(command_block(s, kSenderId, FDEL{}, kSndSk)) ==
        "5444c3f8d912902ba5efc52e3a7f4fd4c85cd227e08b2f7ba37f4a6ba88e7eb8");
  CHECK(sha_hex(command_block(s, kSenderId, FADD{{rcv2}}, kSndSk)) ==
        "99b27e08764ecb554e364778238daaa983ac2d9988fcec953829dd3f72b5bc1f");
  CHECK(sha_hex(command_block(s, {}, PING{}, std::nullopt)) ==
        "ec5c959d0f36e85272a25678a88a7c91f0efc11066321ff2167799a54f7a9ce3");
}

TEST_CASE("The FPUT request body equals V5 FPUT, streamed in slices", "[xftp-client]") {
  const Bytes block = command_block(vector_session(), kSenderId, FPUT{}, kSndSk);
  size_t parts = 0;
  const Bytes body = drain(fput_body(block, ChunkSource::of(chunk64k()), 16384), &parts);
  CHECK(body.size() == 81920);
  CHECK(sha_hex(body) == "ba8e724372ef9bb8c9438dd4ef674292cc3729a6ad6f35e090cfc7d0f609ee8b");
  CHECK(parts == 5);  // the block, then four 16 KiB slices: never the chunk whole

  SECTION("from a file descriptor at an offset") {
    char path[] = "/tmp/xftp-client-chunkXXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    const Bytes junk(1000, 0x55);
    const Bytes chunk = chunk64k();
    REQUIRE(write(fd, junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
    REQUIRE(write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()));
    CHECK(sha_hex(drain(fput_body(block, ChunkSource::file(fd, 1000, 65536)))) ==
          "ba8e724372ef9bb8c9438dd4ef674292cc3729a6ad6f35e090cfc7d0f609ee8b");
    // A file shorter than the chunk fails the body rather than sending a short one.
    CHECK_THROWS(drain(fput_body(block, ChunkSource::file(fd, 2000, 65536))));
    close(fd);
  }
}

TEST_CASE("V6 replies are read as responses", "[xftp-client]") {
  const Bytes sids = hex(
      "01004c002073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273000053494453201073656e6465722d69642d30"
      "3030303031011072" "6563697069656e742d69642d303031");
  const auto r = read_reply(kSessionId, block_of(sids));
  REQUIRE(std::holds_alternative<Response>(r));
  const auto* ids = std::get_if<FRSndIds>(&std::get<Response>(r));
  REQUIRE(ids != nullptr);
  CHECK(ids->sender_id == kSenderId);
  CHECK(ids->recipient_ids == std::vector<Bytes>{kRcpId1});
  CHECK_FALSE(retriable(r));

  const Bytes ok = hex(
      "010036002073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273001073656e6465722d69642d3030303030314f4b");
  CHECK(describe(read_reply(kSessionId, block_of(ok))) == "OK");
  const Bytes pong = hex("010028002073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730000504f4e47");
  CHECK(describe(read_reply(kSessionId, block_of(pong))) == "PONG");
  // The reply of another session is SESSION: the connection is not the one the reply was meant for.
  CHECK(describe(read_reply(str("another-session-id-xxxxxxxxxxxxx"), block_of(pong))) == "ERR SESSION");
}

TEST_CASE("V10: SESSION and HANDSHAKE are retriable, every other error is permanent", "[xftp-client]") {
  const Bytes empty{0x00, 0x00};
  const Bytes sender = hex("001073656e6465722d69642d303030303031");
  struct Case {
    Bytes corr_entity;
    std::string command;
    std::string described;
    bool retry;
  };
  const std::vector<Case> cases = {
      {empty, "ERR SESSION", "ERR SESSION", true},
      {empty, "ERR HANDSHAKE", "ERR HANDSHAKE", true},
      {sender, "ERR AUTH", "ERR AUTH", false},
      {sender, "ERR BLOCKED reason=spam", "ERR BLOCKED reason=spam", false},
      {sender, "ERR NO_FILE", "ERR NO_FILE", false},
      {empty, "ERR CMD SYNTAX", "ERR CMD SYNTAX", false},
      {empty, "ERR BLOCK", "ERR BLOCK", false},
      {sender, "ERR QUOTA", "ERR QUOTA", false},
  };
  for (const auto& c : cases) {
    INFO(c.command);
    const auto r = read_reply(kSessionId, response_block(c.corr_entity, str(c.command)));
    CHECK(describe(r) == c.described);
    CHECK(retriable(r) == c.retry);
  }
  // Bare padded strings are handshake errors, not transmissions (V4.5, V10).
  for (const char* bare : {"SESSION", "HANDSHAKE"}) {
    INFO(bare);
    const auto r = read_reply(kSessionId, block_of(str(bare)));
    CHECK(describe(r) == std::string("ERR ") + bare);
    CHECK(retriable(r));
  }
  // An unpadded-looking junk block is a framing error, not retried.
  CHECK(describe(read_reply(kSessionId, block_of(str("not a block")))) == "ERR BLOCK");
  CHECK_FALSE(retriable(read_reply(kSessionId, Bytes())));
}

TEST_CASE("FGET body is decrypted slice by slice and checked", "[xftp-client]") {
  // The server side of §9 with V1 keys; the client computes k from its own key and the FILE key.
  const auto rcv_pub = crypto::x25519_public(kRcvDhSk);
  const auto server = crypto::x25519_keypair(key32(seq(0x80, 32)));
  crypto::Nonce nonce;
  const Bytes n = seq(0x01, 24);
  std::copy(n.begin(), n.end(), nonce.begin());
  const auto keys = download_keys(DhKey{KeyAlg::X25519, Bytes(rcv_pub.begin(), rcv_pub.end())}, server, nonce);
  REQUIRE(keys);
  const auto k = crypto::box_beforenm(kRcvDhSk, server.pub);
  REQUIRE(k);
  CHECK(to_hex(*k) == "ff8edff959dae4f5f27de31fcc3352b3c3df0dd021b1fea25eec1cf540d65596");  // V7 k
  const Bytes chunk = chunk64k();
  const auto d = crypto::sha256(chunk);
  const Bytes digest(d.begin(), d.end());
  const Bytes body = encrypt_chunk(keys->k, nonce, chunk);
  REQUIRE(body.size() == chunk.size() + kAuthTagSize);

  auto receive = [&](const Bytes& b, uint64_t size, std::optional<Bytes> dg, size_t slice, Bytes& out) {
    out.clear();
    ChunkReceiver rcv(*k, nonce, size, std::move(dg),
                      [&](std::span<const uint8_t> p) { out.insert(out.end(), p.begin(), p.end()); });
    for (size_t i = 0; i < b.size(); i += slice)
      if (!rcv.feed(std::span<const uint8_t>(b).subspan(i, std::min(slice, b.size() - i)))) break;
    return rcv.finish();
  };
  Bytes out;
  for (size_t slice : {size_t(1), size_t(7), size_t(16), size_t(16384), body.size()}) {
    INFO(slice);
    CHECK_FALSE(receive(body, chunk.size(), digest, slice, out).has_value());
    CHECK(out == chunk);
  }
  Bytes bad_tag = body;
  bad_tag.back() ^= 1;
  CHECK(receive(bad_tag, chunk.size(), digest, 1000, out) == Error::of(Error::Kind::CRYPTO));
  Bytes short_body(body.begin(), body.end() - 1);
  CHECK(receive(short_body, chunk.size(), digest, 1000, out) == Error::of(Error::Kind::SIZE));
  Bytes long_body = body;
  long_body.push_back(0);
  CHECK(receive(long_body, chunk.size(), digest, 1000, out) == Error::of(Error::Kind::SIZE));
  CHECK(receive(body, chunk.size(), Bytes(32, 0), 1000, out) == Error::of(Error::Kind::DIGEST));
  CHECK_FALSE(receive(body, chunk.size(), std::nullopt, 1000, out).has_value());  // no digest given: not checked
}
