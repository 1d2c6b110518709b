// XFTP wire protocol inside HTTP/2 (xftp-protocol.md §1, §5–§9): handshake messages, the padded command block,
// commands, responses, errors, credential rules, authorization and the download encryption. Pure: no I/O, no
// clocks. The server parses commands and encodes responses; our xftp client does the reverse through the same
// functions.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/cmd_auth.hpp"
#include "core/crypto.hpp"
#include "core/encoding.hpp"

namespace sr::xftp {

using ByteView = std::span<const uint8_t>;

// ---- Constants (§1) ----
constexpr size_t kBlockSize = 16384;      // command / response / handshake block
constexpr size_t kFileBlockSize = 16384;  // chunk body read/write slice
constexpr std::array<uint32_t, 4> kChunkSizes = {65536, 262144, 1048576, 4194304};
bool allowed_chunk_size(uint32_t size);
constexpr size_t kIdSize = 16;            // sender / recipient IDs
constexpr uint16_t kInitialVersion = 1;
constexpr uint16_t kAuthCmdsVersion = 2;
constexpr uint16_t kBlockedFilesVersion = 3;  // ERR BLOCKED is sent; AUTH below
constexpr uint16_t kCurrentVersion = 3;
constexpr VersionRange kServerVersions{kInitialVersion, kCurrentVersion};
constexpr std::string_view kAlpnXftp = "xftp/1";
constexpr size_t kWebChallengeSize = 32;
constexpr size_t kAuthTagSize = 16;
constexpr size_t kNonceSize = 24;

// ---- Errors (§8) ----
struct Error {
  enum class Kind : uint8_t {
    BLOCK, SESSION, HANDSHAKE, CMD, AUTH, BLOCKED, SIZE, QUOTA, DIGEST, CRYPTO, NO_FILE, HAS_FILE, FILE_IO, TIMEOUT,
    INTERNAL, DUPLICATE_,
  } kind = Kind::INTERNAL;
  CmdError cmd = CmdError::SYNTAX;  // CMD
  BlockingInfo blocked{};           // BLOCKED

