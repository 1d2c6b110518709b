#include "core/crypto.hpp"

#include <sodium.h>

#include <algorithm>
#include <memory>
#include <new>
#include <stdexcept>
#include <utility>

#include <openssl/evp.h>
#include <openssl/sha.h>
#ifdef SR_TLS_BORINGSSL
#include <openssl/hkdf.h>
#else
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#endif

namespace sr::crypto {

namespace {

void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium initialisation failed");
}

// Fixed RFC 8410 DER prefixes (§2.1), indexed by KeyAlg.
struct AlgInfo {
  KeyAlg alg;
  size_t pub_len;
  size_t priv_len;
  size_t sig_len;
  Bytes spki_prefix;
  Bytes pkcs8_prefix;
};

const std::array<AlgInfo, 4>& alg_table() {
  static const std::array<AlgInfo, 4> t{{
      {KeyAlg::Ed25519, 32, 32, 64,
       {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00},
       {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20}},
      {KeyAlg::Ed448, 57, 57, 114,
       {0x30, 0x43, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71, 0x03, 0x3a, 0x00},
       {0x30, 0x47, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71, 0x04, 0x3b, 0x04, 0x39}},
      {KeyAlg::X25519, 32, 32, 0,
       {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00},
       {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20}},
      {KeyAlg::X448, 56, 56, 0,
       {0x30, 0x42, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6f, 0x03, 0x39, 0x00},
       {0x30, 0x46, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6f, 0x04, 0x3a, 0x04, 0x38}},
  }};
  return t;
}

const AlgInfo& info(KeyAlg alg) {
  for (const auto& a : alg_table())
    if (a.alg == alg) return a;
  throw std::invalid_argument("unknown key algorithm");
}

bool starts_with(std::span<const uint8_t> data, const Bytes& prefix) {
  return data.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), data.begin());
}

Bytes prefixed(const Bytes& prefix, const Bytes& raw, size_t raw_len) {
  if (raw.size() != raw_len) throw std::invalid_argument("key has the wrong length for its algorithm");
  Bytes out = prefix;
  out.insert(out.end(), raw.begin(), raw.end());
  return out;
}

