#include "xftp/protocol.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

#include "core/certs.hpp"
#include "core/server_address.hpp"

namespace sr::xftp {

namespace {

constexpr std::array<std::string_view, 16> kErrorNames = {
    "BLOCK",  "SESSION", "HANDSHAKE", "CMD",      "AUTH",    "BLOCKED", "SIZE",     "QUOTA",
    "DIGEST", "CRYPTO",  "NO_FILE",   "HAS_FILE", "FILE_IO", "TIMEOUT", "INTERNAL", "DUPLICATE_"};

void append(Bytes& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }

Bytes to_bytes(ByteView v) { return Bytes(v.begin(), v.end()); }

// Entity keys: the authorization algorithms (X448 is a key type but not an auth algorithm).
std::optional<AuthKey> read_auth_key(Decoder& d) {
  const auto der = d.short_string();
  if (!der) return std::nullopt;
  auto k = crypto::decode_spki(*der);
  if (!k || k->alg == crypto::KeyAlg::X448) {
    d.fail();
    return std::nullopt;
  }
  return k;
}

std::optional<std::vector<AuthKey>> read_auth_keys(Decoder& d) {
  const auto n = d.non_empty_count();
  if (!n) return std::nullopt;
  std::vector<AuthKey> keys;
  for (size_t i = 0; i < *n; ++i) {
    auto k = read_auth_key(d);
    if (!k) return std::nullopt;
    keys.push_back(std::move(*k));
  }
  return keys;
}

std::optional<DhKey> read_dh_key(Decoder& d) {
  const auto der = d.short_string();
  if (!der) return std::nullopt;
  auto k = crypto::decode_spki(*der);
  if (!k || k->alg != crypto::KeyAlg::X25519) {
    d.fail();
    return std::nullopt;
  }
  return k;
}

void put_keys(Encoder& e, const std::vector<AuthKey>& keys) {
  if (keys.empty()) throw std::length_error("XFTP key list is empty");
  e.list_count(keys.size());
  for (const auto& k : keys) e.short_string(crypto::encode_spki(k));
}

std::optional<std::vector<Bytes>> read_ids(Decoder& d) {
  const auto n = d.non_empty_count();
  if (!n) return std::nullopt;
  std::vector<Bytes> ids;
  for (size_t i = 0; i < *n; ++i) {
    const auto id = d.short_string();
    if (!id) return std::nullopt;
    ids.push_back(to_bytes(*id));
  }
  return ids;
}

void put_ids(Encoder& e, const std::vector<Bytes>& ids) {
  if (ids.empty()) throw std::length_error("XFTP ID list is empty");
  e.list_count(ids.size());
  for (const auto& id : ids) e.short_string(id);
}

// The reference's parseProtocol: the tag is everything up to the first space; the parameters (starting with
// that space) must be consumed exactly.
std::pair<std::string_view, ByteView> split_tag(ByteView bytes) {
  const auto sp = std::find(bytes.begin(), bytes.end(), uint8_t{' '});
  const size_t n = static_cast<size_t>(sp - bytes.begin());
  return {std::string_view(reinterpret_cast<const char*>(bytes.data()), n), bytes.subspan(n)};
}

bool read_space(Decoder& d) {
  const auto c = d.byte();
  if (!c || *c != ' ') {
    d.fail();
    return false;
  }
  return true;
}

bool ct_equal(ByteView a, ByteView b) {
  return a.size() == b.size() && (a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0);
}

template <class T>
bool is(const Command& c) { return std::holds_alternative<T>(c); }

}  // namespace

bool allowed_chunk_size(uint32_t size) {
  return std::find(kChunkSizes.begin(), kChunkSizes.end(), size) != kChunkSizes.end();
}

// ---- Errors ----

bool Error::operator==(const Error& o) const {
  if (kind != o.kind) return false;
  if (kind == Kind::CMD) return cmd == o.cmd;
  if (kind == Kind::BLOCKED) return blocked == o.blocked;
  return true;
}

std::string error_text(const Error& e, uint16_t v) {
  if (e.kind == Error::Kind::BLOCKED && v < kBlockedFilesVersion) return "AUTH";
  std::string s(kErrorNames[static_cast<size_t>(e.kind)]);
  if (e.kind == Error::Kind::CMD) {
    s += ' ';
    s += kCmdErrorNames[static_cast<size_t>(e.cmd)];
  } else if (e.kind == Error::Kind::BLOCKED) {
    s += ' ';
    s += encode_blocking_info(e.blocked);
  }
  return s;
}

std::optional<Error> parse_error(std::string_view text) {
  const size_t sp = text.find(' ');
  const std::string_view word = text.substr(0, sp);
  const std::string_view rest = sp == std::string_view::npos ? std::string_view{} : text.substr(sp + 1);
  const auto it = std::find(kErrorNames.begin(), kErrorNames.end(), word);
  if (it == kErrorNames.end()) return std::nullopt;
  const auto kind = static_cast<Error::Kind>(it - kErrorNames.begin());
  if (kind == Error::Kind::CMD) {
    if (sp == std::string_view::npos) return std::nullopt;
    const auto c = parse_cmd_error(rest);
    if (!c) return std::nullopt;
    return Error::command(*c);
  }
  if (kind == Error::Kind::BLOCKED) {
    if (sp == std::string_view::npos) return std::nullopt;
    const auto b = parse_blocking_info(rest);
    if (!b) return std::nullopt;
    return Error::blocked_by(*b);
  }
  if (sp != std::string_view::npos) return std::nullopt;
  return Error::of(kind);
}

// ---- Blocks ----

std::optional<Bytes> pad_block(ByteView m) { return crypto::pad(m, kBlockSize); }

std::optional<Bytes> unpad_block(ByteView block) { return crypto::unpad(block); }

Bytes encode_handshake_error(Error::Kind k) {
  const auto name = kErrorNames[static_cast<size_t>(k)];
  return *pad_block(as_bytes(name));
}

std::optional<std::string> parse_bare_error(ByteView block) {
  const auto m = unpad_block(block);
  if (!m || m->empty() || m->size() >= 20) return std::nullopt;
  for (uint8_t c : *m)
    if (!((c >= 'A' && c <= 'Z') || c == '_')) return std::nullopt;
  return std::string(m->begin(), m->end());
}

// ---- Handshake ----

Bytes encode_client_hello(const ClientHello& h) {
  Bytes m;
  Encoder(m).maybe(h.web_challenge, [](Encoder& e, const Bytes& c) { e.short_string(c); });
  return *pad_block(m);
}

std::optional<ClientHello> parse_client_hello(ByteView body) {
  if (body.empty()) return ClientHello{};
  const auto m = unpad_block(body.first(std::min(body.size(), kBlockSize)));
  if (!m) return std::nullopt;
  Decoder d(*m);
  const auto c = d.maybe([](Decoder& dd) { return dd.short_string(); });
  if (!c) return std::nullopt;
  ClientHello h;
  if (*c) {
    if ((*c)->size() != kWebChallengeSize) return std::nullopt;
    h.web_challenge = to_bytes(**c);
  }
  return h;  // trailing bytes: future fields
}

Bytes encode_server_handshake(const ServerHandshake& h) {
  Bytes m;
  Encoder e(m);
  e.version_range(h.versions).short_string(h.session_id).list_count(h.cert_chain.size());
  if (h.cert_chain.empty()) throw std::length_error("empty certificate chain");
  for (const auto& c : h.cert_chain) e.large(c);
  e.large(h.signed_dh_key).short_string(h.web_identity_proof);
  auto block = pad_block(m);
  if (!block) throw std::length_error("server handshake does not fit the block");
  return std::move(*block);
}

std::optional<ServerHandshake> parse_server_handshake(ByteView block) {
  const auto m = unpad_block(block);
  if (!m) return std::nullopt;
  Decoder d(*m);
  ServerHandshake h;
  const auto vr = d.version_range();
  const auto sid = d.short_string();
  const auto n = d.non_empty_count();
  if (!d.ok()) return std::nullopt;
  h.versions = *vr;
  h.session_id = to_bytes(*sid);
  for (size_t i = 0; i < *n; ++i) {
    const auto c = d.large();
    if (!c) return std::nullopt;
    h.cert_chain.push_back(to_bytes(*c));
  }
  const auto sk = d.large();
  if (!sk) return std::nullopt;
  h.signed_dh_key = to_bytes(*sk);
  // The proof is an optional field for older servers; its absence (or a failed read) means "no proof".
  if (d.remaining() > 0) {
    if (const auto p = d.short_string()) h.web_identity_proof = to_bytes(*p);
  }
  return h;
}

Bytes make_identity_proof(const crypto::PrivateKey& leaf, ByteView challenge, ByteView session_id) {
  Bytes msg(challenge.begin(), challenge.end());
  msg.insert(msg.end(), session_id.begin(), session_id.end());
  return crypto::sign(leaf, msg);
}

std::optional<crypto::PublicKey> verify_server_handshake(const ServerHandshake& h, ByteView key_hash,
                                                         const std::optional<Bytes>& challenge) {
  if (h.cert_chain.size() != 2) return std::nullopt;
  const auto ca_hash = crypto::sha256(h.cert_chain[1]);
  if (!ct_equal(ca_hash, key_hash)) return std::nullopt;
  const auto leaf = certs::cert_public_key(h.cert_chain[0]);
  if (!leaf || (leaf->alg != crypto::KeyAlg::Ed25519 && leaf->alg != crypto::KeyAlg::Ed448)) return std::nullopt;
  if (challenge) {
    Bytes msg = *challenge;
    msg.insert(msg.end(), h.session_id.begin(), h.session_id.end());
    if (!crypto::verify(*leaf, msg, h.web_identity_proof)) return std::nullopt;
  }
  auto dh = crypto::verify_signed_key(*leaf, h.signed_dh_key);
  if (!dh || dh->alg != crypto::KeyAlg::X25519) return std::nullopt;
  return dh;
}

Bytes encode_client_handshake(const ClientHandshake& h) {
  Bytes m;
  Encoder(m).word16(h.version).short_string(h.key_hash);
  return *pad_block(m);
}

std::optional<ClientHandshake> parse_client_handshake(ByteView body) {
  if (body.size() < kBlockSize) return std::nullopt;
  const auto m = unpad_block(body.first(kBlockSize));
  if (!m) return std::nullopt;
  Decoder d(*m);
  const auto v = d.word16();
  const auto kh = d.short_string();
  if (!d.ok()) return std::nullopt;
  return ClientHandshake{*v, to_bytes(*kh)};
}

bool accept_client_handshake(const ClientHandshake& h, ByteView server_key_hash) {
  return h.version >= kServerVersions.min && h.version <= kServerVersions.max &&
         ct_equal(h.key_hash, server_key_hash);
}

// ---- Commands ----

Party command_party(const Command& c) {
  if (is<FNEW>(c) || is<FADD>(c) || is<FPUT>(c) || is<FDEL>(c)) return Party::Sender;
  if (is<FGET>(c) || is<FACK>(c)) return Party::Recipient;
  return Party::None;
}

std::string_view command_tag(const Command& c) {
  static constexpr std::array<std::string_view, 7> kTags = {"FNEW", "FADD", "FPUT", "FDEL", "FGET", "FACK", "PING"};
  return kTags[c.index()];
}

Bytes encode_command(const Command& c) {
  Bytes out;
  append(out, command_tag(c));
  Encoder e(out);
  if (const auto* x = std::get_if<FNEW>(&c)) {
    e.ch(' ').short_string(crypto::encode_spki(x->file.snd_key)).word32(x->file.size).short_string(x->file.digest);
    put_keys(e, x->rcv_keys);
    e.maybe(x->basic_auth, [](Encoder& ee, const std::string& pw) { ee.short_string(as_bytes(pw)); });
  } else if (const auto* a = std::get_if<FADD>(&c)) {
    e.ch(' ');
    put_keys(e, a->rcv_keys);
  } else if (const auto* g = std::get_if<FGET>(&c)) {
    e.ch(' ').short_string(crypto::encode_spki(g->rcv_dh_key));
  }
  return out;
}

std::variant<Command, CmdError> parse_command(ByteView bytes) {
  const auto [tag, params] = split_tag(bytes);
  Decoder d(params);
  std::optional<Command> cmd;
  if (tag == "FNEW") {
    read_space(d);
    auto snd = read_auth_key(d);
    const auto size = d.word32();
    const auto digest = d.short_string();
    auto keys = read_auth_keys(d);
    auto pw = d.maybe([](Decoder& dd) -> std::optional<std::string> {
      const auto s = dd.short_string();
      if (!s) return std::nullopt;
      std::string p(s->begin(), s->end());
      if (!valid_basic_auth(p)) {
        dd.fail();
        return std::nullopt;
      }
      return p;
    });
    if (d.ok()) cmd = FNEW{FileInfo{std::move(*snd), *size, to_bytes(*digest)}, std::move(*keys), std::move(*pw)};
  } else if (tag == "FADD") {
    read_space(d);
    auto keys = read_auth_keys(d);
    if (d.ok()) cmd = FADD{std::move(*keys)};
  } else if (tag == "FPUT") {
    cmd = FPUT{};
  } else if (tag == "FDEL") {
    cmd = FDEL{};
  } else if (tag == "FGET") {
    read_space(d);
    auto k = read_dh_key(d);
    if (d.ok()) cmd = FGET{std::move(*k)};
  } else if (tag == "FACK") {
    cmd = FACK{};
  } else if (tag == "PING") {
    cmd = PING{};
  } else {
    return CmdError::UNKNOWN;
  }
  if (!cmd || !d.at_end()) return CmdError::SYNTAX;
  return std::move(*cmd);
}

std::optional<CmdError> check_credentials(const Command& c, bool has_auth, bool has_entity) {
  if (is<FNEW>(c)) {
    if (!has_auth) return CmdError::NO_AUTH;
    if (has_entity) return CmdError::HAS_AUTH;
    return std::nullopt;
  }
  if (is<PING>(c)) {
    if (has_auth || has_entity) return CmdError::HAS_AUTH;
    return std::nullopt;
  }
  if (!has_auth || !has_entity) return CmdError::NO_AUTH;
  return std::nullopt;
}

// ---- Responses ----

Bytes encode_response(const Response& r, uint16_t v) {
  Bytes out;
  Encoder e(out);
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, FRSndIds>) {
          append(out, "SIDS ");
          e.short_string(x.sender_id);
          put_ids(e, x.recipient_ids);
        } else if constexpr (std::is_same_v<T, FRRcvIds>) {
          append(out, "RIDS ");
          put_ids(e, x.recipient_ids);
        } else if constexpr (std::is_same_v<T, FRFile>) {
          append(out, "FILE ");
          e.short_string(crypto::encode_spki(x.srv_dh_key)).raw(x.nonce);
        } else if constexpr (std::is_same_v<T, FROk>) {
          append(out, "OK");
        } else if constexpr (std::is_same_v<T, FRErr>) {
          append(out, "ERR ");
          append(out, error_text(x.err, v));
        } else {
          append(out, "PONG");
        }
      },
      r);
  return out;
}

