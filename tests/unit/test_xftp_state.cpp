// The XFTP relay's command semantics (xftp-protocol.md §7.2, §10–§12): what each command answers, what it does to
// the records and chunk files, and the store-log lines it writes. Real chunk files in a temporary directory.
#include <catch2/catch.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/chunk_store.hpp"
#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "text_files.hpp"
#include "xftp/file_store.hpp"
#include "xftp/protocol.hpp"
#include "xftp/xftp_state.hpp"

using namespace sr;
using namespace sr::xftp;

namespace {

constexpr int64_t kNow = 1767227000;  // createdAt rounds down to 1767225600
constexpr uint32_t kSize = 65536;

crypto::PrivateKey ed_key(uint8_t fill) { return crypto::PrivateKey{crypto::KeyAlg::Ed25519, Bytes(32, fill)}; }
std::string b64(const Bytes& b) { return base64url_encode(b); }
std::string b64(const crypto::PublicKey& k) { return base64url_encode(crypto::encode_spki(k)); }

Bytes chunk_of(uint8_t seed) {
  Bytes b(kSize);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}
Bytes digest_of(const Bytes& b) {
  auto d = crypto::sha256(b);
  return Bytes(d.begin(), d.end());
}

std::optional<Error::Kind> error_of(const Outcome& o) {
  const auto* r = std::get_if<Response>(&o);
  if (!r) return std::nullopt;
  const auto* e = std::get_if<FRErr>(r);
  return e ? std::optional(e->err.kind) : std::nullopt;
}
std::optional<Error::Kind> error_of(const Response& r) { return error_of(Outcome{r}); }

struct Relay {
  test::TempDir dir;
  FileStore store;
  chunks::ChunkStore chunks;
  XftpState st;
  std::vector<std::string> log;
  const Bytes session = Bytes(32, 0x5e);

  crypto::PrivateKey snd = ed_key(1);
  crypto::PrivateKey rcv1 = ed_key(2);
  crypto::PrivateKey rcv2 = ed_key(3);
  Bytes chunk = chunk_of(9);

  explicit Relay(XftpStateConfig cfg = {}, std::optional<uint64_t> quota = std::nullopt)
      : chunks(dir.path / "files", quota), st(std::move(cfg), store, chunks) {
    chunks.open();
    st.store_log = [this](std::string_view l) { log.emplace_back(l); };
  }

  Outcome send(const Bytes& entity, const Command& c, const std::optional<crypto::PrivateKey>& key,
               int64_t now = kNow) {
    const Bytes block = encode_command_block(session, Bytes{'c'}, entity, c, ClientAuth{key, std::nullopt});
    auto t = parse_transmission(session, block);
    REQUIRE(std::holds_alternative<RawTransmission>(t));
    return st.handle(std::get<RawTransmission>(t), std::nullopt, now);
  }
  Response respond(const Bytes& entity, const Command& c, const std::optional<crypto::PrivateKey>& key) {
    auto o = send(entity, c, key);
    REQUIRE(std::holds_alternative<Response>(o));
    return std::get<Response>(o);
  }

  FNEW fnew(uint32_t size = kSize, std::optional<std::string> password = std::nullopt) const {
    return FNEW{FileInfo{crypto::public_key(snd), size, digest_of(chunk)},
                {crypto::public_key(rcv1), crypto::public_key(rcv2)}, std::move(password)};
  }
  FRSndIds create(int64_t now = kNow) {
    auto o = send({}, fnew(), snd, now);
    REQUIRE(std::holds_alternative<Response>(o));
    REQUIRE(std::holds_alternative<FRSndIds>(std::get<Response>(o)));
    return std::get<FRSndIds>(std::get<Response>(o));
  }

  // Streams `data` into an FPUT plan as the I/O layer would, then finishes it.
  Response upload(Put& p, const Bytes& data) {
    REQUIRE_FALSE(p.discard());
    bool ok = true;
    for (size_t off = 0; off < data.size() && ok; off += kFileBlockSize) {
      const size_t n = std::min(kFileBlockSize, data.size() - off);
      ok = !p.upload->write(ByteView(data).subspan(off, n));
    }
    ok = ok && data.size() == p.size;
    return st.finish_put(p, PutResult{ok, crypto::sha256(data), std::nullopt});
  }
  Response put(const Bytes& sid, const Bytes& data) {
    auto o = send(sid, FPUT{}, snd);
    if (auto* r = std::get_if<Response>(&o)) return *r;
    auto& p = std::get<Put>(o);
    if (p.discard()) return st.finish_put(p, PutResult{data.size() >= p.size, std::nullopt, std::nullopt});
    return upload(p, data);
  }
  std::filesystem::path chunk_path(const Bytes& sid) const { return dir.path / "files" / b64(sid); }
};

FGET fget_with(const crypto::X25519KeyPair& kp) {
  return FGET{crypto::PublicKey{crypto::KeyAlg::X25519, Bytes(kp.pub.begin(), kp.pub.end())}};
}

}  // namespace

