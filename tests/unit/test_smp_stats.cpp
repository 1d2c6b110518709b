// The statistics backup file smp-server-stats.log (server-operations.md §5.2): the reference's exact bytes
// (simplexmq: Server/Stats.hs `StrEncoding ServerStatsData`) and its tolerant reader.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/encoding.hpp"
#include "core/fsutil.hpp"
#include "smp/server_stats.hpp"

using namespace sr;
using namespace sr::smp;

namespace {

// Every counter numbered by its position in the reference's encoder, with a negative and a maximal value.
ServerStatsData filled() {
  ServerStatsData d;
  d.fromTime = 1748781296;  // 2025-06-01T12:34:56Z
  d.qCreated = 1;
  d.qSecured = 2;
  d.qDeletedAll = 3;
  d.qDeletedNew = 4;
  d.qDeletedSecured = 5;
  d.qDeletedAllB = 6;
  d.qBlocked = -7;
  d.qCount = 8;
  d.qSub = 9;
  d.qSubAllB = 10;
  d.qSubAuth = 11;
  d.qSubDuplicate = 12;
  d.qSubProhibited = 13;
  d.qSubEnd = 14;
  d.qSubEndB = 15;
  d.ntfCreated = 16;
  d.ntfNewCreated = 17;
  d.ntfDeleted = 18;
  d.ntfDeletedB = 19;
  d.ntfSub = 20;
  d.ntfSubB = 21;
  d.ntfSubAuth = 22;
  d.ntfSubDuplicate = 23;
  d.msgSent = 24;
  d.msgSentAuth = 25;
  d.msgSentQuota = 26;
  d.msgSentLarge = 27;
  d.msgSentBlock = 28;
  d.msgRecv = 29;
  d.msgRecvGet = 30;
  d.msgGet = 31;
  d.msgGetNoMsg = 32;
  d.msgGetAuth = 33;
  d.msgGetDuplicate = 34;
  d.msgGetProhibited = 35;
  d.msgExpired = 9223372036854775807;
  d.msgSentNtf = 37;
  d.msgRecvNtf = 38;
  d.msgNtfs = 39;
  d.msgNtfsB = 40;
  d.msgNtfNoSub = 41;
  d.msgNtfLost = 42;
  d.msgNtfExpired = 43;
  d.activeQueues.day = {1000000000000, -5, 3};
  d.activeQueues.month = {42};
  d.activeQueuesNtf.week = {-9223372036854775807 - 1, 0};
  d.pRelays = {51, 52, 53, 54, 55};
  d.pRelaysOwn = {61, 62, 63, 64, 65};
  d.pMsgFwds = {71, 72, 73, 74, 75};
  d.pMsgFwdsOwn = {81, 82, 83, 84, 85};
  d.pMsgFwdsRecv = 90;
  d.rcvServices = {101, 102, 103, 104, 105, 106, 107, 108};
  d.ntfServices = {111, 112, 113, 114, 115, 116, 117, 118};
  return d;
}

// Written from the reference's encoder: B.unlines of the key lines, the blocks' lines joined by "\n".
const std::string kFilledText =
    "fromTime=2025-06-01T12:34:56Z\n"
    "qCreated=1\n"
    "qSecured=2\n"
    "qDeletedAll=3\n"
    "qDeletedNew=4\n"
    "qDeletedSecured=5\n"
    "qDeletedAllB=6\n"
    "qBlocked=-7\n"
    "qCount=8\n"
    "qSub=9\n"
    "qSubAllB=10\n"
    "qSubAuth=11\n"
    "qSubDuplicate=12\n"
    "qSubProhibited=13\n"
    "qSubEnd=14\n"
    "qSubEndB=15\n"
    "ntfCreated=16\n"
    "ntfNewCreated=17\n"
    "ntfDeleted=18\n"
    "ntfDeletedB=19\n"
    "ntfSub=20\n"
    "ntfSubB=21\n"
    "ntfSubAuth=22\n"
    "ntfSubDuplicate=23\n"
    "msgSent=24\n"
    "msgSentAuth=25\n"
    "msgSentQuota=26\n"
    "msgSentLarge=27\n"
    "msgSentBlock=28\n"
    "msgRecv=29\n"
    "msgRecvGet=30\n"
    "msgGet=31\n"
    "msgGetNoMsg=32\n"
    "msgGetAuth=33\n"
    "msgGetDuplicate=34\n"
    "msgGetProhibited=35\n"
    "msgExpired=9223372036854775807\n"
    "msgSentNtf=37\n"
    "msgRecvNtf=38\n"
    "msgNtfs=39\n"
    "msgNtfsB=40\n"
    "msgNtfNoSub=41\n"
    "msgNtfLost=42\n"
    "msgNtfExpired=43\n"
    "activeQueues:\n"
    "dayHashes=-5,3,1000000000000\n"
    "weekHashes=\n"
    "monthHashes=42\n"
    "activeQueuesNtf:\n"
    "dayHashes=\n"
    "weekHashes=-9223372036854775808,0\n"
    "monthHashes=\n"
    "pRelays:\n"
    "requests=51\n"
    "successes=52\n"
    "errorsConnect=53\n"
    "errorsCompat=54\n"
    "errorsOther=55\n"
    "pRelaysOwn:\n"
    "requests=61\n"
    "successes=62\n"
    "errorsConnect=63\n"
    "errorsCompat=64\n"
    "errorsOther=65\n"
    "pMsgFwds:\n"
    "requests=71\n"
    "successes=72\n"
    "errorsConnect=73\n"
    "errorsCompat=74\n"
    "errorsOther=75\n"
    "pMsgFwdsOwn:\n"
    "requests=81\n"
    "successes=82\n"
    "errorsConnect=83\n"
    "errorsCompat=84\n"
    "errorsOther=85\n"
    "pMsgFwdsRecv=90\n"
    "rcvServices:\n"
    "assocNew=101\n"
    "assocDuplicate=102\n"
    "assocUpdatedt=103\n"
    "assocRemoved=104\n"
    "subCount=105\n"
    "subDuplicate=106\n"
    "subQueues=107\n"
    "subEnd=108\n"
    "ntfServices:\n"
    "assocNew=111\n"
    "assocDuplicate=112\n"
    "assocUpdatedt=113\n"
    "assocRemoved=114\n"
    "subCount=115\n"
    "subDuplicate=116\n"
    "subQueues=117\n"
    "subEnd=118\n";

// The smallest file the reference reads: the required lines and the activeQueues block.
const std::string kMinimal =
    "fromTime=2025-06-01T00:00:00Z\n"
    "qCreated=5\n"
    "qSecured=4\n"
    "qDeletedAll=3\n"
    "qDeletedNew=2\n"
    "qDeletedSecured=1\n"
    "msgSent=10\n"
    "msgRecv=9\n"
    "activeQueues:\n"
    "dayHashes=7\n"
    "weekHashes=7,8\n"
    "monthHashes=6,7,8\n";

ServerStatsData parsed(const std::string& text) {
  auto r = parse_stats(text);
  if (auto* e = std::get_if<std::string>(&r)) FAIL("parse error: " << *e);
  return std::get<ServerStatsData>(r);
}

std::string parse_error(const std::string& text) {
  auto r = parse_stats(text);
  REQUIRE(std::holds_alternative<std::string>(r));
  return std::get<std::string>(r);
}

std::string erase(std::string s, const std::string& what) {
  const auto at = s.find(what);
  REQUIRE(at != std::string::npos);
  return s.erase(at, what.size());
}

}  // namespace