std::variant<Response, Error> parse_response(ByteView bytes) {
  const auto [tag, params] = split_tag(bytes);
  Decoder d(params);
  std::optional<Response> r;
  const auto syntax = Error::command(CmdError::SYNTAX);
  if (tag == "SIDS") {
    read_space(d);
    const auto sid = d.short_string();
    auto rids = read_ids(d);
    if (d.ok()) r = FRSndIds{to_bytes(*sid), std::move(*rids)};
  } else if (tag == "RIDS") {
    read_space(d);
    auto rids = read_ids(d);
    if (d.ok()) r = FRRcvIds{std::move(*rids)};
  } else if (tag == "FILE") {
    read_space(d);
    auto k = read_dh_key(d);
    const auto n = d.raw(kNonceSize);
    if (d.ok()) {
      FRFile f{std::move(*k), {}};
      std::copy(n->begin(), n->end(), f.nonce.begin());
      r = std::move(f);
    }
  } else if (tag == "OK") {
    r = FROk{};
  } else if (tag == "PONG") {
    r = FRPong{};
  } else if (tag == "ERR") {
    if (!read_space(d)) return syntax;
    const auto rest = d.rest();
    const auto e = parse_error(std::string_view(reinterpret_cast<const char*>(rest.data()), rest.size()));
    if (!e) return syntax;
    return Response(FRErr{*e});
  } else {
    return Error::command(CmdError::UNKNOWN);
  }
  if (!r || !d.at_end()) return syntax;
  return std::move(*r);
}