TEST_CASE("FNEW is authorized by the key it carries and logs FNEW then FADD", "[xftp-state]") {
  Relay r;
  const auto ids = r.create();
  CHECK(ids.sender_id.size() == kIdSize);
  REQUIRE(ids.recipient_ids.size() == 2);
  const FileRec* rec = r.store.by_sender(ids.sender_id);
  REQUIRE(rec);
  CHECK(rec->created_at == 1767225600);
  CHECK_FALSE(rec->uploaded());
  REQUIRE(r.log.size() == 2);
  CHECK(r.log[0] == "FNEW " + b64(ids.sender_id) + ' ' + b64(crypto::public_key(r.snd)) + " 65536 " +
                        b64(digest_of(r.chunk)) + " 1767225600 active");
  CHECK(r.log[1] == "FADD " + b64(ids.sender_id) + ' ' + b64(ids.recipient_ids[0]) + ':' +
                        b64(crypto::public_key(r.rcv1)) + ',' + b64(ids.recipient_ids[1]) + ':' +
                        b64(crypto::public_key(r.rcv2)));

  // Signed by another key than the one inside: AUTH, even before the size check.
  CHECK(error_of(r.send({}, r.fnew(), ed_key(7))) == Error::Kind::AUTH);
  CHECK(error_of(r.send({}, r.fnew(1000), ed_key(7))) == Error::Kind::AUTH);
  CHECK(error_of(r.send({}, r.fnew(1000), r.snd)) == Error::Kind::SIZE);
  // Credential rules come first.
  CHECK(error_of(r.send({}, r.fnew(), std::nullopt)) == Error::Kind::CMD);
  CHECK(r.store.file_count() == 1);
  CHECK(r.log.size() == 2);
}

TEST_CASE("FNEW: new_files off and the create password", "[xftp-state]") {
  SECTION("new_files off refuses every FNEW with AUTH, before the size check") {
    Relay r(XftpStateConfig{false, std::nullopt, 48 * 3600});
    CHECK(error_of(r.send({}, r.fnew(), r.snd)) == Error::Kind::AUTH);
    CHECK(error_of(r.send({}, r.fnew(1000), r.snd)) == Error::Kind::AUTH);
    CHECK(r.store.file_count() == 0);
    CHECK(r.log.empty());
  }
  SECTION("a configured password must be sent exactly") {
    Relay r(XftpStateConfig{true, "secret", 48 * 3600});
    CHECK(error_of(r.send({}, r.fnew(kSize, std::nullopt), r.snd)) == Error::Kind::AUTH);
    CHECK(error_of(r.send({}, r.fnew(kSize, "wrong"), r.snd)) == Error::Kind::AUTH);
    CHECK(error_of(r.send({}, r.fnew(kSize, ""), r.snd)) == Error::Kind::AUTH);
    CHECK_FALSE(error_of(r.send({}, r.fnew(kSize, "secret"), r.snd)));
    CHECK(r.store.file_count() == 1);
  }
  SECTION("without a configured password any password is accepted") {
    Relay r;
    CHECK_FALSE(error_of(r.send({}, r.fnew(kSize, "anything"), r.snd)));
    CHECK_FALSE(error_of(r.send({}, r.fnew(kSize, std::nullopt), r.snd)));
  }
}

TEST_CASE("FADD adds recipients with the sender key and logs them", "[xftp-state]") {
  Relay r;
  const auto ids = r.create();
  r.log.clear();
  const auto rcv3 = ed_key(4);
  auto resp = r.respond(ids.sender_id, FADD{{crypto::public_key(rcv3)}}, r.snd);
  REQUIRE(std::holds_alternative<FRRcvIds>(resp));
  const auto rid = std::get<FRRcvIds>(resp).recipient_ids.at(0);
  REQUIRE(r.log.size() == 1);
  CHECK(r.log[0] == "FADD " + b64(ids.sender_id) + ' ' + b64(rid) + ':' + b64(crypto::public_key(rcv3)));
  // The new recipient is known (nothing uploaded yet).
  const auto kp = crypto::x25519_generate();
  CHECK(error_of(r.send(rid, fget_with(kp), rcv3)) == Error::Kind::NO_FILE);
  // A recipient key cannot add recipients.
  CHECK(error_of(r.send(ids.sender_id, FADD{{crypto::public_key(rcv3)}}, r.rcv1)) == Error::Kind::AUTH);
}

