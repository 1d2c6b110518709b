// SMP wire protocol above TLS (smp-transport.md §4–§6, smp-commands.md §2–§4, §8): handshake hellos, blocks,
// batches, transmissions, commands, responses and errors, per negotiated version. Pure: no I/O, no clocks.
// The server (session.cpp), our SMP client (client.cpp), the tests, the fuzzers and the load generator all
// encode and parse through these functions, so there is one piece of code per wire type.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/cmd_auth.hpp"
#include "core/crypto.hpp"
#include "core/encoding.hpp"

namespace sr::smp {

using ByteView = std::span<const uint8_t>;

// ---- Constants (transport §10, commands §14) ----
constexpr size_t kBlockSize = 16384;
constexpr size_t kEncryptedPaddedSize = 16368;  // + 16 tag = kBlockSize
constexpr size_t kMaxBatchBytes = 16365;        // sum of Large(item) per block (sender rule, §5.3)
constexpr size_t kMaxBatchItems = 255;
constexpr uint16_t kMinVersion = 6;
constexpr uint16_t kMaxVersion = 18;
constexpr VersionRange kServerVersions{6, 18};
constexpr VersionRange kLegacyVersions{6, 6};   // no ALPN negotiated
constexpr VersionRange kProxiedVersions{8, 17};  // exposed in PKEY
constexpr size_t kIdSize = 24;                  // queue / link / notifier / service / message ids
constexpr size_t kRcvMsgPaddedSize = 16106;     // MSG plaintext padded length; encrypted 16122
constexpr size_t kRcvMsgEncSize = 16122;
constexpr size_t kNtfMetaPaddedSize = 128;      // NMSG meta; encrypted 144
constexpr size_t kProxiedPaddedSize = 16226;    // forwarded transmission; encrypted 16242
constexpr size_t kMaxMessageLen = 16088;        // stored body, any version

// Version gates (transport §4.1).
constexpr uint16_t kAuthCmdsVersion = 7;
constexpr uint16_t kSendingProxyVersion = 8;
constexpr uint16_t kSndAuthKeyVersion = 9;
constexpr uint16_t kDeletedEventVersion = 10;
constexpr uint16_t kEncryptedBlockVersion = 11;
constexpr uint16_t kBlockedEntityVersion = 12;
constexpr uint16_t kProxyServerHandshakeVersion = 14;
constexpr uint16_t kShortLinksVersion = 15;
constexpr uint16_t kServiceCertsVersion = 16;
constexpr uint16_t kNewNtfCredsVersion = 17;
constexpr uint16_t kClientNoticesVersion = 18;

// SEND body limit: 16088 (v6–7), 16064 (v8–10), 16048 (v11+).
size_t max_message_length(uint16_t v);

// ---- Errors (commands §8) ----
using sr::CmdError;  // core/cmd_auth.hpp

enum class TransportError : uint8_t {
  BLOCK, VERSION, LARGE_MSG, SESSION, NO_AUTH,
  HANDSHAKE_PARSE, HANDSHAKE_IDENTITY, HANDSHAKE_BAD_AUTH, HANDSHAKE_BAD_SERVICE,
};
std::string transport_error_text(TransportError e);  // "HANDSHAKE BAD_AUTH"
std::optional<TransportError> parse_transport_error(std::string_view text);


using sr::BlockingInfo;  // core/cmd_auth.hpp
using sr::encode_blocking_info;
using sr::parse_blocking_info;

struct ErrorType;
struct BrokerError {
  enum class Kind : uint8_t { RESPONSE, UNEXPECTED, NETWORK, TIMEOUT, HOST, NO_SERVICE, TRANSPORT } kind;
  std::string text;                              // RESPONSE / UNEXPECTED
  TransportError transport = TransportError::BLOCK;  // TRANSPORT
  bool operator==(const BrokerError&) const = default;
};
struct ProxyError {
  enum class Kind : uint8_t { PROTOCOL, BROKER, BASIC_AUTH, NO_SESSION } kind;
  std::shared_ptr<const ErrorType> protocol;  // PROTOCOL
  BrokerError broker{};                       // BROKER
};
struct ErrorType {
  enum class Kind : uint8_t {
    BLOCK, SESSION, CMD, PROXY, AUTH, BLOCKED, SERVICE, CRYPTO, QUOTA, STORE, NO_MSG, LARGE_MSG, EXPIRED, INTERNAL,
  } kind = Kind::INTERNAL;
  CmdError cmd = CmdError::SYNTAX;  // CMD
  BlockingInfo blocked{};           // BLOCKED
  std::string store;                // STORE
  std::shared_ptr<const ProxyError> proxy;  // PROXY

