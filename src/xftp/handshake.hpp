// The per-connection XFTP handshake state machine (xftp-protocol.md §4.2 step 3, §5.3; simplexmq
// FileTransfer/Server.hs runServer / xftpServerHandshakeV1) as plain data: the session feeds it each POST's
// routing facts and body head and gets back either a reply body or the parameters to process a command with.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "core/crypto.hpp"
#include "xftp/protocol.hpp"

namespace sr::xftp {

// What the server proves its identity with: the fingerprint, the chain [server.crt, ca.crt] as DER, and the
// online (leaf) private key that signs the per-connection DH key and web identity proofs.
struct HandshakeIdentity {
  Bytes key_hash;
  std::vector<Bytes> cert_chain;
  crypto::PrivateKey leaf_key;
};

// How a request reached us: negotiated ALPN (empty: none), whether the connection is a web one (SNI and a web
// certificate), and the web-only request headers.
struct RequestRoute {
  std::string_view alpn;
  bool web = false;
  bool hello_header = false;      // xftp-web-hello
  bool handshake_header = false;  // xftp-handshake
};

// Reply with this body (status 200; empty = an empty 200, the "accepted" answer or the no-XFTP answer).
struct HandshakeReply {
  Bytes body;
};
// Process the request as a command with this version and the connection's DH key (none before a handshake).
struct ProcessCommand {
  uint16_t version = kInitialVersion;
  std::optional<crypto::Key32> server_dh_priv;
};
using HandshakeStep = std::variant<HandshakeReply, ProcessCommand>;

class HandshakeState {
 public:
  enum class Phase : uint8_t { None, Sent, Accepted };

  // key_gen makes the connection's X25519 key on the first successful hello (tests pass a fixed one).
  explicit HandshakeState(std::function<crypto::X25519KeyPair()> key_gen = crypto::x25519_generate)
      : key_gen_(std::move(key_gen)) {}

  // body: the request body head (at most one block). session_id: the connection's tls-unique.
  HandshakeStep on_request(const RequestRoute& route, ByteView body, ByteView session_id,
                           const HandshakeIdentity& id);

  Phase phase() const { return phase_; }
  uint16_t version() const { return version_; }

 private:
  HandshakeStep hello(ByteView body, ByteView session_id, const HandshakeIdentity& id);
  HandshakeStep client_handshake(ByteView body, const HandshakeIdentity& id);

  std::function<crypto::X25519KeyPair()> key_gen_;
  Phase phase_ = Phase::None;
  std::optional<crypto::X25519KeyPair> key_;  // k: made once, reused by every later hello
  uint16_t version_ = kInitialVersion;        // negotiated when accepted
};

}  // namespace sr::xftp
