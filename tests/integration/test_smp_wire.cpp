// The real `smp-server start` over TLS on 127.0.0.1, driven by our SMP client (src/smp/client.*): handshake
// versions, block encryption, the command life cycles, transport errors, subscriptions across connections,
// notifications, short links and quota (smp-transport.md §4–§6, smp-commands.md §5–§11).
#include <catch2/catch.hpp>

#include <csignal>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "smp/client.hpp"
#include "smp_client_fixture.hpp"

using namespace sr;
using namespace sr::smp;
using namespace sr::test;
using namespace std::chrono_literals;

TEST_CASE("SMP handshake negotiates the client's maximum version and block encryption from v11", "[smp-wire]") {
  Relay relay;
  for (uint16_t v : {6, 7, 10, 11, 14, 16, 18}) {
    CAPTURE(v);
    auto c = relay.connect_v(v);
    CHECK(c->version() == v);
    CHECK(c->client().block_encryption() == (v >= 11));
    expect<resp::PONG>(c->request({}, cmd::PING{}));
  }
  // Without a client key there is no block encryption, even at v18.
  ClientOptions no_key;
  no_key.send_client_key = false;
  auto c = relay.connect(no_key);
  CHECK(c->version() == 18);
  CHECK_FALSE(c->client().block_encryption());
  expect<resp::PONG>(c->request({}, cmd::PING{}));
}

TEST_CASE("SMP without ALPN offers only the legacy version 6", "[smp-wire]") {
  Relay relay;
  ClientOptions o;
  o.alpn = {};
  auto c = relay.connect(o);
  CHECK(c->client().server_hello().versions == kLegacyVersions);
  CHECK(c->version() == 6);
  CHECK(c->client().server_hello().cert_chain.empty());
  auto q = c->create_queue();
  expect<resp::OK>(c->send(q.snd_id, std::nullopt, text("legacy")));
  auto m = expect_msg_event(*c, q.rcv_id);
  CHECK(decrypt_msg(q, m)->body == text("legacy"));
}

TEST_CASE("SMP server hello carries the certificate chain and a signed session key", "[smp-wire]") {
  Relay relay;
  auto c = relay.connect();
  const auto& h = c->client().server_hello();
  CHECK(h.versions == kServerVersions);
  REQUIRE(h.cert_chain.size() == 2);
  CHECK(h.cert_chain[1] == first_cert_der(relay.d.cfg / "ca.crt"));
  CHECK(h.cert_chain[0] == first_cert_der(relay.d.cfg / "server.crt"));
  CHECK(c->client().server_session_key().has_value());
}

TEST_CASE("SMP client refuses a server whose identity does not match the address", "[smp-wire]") {
  Relay relay;
  SyncSmpClient c;
  auto wrong = relay.d.key_hash_bytes();
  wrong[0] ^= 1;
  CHECK_THROWS_WITH(c.connect("127.0.0.1", relay.d.p1, wrong), Catch::Contains("HANDSHAKE IDENTITY"));
}

