// This relay as the proxy of private message routing (smp-commands.md §10.2–§10.6): a sender connected to relay A
// asks A for relay B's session (PRXY → PKEY) and sends B's queue a message through A (PFWD → RFWD → RRES → PRES).
// Two real servers on 127.0.0.1, real TLS, our client doing what the apps do.
#include <catch2/catch.hpp>

#include "smp_client_fixture.hpp"
#include "socks_server.hpp"

using namespace sr;
using namespace sr::smp;
using namespace sr::test;
using namespace std::chrono_literals;

namespace {

cmd::SMPServer address_of(const Relay& r) {
  return cmd::SMPServer{{"127.0.0.1"}, std::to_string(r.d.p1), r.d.key_hash_bytes()};
}

ProxyError proxy_err(const Response& r) {
  auto e = expect_err(r);
  REQUIRE(e.kind == ErrorType::Kind::PROXY);
  REQUIRE(e.proxy);
  return *e.proxy;
}

// PRXY through `snd` to `dest`, checked as a client checks PKEY.
ProxiedRelay relay_through(SyncSmpClient& snd, const Relay& dest) {
  auto pkey = expect<resp::PKEY>(snd.proxy_relay(address_of(dest)));
  CHECK(pkey.versions.min == 8);
  CHECK(pkey.versions.max == 17);  // capped (§10.7): the destination's 18 is not shown
  REQUIRE(pkey.cert_chain.size() == 2);
  auto r = proxied_relay(pkey, dest.d.key_hash_bytes());
  REQUIRE(r);
  CHECK(r->dest.version == 17);
  return *r;
}

std::string body_of(const QueueCreds& q, const resp::MSG& m) {
  auto d = decrypt_msg(q, m);
  REQUIRE(d);
  return std::string(d->body.begin(), d->body.end());
}

}  // namespace

TEST_CASE("SMP proxy: messages sent through relay A reach a queue on relay B with every key type",
          "[smp-wire][proxy]") {
  Relay a, b;
  auto snd = a.connect();
  ProxiedRelay relay = relay_through(*snd, b);
  auto rcp = b.connect();
  std::vector<crypto::KeyAlg> algs = {crypto::KeyAlg::Ed25519, crypto::KeyAlg::X25519};
  if (crypto::ed448_supported()) algs.push_back(crypto::KeyAlg::Ed448);  // not in the BoringSSL build
  for (auto alg : algs) {
    CAPTURE(static_cast<int>(alg));
    QueueCreds q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    AuthKeyPair sender = generate_auth_key(alg);
    ClientAuth auth;
    auth.key = sender.priv;
    // The sender secures the queue and sends the largest message, both through the proxy.
    expect<resp::OK>(snd->proxied_request(relay, q.snd_id, cmd::SKEY{sender.pub}, auth));
    const std::string big(max_message_length(relay.dest.version), 'm');
    expect<resp::OK>(snd->proxied_request(relay, q.snd_id, cmd::SEND{false, text(big)}, auth));
    // Errors of the destination come back as they are: a wrong key is AUTH.
    ClientAuth wrong;
    wrong.key = generate_auth_key(alg).priv;
    CHECK(expect_err(snd->proxied_request(relay, q.snd_id, cmd::SEND{false, text("x")}, wrong)).kind ==
          ErrorType::Kind::AUTH);
    auto m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
    CHECK(body_of(q, m) == big);
  }
  // Another client of A shares A's session with B (one connection per destination).
  auto snd2 = a.connect();
  auto pkey2 = expect<resp::PKEY>(snd2->proxy_relay(address_of(b)));
  CHECK(pkey2.session_id == relay.dest.session_id);
}

