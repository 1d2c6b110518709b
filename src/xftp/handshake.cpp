#include "xftp/handshake.hpp"

namespace sr::xftp {

namespace {

HandshakeReply error_reply(Error::Kind k) { return {encode_handshake_error(k)}; }

}  // namespace

HandshakeStep HandshakeState::on_request(const RequestRoute& route, ByteView body, ByteView session_id,
                                         const HandshakeIdentity& id) {
  // §4.2 step 3: no ALPN is a legacy client (version 1, no handshake, no DH key); h2 without a web certificate
  // and SNI is not XFTP at all.
  if (route.alpn.empty()) return ProcessCommand{kInitialVersion, std::nullopt};
  const bool xftp = route.alpn == kAlpnXftp || route.alpn == "http/1.1" || (route.web && route.alpn == "h2");
  if (!xftp) return HandshakeReply{};

  const bool web_hello = route.web && route.hello_header;
  switch (phase_) {
    case Phase::None:
      if (route.web && !route.hello_header) return error_reply(Error::Kind::SESSION);
      // A native hello is an empty body; only web connections may carry a challenge.
      if (!body.empty() && !route.web) return error_reply(Error::Kind::HANDSHAKE);
      return hello(body, session_id, id);
    case Phase::Sent:
      if (web_hello) return hello(body, session_id, id);
      return client_handshake(body, id);
    case Phase::Accepted:
      if (web_hello) return hello(body, session_id, id);
      if (route.web && route.handshake_header) return client_handshake(body, id);
      return ProcessCommand{version_, key_->priv};
  }
  return error_reply(Error::Kind::HANDSHAKE);
}

HandshakeStep HandshakeState::hello(ByteView body, ByteView session_id, const HandshakeIdentity& id) {
  const auto client_hello = parse_client_hello(body);
  if (!client_hello) return error_reply(Error::Kind::HANDSHAKE);
  if (!key_) key_ = key_gen_();
  ServerHandshake h;
  h.session_id.assign(session_id.begin(), session_id.end());
  h.cert_chain = id.cert_chain;
  const crypto::PublicKey dh{crypto::KeyAlg::X25519, Bytes(key_->pub.begin(), key_->pub.end())};
  h.signed_dh_key = crypto::sign_signed_key(id.leaf_key, dh);
  if (client_hello->web_challenge)
    h.web_identity_proof = make_identity_proof(id.leaf_key, *client_hello->web_challenge, session_id);
  phase_ = Phase::Sent;
  return HandshakeReply{encode_server_handshake(h)};
}

HandshakeStep HandshakeState::client_handshake(ByteView body, const HandshakeIdentity& id) {
  // A failure leaves the phase (and an earlier accepted version) as it was.
  const auto h = parse_client_handshake(body);
  if (!h || !accept_client_handshake(*h, id.key_hash)) return error_reply(Error::Kind::HANDSHAKE);
  version_ = h->version;
  phase_ = Phase::Accepted;
  return HandshakeReply{};
}

}  // namespace sr::xftp