TEST_CASE("SMP message life cycle at versions 6, 11, 14 and 18 with each key type", "[smp-wire]") {
  Relay relay;
  std::vector<crypto::KeyAlg> algs = {crypto::KeyAlg::Ed25519, crypto::KeyAlg::X25519};
  if (crypto::ed448_supported()) algs.push_back(crypto::KeyAlg::Ed448);
  for (uint16_t v : {6, 11, 14, 18}) {
    for (auto alg : algs) {
      CAPTURE(v, static_cast<int>(alg));
      auto rcp = relay.connect_v(v);
      auto snd = relay.connect_v(v);
      auto q = rcp->create_queue(alg);
      auto sender = generate_auth_key(alg);
      if (v >= 9)
        snd->secure_by_sender(q.snd_id, sender);
      else
        rcp->secure(q, sender.pub);
      // Unsigned SEND to a secured queue fails.
      CHECK(expect_err(snd->send(q.snd_id, std::nullopt, text("x"))).kind == ErrorType::Kind::AUTH);
      const Bytes big(max_message_length(v), 'b');
      expect<resp::OK>(snd->send(q.snd_id, sender, text("first")));
      expect<resp::OK>(snd->send(q.snd_id, sender, big, true));
      CHECK(expect_err(snd->send(q.snd_id, sender, Bytes(max_message_length(v) + 1, 'x'))).kind ==
            ErrorType::Kind::LARGE_MSG);
      auto m1 = expect_msg_event(*rcp, q.rcv_id);
      CHECK(decrypt_msg(q, m1)->body == text("first"));
      auto m2 = expect<resp::MSG>(rcp->ack(q, m1.msg_id));
      auto plain = decrypt_msg(q, m2);
      REQUIRE(plain);
      CHECK(plain->body == big);
      CHECK(plain->notification);
      expect<resp::OK>(rcp->ack(q, m2.msg_id));
      CHECK(expect_err(rcp->ack(q, m2.msg_id)).kind == ErrorType::Kind::NO_MSG);
      expect<resp::OK>(rcp->recipient_request(q, cmd::DEL{}));
      CHECK(expect_err(snd->send(q.snd_id, sender, text("gone"))).kind == ErrorType::Kind::AUTH);
    }
  }
}

TEST_CASE("SMP malformed blocks get ERR BLOCK and the connection lives on", "[smp-wire]") {
  Relay relay;
  for (uint16_t v : {6, 18}) {
    CAPTURE(v);
    auto c = relay.connect_v(v);
    // Random bytes: for v18 the block does not decrypt, for v6 the padding length is wrong. (A block that is
    // not a batch is in test_smp_errors.cpp.)
    Bytes junk = crypto::random_bytes(kBlockSize);
    junk[0] = 0xff;
    c->send_raw_block(junk);
    auto r = c->read_transmission(5s);
    REQUIRE(r);
    CHECK(expect_err(*r->response).kind == ErrorType::Kind::BLOCK);
    expect<resp::PONG>(c->request({}, cmd::PING{}));
  }
}

TEST_CASE("SMP bad transmissions in a batch fail alone", "[smp-wire]") {
  Relay relay;
  auto c = relay.connect();
  const Bytes corr1 = crypto::random_bytes(24), corr2 = crypto::random_bytes(24), corr3 = crypto::random_bytes(24);
  std::vector<Bytes> items;
  items.push_back(Bytes{0x05, 'x'});  // not a transmission
  items.push_back(c->client().encode_transmission(corr1, {}, cmd::PING{}));
  // Unknown command, with an entity: the error keeps both corrId and entity.
  Bytes unknown;
  Encoder(unknown).short_string({}).short_string(corr2).short_string(text("ENTITY")).tail(text("HELLO"));
  items.push_back(unknown);
  Bytes syntax;
  Encoder(syntax).short_string({}).short_string(corr3).short_string({}).tail(text("NEW"));
  items.push_back(syntax);
  c->send_raw_transmissions(items);
  std::map<Bytes, Received> got;
  for (int i = 0; i < 4; ++i) {
    auto r = c->read_transmission(5s);
    REQUIRE(r);
    got[r->corr_id] = *r;
  }
  CHECK(expect_err(*got[{}].response).kind == ErrorType::Kind::BLOCK);
  expect<resp::PONG>(*got[corr1].response);
  CHECK(expect_err(*got[corr2].response) == ErrorType::command(CmdError::UNKNOWN));
  CHECK(got[corr2].entity_id == text("ENTITY"));
  CHECK(expect_err(*got[corr3].response) == ErrorType::command(CmdError::SYNTAX));
}

