// Our XFTP client (xftp-protocol.md §3–§9, §15): the §5 handshake over HTTP/2 (native or web style) and the
// file commands, with the chunk streamed up from a file descriptor and down through the §9 decryption slice by
// slice. Used by the integration tests, `xftp-cli` and the bench; a blocking wrapper serves Catch2 tests. Wire
// encoding is protocol.hpp's; the request bodies are built by pure functions below so unit tests can compare
// them with the vectors.
#pragma once
#include "core/http2_client.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/crypto.hpp"
#include "core/socks.hpp"
#include "xftp/protocol.hpp"

namespace sr::xftp {

using Clock = std::chrono::steady_clock;

// Transport failures: what() is "NETWORK: <detail>", "TIMEOUT", "CLOSED", "HANDSHAKE <detail>" (the server's
// handshake does not check out, or it replied with a handshake error), "SESSION" (native: sessionId ≠ tls-unique),
// "VERSION" (no common version), "RESPONSE: <detail>" (a reply of the wrong kind). XFTP errors (ERR ...) are not
// exceptions: commands return them as Error.
using ClientError = h2::ClientError;

struct ClientOptions {
  enum class Mode : uint8_t {
    Native,  // ALPN xftp/1, no SNI, empty hello body, sessionId checked against tls-unique
    Web,     // ALPN h2, SNI, browser TLS parameters, hello with a 32-byte challenge and `xftp-web-hello: 1`,
             // identity proof checked (the TLS certificate itself is not: it may be the web one)
  } mode = Mode::Native;
  std::optional<std::vector<std::string>> alpn;  // replaces the mode's ALPN list (empty list: no ALPN at all)
  std::optional<std::string> sni;                // web mode: defaults to the host
  VersionRange versions{kInitialVersion, kCurrentVersion};  // the client's own range
  std::optional<uint16_t> handshake_version;  // negative tests: sent instead of the negotiated version
  std::optional<Bytes> web_challenge;         // fixed challenge (vectors); random 32 bytes otherwise
  Clock::duration timeout = std::chrono::seconds(10);  // connect + handshake, and each command
  std::optional<socks::Proxy> socks;
  // V10: a command answered with SESSION or HANDSHAKE (ERR or a bare padded string) reconnects, handshakes
  // again and is retried, up to this many attempts in all. 1 = no retry.
  int attempts = 1;
  // False: TLS + HTTP/2 only, no XFTP handshake (raw() tests of the server's handshake state machine); the
  // session then holds the tls-unique as session_id and no server key.
  bool xftp_handshake = true;
};

// What a session's commands depend on.
struct SessionInfo {
  uint16_t version = kCurrentVersion;
  Bytes session_id;
  std::optional<crypto::Key32> server_dh_key;  // the verified X25519 key of the server handshake
  ServerHandshake handshake;
  std::string alpn;
};

// ---- Pure parts (unit tested against V4/V5/V6/V10) ----

// §5.1 request bodies: the native hello is empty; the web hello carries the challenge.
Bytes hello_body(const std::optional<Bytes>& web_challenge);
Bytes client_handshake_body(uint16_t version, ByteView key_hash);
// The version a client sends: the highest in both ranges; nullopt when they do not meet.
std::optional<uint16_t> choose_version(VersionRange server, VersionRange client);
// The 16384-byte block of one command (empty corrId, as the reference clients send). key signs (Ed25519/Ed448)
// or, for an X25519 key, authenticates with the session's server DH key.
Bytes command_block(const SessionInfo& s, ByteView entity_id, const Command& c,
                    const std::optional<crypto::PrivateKey>& key);

// Where the chunk of FPUT comes from: bytes, or `size` bytes of a file descriptor from `offset` (read with
// pread in slices, never held whole; the descriptor stays the caller's).
struct ChunkSource {
  Bytes bytes;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t size = 0;
  static ChunkSource of(Bytes b) { ChunkSource s; s.size = b.size(); s.bytes = std::move(b); return s; }
  static ChunkSource file(int fd, uint64_t offset, uint64_t size) { ChunkSource s; s.fd = fd; s.offset = offset; s.size = size; return s; }
};
// The FPUT request body: the block, then the chunk in slices of at most `slice` bytes. Re-usable for retries
// (each call starts over).
h2::BodyProducer fput_body(Bytes block, ChunkSource chunk, size_t slice = 64 << 10);

// How the first block of a command's reply reads (§6, §8, V10): the response (ERR as FRErr), or an Error for a
// framing failure (BLOCK), a wrong sessionId (SESSION) or a bare padded error string ("SESSION", "HANDSHAKE").
// An unknown bare string reads as HANDSHAKE: it is never a transmission.
std::variant<Response, Error> read_reply(ByteView session_id, ByteView block);
// V10: SESSION and HANDSHAKE are retriable (reconnect, handshake, retry); every other error is permanent.
bool retriable(const Error& e);
bool retriable(const std::variant<Response, Error>& reply);

// Receives what follows the FILE block: decrypts slice by slice (§9) and passes plaintext to the sink as it goes,
// holding back the last 16 bytes (the tag). The plaintext is only trustworthy once finish() returned no error:
// SIZE (more or fewer than `size` bytes), CRYPTO (bad tag), DIGEST (SHA-256 ≠ the expected digest).
class ChunkReceiver {
 public:
  using Sink = std::function<void(std::span<const uint8_t>)>;
  ChunkReceiver(const crypto::Key32& k, const crypto::Nonce& nonce, uint64_t size, std::optional<Bytes> digest,
                Sink sink);
  ~ChunkReceiver();
  // False once more than size + 16 bytes arrived (finish() then reports SIZE).
  bool feed(std::span<const uint8_t> data);
  std::optional<Error> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- Results ----

template <class T>
struct Result {
  std::variant<T, Error> v;
  bool ok() const { return std::holds_alternative<T>(v); }
  explicit operator bool() const { return ok(); }
  const T& value() const { return std::get<T>(v); }
  T& value() { return std::get<T>(v); }
  const Error& error() const { return std::get<Error>(v); }
};

struct Download {
  uint64_t size = 0;  // plaintext bytes given to the sink
};

// A raw exchange for server tests.
struct RawRequest {
  std::string method = "POST";
  std::string path = "/";
  h2::Headers headers;
  Bytes body;
};

class XftpClient {
 public:
  explicit XftpClient(asio::any_io_executor ex);
  ~XftpClient();
  XftpClient(const XftpClient&) = delete;
  XftpClient& operator=(const XftpClient&) = delete;

