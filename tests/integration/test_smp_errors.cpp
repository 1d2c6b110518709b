// Error paths of the real `smp-server start` over TLS, driven by our SMP client, most transmissions built by
// hand: the handshake refusals (smp-transport.md §4.4), every error of smp-commands.md §8 reachable without a
// proxy with the corrId/entity echo rules of §2.1/§2.2, the reference's syntax tests (tests/ServerTests.hs
// serverSyntaxTests) and the inactive-client expiry.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "smp/client.hpp"
#include "smp_client_fixture.hpp"

using namespace sr;
using namespace sr::smp;
using namespace sr::test;
using namespace std::chrono_literals;

namespace {

Bytes concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// One transmission built by hand for the session of `c`: auth, the service-signature slot when v >= 16 and auth
// is non-empty ('0', or '1' + the given signature), sessionId when v = 6, corrId, entity, command.
Bytes raw_tx(SyncSmpClient& c, ByteView auth, ByteView corr, ByteView entity, ByteView command,
             std::optional<Bytes> service_sig = std::nullopt, std::optional<Bytes> session_id = std::nullopt) {
  const auto& p = c.client().params();
  Bytes b;
  Encoder e(b);
  e.short_string(auth);
  if (p.service_auth() && !auth.empty()) {
    if (service_sig)
      e.ch('1').short_string(*service_sig);
    else
      e.ch('0');
  }
  if (!p.implied_session_id()) e.short_string(session_id.value_or(p.session_id));
  e.short_string(corr).short_string(entity).tail(command);
  return b;
}

// Sends one item in its own block and returns the next transmission the server writes.
Received roundtrip(SyncSmpClient& c, const Bytes& item) {
  c.send_raw_transmissions({item});
  auto r = c.read_transmission(5s);
  REQUIRE(r);
  REQUIRE(r->response);
  return *r;
}

// A command encoded by our client (auth as request() does) with a fresh corrId; the reply must echo both the
// corrId and the entity (§2.1).
Response call(SyncSmpClient& c, ByteView entity, const Command& command, const ClientAuth& auth = {}) {
  const Bytes corr = crypto::random_bytes(kIdSize);
  auto r = roundtrip(c, c.client().encode_transmission(corr, entity, command, auth));
  CHECK(r.corr_id == corr);
  CHECK(r.entity_id == Bytes(entity.begin(), entity.end()));
  return *r.response;
}

ErrorType auth_err() { return ErrorType::of(ErrorType::Kind::AUTH); }
ErrorType cmd_err(CmdError e) { return ErrorType::command(e); }

ClientAuth signed_by(const crypto::PrivateKey& k) {
  ClientAuth a;
  a.key = k;
  return a;
}

Bytes b64(std::string s) {
  for (char& ch : s) ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  auto b = base64url_decode(s);
  REQUIRE(b);
  return *b;
}

// Replaces `key = old` by `key = value` inside one INI section.
void set_in_section(StartDirs& d, const std::string& section, const std::string& from, const std::string& to) {
  std::string t = read_text(d.ini());
  const auto start = t.find("[" + section + "]\n");
  REQUIRE(start != std::string::npos);
  const auto pos = t.find("\n" + from + "\n", start);
  REQUIRE(pos != std::string::npos);
  t.replace(pos + 1, from.size(), to);
  write_text(d.ini(), t);
}

}  // namespace

TEST_CASE("SMP server closes the connection on a client hello with a wrong key hash", "[smp-errors]") {
  Relay relay;
  ClientOptions o;
  auto wrong = relay.d.key_hash_bytes();
  wrong[5] ^= 0x40;
  o.hello_key_hash = wrong;
  auto c = relay.connect(o);
  CHECK_THROWS_WITH(c->request({}, cmd::PING{}), Catch::Contains("CLOSED"));
  // The server lives on.
  expect<resp::PONG>(relay.connect()->request({}, cmd::PING{}));
}

