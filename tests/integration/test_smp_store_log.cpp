// Queue records survive a restart through smp-server-store.log, written and read in the reference's format
// (server-operations.md §4.2, §4.3); messages through the journal, and the reference's saved-message files are
// exported and imported (§4.4, §1.9).
#include <catch2/catch.hpp>

#include <ctime>
#include <map>

#include "smp/journal_dirs.hpp"
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
    CHECK(contains(relay.proc->err(), "undelivered messages: 2, kept in"));
    relay.proc = relay.d.start_ready();
    CHECK(contains(relay.proc->err(), "messages restored: 2, notifications: 1"));
  }
  auto rcp = relay.connect(), ntf = relay.connect();
  ClientAuth na;
  na.key = nkey.priv;
  expect<resp::SOK>(ntf->request(notifier_id, cmd::NSUB{}, na));
  CHECK(ntf->next_event(5s).has_value());  // the notification stored with the first message
  auto m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->body == text("first"));
  expect<resp::OK>(rcp->ack(q, m.msg_id));
  m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->body == text("second"));
}

TEST_CASE("SMP journal export writes the reference's files and the next start imports them once",
          "[smp-wire][storelog]") {
  Relay relay;
  QueueCreds q;
  Bytes notifier_id;
  {
    auto rcp = relay.connect(), snd = relay.connect();
    q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    auto ndh = generate_dh_key();
    notifier_id = expect<resp::NID>(rcp->recipient_request(q, cmd::NKEY{generate_auth_key(crypto::KeyAlg::Ed25519).pub,
                                                                          ndh.pub}))
                      .notifier_id;
    expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("first"), true));
    expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("second")));
  }
  relay.proc->signal(SIGINT);
  REQUIRE(relay.proc->wait(30s) == std::optional<int>(0));
  const auto f = relay.d.log / "smp-server-messages.log";
  auto r = relay.d.smp({"journal", "export"}, "Y\n");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "Export completed"));
  CHECK(contains(r.out, "store_messages set to `memory`, start the server."));
  // server-operations.md §4.4: one v3 line per message, the notification flag on the first.
  const auto saved = lines_of(read_text(f));
  REQUIRE(saved.size() == 2);
  CHECK(saved[0].rfind("v3 " + base64url_encode(q.rcv_id) + " ", 0) == 0);
  CHECK(contains(saved[0], " flags=T "));
  CHECK(contains(saved[1], " flags=F "));
  const auto ntfs = lines_of(read_text(relay.d.log / "smp-server-ntfs.log"));
  REQUIRE(ntfs.size() == 1);
  CHECK(ntfs[0].rfind("v1 " + base64url_encode(notifier_id) + " ", 0) == 0);
  // A second export refuses to overwrite.
  auto again = relay.d.smp({"journal", "export"}, "Y\n");
  CHECK(again.exit_code == 1);
  CHECK(contains(again.out, "file already exists."));

  // The exported file is authoritative at the next start: imported in place of the journal, not added to it.
  relay.proc = relay.d.start_ready();
  CHECK(contains(relay.proc->err(), "messages stored: 2, expired: 0, queues: 1"));
  CHECK_FALSE(std::filesystem::exists(f));
  CHECK(std::filesystem::exists(relay.d.log / "smp-server-messages.log.bak"));
  auto rcp = relay.connect();
  auto m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->body == text("first"));
  expect<resp::OK>(rcp->ack(q, m.msg_id));
  m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->body == text("second"));
  expect<resp::OK>(rcp->ack(q, m.msg_id));
  CHECK(std::holds_alternative<resp::OK>(rcp->recipient_request(q, cmd::GET{})));
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
  REQUIRE(relay.d.smp({"journal", "export"}, "Y\n").exit_code == 0);
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
  expect<resp::OK>(rcp->ack(q, m.msg_id));
  CHECK(std::holds_alternative<resp::OK>(rcp->recipient_request(q, cmd::GET{})));
}

namespace {

std::string random_id_text() {
  Bytes b(24);
  crypto::random_bytes(b);
  return base64url_encode(b);
}

}  // namespace

