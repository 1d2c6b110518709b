// SMP cryptographic primitives (smp-transport.md §2.1, §2.2, §5.4, §7.1–7.3).
// libsodium: X25519, Ed25519, HSalsa20/XSalsa20-Poly1305, SHA-2. OpenSSL (or BoringSSL): HKDF, Ed448.
// The BoringSSL build has no Ed448: signing throws, verification fails.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "core/encoding.hpp"

namespace sr::crypto {

using Key32 = std::array<uint8_t, 32>;
using Nonce = std::array<uint8_t, 24>;  // CbNonce
using Sha256 = std::array<uint8_t, 32>;
using Sha512 = std::array<uint8_t, 64>;

enum class KeyAlg { Ed25519, Ed448, X25519, X448 };

// Raw public key length: 32 / 57 / 32 / 56.
size_t public_key_size(KeyAlg alg);
// Raw private key length (Ed25519 = 32-byte seed): 32 / 57 / 32 / 56.
size_t private_key_size(KeyAlg alg);

struct PublicKey {
  KeyAlg alg;
  Bytes raw;
  bool operator==(const PublicKey&) const = default;
};

struct PrivateKey {
  KeyAlg alg;
  Bytes raw;  // Ed25519: seed; X25519: scalar (unclamped); Ed448/X448: RFC 8032/7748 private bytes
  bool operator==(const PrivateKey&) const = default;
};

// DER SubjectPublicKeyInfo with the fixed RFC 8410 prefix (§2.1). Throws on a raw length mismatch.
Bytes encode_spki(const PublicKey& key);
// Strict: exact prefix of a known algorithm and exact total length (no trailing bytes).
std::optional<PublicKey> decode_spki(std::span<const uint8_t> der);

// DER PKCS#8 v1 (RFC 8410 OneAsymmetricKey without attributes/public key), as in server.key files.
Bytes encode_pkcs8(const PrivateKey& key);
std::optional<PrivateKey> decode_pkcs8(std::span<const uint8_t> der);

// Public half of any private key (Ed448/X448 need OpenSSL; throws in the BoringSSL build).
PublicKey public_key(const PrivateKey& key);

// ---- X25519 ----
struct X25519KeyPair {
  Key32 priv;
  Key32 pub;
};
Key32 x25519_public(const Key32& priv);
X25519KeyPair x25519_keypair(const Key32& secret);
X25519KeyPair x25519_generate();
// Raw DH output; nullopt for a public key of the wrong length or an all-zero result (low-order point).
std::optional<Key32> x25519_dh(const Key32& priv, std::span<const uint8_t> pub);

// ---- Signatures (PureEdDSA; Ed448 with empty context) ----
// Signature size: Ed25519 64, Ed448 114; 0 for the DH algorithms.
size_t signature_size(KeyAlg alg);
// Throws std::invalid_argument for a DH key, std::runtime_error for Ed448 without OpenSSL support.
Bytes sign(const PrivateKey& key, std::span<const uint8_t> msg);
// False for a wrong key/signature length, a DH key, or an unsupported algorithm.
bool verify(const PublicKey& key, std::span<const uint8_t> msg, std::span<const uint8_t> sig);
// Whether this build can sign and verify with Ed448.
bool ed448_supported();

// ---- SimpleX NaCl box / secretbox (§7.2) ----
// K1 = HSalsa20(secret, 16 zero bytes). For a DH output this equals crypto_box_beforenm.
Key32 box_key(const Key32& secret);
// crypto_box_beforenm(pub, priv); nullopt when the DH fails.
std::optional<Key32> box_beforenm(const Key32& priv, std::span<const uint8_t> pub);
// XSalsa20-Poly1305 with an already derived K1: tag(16) || ciphertext.
Bytes secretbox_seal(const Key32& k1, const Nonce& nonce, std::span<const uint8_t> msg);
std::optional<Bytes> secretbox_open(const Key32& k1, const Nonce& nonce, std::span<const uint8_t> box);
// The reference's one construction for cbEncrypt and sbEncrypt alike ("NoPad" variants):
// secretbox with box_key(secret). secret is a raw X25519 output or a symmetric key.
Bytes box_seal(const Key32& secret, const Nonce& nonce, std::span<const uint8_t> msg);
std::optional<Bytes> box_open(const Key32& secret, const Nonce& nonce, std::span<const uint8_t> box);
// Padded variants: pad(msg, padded_len) then seal (nullopt if msg does not fit); open then unpad.
std::optional<Bytes> box_seal_padded(const Key32& secret, const Nonce& nonce, std::span<const uint8_t> msg,
                                     size_t padded_len);
std::optional<Bytes> box_open_padded(const Key32& secret, const Nonce& nonce, std::span<const uint8_t> box);

// pad(m, P) = Word16BE(len m) || m || '#'*; nullopt if len m > 65533 or len m + 2 > P (§5.1).
std::optional<Bytes> pad(std::span<const uint8_t> msg, size_t padded_len);
// Padding bytes are not checked; nullopt if shorter than 2 or the length exceeds the data.
std::optional<Bytes> unpad(std::span<const uint8_t> padded);

// ---- Nonces (§7.3) ----
Nonce cb_nonce(std::span<const uint8_t> s);  // truncated / zero-extended to 24 bytes
Nonce reverse_nonce(const Nonce& n);
Nonce random_nonce();
void random_bytes(std::span<uint8_t> out);
Bytes random_bytes(size_t n);  // init passwords, certificate serials

// ---- Block encryption key schedule (§5.4) ----
// HKDF-SHA-512 (RFC 5869); an empty salt is allowed.
Bytes hkdf_sha512(std::span<const uint8_t> salt, std::span<const uint8_t> ikm, std::string_view info, size_t len);

struct SbKeys {
  Key32 key;  // secret for box_seal/box_open (gets the HSalsa20 step there)
  Nonce nonce;
};

// One direction's chain; next() advances once per block.
class SbChain {
 public:
  explicit SbChain(const Key32& chain_key) : ck_(chain_key) {}
  SbKeys next();
  const Key32& chain_key() const { return ck_; }

