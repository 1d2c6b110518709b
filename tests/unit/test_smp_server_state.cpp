// The SMP relay's command semantics driven without sockets (smp-commands.md §5–§11): transmissions are encoded
// with the same protocol functions a client uses and fed to ServerState; replies and events are read from each
// client's outbox.
#include <catch2/catch.hpp>

#include <variant>

#include "core/crypto.hpp"
#include "smp/server_state.hpp"

using namespace sr;
using namespace sr::smp;

namespace {

constexpr int64_t kNow = 1700000000;

crypto::PrivateKey ed25519_key() {
  return crypto::PrivateKey{crypto::KeyAlg::Ed25519, crypto::random_bytes(32)};
}
crypto::PrivateKey x25519_auth_key() {
  return crypto::PrivateKey{crypto::KeyAlg::X25519, crypto::random_bytes(32)};
}
crypto::PublicKey x25519_pub(const crypto::X25519KeyPair& kp) {
  return {crypto::KeyAlg::X25519, Bytes(kp.pub.begin(), kp.pub.end())};
}

// One connection to the state under test.
struct Conn {
  ServerState& st;
  ClientState& cs;
  crypto::X25519KeyPair session = crypto::x25519_generate();
  Conn(ServerState& s, ClientId id, uint16_t v) : st(s), cs(s.add_client(id)) {
    cs.params = SessionParams{v, crypto::random_bytes(32)};
    cs.session_priv = session.priv;
  }
  uint16_t v() const { return cs.params.version; }

  Bytes tx(const Bytes& corr, ByteView entity, const Command& c, const std::optional<crypto::PrivateKey>& key) {
    ClientAuth a;
    a.key = key;
    a.server_session_key = session.pub;
    return encode_client_transmission(cs.params, corr, entity, encode_command(c, v()), a);
  }
  // Sends a command and returns the reply with this corrId (events stay in events()).
  Response cmd(ByteView entity, const Command& c, const std::optional<crypto::PrivateKey>& key = std::nullopt,
               Bytes corr = crypto::random_bytes(24)) {
    st.process_item(cs, tx(corr, entity, c, key), kNow);
    return take_reply(corr);
  }
  Response take_reply(const Bytes& corr) {
    for (auto it = cs.outbox.begin(); it != cs.outbox.end(); ++it) {
      if (it->corr_id == corr) {
        Response r = it->response;
        cs.outbox.erase(it);
        return r;
      }
    }
    FAIL("no reply");
    return resp::OK{};
  }
  std::vector<Outgoing> events() {
    std::vector<Outgoing> ev;
    for (auto& o : cs.outbox)
      if (o.corr_id.empty()) ev.push_back(o);
    std::erase_if(cs.outbox, [](const Outgoing& o) { return o.corr_id.empty(); });
    return ev;
  }
};

template <class T>
const T& as(const Response& r) {
  if (!std::holds_alternative<T>(r)) {
    auto* e = std::get_if<resp::ERR>(&r);
    FAIL("unexpected response " << (e ? "ERR " + error_text(e->err) : std::string(response_tag(r, 18))));
  }
  return std::get<T>(r);
}
ErrorType err_of(const Response& r) { return as<resp::ERR>(r).err; }
bool is_err(const Response& r, ErrorType::Kind k) {
  auto* e = std::get_if<resp::ERR>(&r);
  return e && e->err.kind == k;
}

struct Queue {
  crypto::PrivateKey rcv_key = ed25519_key();
  crypto::X25519KeyPair rcv_dh = crypto::x25519_generate();
  crypto::PrivateKey snd_key = ed25519_key();
  Bytes rid, sid;
  crypto::Key32 dh_secret{};
  resp::IDS ids;
};

Queue create(Conn& c, bool subscribe = true, std::optional<QueueReqData> req = QueueReqData{},
             std::optional<NewNtfCreds> ntf = std::nullopt, Bytes corr = crypto::random_bytes(24)) {
  Queue q;
  cmd::NEW n{crypto::public_key(q.rcv_key), x25519_pub(q.rcv_dh), std::nullopt, subscribe, req, ntf};
  q.ids = as<resp::IDS>(c.cmd({}, n, q.rcv_key, corr));
  q.rid = q.ids.rcv_id;
  q.sid = q.ids.snd_id;
  q.dh_secret = *crypto::x25519_dh(q.rcv_dh.priv, q.ids.srv_dh_key.raw);
  return q;
}

RcvMessage open_msg(const Queue& q, const resp::MSG& m) {
  auto r = decrypt_rcv_message(q.dh_secret, m.msg_id, m.enc_body);
  REQUIRE(r);
  return *r;
}

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace

TEST_CASE("queue life cycle: NEW, SKEY, SEND, MSG event, ACK, DEL", "[smp-state]") {
  for (uint16_t v : {6, 11, 14, 18}) {
    CAPTURE(v);
    ServerState st(RelayConfig{});
    Conn rcp(st, 1, v), snd(st, 2, v);
    Queue q = create(rcp);
    CHECK(q.rid.size() == 24);
    CHECK(q.sid.size() == 24);
    CHECK(q.rid != q.sid);
    if (v >= 9) {
      REQUIRE(q.ids.mode);
      CHECK(*q.ids.mode == QueueMode::Messaging);
    }

    // Securing by the sender (v9+ SKEY; KEY by the recipient works at every version).
    if (v >= 9) {
      as<resp::OK>(snd.cmd(q.sid, cmd::SKEY{crypto::public_key(q.snd_key)}, q.snd_key));
    } else {
      as<resp::OK>(rcp.cmd(q.rid, cmd::KEY{crypto::public_key(q.snd_key)}, q.rcv_key));
    }
    // An unsigned SEND to a secured queue is refused.
    CHECK(is_err(snd.cmd(q.sid, cmd::SEND{false, text("x")}), ErrorType::Kind::AUTH));

    as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("hello")}, q.snd_key));
    auto ev = rcp.events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].entity_id == q.rid);
    const auto& m1 = as<resp::MSG>(ev[0].response);
    auto plain = open_msg(q, m1);
    CHECK(plain.body == text("hello"));
    CHECK(plain.ts == kNow);
    CHECK_FALSE(plain.notification);

    // The second message is not pushed while the first is unacknowledged; ACK returns it.
    as<resp::OK>(snd.cmd(q.sid, cmd::SEND{true, text("second")}, q.snd_key));
    CHECK(rcp.events().empty());
    auto m2 = as<resp::MSG>(rcp.cmd(q.rid, cmd::ACK{m1.msg_id}, q.rcv_key));
    CHECK(open_msg(q, m2).body == text("second"));
    CHECK(open_msg(q, m2).notification);
    as<resp::OK>(rcp.cmd(q.rid, cmd::ACK{m2.msg_id}, q.rcv_key));
    CHECK(is_err(rcp.cmd(q.rid, cmd::ACK{m2.msg_id}, q.rcv_key), ErrorType::Kind::NO_MSG));

    as<resp::OK>(rcp.cmd(q.rid, cmd::DEL{}, q.rcv_key));
    CHECK(is_err(snd.cmd(q.sid, cmd::SEND{false, text("late")}, q.snd_key), ErrorType::Kind::AUTH));
    CHECK(is_err(rcp.cmd(q.rid, cmd::SUB{}, q.rcv_key), ErrorType::Kind::AUTH));
    CHECK(st.queues().size() == 0);
  }
}