  static Error of(Kind k) { Error e; e.kind = k; return e; }
  static Error command(CmdError c) { Error e; e.kind = Kind::CMD; e.cmd = c; return e; }
  static Error blocked_by(BlockingInfo b) { Error e; e.kind = Kind::BLOCKED; e.blocked = b; return e; }
  bool operator==(const Error& o) const;
};
// Text after "ERR ": "CMD SYNTAX", "BLOCKED reason=spam". Below kBlockedFilesVersion BLOCKED is sent as AUTH.
std::string error_text(const Error& e, uint16_t v = kCurrentVersion);
// Whole text; "CMD NO_QUEUE" is read as NO_ENTITY.
std::optional<Error> parse_error(std::string_view text);

// ---- Blocks ----
// pad16k(m); nullopt when m does not fit (len m > 16382).
std::optional<Bytes> pad_block(ByteView m);
// Message of a padded block; nullopt when the w16 length runs past the data.
std::optional<Bytes> unpad_block(ByteView block);

// A handshake failure reply is pad16k(error name), not a transmission (§4.1, §5.3).
Bytes encode_handshake_error(Error::Kind k);  // HANDSHAKE or SESSION
// Client side: a bare error string is an unpadded message shorter than 20 bytes of A–Z and '_' (§8, V4.5).
std::optional<std::string> parse_bare_error(ByteView block);

// ---- Handshake (§5.1, §5.2) ----
struct ClientHello {
  std::optional<Bytes> web_challenge;  // 32 bytes when present
  bool operator==(const ClientHello&) const = default;
};
Bytes encode_client_hello(const ClientHello& h);  // padded block
// Request body of a hello: empty body → no challenge; otherwise unpad + maybe(short(challenge)) with a 32-byte
// challenge, trailing bytes ignored. nullopt → reply HANDSHAKE.
std::optional<ClientHello> parse_client_hello(ByteView body);

struct ServerHandshake {
  VersionRange versions = kServerVersions;
  Bytes session_id;
  std::vector<Bytes> cert_chain;  // DER, [leaf, CA]
  Bytes signed_dh_key;            // DER SignedExact of the X25519 key (crypto::sign_signed_key)
  Bytes web_identity_proof;       // empty when no challenge was sent
  bool operator==(const ServerHandshake&) const = default;
};
// Padded block; throws std::length_error when it does not fit.
Bytes encode_server_handshake(const ServerHandshake& h);
// Trailing bytes ignored; a proof field that is missing reads as empty.
std::optional<ServerHandshake> parse_server_handshake(ByteView block);
// Sign(leaf, challenge ‖ sessionId).
Bytes make_identity_proof(const crypto::PrivateKey& leaf, ByteView challenge, ByteView session_id);
// Client side checks of §3.3/§5.2: exactly [leaf, CA], SHA-256(CA) == key_hash, leaf key Ed25519/Ed448, the
// proof over challenge ‖ sessionId (when a challenge was sent) and the signed DH key. Returns the server's X25519
// key for authenticators, nullopt on any failure.
std::optional<crypto::PublicKey> verify_server_handshake(const ServerHandshake& h, ByteView key_hash,
                                                         const std::optional<Bytes>& challenge);

struct ClientHandshake {
  uint16_t version = kCurrentVersion;
  Bytes key_hash;  // 32 raw bytes of SHA-256(CA DER)
  bool operator==(const ClientHandshake&) const = default;
};
Bytes encode_client_handshake(const ClientHandshake& h);  // padded block
// The body must be at least one block (only the first is read); trailing bytes after the fields are ignored.
std::optional<ClientHandshake> parse_client_handshake(ByteView body);
// Server's acceptance rule: version within kServerVersions and key_hash equal to the identity fingerprint.
bool accept_client_handshake(const ClientHandshake& h, ByteView server_key_hash);

// ---- Commands (§7.1) ----
using AuthKey = sr::AuthKey;     // Ed25519 / Ed448 / X25519 SPKI on the wire
using DhKey = crypto::PublicKey;  // X25519

struct FileInfo {
  AuthKey snd_key;
  uint32_t size = 0;
  Bytes digest;  // SHA-256 of the chunk (length not checked)
  bool operator==(const FileInfo&) const = default;
};
struct FNEW {
  FileInfo file;
  std::vector<AuthKey> rcv_keys;  // 1..255
  std::optional<std::string> basic_auth;
  bool operator==(const FNEW&) const = default;
};
struct FADD {
  std::vector<AuthKey> rcv_keys;
  bool operator==(const FADD&) const = default;
};
struct FPUT { bool operator==(const FPUT&) const = default; };
struct FDEL { bool operator==(const FDEL&) const = default; };
struct FGET {
  DhKey rcv_dh_key;
  bool operator==(const FGET&) const = default;
};
struct FACK { bool operator==(const FACK&) const = default; };
struct PING { bool operator==(const PING&) const = default; };
using Command = std::variant<FNEW, FADD, FPUT, FDEL, FGET, FACK, PING>;

// Which index the entity ID is looked up in (§6.2): sender for FNEW/FADD/FPUT/FDEL, recipient for FGET/FACK.
enum class Party : uint8_t { Sender, Recipient, None };
Party command_party(const Command& c);
std::string_view command_tag(const Command& c);  // "FNEW"

// Throws std::length_error for a key list of 0 or > 255 keys or an oversized field.
Bytes encode_command(const Command& c);
// Tag up to the first space: unknown → UNKNOWN; bad parameters or trailing bytes → SYNTAX.
std::variant<Command, CmdError> parse_command(ByteView bytes);

// §6.2, given whether the authorization and the entity ID are non-empty.
std::optional<CmdError> check_credentials(const Command& c, bool has_auth, bool has_entity);

// ---- Responses (§7.1) ----
struct FRSndIds {  // SIDS
  Bytes sender_id;
  std::vector<Bytes> recipient_ids;
  bool operator==(const FRSndIds&) const = default;
};
struct FRRcvIds {  // RIDS
  std::vector<Bytes> recipient_ids;
  bool operator==(const FRRcvIds&) const = default;
};
struct FRFile {  // FILE
  DhKey srv_dh_key;
  crypto::Nonce nonce{};
  bool operator==(const FRFile&) const = default;
};
struct FROk { bool operator==(const FROk&) const = default; };
struct FRErr {
  Error err;
  bool operator==(const FRErr&) const = default;
};
struct FRPong { bool operator==(const FRPong&) const = default; };
using Response = std::variant<FRSndIds, FRRcvIds, FRFile, FROk, FRErr, FRPong>;

// v selects ERR BLOCKED (v >= 3) or ERR AUTH.
Bytes encode_response(const Response& r, uint16_t v = kCurrentVersion);
// Client side: unknown tag → CMD UNKNOWN, bad parameters/trailing bytes → CMD SYNTAX (as an Error).
std::variant<Response, Error> parse_response(ByteView bytes);
// The reference client's rule: SIDS and PONG must have an empty entity (HAS_AUTH), ERR any, others a non-empty
// one (NO_ENTITY).
std::optional<CmdError> check_response_credentials(const Response& r, bool has_entity);

// ---- Transmissions (§6) ----
// short(sessionId) ‖ short(corrId) ‖ short(entityId) ‖ command: what signatures and authenticators cover.
Bytes authorized_bytes(ByteView session_id, ByteView corr_id, ByteView entity_id, ByteView command);
// pad16k(0x01 ‖ large(short(auth) ‖ authorized)); throws std::length_error when it does not fit.
Bytes encode_transmission_block(ByteView auth, ByteView authorized);

// A request parsed on the server; spans point into the block.
struct RawTransmission {
  ByteView auth;        // empty | 64 | 80 | 114 bytes
  ByteView corr_id;
  ByteView entity_id;
  ByteView command;
  ByteView authorized;  // everything after the authorization field
};
// An early error (§6 steps 1–4): reply ERR with this corrId and an empty entity.
struct TransmissionError {
  Error err;
  Bytes corr_id;
};
// Steps 1–4 of §6: block size, padding/batch/fields (BLOCK), sessionId (SESSION), authorization length (BLOCK).
// `body` is the request body head; only its first kBlockSize bytes are read.
std::variant<RawTransmission, TransmissionError> parse_transmission(ByteView session_id, ByteView body);

// Server → client block: empty authorization, echoed corrId and entity.
Bytes encode_response_block(ByteView session_id, ByteView corr_id, ByteView entity_id, const Response& r,
                            uint16_t v = kCurrentVersion);

// Client side: how a command is authorized. Ed25519/Ed448 keys sign; an X25519 key makes an authenticator with
// the server handshake's DH key.
struct ClientAuth {
  std::optional<crypto::PrivateKey> key;
  std::optional<crypto::Key32> server_dh_key;
};
// Throws std::runtime_error for an X25519 key without server_dh_key.
Bytes encode_command_block(ByteView session_id, ByteView corr_id, ByteView entity_id, const Command& c,
                           const ClientAuth& auth = {});

// Client side parse of a response block (the reference's tDecodeClient): framing → BLOCK, wrong sessionId →
// SESSION with the corrId; otherwise the parsed response (or its parse/credential error).
struct ResponseTransmission {
  Bytes corr_id;
  Bytes entity_id;
  std::variant<Response, Error> response;
};
std::variant<ResponseTransmission, Error> parse_response_block(ByteView session_id, ByteView block);

// ---- Authorization (§6.1) ----
// Verifies t.auth against the entity key. X25519 authenticators need the connection's handshake DH private key
// (nullopt without a handshake: they fail). Lengths other than 64/80/114 (or empty) fail.
bool verify_transmission(const AuthKey& key, const RawTransmission& t,
                         const std::optional<crypto::Key32>& server_dh_priv, DhCache* cache = nullptr);
// The constant-time path for unknown / off entities (§7.2): always false.
bool dummy_verify_transmission(const RawTransmission& t, const std::optional<crypto::Key32>& server_dh_priv,
                               DhCache* cache = nullptr);

// ---- Download encryption (§9) ----
// XSalsa20-Poly1305 over a stream: the chunk is processed in any number of slices of any size, the 16-byte
// tag comes at the end (appended, not prepended). Equal to crypto_secretbox_detached over the whole chunk.
class ChunkCipher {
 public:
  enum class Mode : uint8_t { Encrypt, Decrypt };
  // k is the box key (crypto_box_beforenm of the DH, or box_key of a symmetric secret).
  ChunkCipher(const crypto::Key32& k, const crypto::Nonce& nonce, Mode mode);
  ~ChunkCipher();
  ChunkCipher(const ChunkCipher&) = delete;
  ChunkCipher& operator=(const ChunkCipher&) = delete;

