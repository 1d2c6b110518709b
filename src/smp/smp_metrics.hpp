// SMP statistics output (server-operations.md §5.1, §5.3): the daily CSV row and the Prometheus text, as plain
// functions of the counters so they are checked without a server (simplexmq: Server.hs logServerStats,
// Server/Prometheus.hs prometheusMetrics).
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/socket_counts.hpp"
#include "smp/server_stats.hpp"

namespace sr::smp {

struct StatsPeriod;  // server_state.hpp

// Store entity counts (the reference's EntityCounts).
struct EntityCounts {
  int64_t queueCount = 0, notifierCount = 0;
  int64_t rcvServiceCount = 0, ntfServiceCount = 0, rcvServiceQueuesCount = 0, ntfServiceQueuesCount = 0;
};

// The gauges the reference keeps next to its counters: stored messages and pending notifications.
struct StoreGauges {
  int64_t msgCount = 0, ntfCount = 0;
};

struct SubscriberCounts {
  int64_t subsCount = 0, subClientsCount = 0, subServicesCount = 0;
};

// Seconds → count histogram of delivery times (the reference's TimeBuckets).
struct TimeBuckets {
  int64_t sumTime = 0, maxTime = 0;
  std::map<int64_t, int64_t> buckets;
};

// Counts one time of t seconds: exact up to 5 s, then rounded up to 5 s up to 30, 10 s up to 60, 30 s up to 180,
// 60 s beyond (simplexmq: Server/Stats.hs updateTimeBuckets).
void add_time(TimeBuckets& b, int64_t t);

using SocketCounts = net::SocketCounts;

// What is read from the running server for each metrics text (the reference's RealTimeMetrics).
struct RealTimeMetrics {
  std::vector<SocketCounts> sockets;
  int64_t threadsCount = 0, clientsCount = 0;
  SubscriberCounts delivered;
  TimeBuckets deliveredTimes;
  SubscriberCounts smpSubs, ntfSubs;
  int64_t loadedQueueCount = 0, loadedNotifierCount = 0, openJournalCount = 0, queueLockCount = 0,
          notifierLockCount = 0;
};

// One smp-server-stats.daily.log line (96 fields, no newline). `snapshot`: the entity counts taken when the
// statistics timer started, repeated in every row until restart (reference quirk 8.Q9).
std::string stats_csv_row(const StatsPeriod& p, const StoreGauges& g, const EntityCounts& snapshot);

// The smp-server-metrics.txt text. ack_times: confirmed delivery times (empty when not measured).
std::string prometheus_metrics(const ServerStatsData& d, const StoreGauges& g, const EntityCounts& e,
                               const RealTimeMetrics& rt, const TimeBuckets& ack_times, std::string_view rts_options,
                               std::chrono::system_clock::time_point now);

}  // namespace sr::smp