TEST_CASE("X25519 authenticators authorize recipient and sender commands", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 18), snd(st, 2, 18);
  Queue q;
  q.rcv_key = x25519_auth_key();
  q.snd_key = x25519_auth_key();
  cmd::NEW n{crypto::public_key(q.rcv_key), x25519_pub(q.rcv_dh), std::nullopt, true, QueueReqData{}, std::nullopt};
  q.ids = as<resp::IDS>(rcp.cmd({}, n, q.rcv_key));
  as<resp::OK>(snd.cmd(q.ids.snd_id, cmd::SKEY{crypto::public_key(q.snd_key)}, q.snd_key));
  as<resp::OK>(snd.cmd(q.ids.snd_id, cmd::SEND{false, text("hi")}, q.snd_key));
  // The authenticator is bound to the connection's session key: another connection's one fails.
  Bytes corr = crypto::random_bytes(24);
  Bytes wrong = rcp.tx(corr, q.ids.snd_id, cmd::SEND{false, text("x")}, q.snd_key);
  st.process_item(snd.cs, wrong, kNow);
  CHECK(is_err(snd.take_reply(corr), ErrorType::Kind::AUTH));
}

TEST_CASE("unknown queues run the dummy verification before AUTH", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn c(st, 1, 18);
  auto key = ed25519_key();
  const uint64_t before = dummy_verify_count();
  CHECK(is_err(c.cmd(crypto::random_bytes(24), cmd::SUB{}, key), ErrorType::Kind::AUTH));
  CHECK(is_err(c.cmd(crypto::random_bytes(24), cmd::SEND{false, text("x")}, key), ErrorType::Kind::AUTH));
  CHECK(is_err(c.cmd(crypto::random_bytes(24), cmd::NSUB{}, key), ErrorType::Kind::AUTH));
  CHECK(dummy_verify_count() == before + 3);
  // A wrong key on an existing queue fails through the real verification, not the dummy.
  Queue q = create(c);
  const uint64_t mid = dummy_verify_count();
  CHECK(is_err(c.cmd(q.rid, cmd::SUB{}, key), ErrorType::Kind::AUTH));
  CHECK(dummy_verify_count() == mid);
}

TEST_CASE("credential shape errors keep corrId and entity", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn c(st, 1, 18);
  Queue q = create(c);
  CHECK(err_of(c.cmd(q.rid, cmd::SUB{})) == ErrorType::command(CmdError::NO_AUTH));
  CHECK(err_of(c.cmd({}, cmd::SEND{false, text("x")})) == ErrorType::command(CmdError::NO_ENTITY));
  CHECK(err_of(c.cmd(q.rid, cmd::PING{})) == ErrorType::command(CmdError::HAS_AUTH));
  as<resp::PONG>(c.cmd({}, cmd::PING{}));
}

TEST_CASE("queue creation honours new_queues and the create password", "[smp-state]") {
  RelayConfig cfg;
  cfg.create_password = "secret";
  ServerState st(cfg);
  Conn c(st, 1, 18);
  auto k = ed25519_key();
  auto dh = crypto::x25519_generate();
  cmd::NEW n{crypto::public_key(k), x25519_pub(dh), std::nullopt, true, QueueReqData{}, std::nullopt};
  CHECK(is_err(c.cmd({}, n, k), ErrorType::Kind::AUTH));
  n.basic_auth = "wrong";
  CHECK(is_err(c.cmd({}, n, k), ErrorType::Kind::AUTH));
  n.basic_auth = "secret";
  as<resp::IDS>(c.cmd({}, n, k));

  RelayConfig closed;
  closed.new_queues = false;
  ServerState st2(closed);
  Conn c2(st2, 1, 18);
  n.basic_auth.reset();
  CHECK(is_err(c2.cmd({}, n, k), ErrorType::Kind::AUTH));
}

TEST_CASE("quota: messages up to the quota, then a marker and ERR QUOTA until drained", "[smp-state]") {
  RelayConfig cfg;
  cfg.msg_queue_quota = 2;
  ServerState st(cfg);
  Conn rcp(st, 1, 18), snd(st, 2, 18);
  Queue q = create(rcp, false);
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("1")}));
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("2")}));
  CHECK(is_err(snd.cmd(q.sid, cmd::SEND{false, text("3")}), ErrorType::Kind::QUOTA));
  CHECK(is_err(snd.cmd(q.sid, cmd::SEND{false, text("4")}), ErrorType::Kind::QUOTA));

  rcp.cmd(q.rid, cmd::SUB{}, q.rcv_key);
  auto ev = rcp.events();
  REQUIRE(ev.size() == 1);
  auto m = as<resp::MSG>(ev[0].response);
  CHECK(open_msg(q, m).body == text("1"));
  m = as<resp::MSG>(rcp.cmd(q.rid, cmd::ACK{m.msg_id}, q.rcv_key));
  CHECK(open_msg(q, m).body == text("2"));
  m = as<resp::MSG>(rcp.cmd(q.rid, cmd::ACK{m.msg_id}, q.rcv_key));
  CHECK(open_msg(q, m).quota);
  CHECK(is_err(snd.cmd(q.sid, cmd::SEND{false, text("5")}), ErrorType::Kind::QUOTA));
  as<resp::OK>(rcp.cmd(q.rid, cmd::ACK{m.msg_id}, q.rcv_key));
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("6")}));
}

TEST_CASE("SUB from another connection ends the first subscription; redelivery of unacked message",
          "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn a(st, 1, 18), b(st, 2, 18), snd(st, 3, 18);
  Queue q = create(a);
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("m")}));
  auto m = as<resp::MSG>(a.events().at(0).response);

  as<resp::SOK>(b.cmd(q.rid, cmd::SUB{}, q.rcv_key));
  auto ev_b = b.events();
  REQUIRE(ev_b.size() == 1);
  CHECK(as<resp::MSG>(ev_b[0].response).msg_id == m.msg_id);  // the unacknowledged message again
  auto ev_a = a.events();
  REQUIRE(ev_a.size() == 1);
  CHECK(std::holds_alternative<resp::END>(ev_a[0].response));
  CHECK(ev_a[0].entity_id == q.rid);
  CHECK(is_err(a.cmd(q.rid, cmd::ACK{m.msg_id}, q.rcv_key), ErrorType::Kind::NO_MSG));

  // A repeated SUB on the same connection sends no END and re-delivers.
  as<resp::SOK>(b.cmd(q.rid, cmd::SUB{}, q.rcv_key));
  CHECK(b.events().size() == 1);
  CHECK(a.events().empty());

  // Disconnecting b frees the queue: a new message is not pushed anywhere, and a fresh SUB gets no END.
  st.remove_client(2);
  as<resp::SOK>(a.cmd(q.rid, cmd::SUB{}, q.rcv_key));
  CHECK(a.events().size() == 1);
}

