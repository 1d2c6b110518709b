// Our SMP client (smp-transport.md §3.4, §4.2–§4.3, §4.8, §5, §6; smp-commands.md §2–§7): an Asio C++20
// coroutine client used by the integration tests, the load generator (bench/smp_load.cpp), the proxy role and
// the `check` command; plus a blocking wrapper for Catch2 tests. Wire encoding is protocol.hpp's.
#pragma once
// core/server.hpp includes a standard header before <asio.hpp> (see the comment there).
#include "core/server.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "core/socks.hpp"
#include "smp/protocol.hpp"

namespace sr::smp {

using Clock = std::chrono::steady_clock;

// what(): a TransportError text ("HANDSHAKE IDENTITY", "SESSION", "VERSION", "HANDSHAKE BAD_AUTH",
// "HANDSHAKE PARSE", "BLOCK") or "TIMEOUT", "NETWORK: <detail>", "CLOSED", "RESPONSE: <detail>".
struct ClientError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ClientOptions {
  std::vector<std::string> alpn = {"smp/1"};  // empty: no ALPN extension (server offers the legacy 6..6 range)
  VersionRange versions = kServerVersions;    // the client's own range
  bool send_client_key = true;                // clientKey in the hello (needed for block encryption)
  bool proxy_server = false;                  // proxyServer flag (v14+); also disables block encryption
  Clock::duration timeout = std::chrono::seconds(10);  // connect + handshake, and the default request timeout
  std::optional<socks::Proxy> socks;  // connect through this SOCKS5 proxy (the host is never resolved here)
  // Negative tests only: sent in the client hello instead of the dialled key hash / the negotiated version.
  // The client's own identity checks still use the dialled hash, and it keeps the negotiated version locally.
  std::optional<Bytes> hello_key_hash;
  std::optional<uint16_t> hello_version;
  // Connect as a service (v16+, transport §4.5): TLS client certificate [cert, ca] and the hello's service block.
  struct Service {
    char role = 'N';        // 'M' messaging, 'N' notifier, 'P' proxy
    std::string cert_file;  // leaf (PEM)
    std::string ca_file;    // identity certificate (PEM); empty: a one-certificate chain
    std::string key_file;   // leaf private key (PEM, Ed25519 or Ed448)
  };
  std::optional<Service> service;
};

// ---- Pure handshake checks (unit tested) ----
// §3.4: 2..4 certificates and SHA-256(DER of cert[1]) == key_hash.
bool chain_matches_key_hash(const std::vector<Bytes>& chain, ByteView key_hash);
// §4.4/§4.8: max of the intersection of the server's and the client's ranges; a proxy talking to a relay whose
// max is below 14 caps its own max to max(own min, 10). nullopt: no common version.
std::optional<uint16_t> choose_version(VersionRange server, VersionRange client, bool proxy_server);

// One received transmission. response is nullopt when the response bytes do not parse for the session version.
struct Received {
  Bytes corr_id;
  Bytes entity_id;
  Bytes response_bytes;
  std::optional<Response> response;
};

// A destination relay reached through a proxy (commands §10.2): PKEY checked as a client must check it.
struct ProxiedRelay {
  SessionParams dest;        // the proxy's session id with the destination (S_r) and fwdVersion
  crypto::Key32 dest_key{};  // the destination's signed session key K_r
};
// The chain's identity is key_hash, the key is signed by the chain's leaf, and the versions intersect `ours`
// (fwdVersion = the highest common one). nullopt otherwise.
std::optional<ProxiedRelay> proxied_relay(const resp::PKEY& k, ByteView key_hash, VersionRange ours = kServerVersions);

struct Request {
  Bytes entity_id;
  Command command;
  ClientAuth auth;
  std::optional<Bytes> corr_id;  // random 24 bytes unless set (a proxy's RFWD uses its nonce, commands §10.4)
};

class SmpClient {
 public:
  explicit SmpClient(asio::any_io_executor ex);
  ~SmpClient();  // closes the connection
  SmpClient(const SmpClient&) = delete;
  SmpClient& operator=(const SmpClient&) = delete;

  // TLS + SMP handshake; throws ClientError. key_hash: the server's CA fingerprint (32 bytes).
  // From a coroutine pass `options` explicitly: GCC 12 rejects the default argument inside co_await.
  asio::awaitable<void> connect(std::string host, uint16_t port, Bytes key_hash, ClientOptions options = {});

  // Session facts after connect().
  uint16_t version() const;
  const SessionParams& params() const;
  const ServerHello& server_hello() const;
  std::optional<crypto::Key32> server_session_key() const;  // the verified X25519 key from the hello (max >= 7)
  bool block_encryption() const;
  // Service sessions: the id the server returned in block 3 (empty otherwise), and the authorization for a
  // command: with a queue key (NEW, SUB, NSUB: queue key over certHash || authorized, plus the service
  // signature), or without (SUBS, NSUBS: the service key's signature alone).
  const Bytes& service_id() const;
  // dh(own hello key, server session key): what a proxy encrypts RFWD with (commands §10.4); nullopt without a key.
  std::optional<crypto::Key32> session_secret() const;
  ClientAuth service_auth(std::optional<crypto::PrivateKey> queue_key) const;
  const std::string& alpn() const;
  bool closed() const;