TEST_CASE("SMP imports the reference's saved messages and exports them back byte for byte", "[smp-wire][storelog]") {
  Relay relay;
  QueueCreds q;
  Bytes notifier_id;
  {
    auto rcp = relay.connect();
    q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
    auto ndh = generate_dh_key();
    notifier_id = expect<resp::NID>(rcp->recipient_request(q, cmd::NKEY{generate_auth_key(crypto::KeyAlg::Ed25519).pub,
                                                                          ndh.pub}))
                      .notifier_id;
  }
  relay.proc->signal(SIGINT);
  REQUIRE(relay.proc->wait(30s) == std::optional<int>(0));
  // Files as the reference writes them at its stop (server-operations.md §4.4), recent enough not to expire.
  const int64_t now = std::time(nullptr);
  const std::string rid = base64url_encode(q.rcv_id);
  Bytes body(300), meta(144), nonce(24);
  crypto::random_bytes(body);
  crypto::random_bytes(meta);
  crypto::random_bytes(nonce);
  const std::string first_id = random_id_text();
  const std::string messages = "v3 " + rid + " " + first_id + " " + std::to_string(now - 300) + " flags=T " +
                               base64url_encode(body) + "\n" + "v3 " + rid + " " + random_id_text() + " " +
                               std::to_string(now - 200) + " flags=F " + base64url_encode(text("second")) + "\n" +
                               "v3 " + rid + " " + random_id_text() + " " + std::to_string(now - 100) + " quota\n";
  const std::string ntfs = "v1 " + base64url_encode(notifier_id) + " " + first_id + " " + std::to_string(now - 300) +
                           " " + base64url_encode(nonce) + " " + base64url_encode(meta) + "\n";
  const auto mf = relay.d.log / "smp-server-messages.log", nf = relay.d.log / "smp-server-ntfs.log";
  write_text(mf, messages);
  write_text(nf, ntfs);

  relay.proc = relay.d.start_ready();
  CHECK(contains(relay.proc->err(), "messages stored: 2, expired: 0, queues: 1"));
  CHECK(read_text(relay.d.log / "smp-server-messages.log.bak") == messages);  // the original, unchanged
  CHECK(read_text(relay.d.log / "smp-server-ntfs.log.bak") == ntfs);
  relay.proc->signal(SIGKILL);  // the journal has them: no graceful stop needed
  relay.proc->wait(30s);

  auto r = relay.d.smp({"journal", "export"}, "Y\n");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_text(mf) == messages);
  CHECK(read_text(nf) == ntfs);
}

TEST_CASE("SMP with store_messages = journal imports the reference's journal directories without changing them",
          "[smp-wire][storelog]") {
  Relay relay;
  QueueCreds q;
  {
    auto rcp = relay.connect();
    q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
  }
  relay.proc->signal(SIGINT);
  REQUIRE(relay.proc->wait(30s) == std::optional<int>(0));
  std::filesystem::remove(relay.d.log / "smp-server-messages.journal");
  // The reference layout (§4.5): one queue directory, one journal file, one state line.
  std::vector<Message> msgs(2);
  for (size_t i = 0; i < msgs.size(); ++i) {
    crypto::random_bytes(msgs[i].msg_id);
    msgs[i].ts = std::time(nullptr) - 10;
    msgs[i].body = text("from journal " + std::to_string(i));
  }
  const auto dir = relay.d.log / "messages";
  write_journal_queue(dir, *to_id(q.rcv_id), msgs);
  std::map<std::string, std::string> before;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) before[e.path().string()] = read_text(e.path());
  relay.d.set_ini_line("store_messages = memory", "store_messages = journal");

  relay.proc = relay.d.start_ready();
  CHECK(contains(relay.proc->err(), "messages imported: 2, not imported: 0, queues: 1"));
  CHECK(contains(relay.proc->err(), "Journal message store is deprecated"));
  auto rcp = relay.connect();
  auto m = expect<resp::MSG>(rcp->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->body == text("from journal 0"));
  expect<resp::OK>(rcp->ack(q, m.msg_id));
  std::map<std::string, std::string> after;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) after[e.path().string()] = read_text(e.path());
  CHECK(after == before);

  // The next start uses our journal: the acknowledged message does not come back from the directories.
  relay.proc->signal(SIGKILL);
  relay.proc->wait(30s);
  relay.proc = relay.d.start_ready();
  CHECK_FALSE(contains(relay.proc->err(), "messages imported"));
  auto rcp2 = relay.connect();
  m = expect<resp::MSG>(rcp2->recipient_request(q, cmd::GET{}));
  CHECK(decrypt_msg(q, m)->body == text("from journal 1"));
}