// AlgorithmIdentifier DER of the EdDSA signature algorithms (no parameters).
Bytes sig_alg_der(KeyAlg alg) {
  if (alg == KeyAlg::Ed25519) return {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
  if (alg == KeyAlg::Ed448) return {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71};
  throw std::invalid_argument("signed object signer must be Ed25519 or Ed448");
}

void append_tlv(Bytes& out, uint8_t tag, std::span<const uint8_t> content) {
  out.push_back(tag);
  const size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else if (n < 0x100) {
    out.insert(out.end(), {0x81, static_cast<uint8_t>(n)});
  } else {
    out.insert(out.end(), {0x82, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
  }
  out.insert(out.end(), content.begin(), content.end());
}

// One BER TLV (definite length) at the front of `data`.
struct Tlv {
  uint8_t tag;
  std::span<const uint8_t> whole;    // tag + length + content
  std::span<const uint8_t> content;
};

std::optional<Tlv> read_tlv(std::span<const uint8_t> data) {
  if (data.size() < 2) return std::nullopt;
  size_t pos = 2;
  size_t len = data[1];
  if (len & 0x80) {
    const size_t nbytes = len & 0x7f;
    if (nbytes == 0 || nbytes > 3 || data.size() < 2 + nbytes) return std::nullopt;
    len = 0;
    for (size_t i = 0; i < nbytes; ++i) len = (len << 8) | data[2 + i];
    pos += nbytes;
  }
  if (data.size() - pos < len) return std::nullopt;
  return Tlv{data[0], data.subspan(0, pos + len), data.subspan(pos, len)};
}

#ifndef SR_TLS_BORINGSSL
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

int evp_type(KeyAlg alg) { return alg == KeyAlg::Ed448 ? EVP_PKEY_ED448 : EVP_PKEY_X448; }
#endif

#ifdef SR_TLS_BORINGSSL
[[noreturn]] void no_448() { throw std::runtime_error("Ed448/X448 keys are not supported by the BoringSSL build"); }
#endif

}  // namespace

size_t public_key_size(KeyAlg alg) { return info(alg).pub_len; }
size_t private_key_size(KeyAlg alg) { return info(alg).priv_len; }
size_t signature_size(KeyAlg alg) { return info(alg).sig_len; }

Bytes encode_spki(const PublicKey& key) {
  const auto& a = info(key.alg);
  return prefixed(a.spki_prefix, key.raw, a.pub_len);
}

std::optional<PublicKey> decode_spki(std::span<const uint8_t> der) {
  for (const auto& a : alg_table()) {
    if (starts_with(der, a.spki_prefix) && der.size() == a.spki_prefix.size() + a.pub_len)
      return PublicKey{a.alg, Bytes(der.begin() + a.spki_prefix.size(), der.end())};
  }
  return std::nullopt;
}

Bytes encode_pkcs8(const PrivateKey& key) {
  const auto& a = info(key.alg);
  return prefixed(a.pkcs8_prefix, key.raw, a.priv_len);
}

std::optional<PrivateKey> decode_pkcs8(std::span<const uint8_t> der) {
  for (const auto& a : alg_table()) {
    if (starts_with(der, a.pkcs8_prefix) && der.size() == a.pkcs8_prefix.size() + a.priv_len)
      return PrivateKey{a.alg, Bytes(der.begin() + a.pkcs8_prefix.size(), der.end())};
  }
  return std::nullopt;
}

PublicKey public_key(const PrivateKey& key) {
  ensure_sodium();
  if (key.raw.size() != private_key_size(key.alg)) throw std::invalid_argument("private key has the wrong length");
  switch (key.alg) {
    case KeyAlg::Ed25519: {
      Key32 pk;
      std::array<uint8_t, crypto_sign_SECRETKEYBYTES> sk;
      crypto_sign_seed_keypair(pk.data(), sk.data(), key.raw.data());
      sodium_memzero(sk.data(), sk.size());
      return {key.alg, Bytes(pk.begin(), pk.end())};
    }
    case KeyAlg::X25519: {
      Key32 priv;
      std::copy(key.raw.begin(), key.raw.end(), priv.begin());
      const Key32 pub = x25519_public(priv);
      return {key.alg, Bytes(pub.begin(), pub.end())};
    }
    case KeyAlg::Ed448:
    case KeyAlg::X448: {
#ifdef SR_TLS_BORINGSSL
      no_448();
#else
      PkeyPtr pkey(EVP_PKEY_new_raw_private_key(evp_type(key.alg), nullptr, key.raw.data(), key.raw.size()));
      Bytes pub(public_key_size(key.alg));
      size_t len = pub.size();
      if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1 || len != pub.size())
        throw std::runtime_error("OpenSSL could not derive the public key");
      return {key.alg, pub};
#endif
    }
  }
  throw std::invalid_argument("unknown key algorithm");
}

Key32 x25519_public(const Key32& priv) {
  ensure_sodium();
  Key32 pub;
  crypto_scalarmult_base(pub.data(), priv.data());
  return pub;
}

X25519KeyPair x25519_keypair(const Key32& secret) { return {secret, x25519_public(secret)}; }

X25519KeyPair x25519_generate() {
  Key32 secret;
  random_bytes(secret);
  return x25519_keypair(secret);
}

std::optional<Key32> x25519_dh(const Key32& priv, std::span<const uint8_t> pub) {
  ensure_sodium();
  if (pub.size() != crypto_scalarmult_BYTES) return std::nullopt;
  Key32 out;
  // libsodium rejects an all-zero result (low-order peer key); see spec §14.4.
  if (crypto_scalarmult(out.data(), priv.data(), pub.data()) != 0) return std::nullopt;
  return out;
}

bool ed448_supported() {
#ifdef SR_TLS_BORINGSSL
  return false;
#else
  return true;
#endif
}

Bytes sign(const PrivateKey& key, std::span<const uint8_t> msg) {
  ensure_sodium();
  if (key.raw.size() != private_key_size(key.alg)) throw std::invalid_argument("private key has the wrong length");
  if (key.alg == KeyAlg::Ed25519) {
    Key32 pk;
    std::array<uint8_t, crypto_sign_SECRETKEYBYTES> sk;
    crypto_sign_seed_keypair(pk.data(), sk.data(), key.raw.data());
    Bytes sig(crypto_sign_BYTES);
    crypto_sign_detached(sig.data(), nullptr, msg.data(), msg.size(), sk.data());
    sodium_memzero(sk.data(), sk.size());
    return sig;
  }
  if (key.alg != KeyAlg::Ed448) throw std::invalid_argument("not a signature key");
#ifdef SR_TLS_BORINGSSL
  no_448();
#else
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED448, nullptr, key.raw.data(), key.raw.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  Bytes sig(signature_size(KeyAlg::Ed448));
  size_t len = sig.size();
  if (!pkey || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) != 1 || len != sig.size())
    throw std::runtime_error("Ed448 signing failed");
  return sig;
#endif
}