  // One command with a random 24-byte corrId; the reply with that corrId is returned (ERR included).
  // auth.server_session_key is filled from the hello when empty. Throws ClientError on TIMEOUT / CLOSED.
  asio::awaitable<Response> request(ByteView entity_id, Command command, ClientAuth auth = {},
                                    std::optional<Clock::duration> timeout = {});
  // Several commands batched into as few blocks as §5.3 allows; replies in request order.
  asio::awaitable<std::vector<Response>> request_batch(std::vector<Request> requests,
                                                       std::optional<Clock::duration> timeout = {});
  // Private message routing through this client's server (commands §10): PRXY (PKEY or ERR), and one command
  // for the destination in PFWD, returning the destination's reply from PRES, or the proxy's ERR.
  asio::awaitable<Response> proxy_relay(cmd::SMPServer dest, std::optional<std::string> basic_auth,
                                        std::optional<Clock::duration> timeout = {});
  asio::awaitable<Response> proxied_request(ProxiedRelay relay, Bytes entity_id, Command command, ClientAuth auth,
                                            std::optional<Clock::duration> timeout = {});

  // Next event (empty corrId: MSG, END, DELD, NMSG, ERR ...); nullopt on timeout. Throws CLOSED when the
  // connection ended and no event is left.
  asio::awaitable<std::optional<Received>> next_event(Clock::duration timeout);

  // ---- Raw access for negative tests ----
  // One transmission encoded for this session (auth as in request()); corr_id may be empty.
  Bytes encode_transmission(ByteView corr_id, ByteView entity_id, const Command& command, ClientAuth auth = {}) const;
  // Encoded transmissions (or arbitrary item bytes) batched and sealed like request_batch does.
  void send_raw_transmissions(const std::vector<Bytes>& items);
  // Arbitrary block content, padded and (when encrypted) sealed; false when it does not fit.
  bool send_block_content(ByteView content);
  // Exactly kBlockSize bytes written as they are; the send chain advances as the server's receive chain does.
  void send_raw_block(ByteView block);
  // The next received transmission that no request() is waiting for (events and replies to raw sends), in
  // arrival order; nullopt on timeout.
  asio::awaitable<std::optional<Received>> read_transmission(Clock::duration timeout);

  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// ---- Keys for tests and tools ----
struct AuthKeyPair {
  crypto::PrivateKey priv;
  AuthKey pub;
};
// Ed25519 / Ed448 (needs OpenSSL) / X25519 queue authorization keys.
AuthKeyPair generate_auth_key(crypto::KeyAlg alg);
inline AuthKeyPair generate_dh_key() { return generate_auth_key(crypto::KeyAlg::X25519); }
// Key32 view of an X25519 private key.
crypto::Key32 x25519_private(const crypto::PrivateKey& key);

// What a recipient keeps about a queue it created.
struct QueueCreds {
  Bytes rcv_id;
  Bytes snd_id;
  AuthKeyPair rcv_auth;
  AuthKeyPair rcv_dh;
  DhKey srv_dh_key;
  crypto::Key32 rcv_dh_secret{};  // x25519_dh(rcv_dh priv, srv_dh_key): decrypts MSG bodies
  resp::IDS ids;
};

// Blocking wrapper for Catch2 tests: owns an io_context and runs it on the calling thread until the awaited
// operation finishes; every operation has a timeout so a test never hangs. Throws ClientError like SmpClient.
class SyncSmpClient {
 public:
  SyncSmpClient();
  ~SyncSmpClient();
  SyncSmpClient(const SyncSmpClient&) = delete;
  SyncSmpClient& operator=(const SyncSmpClient&) = delete;

  void connect(const std::string& host, uint16_t port, const Bytes& key_hash, ClientOptions options = {});
  SmpClient& client() { return *client_; }
  uint16_t version() const { return client_->version(); }

  Response request(ByteView entity_id, Command command, ClientAuth auth = {});
  std::vector<Response> request_batch(std::vector<Request> requests);
  std::optional<Received> next_event(Clock::duration timeout = std::chrono::seconds(5));
  std::optional<Received> read_transmission(Clock::duration timeout = std::chrono::seconds(5));
  void send_raw_transmissions(const std::vector<Bytes>& items);
  bool send_block_content(ByteView content);
  void send_raw_block(ByteView block);
  void close();

  // Queue life cycle helpers (smp-commands.md §3). Each throws ClientError("RESPONSE: <tag ...>") on an
  // unexpected reply.
  QueueCreds create_queue(crypto::KeyAlg rcv_alg = crypto::KeyAlg::Ed25519, bool subscribe = true,
                          std::optional<QueueReqData> req = QueueReqData{});
  void secure(const QueueCreds& q, const AuthKey& sender_key);  // KEY by the recipient
  // SKEY by the sender (v9+).
  void secure_by_sender(const Bytes& snd_id, const AuthKeyPair& sender);
  // SEND; returns the reply (OK or ERR). sender: nullopt for an unsecured queue.
  Response send(const Bytes& snd_id, const std::optional<AuthKeyPair>& sender, ByteView body, bool notification = false);
  Response ack(const QueueCreds& q, ByteView msg_id);
  Response recipient_request(const QueueCreds& q, Command command);  // SUB, GET, DEL, ... signed by rcv_auth
  Response proxy_relay(cmd::SMPServer dest, std::optional<std::string> basic_auth = std::nullopt);
  Response proxied_request(const ProxiedRelay& relay, ByteView entity_id, Command command, ClientAuth auth = {});

  Clock::duration timeout = std::chrono::seconds(10);

 private:
  template <class T>
  T run(asio::awaitable<T> op);
  asio::io_context io_;
  std::unique_ptr<SmpClient> client_;
};

// Decrypts a MSG for the queue: nullopt when the box does not open.
std::optional<RcvMessage> decrypt_msg(const QueueCreds& q, const resp::MSG& msg);

// "IDS", "ERR AUTH", ...: for assertion messages.
std::string describe(const Response& r);

}  // namespace sr::smp
