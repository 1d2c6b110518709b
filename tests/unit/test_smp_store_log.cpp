// SMP queue store log records (server-operations.md §4.1, §4.2, §4.7): the reference's exact line format, the
// load semantics and the compacted output.
#include <catch2/catch.hpp>

#include "record_text.hpp"

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "smp/msg_log.hpp"
#include "text_files.hpp"
#include "smp/store_log_records.hpp"

using namespace sr;
using namespace sr::smp;

using sr::test::b64d;
using sr::test::key_of;

namespace {

bool contains_text(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Lines copied verbatim from server-operations.md §4.2 and §4.7.
const std::vector<std::string> kSpec42Log = {
    R"(CREATE rid=UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN rk=MCowBQYDK2VwAyEArohtxlB3lex0XEw_yy6yxz4Uk0yGfuBXunJJm_oSHoM= rdh=Ib0_ZWTq338UKnJmjEfiI9Fu3YxHtGr8W67iYfU7JhU= sid=bA_TkB_yOaGglfIPk5VlDPk4C47bIkpr sk= queue_mode=M updated_at=1748736000)",
    R"(SECURE UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN MCowBQYDK2VwAyEAayrBVybufWsK9qsTw46SyuDRUFexWZh_lMx0EdcX8UU=)",
    R"(NOTIFIER UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN JIoekk6P0K4uGpSSozBfGIy2EJAPnjR_ MCowBQYDK2VwAyEAebKqEA-7s0-lk_6u0nJIt2Ljq1gF8HZaK5wdfg83xEk= LSY7qDsDfNSWLkNIASVriF6ckFHzILDbg_Oep629DXQ=)",
    R"(TIME UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN 1748822400)",
};
const std::vector<std::string> kSpec42Compacted = {
    R"(CREATE rid=UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN rk=MCowBQYDK2VwAyEArohtxlB3lex0XEw_yy6yxz4Uk0yGfuBXunJJm_oSHoM= rdh=Ib0_ZWTq338UKnJmjEfiI9Fu3YxHtGr8W67iYfU7JhU= sid=bA_TkB_yOaGglfIPk5VlDPk4C47bIkpr sk=MCowBQYDK2VwAyEAayrBVybufWsK9qsTw46SyuDRUFexWZh_lMx0EdcX8UU= queue_mode=M notifier=JIoekk6P0K4uGpSSozBfGIy2EJAPnjR_ MCowBQYDK2VwAyEAebKqEA-7s0-lk_6u0nJIt2Ljq1gF8HZaK5wdfg83xEk= LSY7qDsDfNSWLkNIASVriF6ckFHzILDbg_Oep629DXQ= updated_at=1748822400)",
};
const std::vector<std::string> kSpec47Log = {
    R"(NEW_SERVICE service_id=75LJF_fzi3pbmen2mrkxS2ayxlwwHqvL role=N cert=MIHgMIGToAMCAQICAQEwBQYDK2VwMBoxGDAWBgNVBAMMD250Zi5leGFtcGxlLmNvbTAeFw0yNTA2MDEwMDAwMDBaFw0yNTA5MDkwMDAwMDBaMBoxGDAWBgNVBAMMD250Zi5leGFtcGxlLmNvbTAqMAUGAytlcAMhAJY79OVc5WNvS23mVDB722dDn8pQ-dk-Zb5difI7MMXhMAUGAytlcANBAGZPiYUpY9dk70sYANWR-F9jCLrriGy_F3IPMxWlJroGm4yzvTFqUJp3jLQHgYDWpCw3EUmJnG8hd78SUVhLTwI= cert_hash=dwZD1jFivnDp6awadalWLVDgjiTSVYwiFK3TPDnwsLI= created_at=1748736000)",
    R"(CREATE rid=UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN rk=MCowBQYDK2VwAyEAX0ZDH4NUq2tXjk5wfESiMRB5_2xhyDbntEw8TBwNE8E= rdh=o0KLE2wgl2tP8FTFzx7sv4KWTClNIKsWwfnGoP3osVY= sid=bA_TkB_yOaGglfIPk5VlDPk4C47bIkpr sk= queue_mode=M updated_at=1748736000)",
    R"(SECURE UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN MCowBQYDK2VwAyEAwD9ONWX9Uyd_GYW1dOqBHxooGRhLBdAXaH-xvt2bl-Q=)",
    R"(NOTIFIER UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN WZHlefe75jtkMTn6MpWdoEtBWV2qDQaJ MCowBQYDK2VuAyEAYpayVitVTqkoyAA6oRRFpOSSXI7hYbJRIxdu8hch6E8= w8wRuJaGzK9c9NEwp4gEGkt5BxLYgQsZuAkkKKzmD04=)",
    R"(QUEUE_SERVICE UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN N 75LJF_fzi3pbmen2mrkxS2ayxlwwHqvL)",
    R"(KEYS UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN MCowBQYDK2VwAyEAX0ZDH4NUq2tXjk5wfESiMRB5_2xhyDbntEw8TBwNE8E=,MCowBQYDK2VwAyEAbv_Kg0FGubr5n5uEg3NmrX2IvcTV6l8pWPNHrvPqBgI=)",
    R"(TIME UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN 1748822400)",
    R"(CREATE rid=wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt rk=MCowBQYDK2VuAyEAYx1ElkCfI3Isdd31LoeM9woiQRT9d2PSHWFpufBGbgU= rdh=pVXIGokHVexpn-j90QwXo2YiWp2uBfb-bl-OxyDHbGc= sid=we0H84kGUw_3FVbjoVwx-yxUm1i2ItKO sk= queue_mode=C link_id=EmfPs6t02MoBZG7GkotAsykMTgzAt3Ji queue_data=Zml4ZWQgZGF0YQ== dXNlciBkYXRh updated_at=1748736000)",
    R"(LDELETE wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt)",
    R"(LINK wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt EmfPs6t02MoBZG7GkotAsykMTgzAt3Ji Zml4ZWQgZGF0YQ== dXNlciBkYXRh)",
    R"(BLOCK wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt reason=spam,notice={"ttl":86400})",
    R"(UNBLOCK wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt)",
    R"(SUSPEND wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt)",
};
const std::vector<std::string> kSpec47Compacted = {
    R"(NEW_SERVICE service_id=75LJF_fzi3pbmen2mrkxS2ayxlwwHqvL role=N cert=MIHgMIGToAMCAQICAQEwBQYDK2VwMBoxGDAWBgNVBAMMD250Zi5leGFtcGxlLmNvbTAeFw0yNTA2MDEwMDAwMDBaFw0yNTA5MDkwMDAwMDBaMBoxGDAWBgNVBAMMD250Zi5leGFtcGxlLmNvbTAqMAUGAytlcAMhAJY79OVc5WNvS23mVDB722dDn8pQ-dk-Zb5difI7MMXhMAUGAytlcANBAGZPiYUpY9dk70sYANWR-F9jCLrriGy_F3IPMxWlJroGm4yzvTFqUJp3jLQHgYDWpCw3EUmJnG8hd78SUVhLTwI= cert_hash=dwZD1jFivnDp6awadalWLVDgjiTSVYwiFK3TPDnwsLI= created_at=1748736000)",
    R"(CREATE rid=UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN rk=MCowBQYDK2VwAyEAX0ZDH4NUq2tXjk5wfESiMRB5_2xhyDbntEw8TBwNE8E=,MCowBQYDK2VwAyEAbv_Kg0FGubr5n5uEg3NmrX2IvcTV6l8pWPNHrvPqBgI= rdh=o0KLE2wgl2tP8FTFzx7sv4KWTClNIKsWwfnGoP3osVY= sid=bA_TkB_yOaGglfIPk5VlDPk4C47bIkpr sk=MCowBQYDK2VwAyEAwD9ONWX9Uyd_GYW1dOqBHxooGRhLBdAXaH-xvt2bl-Q= queue_mode=M notifier=WZHlefe75jtkMTn6MpWdoEtBWV2qDQaJ MCowBQYDK2VuAyEAYpayVitVTqkoyAA6oRRFpOSSXI7hYbJRIxdu8hch6E8= w8wRuJaGzK9c9NEwp4gEGkt5BxLYgQsZuAkkKKzmD04= nsrv=75LJF_fzi3pbmen2mrkxS2ayxlwwHqvL updated_at=1748822400)",
    R"(CREATE rid=wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt rk=MCowBQYDK2VuAyEAYx1ElkCfI3Isdd31LoeM9woiQRT9d2PSHWFpufBGbgU= rdh=pVXIGokHVexpn-j90QwXo2YiWp2uBfb-bl-OxyDHbGc= sid=we0H84kGUw_3FVbjoVwx-yxUm1i2ItKO sk= queue_mode=C link_id=EmfPs6t02MoBZG7GkotAsykMTgzAt3Ji queue_data=Zml4ZWQgZGF0YQ== dXNlciBkYXRh updated_at=1748736000 status=off)",
};
const std::vector<std::string> kSpec47Other = {
    R"(NDELETE UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN)",
    R"(DELETE wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt)",
    R"(QUEUE_SERVICE UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN N )",
    R"(BLOCK wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt reason=content)",
    R"(BLOCK wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt reason=content,notice={})",
    R"(NOTIFIER UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN aWprbA== MCowBQYDK2VuAyEAYpayVitVTqkoyAA6oRRFpOSSXI7hYbJRIxdu8hch6E8= w8wRuJaGzK9c9NEwp4gEGkt5BxLYgQsZuAkkKKzmD04= nsrv=75LJF_fzi3pbmen2mrkxS2ayxlwwHqvL)",
    R"(CREATE rid=UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN rk=MCowBQYDK2VwAyEAX0ZDH4NUq2tXjk5wfESiMRB5_2xhyDbntEw8TBwNE8E= rdh=o0KLE2wgl2tP8FTFzx7sv4KWTClNIKsWwfnGoP3osVY= sid=bA_TkB_yOaGglfIPk5VlDPk4C47bIkpr sk= sndSecure=T)",
};

const std::string kRid1 = "UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN";
const std::string kRid2 = "wl7m5Ha9QmwlcU4KJpKkHrzjzplzUMVt";
const std::string kEdKey = "MCowBQYDK2VwAyEAX0ZDH4NUq2tXjk5wfESiMRB5_2xhyDbntEw8TBwNE8E=";
const std::string kEdKey2 = "MCowBQYDK2VwAyEAwD9ONWX9Uyd_GYW1dOqBHxooGRhLBdAXaH-xvt2bl-Q=";
const std::string kXKey = "MCowBQYDK2VuAyEAYpayVitVTqkoyAA6oRRFpOSSXI7hYbJRIxdu8hch6E8=";
const std::string kDh = "o0KLE2wgl2tP8FTFzx7sv4KWTClNIKsWwfnGoP3osVY=";
const std::string kCreate1 = "CREATE rid=" + kRid1 + " rk=" + kEdKey + " rdh=" + kDh +
                             " sid=bA_TkB_yOaGglfIPk5VlDPk4C47bIkpr sk= queue_mode=M updated_at=1748736000";

StoreLogRecord parse_ok(const std::string& line) { return test::parsed_ok(parse_store_log_record(line), line); }

bool parse_fails(const std::string& line) { return std::holds_alternative<std::string>(parse_store_log_record(line)); }

struct Loaded {
  QueueStore store;
  std::vector<ServiceRec> services;
  std::set<Id> deleted;

  std::vector<std::string> load(const std::vector<std::string>& lines) {
    std::vector<std::string> errors;
    for (const auto& l : lines) {
      auto e = apply_store_log_record(store, services, parse_ok(l), &deleted);
      if (!e.empty()) errors.push_back(e);
    }
    return errors;
  }
  std::string apply(const std::string& line) { return apply_store_log_record(store, services, parse_ok(line), &deleted); }
  std::vector<std::string> compacted() const {
    std::vector<std::string> out;
    write_compacted(store, services, [&](std::string_view l) { out.emplace_back(l); });
    return out;
  }
};

}  // namespace

TEST_CASE("store log: every documented line parses and re-encodes byte-exactly", "[smp-storelog]") {
  std::vector<std::string> lines;
  for (const auto* v : {&kSpec42Log, &kSpec42Compacted, &kSpec47Log, &kSpec47Compacted, &kSpec47Other})
    lines.insert(lines.end(), v->begin(), v->end());
  lines.pop_back();  // the legacy sndSecure CREATE is re-encoded as queue_mode= (tested below)
  for (const auto& line : lines) {
    INFO(line);
    CHECK(encode_store_log_record(parse_ok(line)) == line);
  }
}

TEST_CASE("store log: the §4.2 sequence loads and compacts to the documented CREATE", "[smp-storelog]") {
  Loaded l;
  CHECK(l.load(kSpec42Log).empty());
  CHECK(l.compacted() == kSpec42Compacted);
}

TEST_CASE("store log: the §4.7 operation log compacts to the documented lines, and compaction is stable",
          "[smp-storelog]") {
  Loaded l;
  CHECK(l.load(kSpec47Log).empty());
  CHECK(l.store.size() == 2);
  CHECK(l.compacted() == kSpec47Compacted);

  Loaded again;
  CHECK(again.load(kSpec47Compacted).empty());
  CHECK(again.compacted() == kSpec47Compacted);
}

TEST_CASE("store log: legacy sndSecure is read as the queue mode", "[smp-storelog]") {
  const std::string legacy = kSpec47Other.back();
  auto r = parse_ok(legacy);
  const auto& c = std::get<CreateRecord>(r.rec);
  CHECK(c.queue_mode == QueueMode::Messaging);
  CHECK(!c.sender_key);
  std::string expected = legacy;
  expected.replace(expected.find("sndSecure=T"), 11, "queue_mode=M");
  CHECK(encode_store_log_record(r) == expected);

  std::string contact = legacy;
  contact.back() = 'F';
  CHECK(std::get<CreateRecord>(parse_ok(contact).rec).queue_mode == QueueMode::Contact);
  CHECK(parse_fails(legacy.substr(0, legacy.size() - 1) + "X"));

  // A record without any mode keeps it unknown (not implied contact) and is written without the field.
  const std::string no_mode = legacy.substr(0, legacy.find(" sndSecure"));
  auto q = to_queue_rec(std::get<CreateRecord>(parse_ok(no_mode).rec));
  REQUIRE(q);
  CHECK(q->mode == 0);
  CHECK(encode_store_log_record(create_record(*q)) == no_mode);
}

TEST_CASE("store log: every record type round-trips", "[smp-storelog]") {
  const Bytes rid = b64d(kRid1), id2 = b64d(kRid2), sid = b64d("bA_TkB_yOaGglfIPk5VlDPk4C47bIkpr");
  crypto::Key32 dh{};
  dh[0] = 7;
  CreateRecord full;
  full.recipient_id = rid;
  full.rcv_keys = {key_of(kEdKey), key_of(kXKey)};
  full.rcv_dh_secret = dh;
  full.sender_id = sid;
  full.sender_key = key_of(kEdKey2);
  full.queue_mode = QueueMode::Contact;
  full.link = CreateRecord::Link{id2, {1, 2, 3}, {4}};
  full.notifier = NtfCredsRecord{id2, key_of(kXKey), dh, sid};
  full.updated_at = 1748736000;
  full.status = QueueStatus::Off;
  full.rcv_service_id = id2;
  CreateRecord minimal;
  minimal.recipient_id = rid;
  minimal.rcv_keys = {key_of(kEdKey)};
  minimal.sender_id = sid;
  CreateRecord blocked = minimal;
  blocked.status = QueueStatus::Blocked;
  blocked.blocking = BlockingInfo{BlockingInfo::Reason::content, false, {}};
  blocked.rcv_service_id = id2;  // readable: no notice before it

  const std::vector<StoreLogRecord> records = {
      {full},
      {minimal},
      {blocked},
      {LinkRecord{rid, id2, {0xff}, {0, 0}}},
      {LDeleteRecord{rid}},
      {SecureRecord{rid, key_of(kEdKey2)}},
      {KeysRecord{rid, {key_of(kEdKey)}}},
      {KeysRecord{rid, {key_of(kEdKey), key_of(kEdKey2), key_of(kXKey)}}},
      {NotifierRecord{rid, NtfCredsRecord{{1, 2, 3, 4}, key_of(kXKey), dh, {}}}},
      {NotifierRecord{rid, NtfCredsRecord{id2, key_of(kEdKey), dh, id2}}},
      {SuspendRecord{rid}},
      {BlockRecord{rid, BlockingInfo{BlockingInfo::Reason::spam, true, 86400}}},
      {BlockRecord{rid, BlockingInfo{BlockingInfo::Reason::content, true, {}}}},
      {BlockRecord{rid, BlockingInfo{BlockingInfo::Reason::content, false, {}}}},
      {UnblockRecord{rid}},
      {DeleteRecord{rid}},
      {NDeleteRecord{rid}},
      {TimeRecord{rid, 1748822400}},
      {TimeRecord{rid, -86400}},
      {NewServiceRecord{id2, 'P', {{0x30, 1}, {0x30, 2, 3}}, Bytes(32, 9), 1748736000}},
      {QueueServiceRecord{rid, 'R', id2}},
      {QueueServiceRecord{rid, 'N', {}}},
  };
  for (const auto& r : records) {
    const std::string line = encode_store_log_record(r);
    INFO(line);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(parse_ok(line) == r);
  }
  CHECK(encode_store_log_record({QueueServiceRecord{rid, 'N', {}}}) == "QUEUE_SERVICE " + kRid1 + " N ");
  CHECK(encode_store_log_record({SuspendRecord{rid}}) == "SUSPEND " + kRid1);
}

TEST_CASE("store log: blocked status with a notice takes the rest of the line", "[smp-storelog]") {
  const std::string blocked = kCreate1 + R"( status=blocked,reason=spam,notice={"ttl":86400})";
  auto c = std::get<CreateRecord>(parse_ok(blocked).rec);
  CHECK(c.status == QueueStatus::Blocked);
  CHECK(c.blocking == BlockingInfo{BlockingInfo::Reason::spam, true, 86400});
  CHECK(encode_store_log_record({c}) == blocked);

  auto q = to_queue_rec(c);
  REQUIRE(q);
  CHECK(encode_store_log_record(create_record(*q)) == blocked);

  // The reference cannot read a service id after a notice (8.Q11); neither do we.
  CHECK(parse_fails(blocked + " rsrv=" + kRid2));
  // Without a notice the blocking info ends at the reason.
  const auto plain = std::get<CreateRecord>(parse_ok(kCreate1 + " status=blocked,reason=content rsrv=" + kRid2).rec);
  CHECK(plain.blocking == BlockingInfo{BlockingInfo::Reason::content, false, {}});
  CHECK(plain.rcv_service_id == b64d(kRid2));
  // "status=active" is accepted and not written back.
  CHECK(encode_store_log_record(parse_ok(kCreate1 + " status=active")) == kCreate1);
  CHECK(parse_fails(kCreate1 + " status=blocked"));
  CHECK(parse_fails(kCreate1 + " status=blocked,reason=other"));
  CHECK(parse_fails(kCreate1 + R"( status=blocked,reason=spam,notice={"ttl":)"));
}

TEST_CASE("store log: base64url is read with or without padding", "[smp-storelog]") {
  auto unpad = [](std::string s) {
    while (!s.empty() && s.back() == '=') s.pop_back();
    return s;
  };
  const std::string secure = kSpec42Log[1];
  CHECK(encode_store_log_record(parse_ok("SECURE " + kRid1 + " " + unpad(kEdKey2))) == "SECURE " + kRid1 + " " + kEdKey2);
  std::string create = kCreate1;
  create.replace(create.find(kEdKey), kEdKey.size(), unpad(kEdKey));
  create.replace(create.find(kDh), kDh.size(), unpad(kDh));
  REQUIRE(create != kCreate1);
  CHECK(encode_store_log_record(parse_ok(create)) == kCreate1);
  CHECK(encode_store_log_record(parse_ok("NOTIFIER " + kRid1 + " aWprbA " + unpad(kXKey) + " " + unpad(kDh))) ==
        "NOTIFIER " + kRid1 + " aWprbA== " + kXKey + " " + kDh);
  // Padding, when present, must be right.
  CHECK(parse_fails("NOTIFIER " + kRid1 + " aWprbA= " + kXKey + " " + kDh));
  CHECK(parse_fails("NOTIFIER " + kRid1 + " aWprbA=== " + kXKey + " " + kDh));
}

TEST_CASE("store log: malformed lines are errors", "[smp-storelog]") {
  const std::string secure = kSpec42Log[1];
  // truncated (the last line after a crash)
  CHECK(parse_fails(secure.substr(0, secure.size() - 10)));
  CHECK(parse_fails("SECURE " + kRid1));
  CHECK(parse_fails("SECURE " + kRid1 + " "));
  CHECK(parse_fails(kCreate1.substr(0, kCreate1.find(" sid="))));
  CHECK(parse_fails(kCreate1.substr(0, kCreate1.find(" rdh=") + 20)));
  CHECK(parse_fails("CREATE rid=" + kRid1));
  CHECK(parse_fails("DELETE"));
  CHECK(parse_fails("DELETE "));
  CHECK(parse_fails(""));
  // bad base64 / bad values
  CHECK(parse_fails("DELETE UvImZaYMEtKJGF2VDu!BNgkWb2sRPReN"));
  CHECK(parse_fails("DELETE AAB"));    // non-zero unused bits
  CHECK(parse_fails("DELETE A"));      // impossible length
  CHECK(parse_fails("DELETE ===="));   // padding only: empty
  CHECK(parse_fails("SECURE " + kRid1 + " " + kDh));  // a DH secret is not a key
  CHECK(parse_fails("TIME " + kRid1 + " 17487x"));
  CHECK(parse_fails("TIME " + kRid1 + " 99999999999999999999"));
  CHECK(parse_fails("QUEUE_SERVICE " + kRid1 + " X "));
  CHECK(parse_fails("QUEUE_SERVICE " + kRid1 + " N"));
  CHECK(parse_fails(kCreate1.substr(0, kCreate1.find(" updated_at")) + "X"));
  // trailing bytes
  CHECK(parse_fails(secure + " "));
  CHECK(parse_fails(secure + "x"));
  CHECK(parse_fails(kCreate1 + " extra=1"));
  CHECK(parse_fails("DELETE " + kRid1 + " " + kRid1));
  // unknown or mis-cased tag
  CHECK(parse_fails("FOO " + kRid1));
  CHECK(parse_fails("delete " + kRid1));
  CHECK(parse_fails("DELETEX " + kRid1));
  // an error names what went wrong
  auto r = parse_store_log_record("SECURE " + kRid1 + " x");
  REQUIRE(std::holds_alternative<std::string>(r));
  CHECK(!std::get<std::string>(r).empty());
}

TEST_CASE("store log: records for unknown and deleted queues give the reference's texts", "[smp-storelog]") {
  const std::string other = "QkRlJ8rJj0uW1bOkhGpCbXnVdkQmjaHT";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"LINK " + other + " " + kRid2 + " AQID BA==", "CreateLink"},
      {"LDELETE " + other, "DeleteLink"},
      {"SECURE " + other + " " + kEdKey, "SecureQueue"},
      {"KEYS " + other + " " + kEdKey, "UpdateKeys"},
      {"NOTIFIER " + other + " " + kRid2 + " " + kXKey + " " + kDh, "AddNotifier"},
      {"SUSPEND " + other, "SuspendQueue"},
      {"BLOCK " + other + " reason=spam", "BlockQueue"},
      {"UNBLOCK " + other, "UnblockQueue"},
      {"DELETE " + other, "DeleteQueue"},
      {"NDELETE " + other, "DeleteNotifier"},
      {"TIME " + other + " 1748822400", "UpdateTime"},
      {"QUEUE_SERVICE " + other + " R ", "QueueService"},
  };
  Loaded l;
  REQUIRE(l.apply(kCreate1).empty());
  for (const auto& [line, op] : cases) {
    INFO(line);
    const auto e = l.apply(line);
    CHECK(e == "STORE: " + op + ", stored queue " + other + ", AUTH");
    CHECK(!store_log_warning(e));
  }
  // A 4-byte id cannot name a stored queue either.
  CHECK(l.apply("DELETE aWprbA==") == "STORE: DeleteQueue, stored queue aWprbA==, AUTH");

  // Deleted: later records warn, a second CREATE with the same id is a duplicate (the reference keeps the id).
  CHECK(l.apply("DELETE " + kRid1).empty());
  CHECK(l.store.size() == 0);
  const auto w = l.apply("SECURE " + kRid1 + " " + kEdKey2);
  CHECK(w == "STORE: SecureQueue, stored queue " + kRid1 + ", already deleted");
  CHECK(store_log_warning(w));
  CHECK(l.apply("DELETE " + kRid1) == "STORE: DeleteQueue, stored queue " + kRid1 + ", already deleted");
  CHECK(l.apply(kCreate1) == "STORE: CreateQueue, stored queue " + kRid1 + ", DUPLICATE_");
  CHECK(l.compacted().empty());

  // Without the deleted set the store only knows the queue is gone.
  QueueStore store;
  std::vector<ServiceRec> services;
  CHECK(apply_store_log_record(store, services, parse_ok("SUSPEND " + kRid1)) ==
        "STORE: SuspendQueue, stored queue " + kRid1 + ", AUTH");
}