bool verify(const PublicKey& key, std::span<const uint8_t> msg, std::span<const uint8_t> sig) {
  ensure_sodium();
  if (key.raw.size() != public_key_size(key.alg) || sig.size() != signature_size(key.alg)) return false;
  if (key.alg == KeyAlg::Ed25519)
    return crypto_sign_verify_detached(sig.data(), msg.data(), msg.size(), key.raw.data()) == 0;
  if (key.alg != KeyAlg::Ed448) return false;
#ifdef SR_TLS_BORINGSSL
  return false;
#else
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED448, nullptr, key.raw.data(), key.raw.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return pkey && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), msg.data(), msg.size()) == 1;
#endif
}

Key32 box_key(const Key32& secret) {
  ensure_sodium();
  static const std::array<uint8_t, 16> zero16{};
  Key32 k1;
  crypto_core_hsalsa20(k1.data(), zero16.data(), secret.data(), nullptr);
  return k1;
}

std::optional<Key32> box_beforenm(const Key32& priv, std::span<const uint8_t> pub) {
  auto dh = x25519_dh(priv, pub);
  if (!dh) return std::nullopt;
  return box_key(*dh);
}

Bytes secretbox_seal(const Key32& k1, const Nonce& nonce, std::span<const uint8_t> msg) {
  ensure_sodium();
  Bytes out(msg.size() + crypto_secretbox_MACBYTES);
  crypto_secretbox_easy(out.data(), msg.data(), msg.size(), nonce.data(), k1.data());
  return out;
}

std::optional<Bytes> secretbox_open(const Key32& k1, const Nonce& nonce, std::span<const uint8_t> box) {
  ensure_sodium();
  if (box.size() < crypto_secretbox_MACBYTES) return std::nullopt;
  Bytes out(box.size() - crypto_secretbox_MACBYTES);
  if (crypto_secretbox_open_easy(out.data(), box.data(), box.size(), nonce.data(), k1.data()) != 0)
    return std::nullopt;
  return out;
}

Bytes box_seal(const Key32& secret, const Nonce& nonce, std::span<const uint8_t> msg) {
  return secretbox_seal(box_key(secret), nonce, msg);
}

std::optional<Bytes> box_open(const Key32& secret, const Nonce& nonce, std::span<const uint8_t> box) {
  return secretbox_open(box_key(secret), nonce, box);
}

std::optional<Bytes> box_seal_padded(const Key32& secret, const Nonce& nonce, std::span<const uint8_t> msg,
                                     size_t padded_len) {
  auto padded = pad(msg, padded_len);
  if (!padded) return std::nullopt;
  return box_seal(secret, nonce, *padded);
}

std::optional<Bytes> box_open_padded(const Key32& secret, const Nonce& nonce, std::span<const uint8_t> box) {
  auto plain = box_open(secret, nonce, box);
  if (!plain) return std::nullopt;
  return unpad(*plain);
}

std::optional<Bytes> pad(std::span<const uint8_t> msg, size_t padded_len) {
  const size_t n = msg.size();
  if (n > 65533 || n + 2 > padded_len) return std::nullopt;
  Bytes out(padded_len, '#');
  out[0] = static_cast<uint8_t>(n >> 8);
  out[1] = static_cast<uint8_t>(n);
  std::copy(msg.begin(), msg.end(), out.begin() + 2);
  return out;
}

std::optional<Bytes> unpad(std::span<const uint8_t> padded) {
  if (padded.size() < 2) return std::nullopt;
  const size_t n = (size_t{padded[0]} << 8) | padded[1];
  if (padded.size() - 2 < n) return std::nullopt;
  return Bytes(padded.begin() + 2, padded.begin() + 2 + static_cast<std::ptrdiff_t>(n));
}

Nonce cb_nonce(std::span<const uint8_t> s) {
  Nonce n{};
  std::copy_n(s.begin(), std::min(s.size(), n.size()), n.begin());
  return n;
}