 private:
  Key32 ck_;
};

struct SbChainPair {
  SbChain server_to_client;  // ckS: server send, client receive
  SbChain client_to_server;  // ckC: server receive, client send
};
// HKDF(salt = sessionId, ikm = DH secret, "SimpleXSbChainInit", 64) split 32/32.
SbChainPair sbchain_init(std::span<const uint8_t> session_id, const Key32& dh_secret);

// ---- X.509 "signed object" over an SPKI (§2.2) ----
// SEQUENCE { SEQUENCE { SPKI(key) }, SEQUENCE { OID(signer alg) }, BIT STRING sig }; signer Ed25519 or Ed448.
Bytes sign_signed_key(const PrivateKey& signer, const PublicKey& key);
// Verifies the signature over the raw first element with `signer` (algorithm must match the object's)
// and returns the enclosed key; nullopt on any parse or verification failure.
std::optional<PublicKey> verify_signed_key(const PublicKey& signer, std::span<const uint8_t> der);

// ---- Hashes ----
Sha256 sha256(std::span<const uint8_t> data);
Sha512 sha512(std::span<const uint8_t> data);
// Incremental forms, for chunk and file bodies hashed slice by slice as they stream. SHA-256 is OpenSSL's (it uses
// the CPU's SHA instructions, about four times libsodium's speed), SHA-512 libsodium's.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&& o) noexcept;
  Sha256Stream& operator=(Sha256Stream&& o) noexcept;
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(std::span<const uint8_t> data);
  Sha256 finish();  // once
 private:
  void* ctx_ = nullptr;  // EVP_MD_CTX
};
class Sha512Stream {
 public:
  Sha512Stream();
  void update(std::span<const uint8_t> data);
  Sha512 finish();  // once
 private:
  alignas(16) std::array<uint8_t, 256> state_{};  // crypto_hash_sha512_state (208 bytes)
};
// SHA3-384 (FIPS 202), 48 bytes: short-link sender ids are the first 24 bytes of SHA3-384(corrId).
Bytes sha3_384(std::span<const uint8_t> data);

}  // namespace sr::crypto