TEST_CASE("store log: conflicting records are refused as the reference does", "[smp-storelog]") {
  Loaded l;
  REQUIRE(l.apply(kCreate1).empty());
  CHECK(l.apply(kCreate1) == "STORE: CreateQueue, stored queue " + kRid1 + ", DUPLICATE_");

  CHECK(l.apply("SECURE " + kRid1 + " " + kEdKey2).empty());
  CHECK(l.apply("SECURE " + kRid1 + " " + kEdKey2).empty());  // idempotent
  CHECK(l.apply("SECURE " + kRid1 + " " + kEdKey) == "STORE: SecureQueue, stored queue " + kRid1 + ", AUTH");

  CHECK(l.apply("QUEUE_SERVICE " + kRid1 + " N ") == "STORE: QueueService, stored queue " + kRid1 + ", AUTH");
  const std::string ntf = "NOTIFIER " + kRid1 + " " + kRid2 + " " + kXKey + " " + kDh;
  CHECK(l.apply(ntf).empty());
  CHECK(l.apply(ntf) == "STORE: AddNotifier, stored queue " + kRid1 + ", DUPLICATE_");
  CHECK(l.apply("NOTIFIER " + kRid1 + " aWprbA== " + kXKey + " " + kDh) ==
        "STORE: AddNotifier, stored queue " + kRid1 + ", unsupported ID length");

  // Link data may be re-set with the same id and fixed data only.
  CHECK(l.apply("LINK " + kRid1 + " EmfPs6t02MoBZG7GkotAsykMTgzAt3Ji Zml4ZWQgZGF0YQ== dXNlciBkYXRh").empty());
  CHECK(l.apply("LINK " + kRid1 + " EmfPs6t02MoBZG7GkotAsykMTgzAt3Ji Zml4ZWQgZGF0YQ== aWprbA==").empty());
  CHECK(l.apply("LINK " + kRid1 + " EmfPs6t02MoBZG7GkotAsykMTgzAt3Ji aWprbA== aWprbA==") ==
        "STORE: CreateLink, stored queue " + kRid1 + ", AUTH");

  // Services: a known certificate keeps its id and role.
  const std::string hash = "dwZD1jFivnDp6awadalWLVDgjiTSVYwiFK3TPDnwsLI=";
  const std::string svc = "75LJF_fzi3pbmen2mrkxS2ayxlwwHqvL";
  const std::string svc2 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  auto service = [&](const std::string& id, char role, const std::string& h) {
    return "NEW_SERVICE service_id=" + id + " role=" + role + " cert=MAA= cert_hash=" + h + " created_at=1748736000";
  };
  CHECK(l.apply(service(svc, 'N', hash)).empty());
  CHECK(l.apply(service(svc, 'N', hash)).empty());
  CHECK(l.apply(service(svc2, 'N', hash)) ==
        "STORE: getCreateService, stored service " + svc2 + ", created with the wrong ID " + svc);
  CHECK(l.apply(service(svc2, 'M', hash)) == "STORE: getCreateService, stored service " + svc2 + ", SERVICE");
  CHECK(l.apply(service(svc, 'M', kDh)) == "STORE: getCreateService, stored service " + svc + ", DUPLICATE_");
  CHECK(l.apply(service(svc2, 'P', kDh)).empty());
  CHECK(l.services.size() == 2);
}