TEST_CASE("SMP server closes the connection on a client hello version outside its range", "[smp-errors]") {
  Relay relay;
  SECTION("19 with ALPN (range 6..18)") {
    ClientOptions o;
    o.hello_version = 19;
    auto c = relay.connect(o);
    CHECK_THROWS_WITH(c->request({}, cmd::PING{}), Catch::Contains("CLOSED"));
  }
  SECTION("5 with ALPN") {
    ClientOptions o;
    o.hello_version = 5;
    auto c = relay.connect(o);
    CHECK_THROWS_WITH(c->request({}, cmd::PING{}), Catch::Contains("CLOSED"));
  }
  SECTION("7 without ALPN (range 6..6)") {
    ClientOptions o;
    o.alpn = {};
    o.hello_version = 7;
    auto c = relay.connect(o);
    REQUIRE(c->client().server_hello().versions == kLegacyVersions);
    CHECK_THROWS_WITH(c->request({}, cmd::PING{}), Catch::Contains("CLOSED"));
  }
  expect<resp::PONG>(relay.connect()->request({}, cmd::PING{}));
}

TEST_CASE("SMP command errors CMD, AUTH, NO_MSG, LARGE_MSG and PROXY echo corrId and entity", "[smp-errors]") {
  Relay relay;
  auto rcp = relay.connect(), snd = relay.connect();
  const uint16_t v = rcp->version();
  REQUIRE(v == kMaxVersion);
  const Bytes e1 = text("ENTITY-1");

  SECTION("CMD UNKNOWN, SYNTAX, NO_AUTH, HAS_AUTH, NO_ENTITY") {
    const Bytes corr = text("corr-1");
    auto r = roundtrip(*rcp, raw_tx(*rcp, {}, corr, e1, text("HELLO")));
    CHECK(r.corr_id == corr);
    CHECK(r.entity_id == e1);
    CHECK(expect_err(*r.response) == cmd_err(CmdError::UNKNOWN));
    r = roundtrip(*rcp, raw_tx(*rcp, {}, corr, e1, text("ACK")));
    CHECK(r.entity_id == e1);
    CHECK(expect_err(*r.response) == cmd_err(CmdError::SYNTAX));
    // Trailing bytes after a complete command are SYNTAX too.
    r = roundtrip(*rcp, raw_tx(*rcp, {}, corr, {}, text("PING x")));
    CHECK(expect_err(*r.response) == cmd_err(CmdError::SYNTAX));
    CHECK(expect_err(call(*rcp, e1, cmd::SUB{})) == cmd_err(CmdError::NO_AUTH));
    CHECK(expect_err(call(*rcp, e1, cmd::PING{})) == cmd_err(CmdError::HAS_AUTH));
    auto k = generate_auth_key(crypto::KeyAlg::Ed25519);
    CHECK(expect_err(call(*rcp, e1, cmd::NEW{k.pub, generate_dh_key().pub, std::nullopt, true, QueueReqData{}, {}},
                          signed_by(k.priv))) == cmd_err(CmdError::HAS_AUTH));
    CHECK(expect_err(call(*snd, {}, cmd::SEND{false, text("x")})) == cmd_err(CmdError::NO_ENTITY));
  }

  SECTION("CMD PROHIBITED") {
    // GET on a queue this connection is subscribed to.
    auto q = rcp->create_queue(crypto::KeyAlg::Ed25519, true);
    CHECK(expect_err(call(*rcp, q.rcv_id, cmd::GET{}, signed_by(q.rcv_auth.priv))) ==
          cmd_err(CmdError::PROHIBITED));
    // A contact address whose sender id is not derived from the corrId.
    auto k = generate_auth_key(crypto::KeyAlg::Ed25519);
    LinkData ld{crypto::random_bytes(kIdSize), crypto::random_bytes(kIdSize), text("fixed"), text("user")};
    cmd::NEW n{k.pub, generate_dh_key().pub, std::nullopt, true, QueueReqData{QueueMode::Contact, ld}, std::nullopt};
    CHECK(expect_err(call(*rcp, {}, n, signed_by(k.priv))) == cmd_err(CmdError::PROHIBITED));
  }

  SECTION("AUTH") {
    auto q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    auto other = generate_auth_key(crypto::KeyAlg::Ed25519);
    // Unknown queue.
    CHECK(expect_err(call(*rcp, crypto::random_bytes(kIdSize), cmd::SUB{}, signed_by(q.rcv_auth.priv))) ==
          auth_err());
    // Wrong key of the right type.
    CHECK(expect_err(call(*rcp, q.rcv_id, cmd::SUB{}, signed_by(other.priv))) == auth_err());
    // Wrong key type: an X25519 authenticator for an Ed25519 queue key.
    auto x = generate_auth_key(crypto::KeyAlg::X25519);
    CHECK(expect_err(call(*rcp, q.rcv_id, cmd::SUB{}, signed_by(x.priv))) == auth_err());
    if (crypto::ed448_supported()) {
      auto e448 = generate_auth_key(crypto::KeyAlg::Ed448);
      CHECK(expect_err(call(*rcp, q.rcv_id, cmd::SUB{}, signed_by(e448.priv))) == auth_err());
    }
    // A recipient command addressed by the sender id.
    CHECK(expect_err(call(*rcp, q.snd_id, cmd::SUB{}, signed_by(q.rcv_auth.priv))) == auth_err());
    // SEND signed to an unsecured queue.
    CHECK(expect_err(call(*snd, q.snd_id, cmd::SEND{false, text("x")}, signed_by(other.priv))) == auth_err());
    // SEND unsigned to a secured queue.
    snd->secure_by_sender(q.snd_id, other);
    CHECK(expect_err(call(*snd, q.snd_id, cmd::SEND{false, text("x")})) == auth_err());
    expect<resp::OK>(call(*snd, q.snd_id, cmd::SEND{false, text("x")}, signed_by(other.priv)));
    // SKEY on a contact queue.
    auto contact = rcp->create_queue(crypto::KeyAlg::Ed25519, false, QueueReqData{QueueMode::Contact, std::nullopt});
    auto sk = generate_auth_key(crypto::KeyAlg::Ed25519);
    CHECK(expect_err(call(*snd, contact.snd_id, cmd::SKEY{sk.pub}, signed_by(sk.priv))) == auth_err());
  }

  SECTION("SERVICE: a service signature in a non-service session") {
    auto q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    const Bytes corr = crypto::random_bytes(kIdSize);
    // Our encoder writes '0' after the 64-byte signature; put a '1' slot with a 64-byte signature there.
    Bytes item = rcp->client().encode_transmission(corr, q.rcv_id, cmd::SUB{}, signed_by(q.rcv_auth.priv));
    REQUIRE(item[0] == 64);
    REQUIRE(item[65] == '0');
    Bytes slot{'1', 64};
    slot.resize(66, 0x33);
    item.erase(item.begin() + 65);
    item.insert(item.begin() + 65, slot.begin(), slot.end());
    auto r = roundtrip(*rcp, item);
    CHECK(r.corr_id == corr);
    CHECK(r.entity_id == q.rcv_id);
    CHECK(expect_err(*r.response) == ErrorType::of(ErrorType::Kind::SERVICE));
  }

  SECTION("NO_MSG and LARGE_MSG") {
    auto q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    CHECK(expect_err(call(*rcp, q.rcv_id, cmd::ACK{crypto::random_bytes(kIdSize)}, signed_by(q.rcv_auth.priv))) ==
          ErrorType::of(ErrorType::Kind::NO_MSG));
    CHECK(expect_err(call(*snd, q.snd_id, cmd::SEND{false, Bytes(max_message_length(v) + 1, 'x')})) ==
          ErrorType::of(ErrorType::Kind::LARGE_MSG));
    expect<resp::OK>(call(*snd, q.snd_id, cmd::SEND{false, Bytes(max_message_length(v), 'x')}));
  }

  // PROXY errors: test_smp_proxy.cpp.
}