TEST_CASE("stats backup: encoding is the reference's file text", "[stats]") {
  CHECK(encode_stats(filled()) == kFilledText);
}

TEST_CASE("stats backup: a written file reads back unchanged", "[stats]") {
  CHECK(parsed(encode_stats(filled())) == filled());
  ServerStatsData zero;
  zero.fromTime = 1748736000;
  CHECK(parsed(encode_stats(zero)) == zero);
}

TEST_CASE("stats backup: a reference fromTime with sub-seconds loads as whole seconds", "[stats]") {
  std::string text = kMinimal;
  text.replace(0, std::string("fromTime=2025-06-01T00:00:00Z").size(), "fromTime=2025-06-01T00:00:07.123456789Z");
  CHECK(parsed(text).fromTime == 1748736007);
}

TEST_CASE("stats backup: optional counters and blocks absent read as zero", "[stats]") {
  const ServerStatsData d = parsed(kMinimal);
  ServerStatsData want;
  want.fromTime = 1748736000;
  want.qCreated = 5;
  want.qSecured = 4;
  want.qDeletedAll = 3;
  want.qDeletedNew = 2;
  want.qDeletedSecured = 1;
  want.msgSent = 10;
  want.msgRecv = 9;
  want.activeQueues = {{7}, {7, 8}, {6, 7, 8}};
  CHECK(d == want);
}