std::optional<CmdError> check_response_credentials(const Response& r, bool has_entity) {
  if (std::holds_alternative<FRErr>(r)) return std::nullopt;
  if (std::holds_alternative<FRSndIds>(r) || std::holds_alternative<FRPong>(r))
    return has_entity ? std::optional(CmdError::HAS_AUTH) : std::nullopt;
  return has_entity ? std::nullopt : std::optional(CmdError::NO_ENTITY);
}

// ---- Transmissions ----

Bytes authorized_bytes(ByteView session_id, ByteView corr_id, ByteView entity_id, ByteView command) {
  Bytes out;
  Encoder(out).short_string(session_id).short_string(corr_id).short_string(entity_id).tail(command);
  return out;
}

Bytes encode_transmission_block(ByteView auth, ByteView authorized) {
  Bytes t;
  Encoder(t).short_string(auth).tail(authorized);
  Bytes m;
  Encoder(m).byte(1).large(t);
  auto block = pad_block(m);
  if (!block) throw std::length_error("XFTP transmission does not fit the block");
  return std::move(*block);
}

std::variant<RawTransmission, TransmissionError> parse_transmission(ByteView session_id, ByteView body) {
  const TransmissionError block_error{Error::of(Error::Kind::BLOCK), {}};
  if (body.size() < kBlockSize) return block_error;
  // unpad without copying: w16 length, then that many bytes.
  const ByteView block = body.first(kBlockSize);
  Decoder outer(block);
  const auto len = outer.word16();
  const auto content = outer.raw(len.value_or(0));
  if (!outer.ok()) return block_error;
  Decoder batch(*content);
  const auto n = batch.byte();
  const auto item = batch.large();
  if (!batch.at_end() || *n != 1) return block_error;
  Decoder d(*item);
  RawTransmission t;
  const auto auth = d.short_string();
  if (!auth) return block_error;
  t.auth = *auth;
  t.authorized = item->subspan(1 + auth->size());
  const auto sid = d.short_string();
  const auto corr = d.short_string();
  const auto entity = d.short_string();
  if (!d.ok()) return block_error;
  t.corr_id = *corr;
  t.entity_id = *entity;
  t.command = d.rest();
  if (!std::ranges::equal(*sid, session_id)) return TransmissionError{Error::of(Error::Kind::SESSION), to_bytes(*corr)};
  switch (t.auth.size()) {
    case 0: case 64: case 80: case 114:
      return t;
    default:
      return TransmissionError{Error::of(Error::Kind::BLOCK), to_bytes(*corr)};
  }
}