TEST_CASE("SMP transport errors BLOCK and SESSION keep the corrId and drop the entity", "[smp-errors]") {
  Relay relay;
  SECTION("auth of a length no key type has") {
    auto c = relay.connect();
    const Bytes corr = text("corr-b");
    auto r = roundtrip(*c, raw_tx(*c, Bytes(10, 1), corr, text("ENT"), text("PING")));
    CHECK(r.corr_id == corr);
    CHECK(r.entity_id.empty());
    CHECK(expect_err(*r.response) == ErrorType::of(ErrorType::Kind::BLOCK));
  }
  SECTION("batch count 0 and trailing bytes after the batch") {
    for (uint16_t v : {6, 18}) {
      CAPTURE(v);
      auto c = relay.connect_v(v);
      REQUIRE(c->send_block_content(Bytes{0}));
      auto r = c->read_transmission(5s);
      REQUIRE(r);
      CHECK(r->corr_id.empty());
      CHECK(r->entity_id.empty());
      CHECK(expect_err(*r->response) == ErrorType::of(ErrorType::Kind::BLOCK));
      auto batches = batch_transmissions({c->client().encode_transmission(text("p1"), {}, cmd::PING{})});
      REQUIRE(batches.size() == 1);
      Bytes content = batches[0];
      content.push_back(0);
      REQUIRE(c->send_block_content(content));
      r = c->read_transmission(5s);
      REQUIRE(r);
      CHECK(r->corr_id.empty());  // the whole block is refused: no PONG for p1
      CHECK(expect_err(*r->response) == ErrorType::of(ErrorType::Kind::BLOCK));
      expect<resp::PONG>(c->request({}, cmd::PING{}));
    }
  }
  SECTION("v6 transmission with a wrong session id") {
    auto c = relay.connect_v(6);
    REQUIRE(c->version() == 6);
    Bytes wrong = c->client().params().session_id;
    REQUIRE_FALSE(wrong.empty());
    wrong[0] ^= 1;
    const Bytes corr = text("corr-s");
    auto r = roundtrip(*c, raw_tx(*c, {}, corr, text("ENT"), text("PING"), std::nullopt, wrong));
    CHECK(r.corr_id == corr);
    CHECK(r.entity_id.empty());
    CHECK(expect_err(*r.response) == ErrorType::of(ErrorType::Kind::SESSION));
    expect<resp::PONG>(c->request({}, cmd::PING{}));
  }
}