  // TLS + HTTP/2 + §5 handshake; throws ClientError. key_hash: SHA-256 of the server's CA certificate (32 bytes).
  // From a coroutine pass `options` explicitly: GCC 12 rejects the default argument inside co_await.
  asio::awaitable<void> connect(std::string host, uint16_t port, Bytes key_hash, ClientOptions options = {});
  // A new TLS connection and handshake to the same server (what the V10 retry does).
  asio::awaitable<void> reconnect();

  const SessionInfo& session() const;
  h2::Connection& connection();
  bool connected() const;

  // ---- Commands (entity and keys per §6.2). ERR replies come back as Error; transport failures throw.
  asio::awaitable<Result<FRSndIds>> fnew(FileInfo file, std::vector<AuthKey> rcv_keys,
                                         std::optional<std::string> basic_auth, crypto::PrivateKey snd_key);
  asio::awaitable<Result<FRRcvIds>> fadd(Bytes sender_id, std::vector<AuthKey> rcv_keys, crypto::PrivateKey snd_key);
  asio::awaitable<Result<FROk>> fput(Bytes sender_id, crypto::PrivateKey snd_key, ChunkSource chunk);
  // Generates the X25519 key, decrypts the streamed body into sink (see ChunkReceiver), checks tag, size and
  // digest (when given). Errors: the server's ERR, or SIZE / CRYPTO / DIGEST found here.
  asio::awaitable<Result<Download>> fget(Bytes recipient_id, crypto::PrivateKey rcv_key, uint64_t size,
                                         std::optional<Bytes> digest, ChunkReceiver::Sink sink);
  asio::awaitable<Result<FROk>> fdel(Bytes sender_id, crypto::PrivateKey snd_key);
  asio::awaitable<Result<FROk>> fack(Bytes recipient_id, crypto::PrivateKey rcv_key);
  asio::awaitable<Result<FRPong>> ping();

  // Any command with the retry rule; the reply as read_reply() reads it (the FGET body is not read here).
  asio::awaitable<std::variant<Response, Error>> command(Bytes entity_id, Command c,
                                                         std::optional<crypto::PrivateKey> key);

  // ---- Raw access for server tests: anything on this connection, status, headers and body back.
  asio::awaitable<h2::ClientResponse> raw(RawRequest req);

  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Blocking wrapper for Catch2 tests: owns an io_context and runs it on the calling thread until the awaited
// operation ends; every operation has a timeout so a test never hangs.
class SyncXftpClient {
 public:
  SyncXftpClient();
  ~SyncXftpClient();
  SyncXftpClient(const SyncXftpClient&) = delete;
  SyncXftpClient& operator=(const SyncXftpClient&) = delete;

  void connect(const std::string& host, uint16_t port, const Bytes& key_hash, ClientOptions options = {});
  void reconnect();
  XftpClient& client() { return *client_; }
  const SessionInfo& session() const { return client_->session(); }

  Result<FRSndIds> fnew(const FileInfo& file, const std::vector<AuthKey>& rcv_keys,
                        const std::optional<std::string>& basic_auth, const crypto::PrivateKey& snd_key);
  Result<FRRcvIds> fadd(const Bytes& sender_id, const std::vector<AuthKey>& rcv_keys,
                        const crypto::PrivateKey& snd_key);
  Result<FROk> fput(const Bytes& sender_id, const crypto::PrivateKey& snd_key, ChunkSource chunk);
  // Collects the plaintext into `out`.
  Result<Download> fget(const Bytes& recipient_id, const crypto::PrivateKey& rcv_key, uint64_t size,
                        const std::optional<Bytes>& digest, Bytes& out);
  Result<FROk> fdel(const Bytes& sender_id, const crypto::PrivateKey& snd_key);
  Result<FROk> fack(const Bytes& recipient_id, const crypto::PrivateKey& rcv_key);
  Result<FRPong> ping();
  std::variant<Response, Error> command(const Bytes& entity_id, Command c, std::optional<crypto::PrivateKey> key);
  h2::ClientResponse raw(RawRequest req);
  void close();

 private:
  template <class T>
  T run(asio::awaitable<T> op);
  asio::io_context io_;
  std::unique_ptr<XftpClient> client_;
  Clock::duration timeout_ = std::chrono::seconds(10);
};

// "SIDS", "ERR AUTH", ...: for assertion messages.
std::string describe(const std::variant<Response, Error>& reply);

}  // namespace sr::xftp