TEST_CASE("DEL sends DELD to the other subscriber; GET and SUB do not mix", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn a(st, 1, 18), b(st, 2, 18);
  Queue q = create(a);
  CHECK(err_of(a.cmd(q.rid, cmd::GET{}, q.rcv_key)) == ErrorType::command(CmdError::PROHIBITED));
  as<resp::OK>(b.cmd(q.rid, cmd::GET{}, q.rcv_key));
  CHECK(err_of(b.cmd(q.rid, cmd::SUB{}, q.rcv_key)) == ErrorType::command(CmdError::PROHIBITED));
  Conn c(st, 3, 18);
  as<resp::SOK>(c.cmd(q.rid, cmd::SUB{}, q.rcv_key));
  CHECK(std::holds_alternative<resp::END>(a.events().at(0).response));
  as<resp::OK>(a.cmd(q.rid, cmd::DEL{}, q.rcv_key));
  auto ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(std::holds_alternative<resp::DELD>(ev[0].response));
  // Below v10 the same event is written as END.
  CHECK(response_tag(ev[0].response, 9) == std::string("END"));
}

TEST_CASE("GET delivers without subscribing and ACK in GET mode never returns the next message", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 18), snd(st, 2, 18), nse(st, 3, 18);
  Queue q = create(rcp, false);
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("a")}));
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("b")}));
  auto m = as<resp::MSG>(nse.cmd(q.rid, cmd::GET{}, q.rcv_key));
  CHECK(open_msg(q, m).body == text("a"));
  as<resp::OK>(nse.cmd(q.rid, cmd::ACK{m.msg_id}, q.rcv_key));
  m = as<resp::MSG>(nse.cmd(q.rid, cmd::GET{}, q.rcv_key));
  CHECK(open_msg(q, m).body == text("b"));
}

TEST_CASE("OFF refuses SEND but keeps delivering stored messages", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 18), snd(st, 2, 18);
  Queue q = create(rcp, false);
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("kept")}));
  as<resp::OK>(rcp.cmd(q.rid, cmd::OFF{}, q.rcv_key));
  as<resp::OK>(rcp.cmd(q.rid, cmd::OFF{}, q.rcv_key));
  CHECK(is_err(snd.cmd(q.sid, cmd::SEND{false, text("x")}), ErrorType::Kind::AUTH));
  as<resp::SOK>(rcp.cmd(q.rid, cmd::SUB{}, q.rcv_key));
  CHECK(open_msg(q, as<resp::MSG>(rcp.events().at(0).response)).body == text("kept"));
}

TEST_CASE("SEND size limit depends on the version", "[smp-state]") {
  for (auto [v, limit] : {std::pair<uint16_t, size_t>{6, 16088}, {8, 16064}, {18, 16048}}) {
    ServerState st(RelayConfig{});
    Conn rcp(st, 1, v), snd(st, 2, v);
    Queue q = create(rcp, false);
    CHECK(is_err(snd.cmd(q.sid, cmd::SEND{false, Bytes(limit + 1, 'x')}), ErrorType::Kind::LARGE_MSG));
    as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, Bytes(limit, 'x')}));
  }
}

TEST_CASE("notifications: NKEY, NSUB, NMSG with encrypted metadata, NDEL sends DELD", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 18), snd(st, 2, 18), ntf(st, 3, 18);
  Queue q = create(rcp, false);
  auto ntf_key = ed25519_key();
  auto ntf_dh = crypto::x25519_generate();
  auto nid = as<resp::NID>(rcp.cmd(q.rid, cmd::NKEY{crypto::public_key(ntf_key), x25519_pub(ntf_dh)}, q.rcv_key));
  // Every NKEY gives a new notifier id.
  auto nid2 = as<resp::NID>(rcp.cmd(q.rid, cmd::NKEY{crypto::public_key(ntf_key), x25519_pub(ntf_dh)}, q.rcv_key));
  CHECK(nid2.notifier_id != nid.notifier_id);
  CHECK(is_err(ntf.cmd(nid.notifier_id, cmd::NSUB{}, ntf_key), ErrorType::Kind::AUTH));
  as<resp::SOK>(ntf.cmd(nid2.notifier_id, cmd::NSUB{}, ntf_key));

  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{true, text("with ntf")}));
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("without")}));
  CHECK(st.deliver_notifications() == 1);
  auto ev = ntf.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].entity_id == nid2.notifier_id);
  const auto& nm = as<resp::NMSG>(ev[0].response);
  CHECK(nm.enc_meta.size() == 144);
  auto secret = crypto::x25519_dh(ntf_dh.priv, nid2.srv_ntf_dh_key.raw);
  auto meta = crypto::box_open_padded(*secret, nm.nonce, nm.enc_meta);
  REQUIRE(meta);
  Decoder d(*meta);
  auto msg_id = d.short_string();
  auto ts = d.int64();
  REQUIRE(msg_id);
  CHECK(msg_id->size() == 24);
  CHECK(ts == kNow);

  as<resp::OK>(rcp.cmd(q.rid, cmd::NDEL{}, q.rcv_key));
  ev = ntf.events();
  REQUIRE(ev.size() == 1);
  CHECK(std::holds_alternative<resp::DELD>(ev[0].response));
  CHECK(is_err(ntf.cmd(nid2.notifier_id, cmd::NSUB{}, ntf_key), ErrorType::Kind::AUTH));
}

TEST_CASE("NEW with notifier credentials (v17+) returns them in IDS", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 17);
  auto ntf_key = ed25519_key();
  auto ntf_dh = crypto::x25519_generate();
  Queue q = create(rcp, true, QueueReqData{}, NewNtfCreds{crypto::public_key(ntf_key), x25519_pub(ntf_dh)});
  REQUIRE(q.ids.ntf_creds);
  Conn ntf(st, 2, 17);
  as<resp::SOK>(ntf.cmd(q.ids.ntf_creds->first, cmd::NSUB{}, ntf_key));
}

