// Queue records survive a restart through smp-server-store.log, written and read in the reference's format
// (server-operations.md §4.2, §4.3). Messages are not yet persisted (next increment of the persistence issue).
#include <catch2/catch.hpp>

#include "smp_client_fixture.hpp"

using namespace sr;
using namespace sr::smp;
using namespace sr::test;
using namespace std::chrono_literals;

namespace {

void restart(Relay& relay) {
  relay.proc->signal(SIGTERM);
  REQUIRE(relay.proc->wait(30s) == std::optional<int>(0));
  relay.proc = relay.d.start_ready();
}

}  // namespace

TEST_CASE("SMP queues, sender keys and notifiers survive a restart", "[smp-wire][storelog]") {
  Relay relay;
  QueueCreds q;
  AuthKeyPair sender = generate_auth_key(crypto::KeyAlg::Ed25519);
  AuthKeyPair nkey = generate_auth_key(crypto::KeyAlg::Ed25519);
  Bytes notifier_id;
  Bytes deleted_rid;
  {
    auto rcp = relay.connect(), snd = relay.connect();
    q = rcp->create_queue();
    snd->secure_by_sender(q.snd_id, sender);
    auto ndh = generate_dh_key();
    notifier_id = expect<resp::NID>(rcp->recipient_request(q, cmd::NKEY{nkey.pub, ndh.pub})).notifier_id;
    auto gone = rcp->create_queue();
    deleted_rid = gone.rcv_id;
    expect<resp::OK>(rcp->recipient_request(gone, cmd::DEL{}));
  }
  const auto log = relay.d.log / "smp-server-store.log";
  CHECK(contains(read_text(log), "CREATE rid="));
  CHECK(contains(read_text(log), "SECURE "));
  CHECK(contains(read_text(log), "NOTIFIER "));
  CHECK(contains(read_text(log), "DELETE " + base64url_encode(deleted_rid)));

  restart(relay);
  // Compacted: one CREATE for the live queue, nothing for the deleted one.
  const std::string compacted = read_text(log);
  CHECK(lines_of(compacted).size() == 1);
  CHECK(contains(compacted, "CREATE rid=" + base64url_encode(q.rcv_id)));
  CHECK_FALSE(contains(compacted, base64url_encode(deleted_rid)));
  CHECK(contains(relay.proc->err(), "compacting store log (do not terminate)..."));

  auto rcp = relay.connect(), snd = relay.connect(), ntf = relay.connect();
  // The sender key still guards the queue; the notifier still works.
  CHECK(expect_err(snd->send(q.snd_id, std::nullopt, text("x"))).kind == ErrorType::Kind::AUTH);
  ClientAuth na;
  na.key = nkey.priv;
  expect<resp::SOK>(ntf->request(notifier_id, cmd::NSUB{}, na));
  expect<resp::OK>(snd->send(q.snd_id, sender, text("after restart"), true));
  expect<resp::SOK>(rcp->recipient_request(q, cmd::SUB{}));
  CHECK(decrypt_msg(q, expect_msg_event(*rcp, q.rcv_id))->body == text("after restart"));
  CHECK(ntf->next_event(5s).has_value());
}