TEST_CASE("SMP QUOTA echoes corrId and sender id", "[smp-errors]") {
  Relay relay([](StartDirs& d) { d.add_to_section("STORE_LOG", "msg_queue_quota = 1\n"); });
  auto rcp = relay.connect(), snd = relay.connect();
  auto q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
  expect<resp::OK>(call(*snd, q.snd_id, cmd::SEND{false, text("1")}));
  CHECK(expect_err(call(*snd, q.snd_id, cmd::SEND{false, text("2")})) == ErrorType::of(ErrorType::Kind::QUOTA));
}

// tests/ServerTests.hs serverSyntaxTests, over the wire at the legacy and the current version: the reference's
// fixed signature and keys, short corrIds and a made-up queue id.
TEST_CASE("SMP reference syntax tests", "[smp-errors]") {
  Relay relay;
  const Bytes sig = b64("e8JK+8V3fq6kOLqco/SaKlpNaQ7i1gfOrXoqekEl42u4mF8Bgu14T5j0189CGcUhJHw2RwCMvON+qbvQ9ecJAA==");
  REQUIRE(sig.size() == 64);
  const Bytes pub_der = b64("MCowBQYDK2VwAyEAfAOflyvbJv1fszgzkQ6buiZJVgSpQWsucXq7U6zjMgY=");
  const Bytes dh_der = b64("MCowBQYDK2VuAyEAriy+HcARIhqsgSjVnjKqoft+y6pxrxdY68zn4+LjYhQ=");
  auto pub = crypto::decode_spki(pub_der);
  auto dh = crypto::decode_spki(dh_der);
  REQUIRE(pub);
  REQUIRE(dh);
  const Bytes qid = text("12345678");
  const Bytes none;

  for (uint16_t v : {6, 18}) {
    CAPTURE(v);
    auto c = relay.connect_v(v);
    REQUIRE(c->version() == v);
    auto bs = [](ByteView b) {
      Bytes out;
      Encoder(out).short_string(b);
      return out;
    };
    const Bytes new_cmd =
        encode_command(cmd::NEW{*pub, *dh, std::nullopt, true, QueueReqData{QueueMode::Messaging, {}}, {}}, v);
    const Bytes key_cmd = encode_command(cmd::KEY{*pub}, v);
    const Bytes one_a{0x01, 'A'};
    struct Case {
      std::string name;
      Bytes auth, corr, entity, command;
      std::optional<CmdError> cmd;  // nullopt: ERR AUTH, unless pong
      bool pong = false;
    };
    std::vector<Case> cases = {
        {"unknown command", none, text("abcd"), text("1234"), text("HELLO"), CmdError::UNKNOWN},
        {"NEW no parameters", sig, text("bcda"), none, text("NEW"), CmdError::SYNTAX},
        {"NEW many parameters", sig, text("cdab"), none, concat({text("NEW "), one_a, bs(pub_der), bs(dh_der)}),
         CmdError::SYNTAX},
        {"NEW no signature", none, text("dabc"), none, new_cmd, CmdError::NO_AUTH},
        {"NEW queue ID", sig, text("abcd"), qid, new_cmd, CmdError::HAS_AUTH},
        {"KEY valid syntax", sig, text("bcda"), qid, key_cmd, std::nullopt},
        {"KEY no parameters", sig, text("cdab"), qid, text("KEY"), CmdError::SYNTAX},
        {"KEY many parameters", sig, text("dabc"), qid, concat({text("KEY "), one_a, bs(pub_der)}), CmdError::SYNTAX},
        {"KEY no signature", none, text("abcd"), qid, key_cmd, CmdError::NO_AUTH},
        {"KEY no queue ID", sig, text("bcda"), none, key_cmd, CmdError::NO_AUTH},
        {"SEND valid syntax", sig, text("cdab"), qid, text("SEND F hello"), std::nullopt},
        {"SEND no parameters", sig, text("abcd"), qid, text("SEND"), CmdError::SYNTAX},
        {"SEND no queue ID", sig, text("bcda"), none, text("SEND F hello"), CmdError::NO_ENTITY},
        {"ACK valid syntax", sig, text("cdab"), qid, concat({text("ACK "), bs(text("1234"))}), std::nullopt},
        {"ACK no parameters", sig, text("abcd"), qid, text("ACK"), CmdError::SYNTAX},
        {"ACK no queue ID", sig, text("bcda"), none, concat({text("ACK "), bs(text("1234"))}), CmdError::NO_AUTH},
        {"ACK no signature", none, text("cdab"), qid, concat({text("ACK "), bs(text("1234"))}), CmdError::NO_AUTH},
        {"PING valid syntax", none, text("abcd"), none, text("PING"), std::nullopt, true},
        {"broker response OK", sig, text("bcda"), qid, text("OK"), CmdError::UNKNOWN},
    };
    for (const char* tag : {"SUB", "OFF", "DEL"}) {
      const std::string t = tag;
      cases.push_back({t + " valid syntax", sig, text("abcd"), qid, text(t), std::nullopt});
      cases.push_back({t + " wrong terminator", sig, text("bcda"), qid, text(t + "="), CmdError::UNKNOWN});
      cases.push_back({t + " no signature", none, text("cdab"), qid, text(t), CmdError::NO_AUTH});
      cases.push_back({t + " no queue ID", sig, text("dabc"), none, text(t), CmdError::NO_AUTH});
    }
    for (const auto& tc : cases) {
      INFO(tc.name);
      auto r = roundtrip(*c, raw_tx(*c, tc.auth, tc.corr, tc.entity, tc.command));
      CHECK(r.corr_id == tc.corr);
      CHECK(r.entity_id == tc.entity);
      REQUIRE(r.response);
      if (tc.pong)
        CHECK(std::holds_alternative<resp::PONG>(*r.response));
      else
        CHECK(expect_err(*r.response) == (tc.cmd ? cmd_err(*tc.cmd) : auth_err()));
    }
  }
}