Nonce reverse_nonce(const Nonce& n) {
  Nonce r;
  std::reverse_copy(n.begin(), n.end(), r.begin());
  return r;
}

Nonce random_nonce() {
  Nonce n;
  random_bytes(n);
  return n;
}

void random_bytes(std::span<uint8_t> out) {
  if (out.empty()) return;  // an empty span's data() may be null, which randombytes_buf must not get
  ensure_sodium();
  randombytes_buf(out.data(), out.size());
}

Bytes random_bytes(size_t n) {
  Bytes out(n);
  random_bytes(out);
  return out;
}

Bytes hkdf_sha512(std::span<const uint8_t> salt, std::span<const uint8_t> ikm, std::string_view info,
                  size_t len) {
  Bytes out(len);
#ifdef SR_TLS_BORINGSSL
  if (HKDF(out.data(), out.size(), EVP_sha512(), ikm.data(), ikm.size(), salt.data(), salt.size(),
           reinterpret_cast<const uint8_t*>(info.data()), info.size()) != 1)
    throw std::runtime_error("HKDF failed");
#else
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr), EVP_KDF_free);
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr,
                                                               EVP_KDF_CTX_free);
  // OpenSSL's params take non-const pointers; the buffers are only read.
  char digest[] = "SHA512";
  std::array<OSSL_PARAM, 5> params{};
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()), ikm.size());
  // OpenSSL refuses a zero-length salt parameter; leaving it out means the RFC 5869 default (HashLen zeros).
  if (!salt.empty())
    params[n++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size());
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();
  if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1)
    throw std::runtime_error("HKDF failed");
#endif
  return out;
}

SbKeys SbChain::next() {
  const Bytes out = hkdf_sha512({}, ck_, "SimpleXSbChain", 88);
  SbKeys k;
  std::copy_n(out.begin(), 32, ck_.begin());
  std::copy_n(out.begin() + 32, 32, k.key.begin());
  std::copy_n(out.begin() + 64, 24, k.nonce.begin());
  return k;
}

SbChainPair sbchain_init(std::span<const uint8_t> session_id, const Key32& dh_secret) {
  const Bytes out = hkdf_sha512(session_id, dh_secret, "SimpleXSbChainInit", 64);
  Key32 cks, ckc;
  std::copy_n(out.begin(), 32, cks.begin());
  std::copy_n(out.begin() + 32, 32, ckc.begin());
  return {SbChain(cks), SbChain(ckc)};
}

Bytes sign_signed_key(const PrivateKey& signer, const PublicKey& key) {
  const Bytes alg = sig_alg_der(signer.alg);
  Bytes tbs;
  append_tlv(tbs, 0x30, encode_spki(key));
  const Bytes sig = sign(signer, tbs);
  Bytes bits{0x00};  // no unused bits
  bits.insert(bits.end(), sig.begin(), sig.end());
  Bytes content = tbs;
  content.insert(content.end(), alg.begin(), alg.end());
  append_tlv(content, 0x03, bits);
  Bytes out;
  append_tlv(out, 0x30, content);
  return out;
}

std::optional<PublicKey> verify_signed_key(const PublicKey& signer, std::span<const uint8_t> der) {
  const auto outer = read_tlv(der);
  if (!outer || outer->tag != 0x30 || outer->whole.size() != der.size()) return std::nullopt;
  auto rest = outer->content;
  const auto tbs = read_tlv(rest);
  if (!tbs || tbs->tag != 0x30) return std::nullopt;
  rest = rest.subspan(tbs->whole.size());
  const auto alg = read_tlv(rest);
  if (!alg || alg->tag != 0x30) return std::nullopt;
  rest = rest.subspan(alg->whole.size());
  const auto bits = read_tlv(rest);
  if (!bits || bits->tag != 0x03 || bits->content.empty() || bits->content[0] != 0 ||
      bits->whole.size() != rest.size())
    return std::nullopt;
  if (signer.alg != KeyAlg::Ed25519 && signer.alg != KeyAlg::Ed448) return std::nullopt;
  const Bytes expected_alg = sig_alg_der(signer.alg);
  if (!std::equal(alg->whole.begin(), alg->whole.end(), expected_alg.begin(), expected_alg.end()))
    return std::nullopt;
  if (!verify(signer, tbs->whole, bits->content.subspan(1))) return std::nullopt;
  return decode_spki(tbs->content);
}

