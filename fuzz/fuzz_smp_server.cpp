// libFuzzer target: the SMP relay's pre-socket path, block → batch → transmission → command → state machine →
// response encoders (smp-transport.md §5–§6, smp-commands.md §2.2–§11), on a fresh ServerState per input.
//
// Input: byte 0 picks the version (6 + b % 13), byte 1 the connection flags (bit 0: block encryption at v11+,
// bit 1: proxyServer, bit 2: run the periodic expiry/notification jobs at the end). The rest is a list of
// blocks (at most 16), each a big-endian uint16 length then that many bytes, zero-extended (or cut) to one
// 16384-byte block.
// The fixed session id, keys and seeded queues below let the corpus generator write inputs that reach the
// authorized recipient/sender/notifier paths.
//
// `FUZZ_SMP_WRITE_SEEDS=<dir> ./fuzz_smp_server` writes a seed corpus there and exits.
//
// Any sanitizer report, uncaught exception or broken invariant below is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "smp/protocol.hpp"
#include "smp/server_state.hpp"

using namespace sr;
using namespace sr::smp;

namespace {

constexpr int64_t kNow = 1'750'000'000;

void check(bool ok) {
  if (!ok) std::abort();
}

Id fill_id(uint8_t b) {
  Id id;
  id.fill(b);
  return id;
}

crypto::PrivateKey fixed_key(crypto::KeyAlg alg, uint8_t b) {
  return crypto::PrivateKey{alg, Bytes(crypto::private_key_size(alg), b)};
}

Bytes session_id() { return Bytes(32, 0x5e); }

// The fuzzed connection's per-connection X25519 key, and the client key it was "negotiated" with.
crypto::Key32 server_session_priv() {
  crypto::Key32 k;
  k.fill(0x71);
  return k;
}
crypto::X25519KeyPair client_hello_key() {
  crypto::Key32 k;
  k.fill(0x72);
  return crypto::x25519_keypair(k);
}

// Seeded queues (fixed ids so inputs can address them):
//   A: messaging, unsecured, recipient key Ed25519(0x11), subscribed by the seed connection.
//   B: messaging, secured by Ed25519(0x22), recipient key X25519(0x12) (authenticator path), one message.
//   C: contact queue with link L and notifier N (key Ed25519(0x33)).
const Id kRcvA = fill_id('A'), kSndA = fill_id('a');
const Id kRcvB = fill_id('B'), kSndB = fill_id('b');
const Id kRcvC = fill_id('C'), kSndC = fill_id('c'), kLinkC = fill_id('L'), kNtfC = fill_id('N');

QueueRec make_queue(const Id& rid, const Id& sid, const crypto::PrivateKey& rcv, char mode) {
  QueueRec q;
  q.recipient_id = rid;
  q.sender_id = sid;
  q.rcv_key = StoredKey::of(crypto::public_key(rcv));
  q.rcv_dh_secret.fill(0x5a);
  q.mode = static_cast<uint8_t>(mode);
  return q;
}

Bytes tx(const SessionParams& s, ByteView corr, const Id& entity, const Command& c, const ClientAuth& auth = {}) {
  return encode_client_transmission(s, corr, view(entity), encode_command(c, s.version), auth);
}

Bytes tx0(const SessionParams& s, ByteView corr, const Command& c, const ClientAuth& auth = {}) {
  return encode_client_transmission(s, corr, {}, encode_command(c, s.version), auth);
}

ClientAuth auth_of(crypto::KeyAlg alg, uint8_t b) {
  ClientAuth a;
  a.key = fixed_key(alg, b);
  if (alg == crypto::KeyAlg::X25519) a.server_session_key = crypto::x25519_public(server_session_priv());
  return a;
}

Bytes batch_of(const std::vector<Bytes>& items) {
  auto blocks = batch_transmissions(items);
  check(blocks.size() == 1);
  return blocks[0];
}

bool verbose = false;  // FUZZ_SMP_VERBOSE=1: print every response (to check that seeds reach deep paths)

// Encodes and clears a connection's outbox, as the session writer does.
void drain(ClientState& c) {
  std::vector<Bytes> txs;
  for (const auto& o : c.outbox) {
    if (verbose) {
      const auto* e = std::get_if<resp::ERR>(&o.response);
      std::fprintf(stderr, "client %llu: %s %s\n", static_cast<unsigned long long>(c.id),
                   response_tag(o.response, c.params.version), e ? error_text(e->err).c_str() : "");
    }
    Bytes r = encode_response(o.response, c.params.version);
    check(!r.empty());
    txs.push_back(encode_server_transmission(c.params, o.corr_id, o.entity_id, r));
    auto back = parse_server_transmission(c.params, txs.back());
    check(back.has_value());
    check(back->corr_id == o.corr_id && back->entity_id == o.entity_id);
  }
  size_t dropped = 0;
  for (const auto& b : batch_transmissions(txs, &dropped)) check(parse_batch(b).has_value());
  c.outbox.clear();
}

void seed_state(ServerState& st) {
  auto a = make_queue(kRcvA, kSndA, fixed_key(crypto::KeyAlg::Ed25519, 0x11), 'M');
  auto b = make_queue(kRcvB, kSndB, fixed_key(crypto::KeyAlg::X25519, 0x12), 'M');
  b.snd_key = StoredKey::of(crypto::public_key(fixed_key(crypto::KeyAlg::Ed25519, 0x22)));
  auto c = make_queue(kRcvC, kSndC, fixed_key(crypto::KeyAlg::Ed25519, 0x13), 'C');
  c.ensure_extra().link = QueueLink{kLinkC, Bytes{'f', 'x'}, Bytes{'u', 's'}};
  NotifierRec n;
  n.notifier_id = kNtfC;
  n.notifier_key = StoredKey::of(crypto::public_key(fixed_key(crypto::KeyAlg::Ed25519, 0x33)));
  n.rcv_ntf_dh_secret.fill(0x34);
  c.ensure_extra().notifier = n;
  check(st.queues().add(std::move(a)) == StoreResult::Ok);
  check(st.queues().add(std::move(b)) == StoreResult::Ok);
  check(st.queues().add(std::move(c)) == StoreResult::Ok);

  // The seed connection (v18, unencrypted): subscribes A, puts a message into B, creates one more queue
  // through the encoder.
  ClientState& seed = st.add_client(1);
  seed.params = SessionParams{kMaxVersion, Bytes(32, 0x01)};
  const Bytes corr(24, 0x01);
  ClientAuth ra, sb, nk;
  ra.key = fixed_key(crypto::KeyAlg::Ed25519, 0x11);
  sb.key = fixed_key(crypto::KeyAlg::Ed25519, 0x22);
  nk.key = fixed_key(crypto::KeyAlg::Ed25519, 0x44);
  const auto dh = crypto::x25519_keypair(server_session_priv());
  cmd::NEW nq{crypto::public_key(*nk.key), DhKey{crypto::KeyAlg::X25519, Bytes(dh.pub.begin(), dh.pub.end())},
              std::nullopt, true, QueueReqData{}, std::nullopt};
  const Bytes items = batch_of({tx(seed.params, corr, kRcvA, cmd::SUB{}, ra),
                                tx(seed.params, corr, kSndB, cmd::SEND{true, Bytes{'h', 'i'}}, sb),
                                tx0(seed.params, corr, nq, nk)});
  auto parsed = parse_batch(items);
  check(parsed.has_value());
  for (ByteView item : *parsed) st.process_item(seed, item, kNow);
  drain(seed);
}

struct Connection {
  ClientState* cs;
  BlockReceiver receiver;
};

Connection open_connection(ServerState& st, uint16_t v, uint8_t flags) {
  ClientState& c = st.add_client(2);
  c.params = SessionParams{v, session_id()};
  c.session_priv = server_session_priv();
  c.proxy_server = v >= kProxyServerHandshakeVersion && (flags & 2);
  Connection conn{&c, {}};
  if (v >= kAuthCmdsVersion) {
    c.session_secret = crypto::x25519_dh(server_session_priv(), client_hello_key().pub);
    if (v >= kEncryptedBlockVersion && (flags & 1) && !c.proxy_server && c.session_secret)
      conn.receiver = BlockReceiver(crypto::sbchain_init(c.params.session_id, *c.session_secret).client_to_server);
  }
  return conn;
}

// ---- Seed corpus ----

void write_file(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// One input: header, then each batch content as a block (sealed with the client's chain when encrypted).
Bytes make_input(uint16_t v, uint8_t flags, const std::vector<std::vector<Bytes>>& blocks) {
  Bytes out{static_cast<uint8_t>(v - 6), flags};
  std::optional<BlockSender> sender;
  if (v >= kEncryptedBlockVersion && (flags & 1) && !(v >= kProxyServerHandshakeVersion && (flags & 2))) {
    auto secret = crypto::x25519_dh(client_hello_key().priv, crypto::x25519_public(server_session_priv()));
    check(secret.has_value());
    sender = BlockSender(crypto::sbchain_init(session_id(), *secret).client_to_server);
  }
  for (const auto& items : blocks) {
    Bytes content = batch_of(items);
    Bytes block;
    if (sender) {
      auto sealed = sender->seal(content);
      check(sealed.has_value());
      block = std::move(*sealed);
    } else {
      // plain: 2-byte length + content; the zero extension stands for the padding.
      Encoder(block).large(content);
    }
    Encoder(out).word16(static_cast<uint16_t>(block.size()));
    out.insert(out.end(), block.begin(), block.end());
  }
  return out;
}

std::vector<std::vector<Bytes>> seed_blocks(uint16_t v) {
  const SessionParams s{v, session_id()};
  const ClientAuth ra = auth_of(crypto::KeyAlg::Ed25519, 0x11), rb = auth_of(crypto::KeyAlg::X25519, 0x12),
                   rc = auth_of(crypto::KeyAlg::Ed25519, 0x13), sb = auth_of(crypto::KeyAlg::Ed25519, 0x22),
                   fresh = auth_of(crypto::KeyAlg::Ed25519, 0x55), ntf = auth_of(crypto::KeyAlg::Ed25519, 0x33),
                   sa = auth_of(crypto::KeyAlg::Ed25519, 0x66);
  const AuthKey new_snd = crypto::public_key(fixed_key(crypto::KeyAlg::Ed25519, 0x66));
  const DhKey dh{crypto::KeyAlg::X25519, [] {
                   auto p = client_hello_key().pub;
                   return Bytes(p.begin(), p.end());
                 }()};
  Bytes c1(24, 0x10), c2(24, 0x20), c3(24, 0x30), c4(24, 0x40), c5(24, 0x50);
  const Id none{};
  cmd::NEW nq{crypto::public_key(*fresh.key), dh, std::nullopt, false, QueueReqData{}, std::nullopt};
  std::vector<std::vector<Bytes>> blocks;
  blocks.push_back({tx0(s, c1, cmd::PING{}), tx0(s, c2, nq, fresh),
                    tx(s, c3, kSndA, cmd::SEND{false, Bytes{'m', '1'}}), tx(s, c4, kRcvB, cmd::GET{}, rb)});
  blocks.push_back({tx(s, c1, kRcvA, cmd::SUB{}, ra), tx(s, c2, kRcvA, cmd::KEY{new_snd}, ra),
                    tx(s, c3, kSndB, cmd::SEND{true, Bytes(100, 'x')}, sb), tx(s, c4, kRcvB, cmd::QUE{}, rb),
                    tx(s, c5, kRcvB, cmd::OFF{}, rb)});
  blocks.push_back({tx(s, c1, kNtfC, cmd::NSUB{}, ntf), tx(s, c2, kRcvC, cmd::NDEL{}, rc),
                    tx(s, c3, kRcvB, cmd::DEL{}, rb), tx(s, c4, none, cmd::GET{})});
  if (v >= kShortLinksVersion)
    blocks.push_back({tx(s, c1, kLinkC, cmd::LGET{}), tx(s, c2, kRcvC, cmd::LDEL{}, rc),
                      tx(s, c3, kSndA, cmd::SKEY{new_snd}, sa)});
  if (v >= kSendingProxyVersion)
    blocks.push_back({tx0(s, c1, cmd::PRXY{cmd::SMPServer{{"example.org"}, "", Bytes(32, 1)}, std::nullopt})});
  return blocks;
}

void write_seeds(const std::string& dir) {
  int n = 0;
  for (uint16_t v : {6, 7, 9, 11, 14, 15, 16, 17, 18}) {
    for (uint8_t flags : {0, 1, 4}) {
      if (flags == 1 && v < kEncryptedBlockVersion) continue;
      write_file(dir + "/seed-v" + std::to_string(v) + "-f" + std::to_string(flags), make_input(v, flags, seed_blocks(v)));
      ++n;
    }
  }
  std::fprintf(stderr, "wrote %d seeds to %s\n", n, dir.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("FUZZ_SMP_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  verbose = std::getenv("FUZZ_SMP_VERBOSE") != nullptr;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint16_t v = static_cast<uint16_t>(kMinVersion + data[0] % (kMaxVersion - kMinVersion + 1));
  const uint8_t flags = data[1];
  ByteView rest(data + 2, size - 2);

  ServerState st(RelayConfig{});
  seed_state(st);
  Connection conn = open_connection(st, v, flags);
  ClientState& seed = *st.client(1);

  // memcpy/memset rather than std::fill/copy: those are instrumented per byte and dominated the run time.
  // At most 16 blocks per input, so tiny length fields do not turn one input into thousands of blocks.
  Bytes block(kBlockSize);
  for (int n = 0; rest.size() >= 2 && n < 16; ++n) {
    const size_t len = std::min<size_t>({static_cast<size_t>(rest[0]) << 8 | rest[1], rest.size() - 2, kBlockSize});
    std::memcpy(block.data(), rest.data() + 2, len);
    std::memset(block.data() + len, 0, kBlockSize - len);
    rest = rest.subspan(2 + len);

    auto content = conn.receiver.open(block);
    auto items = content ? parse_batch(*content) : std::nullopt;
    if (!items) {
      conn.cs->push({{}, {}, resp::ERR{ErrorType::of(ErrorType::Kind::BLOCK)}});
    } else {
      check(!items->empty() && items->size() <= kMaxBatchItems);
      st.process_batch(*conn.cs, *items, kNow);
    }
    conn.cs->proxy_jobs.clear();  // PRXY/PFWD accepted for the proxy role: their I/O is not fuzzed here
    drain(*conn.cs);
    drain(seed);
  }
  if (flags & 4) {
    const int64_t later = kNow + 40 * 86400;
    st.deliver_notifications();
    st.expire_messages(later);
    st.expire_notifications(later);
    st.remove_client(2);
    drain(seed);
  }
  return 0;
}