TEST_CASE("short links: one-time invitation via LKEY, consumed by the first secured SEND", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 18), snd(st, 2, 18);
  const Bytes corr = crypto::random_bytes(24);
  LinkData ld{{}, sender_id_from_corr_id(corr), Bytes(2048, 'f'), Bytes(13824, 'u')};
  Queue q = create(rcp, true, QueueReqData{QueueMode::Messaging, ld}, std::nullopt, corr);
  CHECK(q.sid == ld.sender_id);
  REQUIRE(q.ids.link_id);
  const Bytes link = *q.ids.link_id;

  CHECK(is_err(snd.cmd(link, cmd::LGET{}), ErrorType::Kind::AUTH));  // LGET is for contact links
  auto lnk = as<resp::LNK>(snd.cmd(link, cmd::LKEY{crypto::public_key(q.snd_key)}, q.snd_key));
  CHECK(lnk.sender_id == q.sid);
  CHECK(lnk.fixed_data == ld.fixed_data);
  CHECK(lnk.user_data == ld.user_data);
  as<resp::LNK>(snd.cmd(link, cmd::LKEY{crypto::public_key(q.snd_key)}, q.snd_key));  // retry is fine
  auto other = ed25519_key();
  CHECK(is_err(snd.cmd(link, cmd::LKEY{crypto::public_key(other)}, other), ErrorType::Kind::AUTH));
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("confirmation")}, q.snd_key));
  CHECK(is_err(snd.cmd(link, cmd::LKEY{crypto::public_key(q.snd_key)}, q.snd_key), ErrorType::Kind::AUTH));

  // A sender id that is not the hash of the corrId is refused.
  LinkData bad{{}, crypto::random_bytes(24), Bytes(10, 'f'), Bytes(10, 'u')};
  auto k = ed25519_key();
  auto dh = crypto::x25519_generate();
  cmd::NEW n{crypto::public_key(k), x25519_pub(dh), std::nullopt, true, QueueReqData{QueueMode::Messaging, bad},
             std::nullopt};
  CHECK(err_of(rcp.cmd({}, n, k)) == ErrorType::command(CmdError::PROHIBITED));
}

TEST_CASE("short links: contact address via LGET, LSET updates user data, LDEL removes", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn owner(st, 1, 18), requester(st, 2, 18);
  const Bytes corr = crypto::random_bytes(24);
  const Bytes link_id = crypto::random_bytes(24);
  LinkData ld{link_id, sender_id_from_corr_id(corr), text("fixed"), text("profile v1")};
  Queue q = create(owner, true, QueueReqData{QueueMode::Contact, ld}, std::nullopt, corr);
  REQUIRE(q.ids.link_id);
  CHECK(*q.ids.link_id == link_id);
  CHECK(as<resp::LNK>(requester.cmd(link_id, cmd::LGET{})).user_data == text("profile v1"));
  auto k = ed25519_key();
  CHECK(is_err(requester.cmd(link_id, cmd::LKEY{crypto::public_key(k)}, k), ErrorType::Kind::AUTH));

  as<resp::OK>(owner.cmd(q.rid, cmd::LSET{link_id, text("fixed"), text("profile v2")}, q.rcv_key));
  CHECK(as<resp::LNK>(requester.cmd(link_id, cmd::LGET{})).user_data == text("profile v2"));
  // The fixed part cannot change.
  CHECK(is_err(owner.cmd(q.rid, cmd::LSET{link_id, text("other"), text("p")}, q.rcv_key), ErrorType::Kind::AUTH));
  // Unsigned SEND to a contact queue works (never secured).
  as<resp::OK>(requester.cmd(q.sid, cmd::SEND{false, text("request")}));
  as<resp::OK>(owner.cmd(q.rid, cmd::LDEL{}, q.rcv_key));
  CHECK(is_err(requester.cmd(link_id, cmd::LGET{}), ErrorType::Kind::AUTH));
}

TEST_CASE("blocked queues answer ERR BLOCKED, downgraded by version", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 18), snd18(st, 2, 18), snd12(st, 3, 12), snd11(st, 4, 11);
  Queue q = create(rcp);
  BlockingInfo info{BlockingInfo::Reason::spam, true, 86400};
  REQUIRE(st.block_queue(*to_id(q.rid), info));
  auto ev = rcp.events();
  REQUIRE(ev.size() == 1);
  CHECK(err_of(ev[0].response) == ErrorType::blocked_by(info));
  auto r = snd18.cmd(q.sid, cmd::SEND{false, text("x")});
  CHECK(err_of(r) == ErrorType::blocked_by(info));
  auto enc = [](const Response& resp, uint16_t v) {
    Bytes b = encode_response(resp, v);
    return std::string(b.begin(), b.end());
  };
  CHECK(enc(r, 18) == R"(ERR BLOCKED reason=spam,notice={"ttl":86400})");
  CHECK(enc(r, 12) == "ERR BLOCKED reason=spam");
  CHECK(enc(r, 11) == "ERR AUTH");
  CHECK(is_err(rcp.cmd(q.rid, cmd::SUB{}, q.rcv_key), ErrorType::Kind::BLOCKED));
  as<resp::OK>(rcp.cmd(q.rid, cmd::OFF{}, q.rcv_key));  // OFF and DEL ignore the block
  REQUIRE(st.unblock_queue(*to_id(q.rid)));
  as<resp::OK>(rcp.cmd(q.rid, cmd::DEL{}, q.rcv_key));
}

TEST_CASE("message expiry removes old messages from the head", "[smp-state]") {
  RelayConfig cfg;
  cfg.message_ttl = 100;
  ServerState st(cfg);
  Conn rcp(st, 1, 18), snd(st, 2, 18);
  Queue q = create(rcp, false);
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("old")}));
  CHECK(st.expire_messages(kNow + 50) == 0);
  CHECK(st.expire_messages(kNow + 101) == 1);
  as<resp::OK>(rcp.cmd(q.rid, cmd::GET{}, q.rcv_key));
}

TEST_CASE("QUE returns the queue information JSON", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 18), snd(st, 2, 18);
  Queue q = create(rcp, false);
  CHECK(as<resp::INFO>(rcp.cmd(q.rid, cmd::QUE{}, q.rcv_key)).json == R"({"qiSnd":false,"qiNtf":false,"qiSize":0})");
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("m")}));
  auto m = as<resp::MSG>(rcp.cmd(q.rid, cmd::GET{}, q.rcv_key));
  std::string id = base64url_encode(m.msg_id);
  for (char& ch : id) ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
  CHECK(as<resp::INFO>(rcp.cmd(q.rid, cmd::QUE{}, q.rcv_key)).json ==
        R"({"qiSnd":false,"qiNtf":false,"qiSub":{"qSubThread":"prohibitSub","qDelivered":")" + id +
            R"("},"qiSize":1,"qiMsg":{"msgId":")" + id + R"(","msgTs":"2023-11-14T22:13:20Z","msgType":"message"}})");
}