Bytes encode_response_block(ByteView session_id, ByteView corr_id, ByteView entity_id, const Response& r, uint16_t v) {
  return encode_transmission_block({}, authorized_bytes(session_id, corr_id, entity_id, encode_response(r, v)));
}

Bytes encode_command_block(ByteView session_id, ByteView corr_id, ByteView entity_id, const Command& c,
                           const ClientAuth& auth) {
  const Bytes authorized = authorized_bytes(session_id, corr_id, entity_id, encode_command(c));
  Bytes sig;
  if (auth.key) {
    if (auth.key->alg == crypto::KeyAlg::X25519) {
      if (!auth.server_dh_key) throw std::runtime_error("X25519 authenticator needs the server's DH key");
      crypto::Key32 priv;
      if (auth.key->raw.size() != priv.size()) throw std::invalid_argument("bad X25519 private key");
      std::copy(auth.key->raw.begin(), auth.key->raw.end(), priv.begin());
      auto a = make_authenticator(priv, *auth.server_dh_key, corr_id, authorized);
      sodium_memzero(priv.data(), priv.size());
      if (!a) throw std::runtime_error("X25519 authenticator: DH failed");
      sig = std::move(*a);
    } else {
      sig = crypto::sign(*auth.key, authorized);
    }
  }
  return encode_transmission_block(sig, authorized);
}