TEST_CASE("stats backup: older files with qDeleted, qSubNoMsg and dayMsgQueues lines", "[stats]") {
  const std::string legacy =
      "fromTime=2024-01-02T03:04:05.5Z\n"
      "qCreated=100\n"
      "qSecured=90\n"
      "qDeleted=80\n"
      "qCount=20\n"
      "qSub=70\n"
      "qSubNoMsg=65\n"
      "qSubAuth=1\n"
      "msgSent=500\n"
      "msgRecv=450\n"
      "msgExpired=3\n"
      "dayMsgQueues=11,-12\n"
      "weekMsgQueues=11,-12,13\n"
      "monthMsgQueues=\n"
      "pMsgFwdsRecv=4\n";
  const ServerStatsData d = parsed(legacy);
  CHECK(d.fromTime == 1704164645);
  CHECK(d.qCreated == 100);
  CHECK(d.qSecured == 90);
  CHECK(d.qDeletedAll == 80);  // the single legacy counter becomes "all"
  CHECK(d.qDeletedNew == 0);
  CHECK(d.qDeletedSecured == 0);
  CHECK(d.qCount == 20);
  CHECK(d.qSub == 70);
  CHECK(d.qSubAuth == 1);
  CHECK(d.msgSent == 500);
  CHECK(d.msgRecv == 450);
  CHECK(d.msgExpired == 3);
  CHECK(d.activeQueues == PeriodStats{{-12, 11}, {-12, 11, 13}, {}});
  CHECK(d.activeQueuesNtf == PeriodStats{});
  CHECK(d.pRelays == ProxyStats{});
  CHECK(d.pMsgFwdsRecv == 4);
  CHECK(d.rcvServices == ServiceStats{});
  // The removed qSubNoMsg counter is dropped: writing back gives today's format.
  CHECK(encode_stats(d).find("qSubNoMsg") == std::string::npos);
}

TEST_CASE("stats backup: legacy day/week/month id sets are hashed, subscribedQueues is dropped", "[stats]") {
  // "aGVsbG8gd29ybGQ" is base64url of "hello world", padded or not.
  const std::string text = erase(kMinimal, "dayHashes=7\nweekHashes=7,8\nmonthHashes=6,7,8\n") +
                           "day=aGVsbG8gd29ybGQ=\n"
                           "week=aGVsbG8gd29ybGQ,AAECAwQFBgcICQoLDA0ODxAREhMUFRYX\n"
                           "month=\n"
                           "subscribedQueues:\n"
                           "dayHashes=1\n"
                           "weekHashes=2\n"
                           "monthHashes=3\n"
                           "activeQueuesNtf:\n"
                           "dayHashes=4\n"
                           "weekHashes=\n"
                           "monthHashes=\n";
  const ServerStatsData d = parsed(text);
  const int64_t hello = 2589482369471999198;
  uint8_t id[24];
  for (int i = 0; i < 24; ++i) id[i] = static_cast<uint8_t>(i);
  CHECK(d.activeQueues == PeriodStats{{hello}, {hello, hash_queue_id(id)}, {}});
  CHECK(d.activeQueuesNtf == PeriodStats{{4}, {}, {}});
}

