#include "core/cmd_auth.hpp"

#include <atomic>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace sr {

namespace {

using ByteView = std::span<const uint8_t>;

bool ct_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

bool verify_authenticator(ByteView key, ByteView auth, ByteView authorized, ByteView corr_id,
                          const crypto::Key32& server_session_priv, DhCache* cache) {
  const auto dh = cache ? cache->dh(server_session_priv, key) : crypto::x25519_dh(server_session_priv, key);
  if (!dh) return false;
  const auto plain = crypto::box_open(*dh, crypto::cb_nonce(corr_id), auth);
  const auto expected = crypto::sha512(authorized);
  return plain && ct_equal(*plain, expected);
}

std::atomic<uint64_t> g_dummy_verifies{0};

struct DummyKeys {
  crypto::PublicKey ed25519, ed448, x25519;
};
crypto::PublicKey decode_std_b64_spki(std::string_view s) {
  const auto der = base64_decode(s);
  if (!der) throw std::logic_error("bad dummy key");
  auto k = crypto::decode_spki(*der);
  if (!k) throw std::logic_error("bad dummy key");
  return *k;
}
const DummyKeys& dummy_keys() {
  static const DummyKeys keys{
      decode_std_b64_spki("MCowBQYDK2VwAyEA139Oqs4QgpqbAmB0o7rZf6T19ryl7E65k4AYe0kE3Qs="),
      decode_std_b64_spki("MEMwBQYDK2VxAzoA6ibQc9XpkSLtwrf7PLvp81qW/etiumckVFImCMRdftcG/XopbOSaq9qyLhrgJWKOLyNrQPNVvpMA"),
      decode_std_b64_spki("MCowBQYDK2VuAyEA4JGSMYht18H4mas/jHeBwfcM7jLwNYJNOAhi2/g4RXg="),
  };
  return keys;
}

}  // namespace

std::optional<CmdError> parse_cmd_error(std::string_view text) {
  if (text == "NO_QUEUE") return CmdError::NO_ENTITY;  // legacy name
  for (size_t i = 0; i < kCmdErrorNames.size(); ++i)
    if (kCmdErrorNames[i] == text) return static_cast<CmdError>(i);
  return std::nullopt;
}

std::string encode_blocking_info(const BlockingInfo& b) {
  std::string s = b.reason == BlockingInfo::Reason::spam ? "reason=spam" : "reason=content";
  if (b.has_notice) {
    s += ",notice=";
    s += b.notice_ttl ? "{\"ttl\":" + std::to_string(*b.notice_ttl) + "}" : "{}";
  }
  return s;
}

std::optional<BlockingInfo> parse_blocking_info(std::string_view text) {
  BlockingInfo b;
  constexpr std::string_view kReason = "reason=";
  if (text.substr(0, kReason.size()) != kReason) return std::nullopt;
  text.remove_prefix(kReason.size());
  if (text.substr(0, 4) == "spam") {
    b.reason = BlockingInfo::Reason::spam;
    text.remove_prefix(4);
  } else if (text.substr(0, 7) == "content") {
    b.reason = BlockingInfo::Reason::content;
    text.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  if (text.empty()) return b;
  constexpr std::string_view kNotice = ",notice=";
  if (text.substr(0, kNotice.size()) != kNotice) return std::nullopt;
  text.remove_prefix(kNotice.size());
  // The notice JSON: {} or {"ttl":<int>|null}, whitespace allowed.
  size_t i = 0;
  auto ws = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  };
  auto lit = [&](std::string_view l) {
    ws();
    if (text.substr(i, l.size()) != l) return false;
    i += l.size();
    return true;
  };
  if (!lit("{")) return std::nullopt;
  b.has_notice = true;
  if (!lit("}")) {
    if (!lit("\"ttl\"") || !lit(":")) return std::nullopt;
    ws();
    if (!lit("null")) {
      int64_t ttl = 0;
      const auto r = std::from_chars(text.data() + i, text.data() + text.size(), ttl);
      if (r.ec != std::errc()) return std::nullopt;
      i = static_cast<size_t>(r.ptr - text.data());
      b.notice_ttl = ttl;
    }
    if (!lit("}")) return std::nullopt;
  }
  ws();
  if (i != text.size()) return std::nullopt;
  return b;
}

std::optional<Bytes> make_authenticator(const crypto::Key32& priv, ByteView peer_pub, ByteView corr_id,
                                        ByteView authorized) {
  const auto dh = crypto::x25519_dh(priv, peer_pub);
  if (!dh) return std::nullopt;
  const auto digest = crypto::sha512(authorized);
  return crypto::box_seal(*dh, crypto::cb_nonce(corr_id), digest);
}

size_t DhCache::Hash::operator()(const crypto::Key32& k) const noexcept {
  size_t h;
  std::memcpy(&h, k.data(), sizeof h);  // public keys are uniformly distributed
  return h;
}

std::optional<crypto::Key32> DhCache::dh(const crypto::Key32& priv, ByteView pub) {
  if (pub.size() != 32) return std::nullopt;
  crypto::Key32 k;
  std::copy(pub.begin(), pub.end(), k.begin());
  if (auto it = map_.find(k); it != map_.end()) return it->second;
  auto r = crypto::x25519_dh(priv, pub);
  if (!r) return std::nullopt;
  if (map_.size() >= kMaxEntries) map_.clear();
  map_.emplace(k, *r);
  return r;
}

bool verify_auth(const AuthKey& key, ByteView auth, ByteView authorized, ByteView corr_id,
                 const crypto::Key32& server_session_priv, DhCache* cache) {
  switch (auth.size()) {
    case 80:
      if (key.alg == crypto::KeyAlg::X25519)
        return verify_authenticator(key.raw, auth, authorized, corr_id, server_session_priv, cache);
      break;
    case 64:
      if (key.alg == crypto::KeyAlg::Ed25519) return crypto::verify(key, authorized, auth);
      break;
    case 114:
      if (key.alg == crypto::KeyAlg::Ed448) return crypto::verify(key, authorized, auth);
      break;
    default:
      return false;
  }
  // Key kind differs from the authorization kind: same time as a real check.
  return dummy_verify(auth, authorized, corr_id, server_session_priv, cache);
}

bool dummy_verify(ByteView auth, ByteView authorized, ByteView corr_id, const crypto::Key32& server_session_priv,
                  DhCache* cache) {
  const DummyKeys& k = dummy_keys();
  bool r = false;
  switch (auth.size()) {
    case 80:
      r = verify_authenticator(k.x25519.raw, auth, authorized, corr_id, server_session_priv, cache);
      break;
    case 64:
      r = crypto::verify(k.ed25519, authorized, auth);
      break;
    case 114:
      r = crypto::verify(k.ed448, authorized, auth);
      break;
    default:
      break;
  }
  (void)r;
  g_dummy_verifies.fetch_add(1, std::memory_order_relaxed);
  return false;
}

uint64_t dummy_verify_count() { return g_dummy_verifies.load(std::memory_order_relaxed); }

}  // namespace sr