std::variant<ResponseTransmission, Error> parse_response_block(ByteView session_id, ByteView block) {
  const auto m = unpad_block(block);
  if (!m) return Error::of(Error::Kind::BLOCK);
  Decoder batch(*m);
  const auto n = batch.byte();
  const auto item = batch.large();
  if (!batch.at_end() || *n != 1) return Error::of(Error::Kind::BLOCK);
  Decoder d(*item);
  d.short_string();  // authorization: responses carry none, the reference client does not look at it
  const auto sid = d.short_string();
  const auto corr = d.short_string();
  const auto entity = d.short_string();
  if (!d.ok()) return Error::of(Error::Kind::BLOCK);
  ResponseTransmission t{to_bytes(*corr), {}, Error::of(Error::Kind::SESSION)};
  if (!std::ranges::equal(*sid, session_id)) return t;
  t.entity_id = to_bytes(*entity);
  auto r = parse_response(d.rest());
  if (const auto* resp = std::get_if<Response>(&r)) {
    if (const auto ce = check_response_credentials(*resp, !t.entity_id.empty())) r = Error::command(*ce);
  }
  t.response = std::move(r);
  return t;
}

// ---- Authorization ----

bool verify_transmission(const AuthKey& key, const RawTransmission& t,
                         const std::optional<crypto::Key32>& server_dh_priv, DhCache* cache) {
  if (t.auth.empty()) return false;
  if (!server_dh_priv) {
    // No handshake (legacy v1): authenticators cannot be checked.
    if (t.auth.size() == 80) return false;
    return verify_auth(key, t.auth, t.authorized, t.corr_id, crypto::Key32{}, cache);
  }
  return verify_auth(key, t.auth, t.authorized, t.corr_id, *server_dh_priv, cache);
}

