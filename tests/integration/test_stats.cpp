// Statistics outputs of running relays after scripted traffic (server-operations.md §5.1–§5.3): the Prometheus
// text served over HTTP (our `prometheus_address`) and written to the metrics file with the reference's names,
// and the XFTP stats backup written at stop and restored at start.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <thread>

#include "core/crypto.hpp"
#include "smp_client_fixture.hpp"
#include "xftp/client.hpp"
#include "xftp/file_stats.hpp"
#include "xftp_fixture.hpp"

using namespace sr;
using namespace sr::smp;
using namespace sr::test;
using namespace std::chrono_literals;

namespace {

// One HTTP/1.1 request to 127.0.0.1:port; the whole response ("" when nothing answers).
std::string http_get(uint16_t port, const std::string& target, const std::string& method = "GET") {
  const int fd = tcp_connect("127.0.0.1", port);
  if (fd < 0) return "";
  const std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// The value of the sample `name` (labels included in name) without its timestamp; "" when absent.
std::string sample(const std::string& text, const std::string& name) {
  for (const std::string& l : lines_of(text))
    if (l.rfind(name + " ", 0) == 0) {
      const std::string rest = l.substr(name.size() + 1);
      return rest.substr(0, rest.find(' '));
    }
  return "";
}

bool wait_file(const std::filesystem::path& f) {
  for (int i = 0; i < 200 && !std::filesystem::exists(f); ++i) std::this_thread::sleep_for(50ms);
  return std::filesystem::exists(f);
}

}  // namespace

TEST_CASE("SMP metrics over HTTP and in the metrics file after traffic", "[stats-http]") {
  const uint16_t mport = free_port();
  Relay relay([mport](StartDirs& d) {
    d.set_ini_line("# prometheus_interval = 60",
                   "prometheus_interval = 1\nprometheus_address = 127.0.0.1:" + std::to_string(mport));
  });
  CHECK(relay.proc->wait_for("Prometheus metrics saved every 1 seconds to " +
                             (relay.d.log / "smp-server-metrics.txt").string()));
  AuthKeyPair sender = generate_auth_key(crypto::KeyAlg::Ed25519);
  auto rcp = relay.connect(), snd = relay.connect();
  auto q = rcp->create_queue();
  snd->secure_by_sender(q.snd_id, sender);
  expect<resp::OK>(snd->send(q.snd_id, sender, text("one")));
  expect<resp::OK>(snd->send(q.snd_id, sender, text("two")));
  auto m = expect_msg_event(*rcp, q.rcv_id);
  expect<resp::MSG>(rcp->ack(q, m.msg_id));

  const std::string r = http_get(mport, "/metrics");
  INFO(r);
  REQUIRE(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(contains(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  const std::string body = r.substr(r.find("\r\n\r\n") + 4);
  CHECK(body.rfind("# Recorded at: ", 0) == 0);
  CHECK(sample(body, "simplex_smp_queues_created") == "1");
  CHECK(sample(body, "simplex_smp_queues_secured") == "1");
  CHECK(sample(body, "simplex_smp_queues_total1") == "1");
  CHECK(sample(body, "simplex_smp_queues_total2") == "1");
  CHECK(sample(body, "simplex_smp_queues_daily") == "1");
  CHECK(sample(body, "simplex_smp_messages_sent") == "2");
  CHECK(sample(body, "simplex_smp_messages_received") == "1");
  CHECK(sample(body, "simplex_smp_messages_total") == "1");  // "two" is still stored
  CHECK(sample(body, "simplex_smp_subscribtion_total") == "1");
  CHECK(sample(body, "simplex_smp_subscribtion_clients_total") == "1");
  CHECK(sample(body, "simplex_smp_delivered_total") == "1");  // "two" delivered, not yet acknowledged
  CHECK(sample(body, "simplex_smp_clients_total") == "2");
  CHECK(sample(body, "simplex_smp_delivery_ack_confirmed_time_count") == "1");
  CHECK(sample(body, "simplex_smp_delivery_ack_confirmed_time_bucket{le=\"+Inf\"}") == "1");
  CHECK(contains(body, "simplex_smp_info{version=\"6.5.5.0\",rts_options=\"set SMP_RTS_OPTIONS\"} 1\n"));
  // Socket counts per port, with the port as the label: the two clients are connected to the first port.
  const std::string port1 = "{port=\"" + std::to_string(relay.d.p1) + "\"}",
                    port2 = "{port=\"" + std::to_string(relay.d.p2) + "\"}";
  CHECK(sample(body, "simplex_smp_sockets_active" + port1) == "2");
  CHECK(sample(body, "simplex_smp_sockets_accepted" + port1) == "2");
  CHECK(sample(body, "simplex_smp_sockets_closed" + port1) == "0");
  CHECK(sample(body, "simplex_smp_sockets_leaked" + port1) == "0");
  CHECK(sample(body, "simplex_smp_sockets_accepted" + port2) == "0");
  CHECK(http_get(mport, "/").rfind("HTTP/1.1 404 ", 0) == 0);
  CHECK(http_get(mport, "/metrics", "POST").rfind("HTTP/1.1 405 ", 0) == 0);

  // The file has the same text, rewritten every interval.
  const auto file = relay.d.log / "smp-server-metrics.txt";
  REQUIRE(wait_file(file));
  const std::string f = read_text(file);
  CHECK(sample(f, "simplex_smp_queues_created") == "1");
  CHECK(sample(f, "simplex_smp_messages_sent") == "2");
}

TEST_CASE("SMP refuses a malformed prometheus_address", "[stats-http]") {
  StartDirs d;
  d.set_ini_line("# prometheus_interval = 60", "prometheus_address = localhost");
  auto p = d.start();
  REQUIRE(p->wait(30s) == std::optional<int>(1));
  CHECK(contains(p->err(), "prometheus_address"));
}

TEST_CASE("XFTP counts files and serves its metrics; the stats backup survives a restart", "[stats-http]") {
  const uint16_t mport = free_port();
  XftpRelay relay;
  relay.set_line("log_stats = off", "log_stats = on");
  relay.set_line("# prometheus_interval = 60", "prometheus_address = 127.0.0.1:" + std::to_string(mport));
  auto proc = relay.start();
  REQUIRE(proc->running());

  auto key = [] { return crypto::PrivateKey{crypto::KeyAlg::Ed25519, crypto::random_bytes(32)}; };
  const crypto::PrivateKey snd = key(), rcv1 = key(), rcv2 = key();
  Bytes data(65536);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  const auto digest = crypto::sha256(data);
  const Bytes sha(digest.begin(), digest.end());
  xftp::SyncXftpClient c;
  c.connect("127.0.0.1", relay.port, relay.key_hash_bytes());
  auto created = c.fnew(xftp::FileInfo{crypto::public_key(snd), 65536, sha},
                        {crypto::public_key(rcv1), crypto::public_key(rcv2)}, std::nullopt, snd);
  REQUIRE(created.ok());
  const auto ids = created.value();
  REQUIRE(c.fput(ids.sender_id, snd, xftp::ChunkSource::of(data)).ok());
  Bytes got;
  REQUIRE(c.fget(ids.recipient_ids[0], rcv1, data.size(), sha, got).ok());
  got.clear();
  REQUIRE(c.fget(ids.recipient_ids[1], rcv2, data.size(), sha, got).ok());
  REQUIRE(c.fack(ids.recipient_ids[0], rcv1).ok());

  const std::string body = http_get(mport, "/metrics");
  INFO(body);
  CHECK(sample(body, "simplex_xftp_files_created") == "1");
  CHECK(sample(body, "simplex_xftp_files_recipients") == "2");
  CHECK(sample(body, "simplex_xftp_files_uploaded") == "1");
  CHECK(sample(body, "simplex_xftp_file_downloads") == "2");
  CHECK(sample(body, "simplex_xftp_file_download_acks") == "1");
  CHECK(sample(body, "simplex_xftp_files_count_total") == "1");
  CHECK(sample(body, "simplex_xftp_files_size") == "65536");
  CHECK(sample(body, "simplex_xftp_files_count_daily") == "1");  // one distinct file downloaded
  REQUIRE(c.fdel(ids.sender_id, snd).ok());
  const std::string after = http_get(mport, "/metrics");
  CHECK(sample(after, "simplex_xftp_files_deleted") == "1");
  CHECK(sample(after, "simplex_xftp_files_count_total") == "0");
  CHECK(sample(after, "simplex_xftp_files_size") == "0");
  c.close();

  proc->signal(SIGINT);
  REQUIRE(proc->wait(30s) == std::optional<int>(0));
  const auto file = relay.log / "file-server-stats.log";
  REQUIRE(std::filesystem::exists(file));
  const std::string saved = read_text(file);
  INFO(saved);
  auto parsed = xftp::parse_file_stats(saved);
  REQUIRE(std::holds_alternative<xftp::FileServerStatsData>(parsed));
  const auto& d = std::get<xftp::FileServerStatsData>(parsed);
  CHECK(d.filesCreated == 1);
  CHECK(d.fileDownloads == 2);
  CHECK(d.filesDeleted == 1);
  CHECK(d.filesDownloaded.day.size() == 1);
  CHECK(xftp::encode_file_stats(d) == saved);

  auto again = relay.start();
  REQUIRE(again->running());
  CHECK(again->wait_for("Restored 0 MBs in 0 files"));
  CHECK(contains(again->err(), "restoring server stats from file " + file.string()));
  CHECK(std::filesystem::exists(relay.log / "file-server-stats.log.bak"));
  const std::string restored = http_get(mport, "/metrics");
  CHECK(sample(restored, "simplex_xftp_files_created") == "1");
  CHECK(sample(restored, "simplex_xftp_file_downloads") == "2");
  again->signal(SIGINT);
  CHECK(again->wait(30s) == std::optional<int>(0));
}