TEST_CASE("SMP proxy: PRXY to itself works and is counted in the statistics", "[smp-wire][proxy]") {
  Relay a([](StartDirs& d) { d.set_ini_line("log_stats = off", "log_stats = on"); });
  {
    auto snd = a.connect(), rcp = a.connect();
    ProxiedRelay relay = relay_through(*snd, a);
    QueueCreds q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    expect<resp::OK>(snd->proxied_request(relay, q.snd_id, cmd::SEND{false, text("to myself")}, {}));
    CHECK(body_of(q, expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}))) == "to myself");
    CHECK(proxy_err(snd->proxied_request(ProxiedRelay{SessionParams{17, Bytes(32, 1)}, relay.dest_key},
                                         q.snd_id, cmd::SEND{false, text("x")}, {}))
              .kind == ProxyError::Kind::NO_SESSION);
  }
  a.proc->signal(SIGINT);
  REQUIRE(a.proc->wait(30s) == std::optional<int>(0));
  // The reference's proxy counters (server-operations.md §5.2): one relay session, two forwards (one without a
  // session), and this relay as the destination of one.
  const std::string stats = read_text(a.d.log / "smp-server-stats.log");
  CHECK(contains(stats, "pRelays:\nrequests=1\nsuccesses=1\nerrorsConnect=0\nerrorsCompat=0\nerrorsOther=0\n"));
  CHECK(contains(stats, "pMsgFwds:\nrequests=2\nsuccesses=1\nerrorsConnect=1\nerrorsCompat=0\nerrorsOther=0\n"));
  CHECK(contains(stats, "pMsgFwdsRecv=1\n"));
}

TEST_CASE("SMP proxy: errors between the proxy and the destination", "[smp-wire][proxy]") {
  Relay a, b;
  auto snd = a.connect();

  SECTION("a closed port is BROKER NETWORK, and the failure is remembered") {
    cmd::SMPServer nowhere{{"127.0.0.1"}, std::to_string(free_port()), b.d.key_hash_bytes()};
    auto e = proxy_err(snd->proxy_relay(nowhere));
    CHECK(e.kind == ProxyError::Kind::BROKER);
    CHECK(e.broker.kind == BrokerError::Kind::NETWORK);
    CHECK(proxy_err(snd->proxy_relay(nowhere)).broker.kind == BrokerError::Kind::NETWORK);
  }
  SECTION("a wrong key hash is BROKER TRANSPORT HANDSHAKE IDENTITY") {
    cmd::SMPServer impostor = address_of(b);
    impostor.key_hash = Bytes(32, 9);
    auto e = proxy_err(snd->proxy_relay(impostor));
    CHECK(e.kind == ProxyError::Kind::BROKER);
    CHECK(e.broker.kind == BrokerError::Kind::TRANSPORT);
    CHECK(e.broker.transport == TransportError::HANDSHAKE_IDENTITY);
  }
  SECTION("an .onion destination without a SOCKS proxy is BROKER HOST, never resolved") {
    cmd::SMPServer onion{{"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"}, "5223",
                         b.d.key_hash_bytes()};
    auto e = proxy_err(snd->proxy_relay(onion));
    CHECK(e.broker.kind == BrokerError::Kind::HOST);
    CHECK(contains(a.proc->err(), ".onion hosts need [PROXY] socks_proxy"));
  }
  SECTION("PFWD with an unknown session is NO_SESSION") {
    ProxiedRelay fake{SessionParams{17, crypto::random_bytes(32)}, crypto::x25519_generate().pub};
    CHECK(proxy_err(snd->proxied_request(fake, crypto::random_bytes(24), cmd::SEND{false, text("x")}, {})).kind ==
          ProxyError::Kind::NO_SESSION);
  }
  SECTION("a forwarded command the destination cannot decrypt is PROXY PROTOCOL CRYPTO") {
    ProxiedRelay relay = relay_through(*snd, b);
    ProxiedRelay wrong_key = relay;
    wrong_key.dest_key = crypto::x25519_generate().pub;  // sealed for a key the destination does not hold
    auto e = proxy_err(snd->proxied_request(wrong_key, crypto::random_bytes(24), cmd::SEND{false, text("x")}, {}));
    CHECK(e.kind == ProxyError::Kind::PROTOCOL);
    REQUIRE(e.protocol);
    CHECK(e.protocol->kind == ErrorType::Kind::CRYPTO);
  }
  SECTION("the destination stops mid-session, then comes back") {
    ProxiedRelay relay = relay_through(*snd, b);
    auto rcp = b.connect();
    QueueCreds q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    rcp.reset();
    b.proc->signal(SIGTERM);
    REQUIRE(b.proc->wait(30s) == std::optional<int>(0));
    // The session is gone: the client is told to ask again (or, if the proxy has not yet seen the close, that the
    // destination is unreachable).
    auto e = proxy_err(snd->proxied_request(relay, q.snd_id, cmd::SEND{false, text("lost")}, {}));
    CHECK((e.kind == ProxyError::Kind::NO_SESSION ||
           (e.kind == ProxyError::Kind::BROKER && e.broker.kind == BrokerError::Kind::NETWORK)));
    b.proc = b.d.start_ready();
    ProxiedRelay again = relay_through(*snd, b);
    CHECK(again.dest.session_id != relay.dest.session_id);
    expect<resp::OK>(snd->proxied_request(again, q.snd_id, cmd::SEND{false, text("after restart")}, {}));
    auto rcp2 = b.connect();
    CHECK(body_of(q, expect<resp::MSG>(rcp2->recipient_request(q, cmd::GET{}))) == "after restart");
  }
}