bool dummy_verify_transmission(const RawTransmission& t, const std::optional<crypto::Key32>& server_dh_priv,
                               DhCache* cache) {
  return dummy_verify(t.auth, t.authorized, t.corr_id, server_dh_priv.value_or(crypto::Key32{}), cache);
}

// ---- Download encryption ----

static_assert(sizeof(crypto_onetimeauth_state) <= 256 && alignof(crypto_onetimeauth_state) <= 16);

namespace {
crypto_onetimeauth_state* mac_state(std::array<uint8_t, 256>& storage) {
  return std::launder(reinterpret_cast<crypto_onetimeauth_state*>(storage.data()));
}
}  // namespace

ChunkCipher::ChunkCipher(const crypto::Key32& k, const crypto::Nonce& nonce, Mode mode)
    : k_(k), nonce_(nonce), mode_(mode) {
  std::array<uint8_t, 64> block0;
  keystream_block(0, block0);
  crypto_onetimeauth_init(new (mac_state_.data()) crypto_onetimeauth_state, block0.data());
  sodium_memzero(block0.data(), block0.size());
}

ChunkCipher::~ChunkCipher() {
  sodium_memzero(k_.data(), k_.size());
  sodium_memzero(mac_state_.data(), mac_state_.size());
}

void ChunkCipher::keystream_block(uint64_t block, std::array<uint8_t, 64>& out) const {
  out.fill(0);
  crypto_stream_xsalsa20_xor_ic(out.data(), out.data(), out.size(), nonce_.data(), block, k_.data());
}