TEST_CASE("FPUT stores the chunk, records its path and logs FPUT", "[xftp-state]") {
  Relay r;
  const auto ids = r.create();
  r.log.clear();
  CHECK(std::holds_alternative<FROk>(r.put(ids.sender_id, r.chunk)));
  const auto path = r.chunk_path(ids.sender_id);
  CHECK(test::read_text(path) == std::string(r.chunk.begin(), r.chunk.end()));
  REQUIRE(r.store.by_sender(ids.sender_id)->path == path.string());
  REQUIRE(r.log.size() == 1);
  CHECK(r.log[0] == "FPUT " + b64(ids.sender_id) + ' ' + base64url_encode(ByteView(
                                                                reinterpret_cast<const uint8_t*>(path.c_str()),
                                                                path.string().size())));
  CHECK(r.chunks.used() == kSize);

  SECTION("a second FPUT of a committed file discards the body and answers OK; the content stays") {
    auto o = r.send(ids.sender_id, FPUT{}, r.snd);
    REQUIRE(std::holds_alternative<Put>(o));
    auto& p = std::get<Put>(o);
    CHECK(p.discard());
    CHECK(p.size == kSize);
    CHECK(std::holds_alternative<FROk>(r.st.finish_put(p, PutResult{true, std::nullopt, std::nullopt})));
    CHECK(error_of(r.st.finish_put(p, PutResult{false, std::nullopt, std::nullopt})) == Error::Kind::SIZE);
    CHECK(test::read_text(path) == std::string(r.chunk.begin(), r.chunk.end()));
    CHECK(r.chunks.used() == kSize);
    CHECK(r.log.size() == 1);
  }
}

TEST_CASE("failed FPUTs release the reservation and leave no chunk file", "[xftp-state]") {
  SECTION("quota: refused before the body is read") {
    Relay r({}, kSize - 1);
    const auto ids = r.create();
    CHECK(error_of(r.send(ids.sender_id, FPUT{}, r.snd)) == Error::Kind::QUOTA);
    CHECK(r.chunks.used() == 0);
  }
  Relay r;
  const auto ids = r.create();
  r.log.clear();
  SECTION("a short body is SIZE") {
    CHECK(error_of(r.put(ids.sender_id, Bytes(r.chunk.begin(), r.chunk.end() - 1))) == Error::Kind::SIZE);
  }
  SECTION("a long body is SIZE") {
    Bytes longer = r.chunk;
    longer.push_back(0);
    CHECK(error_of(r.put(ids.sender_id, longer)) == Error::Kind::SIZE);
  }
  SECTION("another content is DIGEST") {
    CHECK(error_of(r.put(ids.sender_id, chunk_of(10))) == Error::Kind::DIGEST);
  }
  SECTION("a stream error is TIMEOUT") {
    auto o = r.send(ids.sender_id, FPUT{}, r.snd);
    auto& p = std::get<Put>(o);
    CHECK(error_of(r.st.finish_put(p, PutResult{false, std::nullopt, Error::Kind::TIMEOUT})) == Error::Kind::TIMEOUT);
  }
  CHECK(r.chunks.used() == 0);
  CHECK_FALSE(std::filesystem::exists(r.chunk_path(ids.sender_id)));
  CHECK_FALSE(r.store.by_sender(ids.sender_id)->uploaded());
  CHECK(r.log.empty());
  // The sender may try again.
  CHECK(std::holds_alternative<FROk>(r.put(ids.sender_id, r.chunk)));
}