  // In place: encrypts (or decrypts) the next data.size() bytes of the chunk.
  void update(std::span<uint8_t> data);
  // Tag over all ciphertext so far. Call once, after the last update.
  std::array<uint8_t, kAuthTagSize> tag();
  // Decrypt mode: constant-time comparison with the received tag.
  bool verify(ByteView received_tag);

 private:
  void keystream_block(uint64_t block, std::array<uint8_t, 64>& out) const;
  void xor_stream(std::span<uint8_t> data);

  crypto::Key32 k_;
  crypto::Nonce nonce_;
  Mode mode_;
  uint64_t pos_ = 32;  // keystream position; bytes 0..31 are the Poly1305 key
  alignas(16) std::array<uint8_t, 256> mac_state_{};  // crypto_onetimeauth_state (opaque)
};

// Server side of FGET: fresh ephemeral X25519 key pair and nonce; k = crypto_box_beforenm(rcvDhKey, sPriv).
struct DownloadKeys {
  crypto::X25519KeyPair server;
  crypto::Nonce nonce{};
  crypto::Key32 k{};
};
// nullopt when the DH fails (low-order key).
std::optional<DownloadKeys> download_keys(const DhKey& rcv_dh_key, const crypto::X25519KeyPair& server,
                                          const crypto::Nonce& nonce);
std::optional<DownloadKeys> new_download_keys(const DhKey& rcv_dh_key);  // random key pair and nonce
// Whole-chunk form: ciphertext ‖ tag.
Bytes encrypt_chunk(const crypto::Key32& k, const crypto::Nonce& nonce, ByteView chunk);
// ciphertext ‖ tag → chunk; nullopt on a bad tag or a body shorter than the tag.
std::optional<Bytes> decrypt_chunk(const crypto::Key32& k, const crypto::Nonce& nonce, ByteView body);

}  // namespace sr::xftp