TEST_CASE("store log: compaction orders services and queues by id bytes and reflects the current state",
          "[smp-storelog]") {
  Loaded l;
  // wl… (0xC2…) is created before Uv… (0x52…); the output is ordered by bytes, not by insertion.
  const std::string create2 = "CREATE rid=" + kRid2 + " rk=" + kXKey + " rdh=" + kDh +
                              " sid=we0H84kGUw_3FVbjoVwx-yxUm1i2ItKO sk= queue_mode=C";
  const std::string hash = "dwZD1jFivnDp6awadalWLVDgjiTSVYwiFK3TPDnwsLI=";
  const std::string svc_hi = "________________________________";
  const std::string svc_lo = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB";
  const std::string new_hi = "NEW_SERVICE service_id=" + svc_hi + " role=M cert=MAA= cert_hash=" + hash + " created_at=0";
  const std::string new_lo = "NEW_SERVICE service_id=" + svc_lo + " role=N cert=MAA=,MAE= cert_hash=" + kDh +
                             " created_at=1748736000";
  REQUIRE(l.load({new_hi, new_lo, create2, kCreate1}).empty());
  CHECK(l.apply("QUEUE_SERVICE " + kRid2 + " R " + svc_hi).empty());
  CHECK(l.apply("BLOCK " + kRid1 + R"( reason=spam,notice={"ttl":86400})").empty());
  CHECK(l.compacted() ==
        std::vector<std::string>{new_lo, new_hi,
                                 kCreate1 + R"( status=blocked,reason=spam,notice={"ttl":86400})",
                                 create2 + " rsrv=" + svc_hi});
  CHECK(l.apply("UNBLOCK " + kRid1).empty());
  CHECK(l.apply("QUEUE_SERVICE " + kRid2 + " R ").empty());
  CHECK(l.apply("TIME " + kRid2 + " 1748822400").empty());
  CHECK(l.compacted() == std::vector<std::string>{new_lo, new_hi, kCreate1, create2 + " updated_at=1748822400"});
}