TEST_CASE("RFWD: a forwarded SEND is executed and the reply comes back encrypted", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 18);
  Queue q = create(rcp);

  // The proxy's connection to this relay: proxy flag, client key → session secret.
  Conn proxy(st, 2, 18);
  auto proxy_key = crypto::x25519_generate();
  proxy.cs.proxy_server = true;
  proxy.cs.session_secret = crypto::x25519_dh(proxy.session.priv, proxy_key.pub);
  const crypto::Key32 ss_pr = *crypto::x25519_dh(proxy_key.priv, proxy.session.pub);

  for (bool corrupt : {false, true}) {
    CAPTURE(corrupt);
    // Client side: inner transmission for fwdVersion 17 with the proxy session's id.
    const uint16_t fwd_v = 17;
    const SessionParams inner_params{fwd_v, proxy.cs.params.session_id};
    auto req = seal_proxied_request(inner_params, proxy.session.pub, q.sid,
                                    encode_command(cmd::SEND{false, text("via proxy")}, fwd_v), ClientAuth{});
    REQUIRE(req);
    CHECK(req->enc_transmission.size() == 16242);
    if (corrupt) req->enc_transmission[100] ^= 1;
    // Proxy side: wrap for RFWD.
    const Bytes fwd = encode_fwd_transmission(
        FwdTransmission{req->corr_id, fwd_v, x25519_pub(req->ephemeral), req->enc_transmission});
    const Bytes n_p = crypto::random_bytes(24);
    Bytes payload = crypto::box_seal(ss_pr, crypto::cb_nonce(n_p), fwd);
    Response r = proxy.cmd({}, cmd::RFWD{payload}, std::nullopt, n_p);
    if (corrupt) {
      CHECK(is_err(r, ErrorType::Kind::CRYPTO));
      continue;
    }
    const auto& rres = as<resp::RRES>(r);
    auto fr = crypto::box_open(ss_pr, crypto::reverse_nonce(crypto::cb_nonce(n_p)), rres.enc);
    REQUIRE(fr);
    Decoder d(*fr);
    auto fwd_corr = d.short_string();
    ByteView r2 = d.rest();
    REQUIRE(fwd_corr);
    CHECK(Bytes(fwd_corr->begin(), fwd_corr->end()) == req->corr_id);
    CHECK(r2.size() == 16242);
    Bytes storage;
    auto st_tx = open_proxied_response(inner_params, *req, r2, storage);
    REQUIRE(st_tx);
    CHECK(st_tx->corr_id == req->corr_id);
    CHECK(st_tx->entity_id == q.sid);
    auto inner_reply = parse_response(st_tx->response, fwd_v);
    REQUIRE(inner_reply);
    CHECK(std::holds_alternative<resp::OK>(*inner_reply));
    auto ev = rcp.events();
    REQUIRE(ev.size() == 1);
    CHECK(open_msg(q, as<resp::MSG>(ev[0].response)).body == text("via proxy"));
  }

  // A connection without a client key cannot take RFWD.
  Conn plain(st, 3, 18);
  CHECK(err_of(plain.cmd({}, cmd::RFWD{Bytes(100, 0)})).kind == ErrorType::Kind::PROXY);
}

TEST_CASE("PRXY and PFWD go to the proxy role, guarded by the queue-creation password", "[smp-state]") {
  cmd::SMPServer srv{{"example.com"}, "", Bytes(32, 1)};
  auto wire = [](const Response& r) {
    Bytes b = encode_response(r, 18);
    return std::string(b.begin(), b.end());
  };
  {
    RelayConfig cfg;
    cfg.allow_proxy = false;
    ServerState st(cfg);
    Conn c(st, 1, 18);
    CHECK(wire(c.cmd({}, cmd::PRXY{srv, std::nullopt})) == "ERR PROXY BASIC_AUTH");
  }
  RelayConfig cfg;
  cfg.create_password = "pass";
  ServerState st(cfg);
  Conn c(st, 1, 18);
  CHECK(wire(c.cmd({}, cmd::PRXY{srv, std::nullopt})) == "ERR PROXY BASIC_AUTH");
  CHECK(wire(c.cmd({}, cmd::PRXY{srv, std::string("nope")})) == "ERR PROXY BASIC_AUTH");
  CHECK(c.cs.proxy_jobs.empty());
  // Accepted: no reply yet; the I/O layer runs the job and replies with its corrId and entity.
  const Bytes corr = crypto::random_bytes(24);
  st.process_item(c.cs, c.tx(corr, {}, cmd::PRXY{srv, std::string("pass")}, std::nullopt), kNow);
  REQUIRE(c.cs.proxy_jobs.size() == 1);
  CHECK(std::holds_alternative<cmd::PRXY>(c.cs.proxy_jobs[0].command));
  CHECK(c.cs.proxy_jobs[0].corr_id == corr);
  CHECK(c.cs.outbox.empty());
  const Bytes session(32, 7);
  st.process_item(c.cs,
                  c.tx(crypto::random_bytes(24), session,
                       cmd::PFWD{17, crypto::PublicKey{crypto::KeyAlg::X25519, Bytes(32, 2)}, Bytes(100, 3)},
                       std::nullopt),
                  kNow);
  REQUIRE(c.cs.proxy_jobs.size() == 2);
  CHECK(c.cs.proxy_jobs[1].entity_id == session);
}

namespace {

// A connection that completed a service handshake with `role` (the handshake itself is session.cpp's).
struct ServiceConn : Conn {
  crypto::PrivateKey service_key = ed25519_key();
  crypto::Sha256 cert_hash{};
  Bytes service_id;
  ServiceConn(ServerState& s, ClientId id, char role, const crypto::Sha256& hash) : Conn(s, id, 18) {
    cert_hash = hash;
    auto sid = s.register_service(role, {Bytes(10, 1)}, hash, kNow);
    REQUIRE(sid);
    service_id = Bytes(sid->begin(), sid->end());
    ServiceSession ss;
    ss.service_id = *sid;
    ss.role = role;
    ss.cert_hash = hash;
    ss.session_key = crypto::public_key(service_key);
    cs.service = ss;
  }
  // A command carrying the service signature; the queue key signs certHash || authorized.
  Response svc_cmd(ByteView entity, const Command& c, const crypto::PrivateKey& key) {
    const Bytes corr = crypto::random_bytes(24);
    ClientAuth a;
    a.key = key;
    a.server_session_key = session.pub;
    a.service_key = service_key;
    a.service_cert_hash = Bytes(cert_hash.begin(), cert_hash.end());
    st.process_item(cs, encode_client_transmission(cs.params, corr, entity, encode_command(c, v()), a), kNow);
    return take_reply(corr);
  }
};

crypto::Sha256 some_hash(uint8_t b) {
  crypto::Sha256 h;
  h.fill(b);
  return h;
}

}  // namespace

