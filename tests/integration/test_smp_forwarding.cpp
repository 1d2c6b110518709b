// This relay as the destination of private message routing (smp-commands.md §10.4): a connection that says it
// is a proxy (hello flag, client key, no block encryption) forwards a sender's command in RFWD and gets the
// reply back in RRES, both layers encrypted as the reference does.
#include <catch2/catch.hpp>

#include "smp_client_fixture.hpp"

using namespace sr;
using namespace sr::smp;
using namespace sr::test;
using namespace std::chrono_literals;

namespace {

// Plays the proxy: one forwarded command through `proxy`, returning RRES's inner reply (or the RFWD error).
struct Forwarded {
  std::optional<Response> inner;  // the destination's reply to the sender's command
  std::optional<ErrorType> error;  // ERR to RFWD itself
};

Forwarded forward(SyncSmpClient& proxy, uint16_t fwd_v, ByteView entity, const Command& c, const ClientAuth& auth,
                  bool corrupt = false) {
  const SessionParams dest{fwd_v, proxy.client().params().session_id};
  auto req = seal_proxied_request(dest, *proxy.client().server_session_key(), entity, encode_command(c, fwd_v), auth);
  REQUIRE(req);
  if (corrupt) req->enc_transmission[200] ^= 0x80;
  const crypto::Key32 ss_pr = *proxy.client().session_secret();
  const Bytes n_p = crypto::random_bytes(24);
  const Bytes fwd = encode_fwd_transmission(FwdTransmission{
      req->corr_id, fwd_v, crypto::PublicKey{crypto::KeyAlg::X25519, Bytes(req->ephemeral.pub.begin(),
                                                                          req->ephemeral.pub.end())},
      req->enc_transmission});
  // RFWD goes out with corrId N_p (the client library picks random corrIds, so encode it by hand).
  proxy.send_raw_transmissions(
      {proxy.client().encode_transmission(n_p, {}, cmd::RFWD{crypto::box_seal(ss_pr, crypto::cb_nonce(n_p), fwd)})});
  auto got = proxy.read_transmission(10s);
  REQUIRE(got);
  CHECK(got->corr_id == n_p);
  CHECK(got->entity_id.empty());
  REQUIRE(got->response);
  Forwarded out;
  if (auto* e = std::get_if<resp::ERR>(&*got->response)) {
    out.error = e->err;
    return out;
  }
  auto rres = expect<resp::RRES>(*got->response);
  auto fr = crypto::box_open(ss_pr, crypto::reverse_nonce(crypto::cb_nonce(n_p)), rres.enc);
  REQUIRE(fr);
  Decoder d(*fr);
  auto fwd_corr = d.short_string();
  REQUIRE(fwd_corr);
  Bytes storage;
  auto tx = open_proxied_response(dest, *req, d.rest(), storage);
  REQUIRE(tx);
  CHECK(tx->corr_id == req->corr_id);
  CHECK(tx->entity_id == Bytes(entity.begin(), entity.end()));
  out.inner = parse_response(tx->response, fwd_v);
  REQUIRE(out.inner);
  return out;
}

ClientOptions as_proxy() {
  ClientOptions o;
  o.proxy_server = true;
  return o;
}

}  // namespace

TEST_CASE("RFWD: forwarded SKEY and SEND reach the recipient; replies come back encrypted", "[smp-wire]") {
  Relay relay;
  auto proxy = relay.connect(as_proxy());
  CHECK_FALSE(proxy->client().block_encryption());  // proxy links are not block-encrypted
  REQUIRE(proxy->client().session_secret());
  auto rcp = relay.connect();
  std::vector<crypto::KeyAlg> algs = {crypto::KeyAlg::Ed25519, crypto::KeyAlg::X25519};
  if (crypto::ed448_supported()) algs.push_back(crypto::KeyAlg::Ed448);
  for (auto alg : algs) {
    for (uint16_t v : {8, 17}) {
      CAPTURE(static_cast<int>(alg), v);
      auto q = rcp->create_queue();
      auto sender = generate_auth_key(alg);
      ClientAuth sa;
      sa.key = sender.priv;
      auto r = forward(*proxy, v, q.snd_id, cmd::SKEY{sender.pub}, sa);
      REQUIRE(r.inner);
      expect<resp::OK>(*r.inner);
      // The largest message that fits a forwarded transmission with any key (16048 with Ed448: commands §10.3).
      const Bytes body(max_message_length(kMaxVersion), 'p');
      r = forward(*proxy, v, q.snd_id, cmd::SEND{false, body}, sa);
      REQUIRE(r.inner);
      expect<resp::OK>(*r.inner);
      CHECK(decrypt_msg(q, expect_msg_event(*rcp, q.rcv_id))->body == body);
      // Errors of the forwarded command come back inside RRES.
      r = forward(*proxy, v, q.snd_id, cmd::SEND{false, text("unsigned")}, ClientAuth{});
      REQUIRE(r.inner);
      CHECK(expect_err(*r.inner).kind == ErrorType::Kind::AUTH);
    }
  }
}

TEST_CASE("RFWD: commands other than SEND/SKEY/LKEY/LGET are prohibited, bad encryption is ERR CRYPTO", "[smp-wire]") {
  Relay relay;
  auto proxy = relay.connect(as_proxy());
  auto rcp = relay.connect();
  auto q = rcp->create_queue();
  ClientAuth ra;
  ra.key = q.rcv_auth.priv;
  auto r = forward(*proxy, 17, q.rcv_id, cmd::DEL{}, ra);
  REQUIRE(r.inner);
  CHECK(expect_err(*r.inner) == ErrorType::command(CmdError::PROHIBITED));
  r = forward(*proxy, 17, q.snd_id, cmd::SEND{false, text("x")}, ClientAuth{}, true);
  REQUIRE(r.error);
  CHECK(r.error->kind == ErrorType::Kind::CRYPTO);
  // The queue still works after the failures.
  r = forward(*proxy, 17, q.snd_id, cmd::SEND{false, text("still fine")}, ClientAuth{});
  REQUIRE(r.inner);
  expect<resp::OK>(*r.inner);
}

TEST_CASE("RFWD on a connection without a client key is refused", "[smp-wire]") {
  Relay relay;
  ClientOptions o = as_proxy();
  o.send_client_key = false;
  auto c = relay.connect(o);
  c->send_raw_transmissions({c->client().encode_transmission(crypto::random_bytes(24), {}, cmd::RFWD{Bytes(64, 1)})});
  auto got = c->read_transmission(5s);
  REQUIRE(got);
  Bytes b = encode_response(*got->response, c->version());
  CHECK(std::string(b.begin(), b.end()) == "ERR PROXY BROKER TRANSPORT NO_AUTH");
}