TEST_CASE("a second FPUT while one is in flight is refused; FDEL during an upload wins", "[xftp-state]") {
  Relay r;
  const auto ids = r.create();
  auto o = r.send(ids.sender_id, FPUT{}, r.snd);
  REQUIRE(std::holds_alternative<Put>(o));
  CHECK(error_of(r.send(ids.sender_id, FPUT{}, r.snd)) == Error::Kind::AUTH);

  SECTION("the first upload completes") {
    CHECK(std::holds_alternative<FROk>(r.upload(std::get<Put>(o), r.chunk)));
  }
  SECTION("a plan dropped without finish_put (connection gone) releases its reservation") {
    { Outcome gone = std::move(o); }
    CHECK(r.chunks.used() == 0);
    CHECK(std::holds_alternative<FROk>(r.put(ids.sender_id, r.chunk)));
  }
  SECTION("the file is deleted meanwhile: AUTH, nothing stays") {
    CHECK(std::holds_alternative<FROk>(r.respond(ids.sender_id, FDEL{}, r.snd)));
    r.log.clear();
    CHECK(error_of(r.upload(std::get<Put>(o), r.chunk)) == Error::Kind::AUTH);
    CHECK(r.chunks.used() == 0);
    CHECK_FALSE(std::filesystem::exists(r.chunk_path(ids.sender_id)));
    CHECK(r.log.empty());
  }
}

TEST_CASE("FGET: NO_FILE before the upload, FILE with the encrypted chunk after", "[xftp-state]") {
  Relay r;
  const auto ids = r.create();
  const auto kp = crypto::x25519_generate();
  CHECK(error_of(r.send(ids.recipient_ids[0], fget_with(kp), r.rcv1)) == Error::Kind::NO_FILE);
  REQUIRE(std::holds_alternative<FROk>(r.put(ids.sender_id, r.chunk)));

  auto o = r.send(ids.recipient_ids[0], fget_with(kp), r.rcv1);
  REQUIRE(std::holds_alternative<Get>(o));
  auto& g = std::get<Get>(o);
  CHECK(g.size == kSize);
  const auto resp = g.response();
  REQUIRE(std::holds_alternative<FRFile>(resp));
  const auto& file = std::get<FRFile>(resp);
  Bytes data(g.size);
  CHECK(g.reader.read(data) == g.size);
  const Bytes body = encrypt_chunk(g.keys.k, g.keys.nonce, data);
  // The recipient's side: its DH with the server key from FILE.
  const auto k = crypto::box_beforenm(kp.priv, file.srv_dh_key.raw);
  REQUIRE(k);
  CHECK(decrypt_chunk(*k, file.nonce, body) == r.chunk);

  // Every FGET gets a fresh server key and nonce.
  auto o2 = r.send(ids.recipient_ids[1], fget_with(kp), r.rcv2);
  REQUIRE(std::holds_alternative<Get>(o2));
  CHECK(std::get<Get>(o2).keys.nonce != g.keys.nonce);
  // The other recipient's key does not work for this recipient id.
  CHECK(error_of(r.send(ids.recipient_ids[0], fget_with(kp), r.rcv2)) == Error::Kind::AUTH);
  // A recipient id is not a sender id.
  CHECK(error_of(r.send(ids.recipient_ids[0], FDEL{}, r.rcv1)) == Error::Kind::AUTH);

  // The chunk file deleted behind the server's back: AUTH.
  std::filesystem::remove(r.chunk_path(ids.sender_id));
  CHECK(error_of(r.send(ids.recipient_ids[0], fget_with(kp), r.rcv1)) == Error::Kind::AUTH);
}

TEST_CASE("FACK removes one recipient and logs FACK first", "[xftp-state]") {
  Relay r;
  const auto ids = r.create();
  REQUIRE(std::holds_alternative<FROk>(r.put(ids.sender_id, r.chunk)));
  r.log.clear();
  CHECK(std::holds_alternative<FROk>(r.respond(ids.recipient_ids[0], FACK{}, r.rcv1)));
  CHECK(r.log == std::vector<std::string>{"FACK " + b64(ids.recipient_ids[0])});
  const auto kp = crypto::x25519_generate();
  CHECK(error_of(r.send(ids.recipient_ids[0], fget_with(kp), r.rcv1)) == Error::Kind::AUTH);
  CHECK(error_of(r.send(ids.recipient_ids[0], FACK{}, r.rcv1)) == Error::Kind::AUTH);
  CHECK(std::holds_alternative<Get>(r.send(ids.recipient_ids[1], fget_with(kp), r.rcv2)));
}