TEST_CASE("service sessions: service signatures on NEW and SUB, role checks", "[smp-state]") {
  ServerState st(RelayConfig{});
  ServiceConn svc(st, 1, 'M', some_hash(7));
  auto k = ed25519_key();
  auto dh = crypto::x25519_generate();
  cmd::NEW n{crypto::public_key(k), x25519_pub(dh), std::nullopt, true, QueueReqData{}, std::nullopt};
  // Without the service signature: ERR SERVICE.
  CHECK(err_of(svc.cmd({}, n, k)).kind == ErrorType::Kind::SERVICE);
  auto ids = as<resp::IDS>(svc.svc_cmd({}, n, k));
  REQUIRE(ids.service_id);
  CHECK(*ids.service_id == svc.service_id);
  auto sok = as<resp::SOK>(svc.svc_cmd(ids.rcv_id, cmd::SUB{}, k));
  CHECK(sok.service_id == svc.service_id);
  // Other commands must not carry a service signature.
  CHECK(err_of(svc.svc_cmd(ids.rcv_id, cmd::QUE{}, k)).kind == ErrorType::Kind::SERVICE);
  as<resp::INFO>(svc.cmd(ids.rcv_id, cmd::QUE{}, k));
  // A messaging service may not create queues without subscribing, nor act as a notifier.
  n.subscribe = false;
  CHECK(err_of(svc.svc_cmd({}, n, k)) == ErrorType::command(CmdError::PROHIBITED));
  // SUBS is verified, then prohibited as in the reference.
  Bytes corr = crypto::random_bytes(24);
  ClientAuth sa;
  sa.key = svc.service_key;
  st.process_item(svc.cs, encode_client_transmission(svc.cs.params, corr, svc.service_id,
                                                     encode_command(cmd::SUBS{}, 18), sa),
                  kNow);
  CHECK(err_of(svc.take_reply(corr)) == ErrorType::command(CmdError::PROHIBITED));

  // A non-service connection may not send a service signature or service-wide commands.
  Conn plain(st, 2, 18);
  CHECK(err_of(plain.cmd(svc.service_id, cmd::NSUBS{}, svc.service_key)).kind == ErrorType::Kind::SERVICE);
}

TEST_CASE("notifier service: NSUB associates queues, NSUBS counts them and receives their NMSG", "[smp-state]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 18), snd(st, 2, 18);
  ServiceConn ntf(st, 3, 'N', some_hash(9));
  auto ntf_key = ed25519_key();
  auto ntf_dh = crypto::x25519_generate();
  std::vector<Queue> qs;
  std::vector<Bytes> nids;
  for (int i = 0; i < 3; ++i) {
    qs.push_back(create(rcp, false));
    nids.push_back(as<resp::NID>(rcp.cmd(qs.back().rid, cmd::NKEY{crypto::public_key(ntf_key), x25519_pub(ntf_dh)},
                                         qs.back().rcv_key))
                       .notifier_id);
    auto sok = as<resp::SOK>(ntf.svc_cmd(nids.back(), cmd::NSUB{}, ntf_key));
    CHECK(sok.service_id == ntf.service_id);
  }
  // A messaging command from a notifier service is prohibited.
  CHECK(err_of(ntf.cmd(qs[0].sid, cmd::SEND{false, text("x")})) == ErrorType::command(CmdError::PROHIBITED));

  // After a reconnect, NSUBS takes all associated queues back with one command.
  st.remove_client(3);
  ServiceConn again(st, 4, 'N', some_hash(9));
  CHECK(again.service_id == ntf.service_id);  // same certificate, same service
  Bytes corr = crypto::random_bytes(24);
  ClientAuth sa;
  sa.key = again.service_key;
  st.process_item(again.cs, encode_client_transmission(again.cs.params, corr, again.service_id,
                                                       encode_command(cmd::NSUBS{}, 18), sa),
                  kNow);
  CHECK(as<resp::SOKS>(again.take_reply(corr)).count == 3);
  as<resp::OK>(snd.cmd(qs[1].sid, cmd::SEND{true, text("n")}));
  CHECK(st.deliver_notifications() == 1);
  auto ev = again.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].entity_id == nids[1]);
  CHECK(std::holds_alternative<resp::NMSG>(ev[0].response));
  // The same certificate cannot come back with another role.
  CHECK_FALSE(st.register_service('M', {Bytes(10, 1)}, some_hash(9), kNow));
}

#include "smp/store_log_records.hpp"

TEST_CASE("every queue change is journaled: replaying the lines rebuilds the same store", "[smp-state]") {
  ServerState st(RelayConfig{});
  std::vector<std::string> lines;
  st.store_log = [&](std::string_view l) {
    lines.emplace_back(l);
    return std::string();
  };
  Conn rcp(st, 1, 18), snd(st, 2, 18);
  Queue a = create(rcp);
  as<resp::OK>(snd.cmd(a.sid, cmd::SKEY{crypto::public_key(a.snd_key)}, a.snd_key));
  auto nk = ed25519_key();
  auto ndh = crypto::x25519_generate();
  as<resp::NID>(rcp.cmd(a.rid, cmd::NKEY{crypto::public_key(nk), x25519_pub(ndh)}, a.rcv_key));
  const Bytes corr = crypto::random_bytes(24);
  const Bytes link_id = crypto::random_bytes(24);
  Queue c = create(rcp, true, QueueReqData{QueueMode::Contact, LinkData{link_id, sender_id_from_corr_id(corr),
                                                                          text("f"), text("u1")}},
                   std::nullopt, corr);
  as<resp::OK>(rcp.cmd(c.rid, cmd::LSET{link_id, text("f"), text("u2")}, c.rcv_key));
  as<resp::OK>(rcp.cmd(c.rid, cmd::OFF{}, c.rcv_key));
  Queue gone = create(rcp);
  REQUIRE(st.block_queue(*to_id(gone.rid), BlockingInfo{BlockingInfo::Reason::content, false, std::nullopt}));
  as<resp::OK>(rcp.cmd(gone.rid, cmd::DEL{}, gone.rcv_key));
  ServiceConn svc(st, 3, 'N', some_hash(4));

  QueueStore replayed;
  std::vector<ServiceRec> services;
  for (const auto& l : lines) {
    auto r = parse_store_log_record(l);
    REQUIRE(std::holds_alternative<StoreLogRecord>(r));
    CHECK(apply_store_log_record(replayed, services, std::get<StoreLogRecord>(r)) == "");
  }
  std::vector<std::string> expected, got;
  write_compacted(st.queues(), st.services(), [&](std::string_view l) { expected.emplace_back(l); });
  write_compacted(replayed, services, [&](std::string_view l) { got.emplace_back(l); });
  CHECK(got == expected);
  CHECK(expected.size() == 3);  // the service and two live queues
}

