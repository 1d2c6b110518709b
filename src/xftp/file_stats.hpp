// XFTP statistics (server-operations.md §5.1–§5.3; simplexmq: FileTransfer/Server/Stats.hs, Server/Prometheus.hs):
// the counters, counted where the reference's FileTransfer/Server.hs counts them, the backup file
// file-server-stats.log, the daily CSV row and the Prometheus text. Plain data: no I/O except save/load.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/period_stats.hpp"

namespace sr::xftp {

using stats::PeriodStats;

struct FileServerStatsData {
  int64_t fromTime = 0;  // Unix seconds
  int64_t filesCreated = 0, fileRecipients = 0, filesUploaded = 0, filesExpired = 0, filesDeleted = 0,
          filesBlocked = 0;
  PeriodStats filesDownloaded;  // distinct files downloaded (hashes of sender ids)
  int64_t fileDownloads = 0, fileDownloadAcks = 0;
  int64_t filesCount = 0, filesSize = 0;  // gauges: uploaded files and their bytes
  friend bool operator==(const FileServerStatsData&, const FileServerStatsData&) = default;

  // The counting points of the reference.
  void note_created(size_t recipients) { ++filesCreated; fileRecipients += static_cast<int64_t>(recipients); }
  void note_recipients(size_t n) { fileRecipients += static_cast<int64_t>(n); }
  void note_uploaded(int64_t size) { ++filesUploaded; ++filesCount; filesSize += size; }
  void note_download(std::span<const uint8_t> sender_id);
  void note_ack() { ++fileDownloadAcks; }
  // FDEL (or a block, blocked = true): the stored chunk (if any) leaves the gauges.
  void note_deleted(bool had_chunk, int64_t size, bool blocked = false);
  // Eviction (our storage option) removes an uploaded chunk: only the gauges change.
  void note_evicted(int64_t size) { --filesCount; filesSize -= size; }
  // Expiry counts the file but, as the reference, leaves filesCount / filesSize unchanged.
  void note_expired() { ++filesExpired; }
};

// One daily row's data: the period that ended (fromTime = its start) and which sets were written.
struct FileStatsPeriod {
  FileServerStatsData data;
  bool week_ended = false, month_ended = false;
};
// Ends the period at `now`: period counters returned and reset; filesBlocked and the gauges kept; the day set
// reset, the week set on Mondays, the month set on the 1st (UTC).
FileStatsPeriod roll_file_stats(FileServerStatsData& s, int64_t now);
// One file-server-stats.daily.log line (13 fields, no newline).
std::string file_stats_csv_row(const FileStatsPeriod& p);

// The backup file text / reader (order-sensitive, the reference's optional lines read as 0).
std::string encode_file_stats(const FileServerStatsData& d);
std::variant<FileServerStatsData, std::string> parse_file_stats(std::string_view text);
void save_file_stats(const std::filesystem::path& f, const FileServerStatsData& d);  // throws fs::FileError
std::variant<FileServerStatsData, std::string> load_file_stats(const std::filesystem::path& f);

// The xftp-server-metrics.txt text.
std::string xftp_prometheus_metrics(const FileServerStatsData& d, std::string_view rts_options,
                                    std::chrono::system_clock::time_point now);

}  // namespace sr::xftp