TEST_CASE("SMP subscription moves to the newest connection with END to the old one", "[smp-wire]") {
  Relay relay;
  auto a = relay.connect(), b = relay.connect(), snd = relay.connect();
  auto q = a->create_queue();
  expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("one")));
  auto m = expect_msg_event(*a, q.rcv_id);
  // b takes over: a gets END, b gets the unacknowledged message again.
  ClientAuth auth;
  auth.key = q.rcv_auth.priv;
  expect<resp::SOK>(b->request(q.rcv_id, cmd::SUB{}, auth));
  CHECK(expect_msg_event(*b, q.rcv_id).msg_id == m.msg_id);
  auto end = a->next_event(5s);
  REQUIRE(end);
  CHECK(end->entity_id == q.rcv_id);
  CHECK(std::holds_alternative<resp::END>(*end->response));
  CHECK(expect_err(a->ack(q, m.msg_id)).kind == ErrorType::Kind::NO_MSG);
  expect<resp::OK>(b->ack(q, m.msg_id));
  // New messages go to b only.
  expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("two")));
  CHECK(decrypt_msg(q, expect_msg_event(*b, q.rcv_id))->body == text("two"));
  CHECK_FALSE(a->next_event(300ms));
  // b disconnects: a can subscribe again without anyone getting END.
  b->close();
  expect<resp::SOK>(a->request(q.rcv_id, cmd::SUB{}, auth));
  CHECK(decrypt_msg(q, expect_msg_event(*a, q.rcv_id))->body == text("two"));
}

TEST_CASE("SMP concurrent senders to one queue lose nothing", "[smp-wire]") {
  Relay relay;
  auto rcp = relay.connect();
  auto q = rcp->create_queue();
  constexpr int kSenders = 3, kEach = 40;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int s = 0; s < kSenders; ++s) {
    threads.emplace_back([&, s] {
      auto c = relay.connect();
      for (int i = 0; i < kEach; ++i)
        if (std::holds_alternative<resp::OK>(c->send(q.snd_id, std::nullopt, text(fmt::format("{}:{}", s, i)))))
          ++ok;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == kSenders * kEach);
  std::set<std::string> seen;
  std::vector<int> last(kSenders, -1);
  auto m = expect_msg_event(*rcp, q.rcv_id);
  for (int n = 0; n < kSenders * kEach; ++n) {
    auto plain = decrypt_msg(q, m);
    REQUIRE(plain);
    std::string body(plain->body.begin(), plain->body.end());
    seen.insert(body);
    const int s = body[0] - '0', i = std::stoi(body.substr(2));
    CHECK(i == last[s] + 1);  // each sender's messages arrive in order
    last[s] = i;
    auto r = rcp->ack(q, m.msg_id);
    if (n + 1 < kSenders * kEach) m = expect<resp::MSG>(r);
    else expect<resp::OK>(r);
  }
  CHECK(seen.size() == kSenders * kEach);
}

TEST_CASE("SMP quota from the INI: ERR QUOTA, the marker, and recovery", "[smp-wire]") {
  Relay relay([](StartDirs& d) { d.add_to_section("STORE_LOG", "msg_queue_quota = 2\n"); });
  auto rcp = relay.connect(), snd = relay.connect();
  auto q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
  expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("1")));
  expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("2")));
  CHECK(expect_err(snd->send(q.snd_id, std::nullopt, text("3"))).kind == ErrorType::Kind::QUOTA);
  auto m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->body == text("1"));
  expect<resp::OK>(rcp->ack(q, m.msg_id));
  m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  expect<resp::OK>(rcp->ack(q, m.msg_id));
  m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->quota);
  expect<resp::OK>(rcp->ack(q, m.msg_id));
  expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("after")));
}

