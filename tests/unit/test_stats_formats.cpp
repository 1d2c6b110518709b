// Statistics outputs against the reference's formats (server-operations.md §5.1–§5.3; simplexmq: Server.hs
// logServerStats, Server/Prometheus.hs, FileTransfer/Server.hs, FileTransfer/Server/{Stats,Prometheus}.hs).
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "core/metrics_http.hpp"
#include "core/stats_csv.hpp"
#include "smp/server_state.hpp"
#include "smp/smp_metrics.hpp"
#include "xftp/file_stats.hpp"

using namespace sr;

namespace {

constexpr int64_t kSunday = 1748736000;  // 2025-06-01T00:00:00Z, a Sunday and the 1st
constexpr int64_t kMonday = kSunday + 86400;
constexpr int64_t kTuesday = kMonday + 86400;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

std::chrono::system_clock::time_point at_ms(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace

TEST_CASE("daily rows start at the next 00:00 UTC", "[stats-formats]") {
  CHECK(stats::first_row_delay(kSunday) == 0);
  CHECK(stats::first_row_delay(kSunday + 1) == 86399);
  CHECK(stats::first_row_delay(kSunday + 3600) == 86400 - 3600);
  CHECK(stats::csv_date(kSunday + 86399) == "2025-06-01");
  CHECK(stats::csv_date(kMonday) == "2025-06-02");
}

TEST_CASE("SMP daily CSV row has the reference's 96 columns", "[stats-formats]") {
  smp::StatsPeriod p;
  smp::ServerStatsData& d = p.data;
  d.fromTime = kSunday + 5;
  d.qCreated = 1;
  d.qSecured = 2;
  d.qDeletedAll = 3;
  d.msgSent = 4;
  d.msgRecv = 5;
  d.activeQueues.day = {1, 2};
  d.activeQueues.week = {1, 2, 3};
  d.activeQueues.month = {1, 2, 3, 4};
  d.msgSentNtf = 6;
  d.qCount = 7;
  d.pRelays.requests = 8;
  d.pMsgFwdsOwn.errorsOther = 9;
  d.pMsgFwdsRecv = 10;
  d.msgNtfLost = 11;
  d.msgRecvGet = 12;
  d.msgGetProhibited = 13;
  d.ntfSubDuplicate = 14;
  d.msgNtfExpired = 15;
  d.rcvServices.assocNew = 16;
  d.ntfServices.subEnd = 17;
  smp::StoreGauges g{100, 200};
  smp::EntityCounts e{20, 21, 22, 23, 24, 25};

  SECTION("on other days the week and month counts are empty") {
    const auto f = split(smp::stats_csv_row(p, g, e), ',');
    REQUIRE(f.size() == 96);
    CHECK(f[0] == "2025-06-01");
    CHECK(std::vector<std::string>(f.begin() + 1, f.begin() + 9) ==
          std::vector<std::string>{"1", "2", "3", "4", "5", "2", "", ""});
    CHECK(f[9] == "6");
    CHECK(f[14] == "7");    // qCount
    CHECK(f[15] == "100");  // msgCount
    CHECK(f[19] == "8");    // pRelays requests
    CHECK(f[38] == "9");    // pMsgFwdsOwn errorsOther
    CHECK(f[39] == "10");   // pMsgFwdsRecv
    CHECK(f[49] == "11");   // msgNtfLost
    CHECK(f[50] == "0");    // former qSubNoMsg
    CHECK(f[51] == "12");   // msgRecvGet
    CHECK(f[56] == "13");   // msgGetProhibited
    CHECK((f[57] == "0" && f[58] == "0" && f[59] == "0"));
    CHECK(f[60] == "20");   // queueCount snapshot
    CHECK(f[65] == "14");   // ntfSubDuplicate
    CHECK(f[66] == "21");   // notifierCount snapshot
    CHECK(f[74] == "15");   // msgNtfExpired
    CHECK(f[75] == "200");  // ntfCount
    CHECK(std::vector<std::string>(f.begin() + 76, f.begin() + 80) ==
          std::vector<std::string>{"22", "23", "24", "25"});
    CHECK(f[80] == "16");   // rcvServices assocNew
    CHECK(f[95] == "17");   // ntfServices subEnd
  }
  SECTION("rows written on a Monday / the 1st carry the week / month counts") {
    p.week_ended = p.month_ended = true;
    const auto f = split(smp::stats_csv_row(p, g, e), ',');
    CHECK(f[7] == "3");
    CHECK(f[8] == "4");
  }
}

TEST_CASE("SMP period roll resets day, week on Mondays, month on the 1st", "[stats-formats]") {
  smp::ServerState st(smp::RelayConfig{});
  smp::ServerStatsData d;
  d.fromTime = kSunday - 86400;
  d.qCreated = 5;
  d.qCount = 9;
  d.msgSentBlock = 2;
  d.activeQueues.day = d.activeQueues.week = d.activeQueues.month = {7};
  st.set_stats(d);
  const auto r1 = st.roll_stats_period(kSunday);  // the 1st: month written
  CHECK((!r1.week_ended && r1.month_ended));
  CHECK(r1.data.qCreated == 5);
  CHECK(st.stats().qCreated == 0);
  CHECK(st.stats().qCount == 9);
  CHECK(st.stats().msgSentBlock == 2);
  CHECK(st.stats().fromTime == kSunday);
  CHECK(st.stats().activeQueues.week.size() == 1);
  CHECK(st.stats().activeQueues.month.empty());
  const auto r2 = st.roll_stats_period(kMonday);
  CHECK(r2.week_ended);
  CHECK(st.stats().activeQueues.week.empty());
}

TEST_CASE("SMP Prometheus text follows the reference's layout", "[stats-formats]") {
  smp::ServerStatsData d;
  d.fromTime = kSunday;
  d.qCreated = 3;
  d.qDeletedNew = 1;
  d.msgRecv = 2;
  d.msgRecvGet = 1;
  d.pRelaysOwn.errorsCompat = 4;
  d.activeQueues.day = {1, 2};
  smp::RealTimeMetrics rt;
  rt.sockets.push_back({5223, 10, 8, 2, 0});
  rt.clientsCount = 2;
  smp::TimeBuckets ack;
  ack.sumTime = 7;
  ack.buckets = {{1, 2}, {200, 1}};
  const std::string t = smp::prometheus_metrics(d, {5, 6}, {11, 12, 0, 0, 0, 0}, rt, ack, "set SMP_RTS_OPTIONS",
                                                at_ms(1748739600123));
  const std::string ts = " 1748739600123\n";
  CHECK(t.starts_with("# Recorded at: 2025-06-01T01:00:00.123Z\n# Stats from: 2025-06-01T00:00:00Z\n\n"
                      "# Queues\n# ------\n\n"
                      "# HELP simplex_smp_queues_created Created queues\n"
                      "# TYPE simplex_smp_queues_created counter\n"
                      "simplex_smp_queues_created 3" + ts + "# qCreated\n\n"));
  CHECK(t.find("simplex_smp_queues_deleted{type=\"new\"} 1" + ts + "# qDeletedNew\n") != std::string::npos);
  CHECK(t.find("simplex_smp_queues_total2 11" + ts + "# qCount2\n") != std::string::npos);
  CHECK(t.find("simplex_smp_queues_daily 2" + ts + "# dayMsgQueues\n") != std::string::npos);
  CHECK(t.find("simplex_smp_messages_total 5" + ts + "# msgCount\n") != std::string::npos);
  CHECK(t.find("simplex_smp_queues_notify_total1 6" + ts + "# ntfCount1\n") != std::string::npos);
  CHECK(t.find("simplex_smp_relay_sessions_errors{source=\"own\",type=\"compat\"} 4" + ts +
               "# pRelaysOwn_pErrorsCompat\n") != std::string::npos);
  CHECK(t.find("# Services\n# --------\n# HELP simplex_smp_rcv_services_count ") != std::string::npos);
  CHECK(t.find("simplex_smp_info{version=\"6.5.5.0\",rts_options=\"set SMP_RTS_OPTIONS\"} 1\n\n") !=
        std::string::npos);
  CHECK(t.find("# HELP simplex_smp_sockets_accepted Accepted sockets\n# TYPE simplex_smp_sockets_accepted gauge\n"
               "simplex_smp_sockets_accepted{port=\"5223\"} 10" + ts + "\n") != std::string::npos);
  CHECK(t.find("simplex_smp_clients_total 2" + ts + "\n") != std::string::npos);
  // Histogram: cumulative buckets, an extra bucket 60 s before a gap, +Inf = msgRecv + msgRecvGet.
  CHECK(t.find("simplex_smp_delivery_ack_confirmed_time_sum 7" + ts +
               "simplex_smp_delivery_ack_confirmed_time_count 3" + ts +
               "simplex_smp_delivery_ack_confirmed_time_bucket{le=\"1\"} 2" + ts +
               "simplex_smp_delivery_ack_confirmed_time_bucket{le=\"140\"} 2" + ts +
               "simplex_smp_delivery_ack_confirmed_time_bucket{le=\"200\"} 3" + ts +
               "simplex_smp_delivery_ack_confirmed_time_bucket{le=\"+Inf\"} 3" + ts + "\n") != std::string::npos);
  // Quirk 8.Q20: the period sums select buckets by their counts (2 and 1, both in 0-60).
  CHECK(t.find("simplex_smp_delivery_ack_confirmed_count{period=\"0-60\"} 3" + ts +
               "simplex_smp_delivery_ack_confirmed_count{period=\"60-300\"} 0" + ts) != std::string::npos);
  CHECK(t.find("simplex_smp_delivery_ack_confirmed_count{period=\"3600+\"} 0" + ts) != std::string::npos);
  CHECK(t.ends_with("simplex_smp_loaded_queues_ntf_lock_count 0" + ts + "# loadedCounts.notifierLockCount\n"));
  // Every sample but the info line carries the timestamp.
  for (const auto& line : split(t, '\n'))
    if (!line.empty() && line[0] != '#' && !line.starts_with("simplex_smp_info"))
      CHECK(line.ends_with(ts.substr(0, ts.size() - 1)));
}

TEST_CASE("XFTP counters, daily row and period roll", "[stats-formats]") {
  xftp::FileServerStatsData s;
  s.fromTime = kSunday + 10;
  s.note_created(2);
  s.note_recipients(1);
  s.note_uploaded(1000);
  s.note_uploaded(500);
  const std::vector<uint8_t> a(24, 1), b(24, 2);
  s.note_download(a);
  s.note_download(a);
  s.note_download(b);
  s.note_ack();
  s.note_deleted(true, 500);
  s.note_expired();
  CHECK(s.filesCount == 1);
  CHECK(s.filesSize == 1000);
  const auto p = xftp::roll_file_stats(s, kTuesday);
  CHECK(xftp::file_stats_csv_row(p) == "2025-06-01,1,3,2,1,2,,,3,1,1,1000,1");
  CHECK(s.filesCreated == 0);
  CHECK(s.fileDownloads == 0);
  CHECK(s.filesCount == 1);
  CHECK(s.filesSize == 1000);
  CHECK(s.fromTime == kTuesday);
  CHECK(s.filesDownloaded.day.empty());
  CHECK(s.filesDownloaded.week.size() == 2);
  const auto p2 = xftp::roll_file_stats(s, kMonday + 7 * 86400);
  CHECK(xftp::file_stats_csv_row(p2) == "2025-06-03,0,0,0,0,0,2,,0,0,1,1000,0");
  CHECK(s.filesDownloaded.week.empty());
  CHECK(s.filesDownloaded.month.size() == 2);
}

TEST_CASE("XFTP stats backup file round-trips in the reference's format", "[stats-formats]") {
  xftp::FileServerStatsData d;
  d.fromTime = kSunday;
  d.filesCreated = 1;
  d.fileRecipients = 2;
  d.filesUploaded = 3;
  d.filesExpired = 4;
  d.filesDeleted = 5;
  d.filesBlocked = 6;
  d.filesCount = 7;
  d.filesSize = 8;
  d.filesDownloaded.day = {-5, 3};
  d.filesDownloaded.month = {3};
  d.fileDownloads = 9;
  d.fileDownloadAcks = 10;
  const std::string text = xftp::encode_file_stats(d);
  CHECK(text ==
        "fromTime=2025-06-01T00:00:00Z\nfilesCreated=1\nfileRecipients=2\nfilesUploaded=3\nfilesExpired=4\n"
        "filesDeleted=5\nfilesBlocked=6\nfilesCount=7\nfilesSize=8\nfilesDownloaded:\ndayHashes=-5,3\nweekHashes=\n"
        "monthHashes=3\nfileDownloads=9\nfileDownloadAcks=10\n");
  auto back = xftp::parse_file_stats(text);
  REQUIRE(std::holds_alternative<xftp::FileServerStatsData>(back));
  CHECK(std::get<xftp::FileServerStatsData>(back) == d);

  SECTION("optional lines of older files read as 0") {
    auto old = xftp::parse_file_stats(
        "fromTime=2025-06-01T00:00:00.5Z\nfilesCreated=1\nfileRecipients=2\nfilesUploaded=3\nfilesDeleted=5\n"
        "filesDownloaded:\ndayHashes=\nweekHashes=\nmonthHashes=\nfileDownloads=9\nfileDownloadAcks=10\n");
    REQUIRE(std::holds_alternative<xftp::FileServerStatsData>(old));
    const auto& o = std::get<xftp::FileServerStatsData>(old);
    CHECK(o.fromTime == kSunday);
    CHECK((o.filesExpired == 0 && o.filesBlocked == 0 && o.filesCount == 0 && o.fileDownloadAcks == 10));
  }
  SECTION("a missing required line or the final newline is an error naming the line") {
    auto e1 = xftp::parse_file_stats(text.substr(0, text.size() - 1));
    REQUIRE(std::holds_alternative<std::string>(e1));
    CHECK(std::get<std::string>(e1).find("fileDownloadAcks=") != std::string::npos);
    auto e2 = xftp::parse_file_stats("fromTime=2025-06-01T00:00:00Z\nfilesCreated=1\n");
    REQUIRE(std::holds_alternative<std::string>(e2));
    CHECK(std::get<std::string>(e2) == "line 3 end of file: expected fileRecipients=");
  }
}

TEST_CASE("XFTP Prometheus text is the reference's", "[stats-formats]") {
  xftp::FileServerStatsData d;
  d.fromTime = kSunday;
  d.filesCreated = 1;
  d.filesSize = 4096;
  d.filesDownloaded.day = {1};
  const std::string t = xftp::xftp_prometheus_metrics(d, "set XFTP_RTS_OPTIONS", at_ms(1748739600000));
  const std::string ts = " 1748739600000\n";
  std::string expected =
      "# Recorded at: 2025-06-01T01:00:00Z\n# Stats from: 2025-06-01T00:00:00Z\n\n# Files\n# -----\n\n";
  auto fam = [&](const char* name, const char* help, const char* type, const char* v, const char* comment) {
    expected += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + v +
                ts + "# " + comment + "\n\n";
  };
  fam("simplex_xftp_files_created", "Created files", "counter", "1", "filesCreated");
  fam("simplex_xftp_files_recipients", "Files recipients", "counter", "0", "fileRecipients");
  fam("simplex_xftp_files_uploaded", "Uploaded files", "counter", "0", "filesUploaded");
  fam("simplex_xftp_files_expired", "Expired files", "counter", "0", "filesExpired");
  fam("simplex_xftp_files_deleted", "Deleted files", "counter", "0", "filesDeleted");
  fam("simplex_xftp_files_blocked", "Blocked files", "counter", "0", "filesBlocked");
  fam("simplex_xftp_file_downloads", "File downloads", "counter", "0", "fileDownloads");
  fam("simplex_xftp_file_download_acks", "File download ACKs", "counter", "0", "fileDownloadAcks");
  fam("simplex_xftp_files_count_total", "Total files count ", "gauge", "0", "filesCount");
  fam("simplex_xftp_files_size", "Size of files ", "gauge", "4096", "filesSize ");
  fam("simplex_xftp_files_count_daily", "Daily files count", "gauge", "1", "filesDownloaded.dayCount");
  fam("simplex_xftp_files_count_weekly", "Weekly files count", "gauge", "0", "filesDownloaded.weekCount");
  fam("simplex_xftp_files_count_monthly", "Monthly files count", "gauge", "0", "filesDownloaded.monthCount");
  expected +=
      "# Info\n# ----\n\n# HELP simplex_xftp_info Server information. RTS options have to be passed via "
      "XFTP_RTS_OPTIONS env var\n# TYPE simplex_xftp_info gauge\n"
      "simplex_xftp_info{version=\"6.5.5.0\",rts_options=\"set XFTP_RTS_OPTIONS\"} 1\n\n";
  CHECK(t == expected);
}

TEST_CASE("metrics over HTTP: address parsing and responses", "[stats-formats]") {
  auto a = config::parse_listen_address("127.0.0.1:9090");
  REQUIRE(a);
  CHECK((a->host == "127.0.0.1" && a->port == 9090));
  auto v6 = config::parse_listen_address("[::1]:9100");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(config::parse_listen_address(":9090")->host == "127.0.0.1");
  CHECK_FALSE(config::parse_listen_address("localhost:9090"));
  CHECK_FALSE(config::parse_listen_address("127.0.0.1"));
  CHECK_FALSE(config::parse_listen_address("127.0.0.1:70000"));

  auto render = [] { return std::string("m 1\n"); };
  CHECK(metrics_http::respond("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", render) ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 4\r\n"
        "Connection: close\r\n\r\nm 1\n");
  CHECK(metrics_http::respond("GET / HTTP/1.1\r\n\r\n", render).starts_with("HTTP/1.1 404 "));
  CHECK(metrics_http::respond("POST /metrics HTTP/1.1\r\n\r\n", render).starts_with("HTTP/1.1 405 "));
  CHECK(metrics_http::respond("garbage\r\n\r\n", render).starts_with("HTTP/1.1 400 "));
}

TEST_CASE("delivery times go into the reference's buckets", "[stats-formats]") {
  smp::TimeBuckets b;
  for (int64_t t : {0, 5, 6, 30, 31, 59, 61, 181, 3600}) smp::add_time(b, t);
  CHECK(b.sumTime == 0 + 5 + 6 + 30 + 31 + 59 + 61 + 181 + 3600);
  CHECK(b.maxTime == 3600);
  CHECK(b.buckets == std::map<int64_t, int64_t>{{0, 1}, {5, 1}, {10, 1}, {30, 1}, {40, 1}, {60, 1}, {90, 1},
                                                {240, 1}, {3600, 1}});
}