#include "smp/msg_log.hpp"

TEST_CASE("saved message lines in the reference's v3 format", "[smp-storelog]") {
  const std::string line =
      "v3 UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN 5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc 1748790123 flags=T "
      "V5kNGgCRJokZ8l2dBhLfNZ1gJqJA9FiaXXkfHdl8_vp3entPFSQav1e9Q3rUsSmEBTTz84dcJbCL6gbC";
  auto r = sr::smp::parse_msg_log_line(line);
  REQUIRE(std::holds_alternative<sr::smp::MsgLogLine>(r));
  const auto& m = std::get<sr::smp::MsgLogLine>(r);
  CHECK(m.msg.ts == 1748790123);
  CHECK(m.msg.notification);
  CHECK_FALSE(m.msg.quota);
  CHECK(sr::smp::encode_msg_log_line(m.recipient_id, m.msg) == line);

  const std::string quota = "v3 UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN tc1q_JEpOcfWp5HBNVJRL-m3bgUz7eaz 1748790190 quota";
  auto q = sr::smp::parse_msg_log_line(quota);
  REQUIRE(std::holds_alternative<sr::smp::MsgLogLine>(q));
  CHECK(std::get<sr::smp::MsgLogLine>(q).msg.quota);
  CHECK(sr::smp::encode_msg_log_line(std::get<sr::smp::MsgLogLine>(q).recipient_id, std::get<sr::smp::MsgLogLine>(q).msg) == quota);

  // flags= may be absent (F) and extra flag characters are ignored.
  auto nf = sr::smp::parse_msg_log_line(
      "v3 UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN 5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc 1748790123 aGVsbG8=");
  REQUIRE(std::holds_alternative<sr::smp::MsgLogLine>(nf));
  CHECK_FALSE(std::get<sr::smp::MsgLogLine>(nf).msg.notification);
  auto xf = sr::smp::parse_msg_log_line(
      "v3 UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN 5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc 1748790123 flags=TFX aGVsbG8=");
  REQUIRE(std::holds_alternative<sr::smp::MsgLogLine>(xf));
  CHECK(std::get<sr::smp::MsgLogLine>(xf).msg.notification);

  for (const char* bad : {"UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN 5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc 1 quota",
                          "v3 UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN 5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc x flags=F aGk=",
                          "v3 short 5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc 1 flags=F aGk=", "v3 UvImZaYMEtKJGF2VDu"})
    CHECK(std::holds_alternative<std::string>(sr::smp::parse_msg_log_line(bad)));
}