TEST_CASE("SMP queue creation rules from the INI: password and new_queues", "[smp-wire]") {
  SECTION("password") {
    Relay relay([](StartDirs& d) { d.add_to_section("AUTH", "create_password = s3cret\n"); });
    auto c = relay.connect();
    CHECK_THROWS_WITH(c->create_queue(), Catch::Contains("AUTH"));
    auto k = generate_auth_key(crypto::KeyAlg::Ed25519);
    auto dh = generate_dh_key();
    ClientAuth auth;
    auth.key = k.priv;
    expect<resp::IDS>(c->request({}, cmd::NEW{k.pub, dh.pub, std::string("s3cret"), true, QueueReqData{}, {}}, auth));
  }
  SECTION("new_queues off") {
    Relay relay([](StartDirs& d) { d.set_ini_line("new_queues = on", "new_queues = off"); });
    auto c = relay.connect();
    CHECK_THROWS_WITH(c->create_queue(), Catch::Contains("AUTH"));
  }
}

TEST_CASE("SMP notifications reach the notifier subscriber as NMSG", "[smp-wire]") {
  Relay relay;
  auto rcp = relay.connect(), snd = relay.connect(), ntf = relay.connect();
  auto q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
  auto nkey = generate_auth_key(crypto::KeyAlg::Ed25519);
  auto ndh = generate_dh_key();
  auto nid = expect<resp::NID>(rcp->recipient_request(q, cmd::NKEY{nkey.pub, ndh.pub}));
  ClientAuth auth;
  auth.key = nkey.priv;
  expect<resp::SOK>(ntf->request(nid.notifier_id, cmd::NSUB{}, auth));
  expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("ping me"), true));
  auto ev = ntf->next_event(5s);
  REQUIRE(ev);
  CHECK(ev->entity_id == nid.notifier_id);
  auto nm = expect<resp::NMSG>(*ev->response);
  auto secret = crypto::x25519_dh(x25519_private(ndh.priv), nid.srv_ntf_dh_key.raw);
  REQUIRE(secret);
  auto meta = crypto::box_open_padded(*secret, nm.nonce, nm.enc_meta);
  REQUIRE(meta);
  auto m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  Decoder d(*meta);
  auto msg_id = d.short_string();
  REQUIRE(msg_id);
  CHECK(Bytes(msg_id->begin(), msg_id->end()) == m.msg_id);
  // Deleting the queue ends the notifier subscription with DELD.
  expect<resp::OK>(rcp->recipient_request(q, cmd::DEL{}));
  ev = ntf->next_event(5s);
  REQUIRE(ev);
  CHECK(std::holds_alternative<resp::DELD>(*ev->response));
}

TEST_CASE("SMP short links: invitation via LKEY and contact address via LGET", "[smp-wire]") {
  Relay relay;
  auto owner = relay.connect(), joiner = relay.connect();
  // Contact address: the link id is chosen by the client, the sender id derived from the corrId.
  auto k = generate_auth_key(crypto::KeyAlg::Ed25519);
  auto dh = generate_dh_key();
  const Bytes link_id = crypto::random_bytes(24);
  // The corrId is chosen by the client library, so build NEW as raw transmission with our own corrId.
  const Bytes corr = crypto::random_bytes(24);
  LinkData ld{link_id, sender_id_from_corr_id(corr), text("fixed"), text("profile")};
  cmd::NEW n{k.pub, dh.pub, std::nullopt, true, QueueReqData{QueueMode::Contact, ld}, std::nullopt};
  ClientAuth auth;
  auth.key = k.priv;
  owner->send_raw_transmissions({owner->client().encode_transmission(corr, {}, n, auth)});
  auto r = owner->read_transmission(5s);
  REQUIRE(r);
  auto ids = expect<resp::IDS>(*r->response);
  REQUIRE(ids.link_id);
  CHECK(*ids.link_id == link_id);
  CHECK(ids.snd_id == ld.sender_id);
  auto lnk = expect<resp::LNK>(joiner->request(link_id, cmd::LGET{}));
  CHECK(lnk.user_data == text("profile"));
  CHECK(lnk.sender_id == ids.snd_id);
  expect<resp::OK>(joiner->send(ids.snd_id, std::nullopt, text("contact request")));
}