void ChunkCipher::xor_stream(std::span<uint8_t> data) {
  size_t i = 0;
  while (i < data.size()) {
    const size_t off = pos_ % 64;
    const size_t left = data.size() - i;
    if (off == 0 && left >= 64) {
      // Whole 64-byte keystream blocks straight from libsodium.
      const size_t n = left - left % 64;
      crypto_stream_xsalsa20_xor_ic(data.data() + i, data.data() + i, n, nonce_.data(), pos_ / 64, k_.data());
      i += n;
      pos_ += n;
    } else {
      std::array<uint8_t, 64> ks;
      keystream_block(pos_ / 64, ks);
      const size_t n = std::min(left, 64 - off);
      for (size_t j = 0; j < n; ++j) data[i + j] ^= ks[off + j];
      sodium_memzero(ks.data(), ks.size());
      i += n;
      pos_ += n;
    }
  }
}

void ChunkCipher::update(std::span<uint8_t> data) {
  if (mode_ == Mode::Decrypt) crypto_onetimeauth_update(mac_state(mac_state_), data.data(), data.size());
  xor_stream(data);
  if (mode_ == Mode::Encrypt) crypto_onetimeauth_update(mac_state(mac_state_), data.data(), data.size());
}

std::array<uint8_t, kAuthTagSize> ChunkCipher::tag() {
  std::array<uint8_t, kAuthTagSize> t;
  crypto_onetimeauth_final(mac_state(mac_state_), t.data());
  return t;
}

bool ChunkCipher::verify(ByteView received_tag) {
  const auto t = tag();
  return received_tag.size() == t.size() && crypto_verify_16(t.data(), received_tag.data()) == 0;
}

std::optional<DownloadKeys> download_keys(const DhKey& rcv_dh_key, const crypto::X25519KeyPair& server,
                                          const crypto::Nonce& nonce) {
  if (rcv_dh_key.alg != crypto::KeyAlg::X25519) return std::nullopt;
  const auto k = crypto::box_beforenm(server.priv, rcv_dh_key.raw);
  if (!k) return std::nullopt;
  return DownloadKeys{server, nonce, *k};
}

std::optional<DownloadKeys> new_download_keys(const DhKey& rcv_dh_key) {
  return download_keys(rcv_dh_key, crypto::x25519_generate(), crypto::random_nonce());
}

Bytes encrypt_chunk(const crypto::Key32& k, const crypto::Nonce& nonce, ByteView chunk) {
  Bytes out(chunk.begin(), chunk.end());
  ChunkCipher c(k, nonce, ChunkCipher::Mode::Encrypt);
  c.update(out);
  const auto t = c.tag();
  out.insert(out.end(), t.begin(), t.end());
  return out;
}

std::optional<Bytes> decrypt_chunk(const crypto::Key32& k, const crypto::Nonce& nonce, ByteView body) {
  if (body.size() < kAuthTagSize) return std::nullopt;
  Bytes out(body.begin(), body.end() - kAuthTagSize);
  ChunkCipher c(k, nonce, ChunkCipher::Mode::Decrypt);
  c.update(out);
  if (!c.verify(body.last(kAuthTagSize))) return std::nullopt;
  return out;
}

}  // namespace sr::xftp