Sha256 sha256(std::span<const uint8_t> data) {
  Sha256 h;
  ::SHA256(data.data(), data.size(), h.data());  // OpenSSL/BoringSSL: the CPU's SHA instructions where present
  return h;
}

Sha512 sha512(std::span<const uint8_t> data) {
  ensure_sodium();
  Sha512 h;
  crypto_hash_sha512(h.data(), data.data(), data.size());
  return h;
}

static_assert(sizeof(crypto_hash_sha512_state) <= 256 && alignof(crypto_hash_sha512_state) <= 16);

namespace {
crypto_hash_sha512_state* st512(std::array<uint8_t, 256>& s) {
  return std::launder(reinterpret_cast<crypto_hash_sha512_state*>(s.data()));
}
}  // namespace

Sha256Stream::Sha256Stream() {
  auto* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::runtime_error("SHA-256 init failed");
  }
  ctx_ = ctx;
}
Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
Sha256Stream::Sha256Stream(Sha256Stream&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
Sha256Stream& Sha256Stream::operator=(Sha256Stream&& o) noexcept {
  if (this != &o) {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}
void Sha256Stream::update(std::span<const uint8_t> data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}
Sha256 Sha256Stream::finish() {
  Sha256 h{};
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), h.data(), nullptr);
  return h;
}

Sha512Stream::Sha512Stream() {
  ensure_sodium();
  crypto_hash_sha512_init(new (state_.data()) crypto_hash_sha512_state);
}
void Sha512Stream::update(std::span<const uint8_t> data) { crypto_hash_sha512_update(st512(state_), data.data(), data.size()); }
Sha512 Sha512Stream::finish() {
  Sha512 h;
  crypto_hash_sha512_final(st512(state_), h.data());
  return h;
}

#ifdef OPENSSL_IS_BORINGSSL
namespace {
// BoringSSL has no SHA-3: a compact Keccak-f[1600] sponge (FIPS 202) for the one hash we need.
void keccak_f1600(uint64_t st[25]) {
  static constexpr uint64_t rc[24] = {
      0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
      0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
      0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
      0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
      0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
      0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
  static constexpr int rot[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};
  static constexpr int pi[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};
  auto rotl = [](uint64_t x, int n) { return (x << n) | (x >> (64 - n)); };
  for (uint64_t round_constant : rc) {
    uint64_t c[5];
    for (int x = 0; x < 5; ++x) c[x] = st[x] ^ st[x + 5] ^ st[x + 10] ^ st[x + 15] ^ st[x + 20];
    for (int x = 0; x < 5; ++x) {
      const uint64_t d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) st[y + x] ^= d;
    }
    uint64_t cur = st[1];
    for (int i = 0; i < 24; ++i) {
      const uint64_t tmp = st[pi[i]];
      st[pi[i]] = rotl(cur, rot[i]);
      cur = tmp;
    }
    for (int y = 0; y < 25; y += 5) {
      uint64_t row[5];
      for (int x = 0; x < 5; ++x) row[x] = st[y + x];
      for (int x = 0; x < 5; ++x) st[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    st[0] ^= round_constant;
  }
}
}  // namespace

Bytes sha3_384(std::span<const uint8_t> data) {
  constexpr size_t rate = 104;  // (1600 - 2 * 384) / 8
  uint64_t st[25] = {};
  auto absorb = [&](const uint8_t* block) {
    for (size_t i = 0; i < rate; ++i) st[i / 8] ^= static_cast<uint64_t>(block[i]) << (8 * (i % 8));
    keccak_f1600(st);
  };
  size_t off = 0;
  for (; data.size() - off >= rate; off += rate) absorb(data.data() + off);
  uint8_t last[rate] = {};
  std::copy(data.begin() + static_cast<std::ptrdiff_t>(off), data.end(), last);
  last[data.size() - off] ^= 0x06;  // SHA-3 domain bits + pad10*1
  last[rate - 1] ^= 0x80;
  absorb(last);
  Bytes out(48);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(st[i / 8] >> (8 * (i % 8)));
  return out;
}
#else
Bytes sha3_384(std::span<const uint8_t> data) {
  Bytes out(48);
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha3_384(), nullptr) != 1 || len != out.size())
    throw std::runtime_error("SHA3-384 failed");
  return out;
}
#endif

}  // namespace sr::crypto