TEST_CASE("SMP recipient and notifier commands at versions 6, 11, 14 and 18", "[smp-wire]") {
  Relay relay;
  for (uint16_t v : {6, 11, 14, 18}) {
    CAPTURE(v);
    auto rcp = relay.connect_v(v), snd = relay.connect_v(v), ntf = relay.connect_v(v), nse = relay.connect_v(v);
    auto q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    // Notifications: NKEY → NID, NSUB (SOK from v16, OK before), NMSG for a SEND with the flag.
    auto nkey = generate_auth_key(crypto::KeyAlg::Ed25519);
    auto ndh = generate_dh_key();
    auto nid = expect<resp::NID>(rcp->recipient_request(q, cmd::NKEY{nkey.pub, ndh.pub}));
    ClientAuth na;
    na.key = nkey.priv;
    auto sub = ntf->request(nid.notifier_id, cmd::NSUB{}, na);
    if (v >= kServiceCertsVersion)
      expect<resp::SOK>(sub);
    else
      expect<resp::OK>(sub);
    expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("notified"), true));
    auto ev = ntf->next_event(5s);
    REQUIRE(ev);
    expect<resp::NMSG>(*ev->response);
    // GET on another connection (the iOS notification extension), then ACK in GET mode.
    auto m = expect<resp::MSG>(nse->recipient_request(q, cmd::GET{}));
    CHECK(decrypt_msg(q, m)->body == text("notified"));
    auto info = expect<resp::INFO>(nse->recipient_request(q, cmd::QUE{}));
    CHECK(info.json.find(R"("qiNtf":true)") != std::string::npos);
    CHECK(info.json.find(R"("qSubThread":"prohibitSub")") != std::string::npos);
    expect<resp::OK>(nse->ack(q, m.msg_id));
    expect<resp::OK>(nse->recipient_request(q, cmd::GET{}));  // empty now
    // NDEL ends the notifier subscription: DELD from v10, END before.
    expect<resp::OK>(rcp->recipient_request(q, cmd::NDEL{}));
    ev = ntf->next_event(5s);
    REQUIRE(ev);
    REQUIRE(ev->response);
    if (v >= kDeletedEventVersion)
      CHECK(std::holds_alternative<resp::DELD>(*ev->response));
    else
      CHECK(std::holds_alternative<resp::END>(*ev->response));
    // OFF stops senders; the recipient can still delete.
    expect<resp::OK>(rcp->recipient_request(q, cmd::OFF{}));
    CHECK(expect_err(snd->send(q.snd_id, std::nullopt, text("x"))).kind == ErrorType::Kind::AUTH);
    expect<resp::OK>(rcp->recipient_request(q, cmd::DEL{}));
  }
}

TEST_CASE("SMP RKEY replaces the recipient keys of a contact queue", "[smp-wire]") {
  Relay relay;
  auto c = relay.connect();
  auto q = c->create_queue(crypto::KeyAlg::Ed25519, true, QueueReqData{QueueMode::Contact, std::nullopt});
  auto k2 = generate_auth_key(crypto::KeyAlg::Ed25519);
  expect<resp::OK>(c->recipient_request(q, cmd::RKEY{{q.rcv_auth.pub, k2.pub}}));
  ClientAuth a2;
  a2.key = k2.priv;
  expect<resp::INFO>(c->request(q.rcv_id, cmd::QUE{}, a2));
  // The new key can remove the old one.
  expect<resp::OK>(c->request(q.rcv_id, cmd::RKEY{{k2.pub}}, a2));
  CHECK(expect_err(c->recipient_request(q, cmd::QUE{})).kind == ErrorType::Kind::AUTH);
  // Not for messaging queues.
  auto m = c->create_queue();
  CHECK(expect_err(c->recipient_request(m, cmd::RKEY{{k2.pub}})).kind == ErrorType::Kind::AUTH);
}