  static ErrorType of(Kind k) { ErrorType e; e.kind = k; return e; }
  static ErrorType command(CmdError c) { ErrorType e; e.kind = Kind::CMD; e.cmd = c; return e; }
  static ErrorType blocked_by(BlockingInfo b) { ErrorType e; e.kind = Kind::BLOCKED; e.blocked = b; return e; }
  static ErrorType proxy_error(ProxyError p);
};
bool operator==(const ErrorType& a, const ErrorType& b);
// "ERR" payload after "ERR ": with the version downgrade of §8.2 (BLOCKED → AUTH below v12, notice dropped below v18).
void encode_error(Encoder& e, const ErrorType& err, uint16_t v);
std::optional<ErrorType> parse_error(Decoder& d);  // consumes the rest
std::string error_text(const ErrorType& err);      // for logs and tests: "CMD SYNTAX"

// ---- Commands (client → server, commands §3) ----
using sr::AuthKey;  // Ed25519 / Ed448 / X25519
using DhKey = crypto::PublicKey;    // X25519

struct LinkData {                   // QueueReqData link part
  Bytes link_id;                    // contact ('C') only: client-chosen; empty for 'M'
  Bytes sender_id;
  Bytes fixed_data;
  Bytes user_data;
};
enum class QueueMode : char { Messaging = 'M', Contact = 'C' };
struct QueueReqData {
  QueueMode mode = QueueMode::Messaging;
  std::optional<LinkData> link;
};
struct NewNtfCreds {
  AuthKey notifier_key;
  DhKey rcv_ntf_dh_key;
};

namespace cmd {
struct NEW {
  AuthKey rcv_auth_key;
  DhKey rcv_dh_key;
  std::optional<std::string> basic_auth;
  bool subscribe = true;                   // subMode 'S' / 'C'
  std::optional<QueueReqData> req;         // v9–14: from senderCanSecure (T → M, F → C); v6–8: absent
  std::optional<NewNtfCreds> ntf_creds;    // v17+
};
struct SUB {};
struct SUBS {};
struct KEY { AuthKey sender_key; };
struct RKEY { std::vector<AuthKey> rcv_keys; };
struct LSET { Bytes link_id; Bytes fixed_data; Bytes user_data; };
struct LDEL {};
struct NKEY { AuthKey notifier_key; DhKey rcv_ntf_dh_key; };
struct NDEL {};
struct GET {};
struct ACK { Bytes msg_id; };
struct OFF {};
struct DEL {};
struct QUE {};
struct SKEY { AuthKey sender_key; };
struct SEND { bool notification = false; Bytes body; };
struct PING {};
struct LKEY { AuthKey sender_key; };
struct LGET {};
struct NSUB {};
struct NSUBS {};
struct SMPServer {
  std::vector<std::string> hosts;  // non-empty
  std::string port;                // may be empty (= 5223)
  Bytes key_hash;
};
struct PRXY { SMPServer server; std::optional<std::string> basic_auth; };
struct PFWD { uint16_t version = 0; DhKey ephemeral_key; Bytes enc_transmission; };
struct RFWD { Bytes enc_forwarded; };
}  // namespace cmd

using Command = std::variant<cmd::NEW, cmd::SUB, cmd::SUBS, cmd::KEY, cmd::RKEY, cmd::LSET, cmd::LDEL, cmd::NKEY,
                             cmd::NDEL, cmd::GET, cmd::ACK, cmd::OFF, cmd::DEL, cmd::QUE, cmd::SKEY, cmd::SEND,
                             cmd::PING, cmd::LKEY, cmd::LGET, cmd::NSUB, cmd::NSUBS, cmd::PRXY, cmd::PFWD, cmd::RFWD>;

// The tag as on the wire ("NEW", ...).
const char* command_tag(const Command& c);
// Parses the command part of a transmission for version v. UNKNOWN: tag not a client command (or followed by
// something other than SP / end); SYNTAX: bad or trailing parameters.
std::variant<Command, CmdError> parse_command(ByteView bytes, uint16_t v);
// Encodes for version v (our client). Fields that v cannot carry are dropped as the reference client does.
Bytes encode_command(const Command& c, uint16_t v);

// Credential shape checks (commands §2.2 step 6, §3.0), given whether auth and entity are non-empty.
std::optional<CmdError> check_credentials(const Command& c, bool has_auth, bool has_entity);

// ---- Responses and events (server → client, commands §4) ----
namespace resp {
struct IDS {
  Bytes rcv_id;
  Bytes snd_id;
  DhKey srv_dh_key;
  std::optional<QueueMode> mode;       // v9–14 as senderCanSecure (T iff Messaging); v15+ Maybe Char
  std::optional<Bytes> link_id;        // v15+
  std::optional<Bytes> service_id;     // v16+
  std::optional<std::pair<Bytes, DhKey>> ntf_creds;  // v17+: notifier id, server ntf DH key
};
struct LNK { Bytes sender_id; Bytes fixed_data; Bytes user_data; };
struct SOK { std::optional<Bytes> service_id; };  // "OK" below v16
struct SOKS { int64_t count = 0; };
struct MSG { Bytes msg_id; Bytes enc_body; };
struct NID { Bytes notifier_id; DhKey srv_ntf_dh_key; };
struct NMSG { crypto::Nonce nonce{}; Bytes enc_meta; };
struct PKEY { Bytes session_id; VersionRange versions; std::vector<Bytes> cert_chain; Bytes signed_key; };
struct RRES { Bytes enc; };
struct PRES { Bytes enc; };
struct END {};
struct ENDS { int64_t count = 0; };
struct DELD {};  // "END" below v10
struct INFO { std::string json; };
struct OK {};
struct ERR { ErrorType err; };
struct PONG {};
}  // namespace resp

using Response = std::variant<resp::IDS, resp::LNK, resp::SOK, resp::SOKS, resp::MSG, resp::NID, resp::NMSG,
                              resp::PKEY, resp::RRES, resp::PRES, resp::END, resp::ENDS, resp::DELD, resp::INFO,
                              resp::OK, resp::ERR, resp::PONG>;

const char* response_tag(const Response& r, uint16_t v);  // as encoded for v ("OK" for SOK below v16, ...)
Bytes encode_response(const Response& r, uint16_t v);
// Our client's parser: the tag as encoded for v (so "OK" parses as OK, "END" as END).
std::optional<Response> parse_response(ByteView bytes, uint16_t v);

// ---- Handshake (transport §4) ----
struct ServerHello {
  VersionRange versions;
  Bytes session_id;
  // Present iff versions.max >= 7: [online cert DER, CA cert DER] and the SignedKey DER (§2.2).
  std::vector<Bytes> cert_chain;
  Bytes signed_key;
};
Bytes encode_server_hello(const ServerHello& h);        // content, not padded
std::optional<ServerHello> parse_server_hello(ByteView content);  // trailing bytes ignored

struct ServiceInfo {
  char role = 'M';  // 'M' messaging, 'N' notifier, 'P' proxy
  std::vector<Bytes> cert_chain;
  Bytes signed_key;
};
struct ClientHello {
  uint16_t version = 0;
  Bytes key_hash;                    // 32-byte CA fingerprint
  std::optional<crypto::Key32> client_key;  // X25519, v7+
  bool proxy_server = false;         // v14+
  std::optional<ServiceInfo> service;  // v16+
};
Bytes encode_client_hello(const ClientHello& h);
std::optional<ClientHello> parse_client_hello(ByteView content);  // §4.3 backtracking for the key; trailing ignored

// Block 3 (§4.5): 'R' serviceId or 'E' error.
Bytes encode_service_response_ok(ByteView service_id);
Bytes encode_service_response_error(TransportError e);

// ---- Blocks (§5) ----
// pad(content, 16384); nullopt if too large.
std::optional<Bytes> plain_block(ByteView content);
// Block codec for one direction. Unencrypted unless constructed with a chain.
class BlockSender {
 public:
  BlockSender() = default;
  explicit BlockSender(crypto::SbChain chain) : chain_(chain) {}
  bool encrypted() const { return chain_.has_value(); }
  size_t max_content() const { return encrypted() ? kEncryptedPaddedSize - 2 : kBlockSize - 2; }
  // Exactly kBlockSize bytes; nullopt when content does not fit.
  std::optional<Bytes> seal(ByteView content);
 private:
  std::optional<crypto::SbChain> chain_;
};
class BlockReceiver {
 public:
  BlockReceiver() = default;
  explicit BlockReceiver(crypto::SbChain chain) : chain_(chain) {}
  bool encrypted() const { return chain_.has_value(); }
  // Content of one kBlockSize block; nullopt on a bad tag or bad padding. The chain advances either way.
  std::optional<Bytes> open(ByteView block);
 private:
  std::optional<crypto::SbChain> chain_;
};

// Batch (§5.2): count byte 1..255 then Large items, consuming the content exactly; nullopt otherwise.
std::optional<std::vector<ByteView>> parse_batch(ByteView content);
// Packs encoded transmissions into block contents (§5.3): Large items, sum <= 16365 and <= 255 per block,
// filled from the last transmission so the first block is the partial one. Items over 16365 bytes are dropped
// (returned in `dropped` if given).
std::vector<Bytes> batch_transmissions(const std::vector<Bytes>& items, size_t* dropped = nullptr);

// ---- Transmissions (§6) ----
struct SessionParams {
  uint16_t version = kMinVersion;
  Bytes session_id;
  bool service_auth() const { return version >= kServiceCertsVersion; }
  bool implied_session_id() const { return version >= kAuthCmdsVersion; }
};

// A client transmission parsed on the server; spans point into the batch item.
struct RawTransmission {
  ByteView auth;                     // empty | 64 | 80 | 114 bytes
  std::optional<ByteView> service_sig;  // '1' slot: 64-byte Ed25519 signature
  ByteView corr_id;
  ByteView entity_id;
  ByteView command;
  ByteView signed_part;              // bytes after auth/serviceSig (v6: starts with the sessionId field)
};
// The bytes signatures and authenticators cover (§6.2): shortString(sessionId) || corrId || entityId || command.
Bytes authorized_bytes(const SessionParams& s, const RawTransmission& t);

// Outcome of parsing one batch item (§5.5): a transmission, or an error reply to send with the given corrId
// (empty for framing errors) and empty entity.
struct TransmissionError {
  ErrorType err;
  Bytes corr_id;
};
std::variant<RawTransmission, TransmissionError> parse_transmission(const SessionParams& s, ByteView item);

// Server → client transmission (auth empty, no service slot; v6 includes the sessionId).
Bytes encode_server_transmission(const SessionParams& s, ByteView corr_id, ByteView entity_id, ByteView response);

// Client side: what authorizes a transmission.
struct ClientAuth {
  std::optional<crypto::PrivateKey> key;  // Ed25519/Ed448 sign; X25519 → authenticator with server_key
  std::optional<crypto::Key32> server_session_key;  // server hello's X25519 key (for authenticators)
  std::optional<crypto::PrivateKey> service_key;  // v16+ service session: Ed25519 service signature
  Bytes service_cert_hash;                         // prefix for the queue key when service_key is set
};
// Encodes auth [serviceSig] [sessionId (v6)] corrId entity command. Throws std::runtime_error when an
// X25519 authenticator is asked for without the server's session key.
Bytes encode_client_transmission(const SessionParams& s, ByteView corr_id, ByteView entity_id, ByteView command,
                                 const ClientAuth& auth = {});
// Client side parse of a server transmission: corrId, entity, response bytes.
struct ServerTransmission {
  Bytes corr_id;
  Bytes entity_id;
  ByteView response;
};
std::optional<ServerTransmission> parse_server_transmission(const SessionParams& s, ByteView item);


// ---- Authorization (§6.3–6.5): shared with XFTP, in core/cmd_auth.hpp ----
using sr::DhCache;
using sr::dummy_verify;
using sr::dummy_verify_count;
using sr::make_authenticator;
using sr::verify_auth;

// ---- Message and notification encryption (§7.4, §7.5) ----
// plain = Int64 ts || 'T'/'F' || ' ' || body; or "QUOTA " || Int64 ts. Padded to 16106 and boxed with nonce = msgId.
Bytes encrypt_rcv_message(const crypto::Key32& rcv_dh_secret, ByteView msg_id, int64_t ts, bool notification,
                          ByteView body, bool quota_marker);
struct RcvMessage {
  int64_t ts = 0;
  bool quota = false;
  bool notification = false;
  Bytes body;
};
std::optional<RcvMessage> decrypt_rcv_message(const crypto::Key32& rcv_dh_secret, ByteView msg_id, ByteView enc);
// NMSG meta: box_padded(secret, nonce, shortString(msgId) || Int64 ts, 128) — 144 bytes.
Bytes encrypt_ntf_meta(const crypto::Key32& ntf_dh_secret, const crypto::Nonce& nonce, ByteView msg_id, int64_t ts);

// Sender id a client derives from its corrId for short links: SHA3-384(corrId)[0..24).
Bytes sender_id_from_corr_id(ByteView corr_id);

// ---- Private message routing (commands §10, transport §7.6) ----
// The forwarded transmission inside RFWD: BS fwdCorrId, Word16 fwdVersion, BS(X25519 SPKI) fwdKey, Tail et.
struct FwdTransmission {
  Bytes fwd_corr_id;
  uint16_t fwd_version = 0;
  DhKey fwd_key;
  Bytes enc_transmission;
};
Bytes encode_fwd_transmission(const FwdTransmission& f);
std::optional<FwdTransmission> parse_fwd_transmission(ByteView b);  // the key must be X25519

// The client's side (§10.3): one command for the destination relay, as if connected to it with session id
// `dest.session_id` (the proxy's session with the destination) at `dest.version` (fwdVersion), encrypted to the
// destination's session key with a fresh ephemeral key. PFWD carries corr_id, the ephemeral public key and
// enc_transmission; keep the rest to open the reply.
struct ProxiedRequest {
  Bytes corr_id;                     // N_c: PFWD's corrId and the inner transmission's
  crypto::X25519KeyPair ephemeral;   // E, e
  crypto::Key32 secret{};            // ss_cr = dh(K_r, e)
  Bytes enc_transmission;            // boxPad(ss_cr, N_c, batch of one, 16226): 16242 bytes
};
std::optional<ProxiedRequest> seal_proxied_request(const SessionParams& dest, const crypto::Key32& dest_session_key,
                                                   ByteView entity_id, ByteView command, const ClientAuth& auth);
// The destination's reply inside PRES/RRES (r2): the one server transmission, parsed for dest.version.
std::optional<ServerTransmission> open_proxied_response(const SessionParams& dest, const ProxiedRequest& req,
                                                        ByteView r2, Bytes& storage);

}  // namespace sr::smp