TEST_CASE("FDEL removes the record, all recipients and the chunk file, and logs FDEL", "[xftp-state]") {
  Relay r;
  const auto ids = r.create();
  SECTION("after the upload") {
    REQUIRE(std::holds_alternative<FROk>(r.put(ids.sender_id, r.chunk)));
    REQUIRE(std::filesystem::exists(r.chunk_path(ids.sender_id)));
  }
  SECTION("before the upload") {}
  r.log.clear();
  CHECK(error_of(r.send(ids.sender_id, FDEL{}, r.rcv1)) == Error::Kind::AUTH);
  CHECK(std::holds_alternative<FROk>(r.respond(ids.sender_id, FDEL{}, r.snd)));
  CHECK(r.log == std::vector<std::string>{"FDEL " + b64(ids.sender_id)});
  CHECK_FALSE(std::filesystem::exists(r.chunk_path(ids.sender_id)));
  CHECK(r.chunks.used() == 0);
  CHECK(r.store.file_count() == 0);
  CHECK(r.store.recipient_count() == 0);
  CHECK(error_of(r.send(ids.sender_id, FDEL{}, r.snd)) == Error::Kind::AUTH);
  const auto kp = crypto::x25519_generate();
  CHECK(error_of(r.send(ids.recipient_ids[1], fget_with(kp), r.rcv2)) == Error::Kind::AUTH);
}

TEST_CASE("a blocked file answers BLOCKED to everyone without a signature check", "[xftp-state]") {
  Relay r;
  const auto ids = r.create();
  REQUIRE(std::holds_alternative<FROk>(r.put(ids.sender_id, r.chunk)));
  BlockingInfo info;
  info.reason = BlockingInfo::Reason::content;
  REQUIRE_FALSE(r.store.block_file(ids.sender_id, info));
  const auto stranger = ed_key(8);
  for (const auto& out : {r.respond(ids.sender_id, FDEL{}, stranger), r.respond(ids.sender_id, FPUT{}, r.snd),
                          r.respond(ids.recipient_ids[0], FACK{}, stranger),
                          r.respond(ids.recipient_ids[1], fget_with(crypto::x25519_generate()), r.rcv2)}) {
    REQUIRE(error_of(out) == Error::Kind::BLOCKED);
    CHECK(encode_response(out) == Bytes{'E', 'R', 'R', ' ', 'B', 'L', 'O', 'C', 'K', 'E', 'D', ' ', 'r', 'e', 'a', 's',
                                        'o', 'n', '=', 'c', 'o', 'n', 't', 'e', 'n', 't'});
  }
  CHECK(r.store.file_count() == 1);
}

TEST_CASE("unknown ids answer AUTH after a dummy verification; PING answers PONG", "[xftp-state]") {
  Relay r;
  const auto before = dummy_verify_count();
  CHECK(error_of(r.send(Bytes(kIdSize, 1), FDEL{}, r.snd)) == Error::Kind::AUTH);
  CHECK(error_of(r.send(Bytes(kIdSize, 2), FACK{}, r.rcv1)) == Error::Kind::AUTH);
  CHECK(dummy_verify_count() == before + 2);
  CHECK(std::holds_alternative<FRPong>(r.respond({}, PING{}, std::nullopt)));
  // Credential rules: a sender command needs an entity and an authorization.
  CHECK(error_of(r.send({}, FDEL{}, r.snd)) == Error::Kind::CMD);
  CHECK(error_of(r.send(Bytes(kIdSize, 1), FDEL{}, std::nullopt)) == Error::Kind::CMD);
  CHECK(r.log.empty());
}

TEST_CASE("expiry removes files older than the TTL, their chunk files, and logs FDEL", "[xftp-state]") {
  Relay r(XftpStateConfig{true, std::nullopt, 48 * 3600});
  const auto old_file = r.create(kNow);                    // createdAt 1767225600
  const auto new_file = r.create(kNow + 5 * 3600);         // createdAt 5 hours later
  REQUIRE(std::holds_alternative<FROk>(r.put(old_file.sender_id, r.chunk)));
  r.log.clear();
  const int64_t created = 1767225600;
  // Kept while createdAt + 3600 >= now - ttl.
  CHECK(r.st.expire(created + 3600 + 48 * 3600) == 0);
  CHECK(r.st.expire(created + 3600 + 48 * 3600 + 1) == 1);
  CHECK(r.log == std::vector<std::string>{"FDEL " + b64(old_file.sender_id)});
  CHECK_FALSE(std::filesystem::exists(r.chunk_path(old_file.sender_id)));
  CHECK(r.chunks.used() == 0);
  CHECK(r.store.by_sender(old_file.sender_id) == nullptr);
  CHECK(r.store.by_sender(new_file.sender_id) != nullptr);
  CHECK(error_of(r.send(old_file.recipient_ids[0], fget_with(crypto::x25519_generate()), r.rcv1)) ==
        Error::Kind::AUTH);
}