TEST_CASE("a queue's first use on a new day is journaled once as TIME", "[smp-state]") {
  ServerState st(RelayConfig{});
  std::vector<std::string> lines;
  st.store_log = [&](std::string_view l) {
    lines.emplace_back(l);
    return std::string();
  };
  Conn rcp(st, 1, 18);
  Queue q = create(rcp, false);
  lines.clear();
  as<resp::OK>(rcp.cmd(q.rid, cmd::GET{}, q.rcv_key));  // same day as NEW: nothing to record
  CHECK(lines.empty());
  const int64_t tomorrow = kNow + 86400;
  for (int i = 0; i < 2; ++i) {
    Bytes corr = crypto::random_bytes(24);
    st.process_item(rcp.cs, rcp.tx(corr, q.rid, cmd::QUE{}, q.rcv_key), tomorrow);
    as<resp::INFO>(rcp.take_reply(corr));
  }
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "TIME " + base64url_encode(q.rid) + " " + std::to_string(tomorrow / 86400 * 86400));
}

// The reference's counters (server-operations.md §5.2; simplexmq Server.hs), counted where it counts them.
TEST_CASE("stats: queue, message and subscription counters follow the commands", "[stats]") {
  RelayConfig cfg;
  cfg.msg_queue_quota = 1;
  ServerState st(cfg);
  Conn rcp(st, 1, 18), snd(st, 2, 18), getter(st, 3, 18), other(st, 4, 18);
  const ServerStatsData& s = st.stats();
  auto ntf_key = ed25519_key();
  auto ntf_dh = crypto::x25519_generate();
  Queue q = create(rcp);  // subscribed at creation
  Queue q2 = create(rcp, false, QueueReqData{}, NewNtfCreds{crypto::public_key(ntf_key), x25519_pub(ntf_dh)});
  CHECK(s.qCreated == 2);
  CHECK(s.qCount == 2);
  CHECK(s.ntfNewCreated == 1);

  as<resp::OK>(snd.cmd(q.sid, cmd::SKEY{crypto::public_key(q.snd_key)}, q.snd_key));
  as<resp::OK>(snd.cmd(q.sid, cmd::SKEY{crypto::public_key(q.snd_key)}, q.snd_key));  // a retry counts again
  CHECK(s.qSecured == 2);

  CHECK(is_err(snd.cmd(q.sid, cmd::SEND{false, text("x")}), ErrorType::Kind::AUTH));  // unsigned
  CHECK(s.msgSentAuth == 1);
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("1")}, q.snd_key));
  CHECK(is_err(snd.cmd(q.sid, cmd::SEND{true, text("2")}, q.snd_key), ErrorType::Kind::QUOTA));
  CHECK(s.msgSentQuota == 1);
  CHECK(is_err(snd.cmd(q.sid, cmd::SEND{false, Bytes(16049, 'x')}, q.snd_key), ErrorType::Kind::LARGE_MSG));
  CHECK(s.msgSentLarge == 1);
  CHECK(s.msgSent == 1);
  auto m = as<resp::MSG>(rcp.events().at(0).response);
  m = as<resp::MSG>(rcp.cmd(q.rid, cmd::ACK{m.msg_id}, q.rcv_key));  // the quota marker follows
  CHECK(open_msg(q, m).quota);
  as<resp::OK>(rcp.cmd(q.rid, cmd::ACK{m.msg_id}, q.rcv_key));
  CHECK(s.msgRecv == 1);  // the marker is not a received message
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{true, text("3")}, q.snd_key));
  CHECK(s.msgSent == 2);
  CHECK(s.msgSentNtf == 1);  // counted although the queue has no notifier
  m = as<resp::MSG>(rcp.events().at(0).response);
  as<resp::OK>(rcp.cmd(q.rid, cmd::ACK{m.msg_id}, q.rcv_key));
  CHECK(s.msgRecv == 2);
  CHECK(s.msgRecvNtf == 1);
  CHECK(s.msgRecvGet == 0);
  const int64_t h = hash_queue_id(*to_id(q.rid));
  CHECK(s.activeQueues.day == std::set<int64_t>{h});
  CHECK(s.activeQueues.month == std::set<int64_t>{h});
  CHECK(s.activeQueuesNtf.week == std::set<int64_t>{h});

  // SUB: a repeat on the same connection, the wrong key, GET on a subscribed queue.
  as<resp::SOK>(rcp.cmd(q.rid, cmd::SUB{}, q.rcv_key));
  CHECK(s.qSubDuplicate == 1);
  CHECK(is_err(rcp.cmd(q.rid, cmd::SUB{}, q.snd_key), ErrorType::Kind::AUTH));
  CHECK(s.qSubAuth == 1);
  CHECK(err_of(rcp.cmd(q.rid, cmd::GET{}, q.rcv_key)) == ErrorType::command(CmdError::PROHIBITED));
  CHECK(s.msgGetProhibited == 1);

  // GET: a message, the same message again before ACK, nothing after it.
  as<resp::OK>(snd.cmd(q2.sid, cmd::SEND{false, text("g")}));
  CHECK(is_err(getter.cmd(q2.rid, cmd::GET{}, q2.snd_key), ErrorType::Kind::AUTH));
  CHECK(s.msgGetAuth == 1);
  as<resp::MSG>(getter.cmd(q2.rid, cmd::GET{}, q2.rcv_key));
  m = as<resp::MSG>(getter.cmd(q2.rid, cmd::GET{}, q2.rcv_key));
  CHECK(s.msgGet == 1);
  CHECK(s.msgGetDuplicate == 1);
  as<resp::OK>(getter.cmd(q2.rid, cmd::ACK{m.msg_id}, q2.rcv_key));
  CHECK(s.msgRecv == 3);
  CHECK(s.msgRecvGet == 1);
  as<resp::OK>(getter.cmd(q2.rid, cmd::GET{}, q2.rcv_key));
  CHECK(s.msgGetNoMsg == 1);
  CHECK(err_of(getter.cmd(q2.rid, cmd::SUB{}, q2.rcv_key)) == ErrorType::command(CmdError::PROHIBITED));
  CHECK(s.qSubProhibited == 1);

  // A new subscription counts when it delivers a message; taking it over sends END.
  as<resp::SOK>(other.cmd(q2.rid, cmd::SUB{}, q2.rcv_key));
  CHECK(s.qSub == 0);  // nothing to deliver
  as<resp::OK>(snd.cmd(q2.sid, cmd::SEND{false, text("s")}));
  as<resp::SOK>(rcp.cmd(q2.rid, cmd::SUB{}, q2.rcv_key));
  CHECK(s.qSub == 1);
  CHECK(std::holds_alternative<resp::END>(other.events().back().response));
  CHECK(s.qSubEnd == 1);
  CHECK(s.qSubEndB == 1);

  // OFF makes SEND an AUTH error; deletes are counted by whether the queue was secured.
  as<resp::OK>(rcp.cmd(q2.rid, cmd::OFF{}, q2.rcv_key));
  CHECK(is_err(snd.cmd(q2.sid, cmd::SEND{false, text("x")}), ErrorType::Kind::AUTH));
  CHECK(s.msgSentAuth == 2);
  as<resp::OK>(rcp.cmd(q.rid, cmd::DEL{}, q.rcv_key));
  as<resp::OK>(rcp.cmd(q2.rid, cmd::DEL{}, q2.rcv_key));
  CHECK(s.qDeletedSecured == 1);
  CHECK(s.qDeletedNew == 1);
  CHECK(s.qDeletedAll == 2);
  CHECK(s.qCount == 0);
}

