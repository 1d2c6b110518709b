// libFuzzer target: the whole pre-auth XFTP relay of one connection without sockets (xftp-protocol.md §4.2, §5.3,
// §6, §7): a sequence of HTTP/2 requests, each routed through the handshake state machine and, once it says so,
// through the transmission parser and the command state machine over a real chunk store in a temporary
// directory. FPUT bodies come from the input; FGET chunks are encrypted as the session streams them.
//
// Input: one connection byte (bit 0: web connection, bits 3–4: ALPN none, xftp/1, h2, http/1.1), then records of
// [flags][len hi][len lo][body…] (length × 8 bytes): flags bit 1: xftp-web-hello header, bit 2: xftp-handshake
// header; bit 5: after a server handshake, send a valid client handshake so commands are reached quickly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "core/chunk_store.hpp"
#include "xftp/file_store.hpp"
#include "xftp/handshake.hpp"
#include "xftp/xftp_state.hpp"

using namespace sr;
using namespace sr::xftp;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

const Bytes kSession(32, 0x5a);

struct World {
  std::filesystem::path dir;
  FileStore store;
  std::unique_ptr<chunks::ChunkStore> chunks;
  std::unique_ptr<XftpState> state;
  HandshakeIdentity id;
  World() {
    dir = std::filesystem::temp_directory_path() / ("fuzz-xftp-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    chunks = std::make_unique<chunks::ChunkStore>(dir, 1 << 20);
    chunks->open();
    state = std::make_unique<XftpState>(XftpStateConfig{}, store, *chunks);
    id.leaf_key = crypto::PrivateKey{crypto::KeyAlg::Ed25519, Bytes(32, 7)};
    id.cert_chain = {Bytes(40, 1), Bytes(40, 2)};
    id.key_hash = Bytes(32, 3);
  }
};

World& world() {
  static World w;
  return w;
}

crypto::X25519KeyPair fixed_key() { return crypto::x25519_keypair(crypto::Key32{0x21}); }

void run_command(World& w, const ProcessCommand& p, ByteView body) {
  auto parsed = parse_transmission(kSession, body);
  if (auto* e = std::get_if<TransmissionError>(&parsed)) {
    check(encode_response_block(kSession, e->corr_id, {}, FRErr{e->err}, p.version).size() == kBlockSize);
    return;
  }
  const auto& t = std::get<RawTransmission>(parsed);
  Outcome o = w.state->handle(t, p.server_dh_priv, 1767225600);
  if (auto* put = std::get_if<Put>(&o)) {
    const ByteView rest = body.size() > kBlockSize ? body.subspan(kBlockSize) : ByteView();
    PutResult r;
    if (!put->discard()) {
      const size_t n = std::min<size_t>(rest.size(), put->size);
      crypto::Sha256Stream h;
      h.update(rest.first(n));
      (void)put->upload->write(rest.first(n));
      r.bytes_ok = n == put->size && rest.size() == n;
      r.digest = h.finish();
    } else {
      r.bytes_ok = rest.size() >= put->size;
    }
    const Response resp = w.state->finish_put(*put, r);
    (void)encode_response_block(kSession, t.corr_id, t.entity_id, resp, p.version);
  } else if (auto* get = std::get_if<Get>(&o)) {
    ChunkCipher cipher(get->keys.k, get->keys.nonce, ChunkCipher::Mode::Encrypt);
    Bytes buf(kFileBlockSize);
    for (uint64_t left = get->size; left > 0;) {
      const size_t n = get->reader.read(std::span<uint8_t>(buf.data(), std::min<uint64_t>(buf.size(), left)));
      check(n > 0);
      cipher.update(std::span<uint8_t>(buf.data(), n));
      left -= n;
    }
    (void)cipher.tag();
    (void)encode_response_block(kSession, t.corr_id, t.entity_id, get->response(), p.version);
  } else {
    (void)encode_response_block(kSession, t.corr_id, t.entity_id, std::get<Response>(o), p.version);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  HandshakeState hs(fixed_key);
  static const std::string_view kAlpn[] = {"", "xftp/1", "h2", "http/1.1"};
  if (size == 0) return 0;
  const uint8_t connection = *data++;
  --size;
  while (size >= 3) {
    const uint8_t flags = data[0];
    const size_t len = std::min<size_t>((size_t{data[1]} << 8 | data[2]) * 8, size - 3);
    const ByteView body(data + 3, len);
    data += 3 + len;
    size -= 3 + len;
    const bool web = (connection & 1) != 0;
    RequestRoute route{kAlpn[(connection >> 3) & 3], web, web && (flags & 2) != 0, web && (flags & 4) != 0};
    auto step = hs.on_request(route, body.first(std::min(body.size(), kBlockSize)), kSession, w.id);
    if (auto* reply = std::get_if<HandshakeReply>(&step)) {
      if (!reply->body.empty()) check(reply->body.size() == kBlockSize);
      if ((flags & 32) && hs.phase() == HandshakeState::Phase::Sent) {
        RequestRoute again = route;
        again.hello_header = false;
        again.handshake_header = web;
        const Bytes ch = encode_client_handshake({3, w.id.key_hash});
        check(std::holds_alternative<HandshakeReply>(hs.on_request(again, ch, kSession, w.id)));
        check(hs.phase() == HandshakeState::Phase::Accepted);
      }
      continue;
    }
    run_command(w, std::get<ProcessCommand>(step), body);
  }
  return 0;
}