TEST_CASE("SMP proxy: PRXY needs the queue-creation password when the relay has one", "[smp-wire][proxy]") {
  Relay a([](StartDirs& d) { d.add_to_section("AUTH", "create_password = s3cret\n"); });
  Relay b;
  auto snd = a.connect();
  CHECK(proxy_err(snd->proxy_relay(address_of(b))).kind == ProxyError::Kind::BASIC_AUTH);
  CHECK(proxy_err(snd->proxy_relay(address_of(b), std::string("wrong"))).kind == ProxyError::Kind::BASIC_AUTH);
  expect<resp::PKEY>(snd->proxy_relay(address_of(b), std::string("s3cret")));
}

TEST_CASE("SMP proxy: .onion destinations go through the SOCKS proxy by name, public ones per socks_mode",
          "[smp-wire][proxy][socks]") {
  Relay b;
  const std::string onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion";
  const bool always = GENERATE(false, true);
  CAPTURE(always);
  SocksServer socks({{{onion, b.d.p1}, {"127.0.0.1", b.d.p1}}, std::nullopt});
  Relay a([&](StartDirs& d) {
    d.add_to_section("PROXY", "socks_proxy = @127.0.0.1:" + std::to_string(socks.port()) + "\n" +
                                  (always ? "socks_mode = always\n" : ""));
  });
  auto snd = a.connect();
  auto rcp = b.connect();
  QueueCreds q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);

  // The destination's address lists its .onion name first; the public-host mode still picks the public one.
  cmd::SMPServer both{{onion, "127.0.0.1"}, std::to_string(b.d.p1), b.d.key_hash_bytes()};
  auto pub = proxied_relay(expect<resp::PKEY>(snd->proxy_relay(both)), b.d.key_hash_bytes());
  REQUIRE(pub);
  if (always) {
    REQUIRE(socks.requests().size() == 1);
    CHECK(socks.requests()[0].host == "127.0.0.1");
  } else {
    CHECK(socks.requests().empty());  // socks_mode = onion: public hosts are dialled directly
  }

  // An .onion-only address: the name reaches the SOCKS proxy as it is (ATYP 3), never resolved here.
  cmd::SMPServer hidden{{onion}, "5223", b.d.key_hash_bytes()};
  auto relay = proxied_relay(expect<resp::PKEY>(snd->proxy_relay(hidden)), b.d.key_hash_bytes());
  REQUIRE(relay);
  const auto reqs = socks.requests();
  REQUIRE_FALSE(reqs.empty());
  CHECK(reqs.back().atyp == 3);
  CHECK(reqs.back().host == onion);
  CHECK(reqs.back().port == 5223);
  expect<resp::OK>(snd->proxied_request(*relay, q.snd_id, cmd::SEND{false, text("via tor")}, {}));
  CHECK(body_of(q, expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}))) == "via tor");
}