TEST_CASE("stats: notifier, blocking, expiry and batch counters", "[stats]") {
  RelayConfig cfg;
  cfg.message_ttl = 100;
  cfg.ntf_ttl = 100;
  ServerState st(cfg);
  Conn rcp(st, 1, 18), snd(st, 2, 18), ntf(st, 3, 18);
  const ServerStatsData& s = st.stats();
  Queue q = create(rcp, false);
  auto ntf_key = ed25519_key();
  auto ntf_dh = crypto::x25519_generate();
  auto nid = as<resp::NID>(rcp.cmd(q.rid, cmd::NKEY{crypto::public_key(ntf_key), x25519_pub(ntf_dh)}, q.rcv_key));
  CHECK(s.ntfCreated == 1);
  CHECK(is_err(ntf.cmd(nid.notifier_id, cmd::NSUB{}, q.rcv_key), ErrorType::Kind::AUTH));
  CHECK(s.ntfSubAuth == 1);
  as<resp::SOK>(ntf.cmd(nid.notifier_id, cmd::NSUB{}, ntf_key));
  as<resp::SOK>(ntf.cmd(nid.notifier_id, cmd::NSUB{}, ntf_key));
  CHECK(s.ntfSub == 1);
  CHECK(s.ntfSubDuplicate == 1);
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{true, text("a")}));
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{true, text("b")}));
  CHECK(st.deliver_notifications() == 2);
  CHECK(s.msgNtfs == 2);
  CHECK(s.msgNtfsB == 1);  // one block to one connection
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{true, text("c")}));
  CHECK(st.expire_notifications(kNow + 101) == 1);
  CHECK(s.msgNtfExpired == 1);
  CHECK(st.expire_messages(kNow + 101) == 3);
  CHECK(s.msgExpired == 3);
  as<resp::OK>(rcp.cmd(q.rid, cmd::NDEL{}, q.rcv_key));
  as<resp::OK>(rcp.cmd(q.rid, cmd::NDEL{}, q.rcv_key));  // no notifier left: not counted
  CHECK(s.ntfDeleted == 1);
  CHECK(s.qSubEnd == 1);  // DELD to the notifier subscriber

  // Blocking counts queues that were active; SEND to a blocked queue has its own counter.
  BlockingInfo info{BlockingInfo::Reason::spam, false, std::nullopt};
  REQUIRE(st.block_queue(*to_id(q.rid), info));
  REQUIRE(st.block_queue(*to_id(q.rid), info));
  CHECK(s.qBlocked == 1);
  CHECK(is_err(snd.cmd(q.sid, cmd::SEND{false, text("x")}), ErrorType::Kind::BLOCKED));
  CHECK(s.msgSentBlock == 1);
  REQUIRE(st.unblock_queue(*to_id(q.rid)));

  // A block of several recipient commands counts once, by its first command; a single one or a mixed block
  // does not.
  Queue q2 = create(rcp, false);
  auto items = [&](std::vector<std::pair<Bytes, Command>> cmds, const crypto::PrivateKey& key) {
    std::vector<Bytes> raw;
    for (auto& [entity, c] : cmds) raw.push_back(rcp.tx(crypto::random_bytes(24), entity, c, key));
    return raw;
  };
  auto run = [&](const std::vector<Bytes>& raw) {
    std::vector<ByteView> v(raw.begin(), raw.end());
    st.process_batch(rcp.cs, v, kNow);
    rcp.cs.outbox.clear();
  };
  run(items({{q.rid, cmd::SUB{}}}, q.rcv_key));
  run(items({{q.rid, cmd::SUB{}}, {q2.rid, cmd::SUB{}}}, q.rcv_key));
  run(items({{q.rid, cmd::SUB{}}, {q.sid, cmd::SEND{false, text("x")}}}, q.rcv_key));
  CHECK(s.qSubAllB == 1);
  CHECK(s.qSubAuth == 1);  // q2's SUB signed with q's key: each item is still processed
  run(items({{q.rid, cmd::NDEL{}}, {q.rid, cmd::QUE{}}}, q.rcv_key));
  CHECK(s.ntfDeletedB == 1);
  run(items({{q.rid, cmd::DEL{}}, {q2.rid, cmd::DEL{}}}, q.rcv_key));
  CHECK(s.qDeletedAllB == 1);
  CHECK(s.qDeletedAll == 1);
}

TEST_CASE("stats: a daily period resets its counters, the week set on Mondays, the month set on the 1st",
          "[stats]") {
  ServerState st(RelayConfig{});
  Conn rcp(st, 1, 18), snd(st, 2, 18);
  ServerStatsData init;
  init.fromTime = kNow;
  init.rcvServices.assocNew = 2;
  st.set_stats(init);
  Queue q = create(rcp, false);
  as<resp::OK>(snd.cmd(q.sid, cmd::SEND{false, text("a")}));
  const std::set<int64_t> one{hash_queue_id(*to_id(q.rid))};
  constexpr int64_t kWed = 19676 * 86400;     // 2023-11-15, the first midnight after kNow
  constexpr int64_t kMon = 19681 * 86400;     // 2023-11-20
  constexpr int64_t kFirst = 19692 * 86400;   // 2023-12-01, a Friday

  StatsPeriod p = st.roll_stats_period(kWed);
  CHECK(p.data.fromTime == kNow);
  CHECK(p.data.qCreated == 1);
  CHECK(p.data.msgSent == 1);
  CHECK(p.data.activeQueues.day == one);
  CHECK_FALSE(p.week_ended);
  CHECK_FALSE(p.month_ended);
  const ServerStatsData& s = st.stats();
  CHECK(s.fromTime == kWed);
  CHECK(s.qCreated == 0);
  CHECK(s.msgSent == 0);
  CHECK(s.qCount == 1);  // a gauge
  CHECK(s.rcvServices.assocNew == 2);  // cumulative
  CHECK(s.activeQueues.day.empty());
  CHECK(s.activeQueues.week == one);
  CHECK(s.activeQueues.month == one);

  p = st.roll_stats_period(kMon);
  CHECK(p.week_ended);
  CHECK(p.data.activeQueues.week == one);
  CHECK(s.activeQueues.week.empty());
  CHECK(s.activeQueues.month == one);

  p = st.roll_stats_period(kFirst);
  CHECK_FALSE(p.week_ended);
  CHECK(p.month_ended);
  CHECK(s.activeQueues.month.empty());
}