TEST_CASE("SMP inactive clients: idle connections are closed, subscribed ones stay", "[smp-errors]") {
  Relay relay([](StartDirs& d) {
    set_in_section(d, "INACTIVE_CLIENTS", "ttl = 21600", "ttl = 1");
    set_in_section(d, "INACTIVE_CLIENTS", "check_interval = 3600", "check_interval = 1");
  });
  auto idle = relay.connect();
  auto subscribed = relay.connect();
  expect<resp::PONG>(idle->request({}, cmd::PING{}));
  auto q = subscribed->create_queue(crypto::KeyAlg::Ed25519, true);
  // The idle connection is closed within a few check intervals; next_event throws CLOSED when it ends.
  CHECK_THROWS_WITH(idle->next_event(10s), Catch::Contains("CLOSED"));
  std::this_thread::sleep_for(4s);
  expect<resp::PONG>(subscribed->request({}, cmd::PING{}));
}

TEST_CASE("SMP survives a subscriber that disconnects with events unread (no SIGPIPE)", "[smp-errors]") {
  Relay relay;
  auto snd = relay.connect();
  QueueCreds q;
  {
    auto rcp = relay.connect();
    q = rcp->create_queue(crypto::KeyAlg::Ed25519, true);
    expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("unread")));
    rcp->close();  // the MSG event is still in its socket: the server's next writes hit a reset connection
  }
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(200ms);
    expect<resp::PONG>(snd->request({}, cmd::PING{}));
  }
  CHECK(relay.proc->running());
  auto again = relay.connect();
  expect<resp::PONG>(again->request({}, cmd::PING{}));
}