TEST_CASE("SMP loads a store log written by the reference and compacts it as the reference does", "[smp-wire][storelog]") {
  Relay relay;
  relay.proc->signal(SIGTERM);
  REQUIRE(relay.proc->wait(30s) == std::optional<int>(0));
  // server-operations.md §4.2: a new queue, secured, a notifier added, then the next day's first use.
  const std::string rid = "UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN";
  write_text(relay.d.log / "smp-server-store.log",
             "CREATE rid=" + rid +
                 " rk=MCowBQYDK2VwAyEArohtxlB3lex0XEw_yy6yxz4Uk0yGfuBXunJJm_oSHoM= "
                 "rdh=Ib0_ZWTq338UKnJmjEfiI9Fu3YxHtGr8W67iYfU7JhU= sid=bA_TkB_yOaGglfIPk5VlDPk4C47bIkpr sk= "
                 "queue_mode=M updated_at=1748736000\n"
                 "SECURE " + rid + " MCowBQYDK2VwAyEAayrBVybufWsK9qsTw46SyuDRUFexWZh_lMx0EdcX8UU=\n"
                 "NOTIFIER " + rid +
                 " JIoekk6P0K4uGpSSozBfGIy2EJAPnjR_ MCowBQYDK2VwAyEAebKqEA-7s0-lk_6u0nJIt2Ljq1gF8HZaK5wdfg83xEk= "
                 "LSY7qDsDfNSWLkNIASVriF6ckFHzILDbg_Oep629DXQ=\n"
                 "TIME " + rid + " 1748822400\n"
                 "this line is not a record\n");
  relay.proc = relay.d.start_ready();
  CHECK(read_text(relay.d.log / "smp-server-store.log") ==
        "CREATE rid=" + rid +
            " rk=MCowBQYDK2VwAyEArohtxlB3lex0XEw_yy6yxz4Uk0yGfuBXunJJm_oSHoM= "
            "rdh=Ib0_ZWTq338UKnJmjEfiI9Fu3YxHtGr8W67iYfU7JhU= sid=bA_TkB_yOaGglfIPk5VlDPk4C47bIkpr "
            "sk=MCowBQYDK2VwAyEAayrBVybufWsK9qsTw46SyuDRUFexWZh_lMx0EdcX8UU= queue_mode=M "
            "notifier=JIoekk6P0K4uGpSSozBfGIy2EJAPnjR_ "
            "MCowBQYDK2VwAyEAebKqEA-7s0-lk_6u0nJIt2Ljq1gF8HZaK5wdfg83xEk= "
            "LSY7qDsDfNSWLkNIASVriF6ckFHzILDbg_Oep629DXQ= updated_at=1748822400\n");
  CHECK(contains(relay.proc->out(), "Processed: 5 log lines"));
  CHECK(contains(relay.proc->out(), "Error parsing log: "));
  // The original is kept as a timed backup.
  bool backup = false;
  for (const auto& e : std::filesystem::directory_iterator(relay.d.log))
    backup |= e.path().filename().string().rfind("smp-server-store.log.20", 0) == 0;
  CHECK(backup);
}

TEST_CASE("SMP undelivered messages and notifications survive a graceful restart", "[smp-wire][storelog]") {
  Relay relay;
  QueueCreds q;
  AuthKeyPair nkey = generate_auth_key(crypto::KeyAlg::Ed25519);
  Bytes notifier_id;
  {
    auto rcp = relay.connect(), snd = relay.connect();
    q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    auto ndh = generate_dh_key();
    notifier_id = expect<resp::NID>(rcp->recipient_request(q, cmd::NKEY{nkey.pub, ndh.pub})).notifier_id;
    expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("first"), true));
    expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("second")));
  }
  for (int sig : {SIGTERM, SIGINT}) {
    CAPTURE(sig);
    relay.proc->signal(sig);
    REQUIRE(relay.proc->wait(30s) == std::optional<int>(0));
    CHECK(contains(relay.proc->err(), "messages saved: 2"));
    const std::string saved = read_text(relay.d.log / "smp-server-messages.log");
    CHECK(lines_of(saved).size() == 2);
    CHECK(saved.rfind("v3 " + base64url_encode(q.rcv_id) + " ", 0) == 0);
    relay.proc = relay.d.start_ready();
    CHECK(contains(relay.proc->err(), "messages stored: 2, expired: 0, queues: 1"));
    CHECK_FALSE(std::filesystem::exists(relay.d.log / "smp-server-messages.log"));
    CHECK(std::filesystem::exists(relay.d.log / "smp-server-messages.log.bak"));
  }
  auto rcp = relay.connect(), ntf = relay.connect();
  ClientAuth na;
  na.key = nkey.priv;
  expect<resp::SOK>(ntf->request(notifier_id, cmd::NSUB{}, na));
  CHECK(ntf->next_event(5s).has_value());  // the notification saved with the first message
  auto m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->body == text("first"));
  expect<resp::OK>(rcp->ack(q, m.msg_id));
  m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->body == text("second"));
}

TEST_CASE("SMP refuses to start on a corrupt saved messages file unless told to skip", "[smp-wire][storelog]") {
  Relay relay;
  QueueCreds q;
  {
    auto rcp = relay.connect(), snd = relay.connect();
    q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("kept")));
  }
  relay.proc->signal(SIGINT);
  REQUIRE(relay.proc->wait(30s) == std::optional<int>(0));
  const auto f = relay.d.log / "smp-server-messages.log";
  write_text(f, read_text(f) + "v3 torn-last-li");
  auto p = relay.d.start();
  REQUIRE(p->wait(30s) == std::optional<int>(1));
  CHECK(contains(p->err(), "start with --skip-warnings option to ignore this error"));
  CHECK(std::filesystem::exists(f));  // nothing lost
  relay.proc = relay.d.start_ready({"start", "--skip-warnings"});
  auto rcp = relay.connect();
  auto m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->body == text("kept"));
}