TEST_CASE("stats backup: queue id hash is hashable-1.4.3's hash of the raw bytes", "[stats]") {
  // hashable's own regression value for the 11 UTF-8 bytes "hello world" (tests/Regress.hs, text-2).
  CHECK(hash_queue_id(as_bytes("hello world")) == 2589482369471999198);
  uint8_t id[24];
  for (int i = 0; i < 24; ++i) id[i] = static_cast<uint8_t>(i);
  CHECK(hash_queue_id(id) == 2172784807584543549);
  CHECK(hash_queue_id(as_bytes("")) != hash_queue_id(as_bytes(std::string_view("\0", 1))));  // length is salted in
}

TEST_CASE("stats backup: a missing required line is named in the error", "[stats]") {
  SECTION("msgSent") {
    const std::string e = parse_error(erase(kFilledText, "msgSent=24\n"));
    CHECK(e == "line 25 \"msgSentAuth=25\": expected msgSent=");
  }
  SECTION("qCreated") {
    CHECK(parse_error(erase(kFilledText, "qCreated=1\n")) == "line 2 \"qSecured=2\": expected qCreated=");
  }
  SECTION("one of the three delete counters") {
    CHECK(parse_error(erase(kFilledText, "qDeletedNew=4\n")) ==
          "line 5 \"qDeletedSecured=5\": expected qDeletedNew=");
  }
  SECTION("the activeQueues block") {
    const std::string e =
        parse_error(erase(kMinimal, "activeQueues:\ndayHashes=7\nweekHashes=7,8\nmonthHashes=6,7,8\n"));
    CHECK(e == "line 9 end of file: expected activeQueues: (or the older dayMsgQueues=)");
  }
  SECTION("a line inside a block that is present") {
    CHECK(parse_error(erase(kFilledText, "errorsCompat=64\n")) ==
          "line 63 \"errorsOther=65\": expected errorsCompat=");
  }
}

TEST_CASE("stats backup: a malformed optional line is reported as itself", "[stats]") {
  std::string text = kFilledText;
  text.replace(text.find("qBlocked=-7"), 11, "qBlocked=x7");
  CHECK(parse_error(text) == "line 8 \"qBlocked=x7\": expected an integer");
  std::string bad_hash = kFilledText;
  bad_hash.replace(bad_hash.find("dayHashes=-5,3"), 14, "dayHashes=-5,z");
  CHECK(parse_error(bad_hash) == "line 46 \"dayHashes=-5,z,1000000000000\": bad list item");
  std::string offset = kFilledText;
  offset.replace(0, 29, "fromTime=2025-06-01T12:34:56+01:00");  // only UTC "Z" times, as iso8601ParseM
  CHECK(parse_error(offset) == "line 1 \"fromTime=2025-06-01T12:34:56+01:00\": expected an ISO-8601 UTC time");
}

TEST_CASE("stats backup: line ends at the end of the file", "[stats]") {
  SECTION("the final newline may be missing after the last block, as the reference reads it") {
    std::string text = kFilledText;
    text.pop_back();
    CHECK(parsed(text) == filled());
  }
  SECTION("but not after a plain counter line") {
    std::string text = kMinimal + "pMsgFwdsRecv=4";
    CHECK(parse_error(text) == "line 13 \"pMsgFwdsRecv=4\": expected end of line");
  }
  SECTION("an extra blank line is rejected") {
    CHECK(parse_error(kFilledText + "\n") == "line 96 \"\": unexpected empty line");
    CHECK(parse_error(kMinimal + "\n") == "line 13 \"\": unexpected empty line");
  }
  SECTION("an unknown trailing line is rejected") {
    CHECK(parse_error(kFilledText + "extra=1\n") == "line 96 \"extra=1\": unexpected line");
  }
}

TEST_CASE("stats backup: save and load through a file", "[stats]") {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sr-stats-XXXXXX").string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  const std::filesystem::path f = std::filesystem::path(tmpl) / "smp-server-stats.log";
  save_stats(f, filled());
  CHECK(fs::read_file(f) == kFilledText);
  auto r = load_stats(f);
  REQUIRE(std::holds_alternative<ServerStatsData>(r));
  CHECK(std::get<ServerStatsData>(r) == filled());
  std::filesystem::remove_all(tmpl);
  CHECK_THROWS_AS(load_stats(f), fs::FileError);
}