TEST_CASE("saved message lines of the pre-2024 unprefixed form are decrypted with the queue's secret",
          "[smp-storelog]") {
  // simplexmq before c179073 wrote `<rid> <msg id> <time> flags=<f> <body>`, the body boxed for the recipient with
  // the queue's DH secret and the message id as nonce; the reference decrypted it when it read such a file.
  QueueStore store;
  std::vector<ServiceRec> services;
  auto create = parse_store_log_record(kSpec42Log[0]);
  REQUIRE(std::holds_alternative<StoreLogRecord>(create));
  REQUIRE(apply_store_log_record(store, services, std::get<StoreLogRecord>(create)).empty());
  const Id rid = *to_id(*base64url_decode("UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN"));
  const Bytes mid = *base64url_decode("5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc");
  crypto::Nonce nonce;
  std::copy(mid.begin(), mid.end(), nonce.begin());
  const crypto::Key32 secret = store.by_recipient(rid)->rcv_dh_secret;
  const Bytes inner = {'s', 'e', 'a', 'l', 'e', 'd'};
  const Bytes box = *crypto::box_seal_padded(secret, nonce, inner, 64);
  const std::string line = "UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN 5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc 1748790123 flags=T " +
                           base64url_encode(box);
  auto parsed = parse_msg_log_line(line);
  REQUIRE(std::holds_alternative<MsgLogLine>(parsed));
  CHECK(std::get<MsgLogLine>(parsed).v1);

  sr::test::TempDir dir;
  const auto f = dir / "smp-server-messages.log";
  {
    std::ofstream(f) << line << "\n";
  }
  MsgStore msgs;
  auto r = restore_messages(f, store, msgs, 0, false);
  CHECK(r.fatal.empty());
  CHECK(r.stored == 1);
  const Message* m = msgs.peek(rid);
  REQUIRE(m);
  CHECK(m->body == inner);
  CHECK(m->ts == 1748790123);
  CHECK(m->notification);
  // Re-saved in today's v3 form.
  CHECK(encode_msg_log_line(rid, *m).rfind("v3 UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN 5t7H89", 0) == 0);

  // A body that does not open with the queue's secret stops the restore, as in the reference.
  {
    std::ofstream(f) << "UvImZaYMEtKJGF2VDuiBNgkWb2sRPReN 5t7H89-uzI9kZWZkGnuiZg8wEfw1cCkc 1748790123 flags=T "
                     << base64url_encode(Bytes(64, 7)) << "\n" << line << "\n";
  }
  MsgStore msgs2;
  CHECK(contains_text(restore_messages(f, store, msgs2, 0, false).fatal, "v1 message decryption error"));
}
