// The statistics backup file smp-server-stats.log (server-operations.md §5.2): written at shutdown and by the
// control-port `save`, read back at start. Same bytes as the reference (simplexmq: Server/Stats.hs
// `StrEncoding ServerStatsData`), so a reference server's file loads here and ours loads there.
#pragma once
#include <cstdint>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/period_stats.hpp"

namespace sr::smp {

// Distinct active queues in the current day / week / month, as hashes of their recipient ids.
using stats::PeriodStats;

// Proxy (PFWD / RFWD) session and forwarding counters.
struct ProxyStats {
  int64_t requests = 0, successes = 0, errorsConnect = 0, errorsCompat = 0, errorsOther = 0;
  friend bool operator==(const ProxyStats&, const ProxyStats&) = default;
};

// Service (rcvServices / ntfServices) association and subscription counters.
struct ServiceStats {
  int64_t assocNew = 0, assocDuplicate = 0, assocUpdated = 0, assocRemoved = 0;
  int64_t subCount = 0, subDuplicate = 0, subQueues = 0, subEnd = 0;
  friend bool operator==(const ServiceStats&, const ServiceStats&) = default;
};

// Every field of the file, in file order; counters are the reference's Int (64-bit signed). msgCount,
// ntfCount and the ack-time buckets are not in the file (the reference restores them from the stores).
struct ServerStatsData {
  int64_t fromTime = 0;  // Unix seconds; the file has ISO-8601, sub-seconds are dropped on load
  int64_t qCreated = 0, qSecured = 0, qDeletedAll = 0, qDeletedNew = 0, qDeletedSecured = 0, qDeletedAllB = 0;
  int64_t qBlocked = 0, qCount = 0;
  int64_t qSub = 0, qSubAllB = 0, qSubAuth = 0, qSubDuplicate = 0, qSubProhibited = 0, qSubEnd = 0, qSubEndB = 0;
  int64_t ntfCreated = 0, ntfNewCreated = 0, ntfDeleted = 0, ntfDeletedB = 0;
  int64_t ntfSub = 0, ntfSubB = 0, ntfSubAuth = 0, ntfSubDuplicate = 0;
  int64_t msgSent = 0, msgSentAuth = 0, msgSentQuota = 0, msgSentLarge = 0, msgSentBlock = 0;
  int64_t msgRecv = 0, msgRecvGet = 0;
  int64_t msgGet = 0, msgGetNoMsg = 0, msgGetAuth = 0, msgGetDuplicate = 0, msgGetProhibited = 0;
  int64_t msgExpired = 0, msgSentNtf = 0, msgRecvNtf = 0;
  int64_t msgNtfs = 0, msgNtfsB = 0, msgNtfNoSub = 0, msgNtfLost = 0, msgNtfExpired = 0;
  PeriodStats activeQueues, activeQueuesNtf;
  ProxyStats pRelays, pRelaysOwn, pMsgFwds, pMsgFwdsOwn;
  int64_t pMsgFwdsRecv = 0;
  ServiceStats rcvServices, ntfServices;
  friend bool operator==(const ServerStatsData&, const ServerStatsData&) = default;
};

// The file text: one `key=value` per line, blocks under `name:` lines, one trailing newline.
std::string encode_stats(const ServerStatsData& d);

// The reference's reader with its tolerance for older files (§5.2): legacy `qDeleted=`, skipped `qSubNoMsg=`,
// legacy `dayMsgQueues=`… and `day=`… (base64url ids, hashed here) lines, a discarded `subscribedQueues:`
// block, missing optional counters and blocks read as 0. The error names the line:
// `line 25 "msgSentAuth=0": expected msgSent=`.
std::variant<ServerStatsData, std::string> parse_stats(std::string_view text);

// The value kept in the period sets for a queue.
inline int64_t hash_queue_id(std::span<const uint8_t> id) { return stats::hash_entity_id(id); }

// Writes the file atomically; throws fs::FileError.
void save_stats(const std::filesystem::path& f, const ServerStatsData& d);
// Reads and parses the file; a parse error is returned, I/O errors throw fs::FileError. The caller applies the
// data and then renames the file to <f>.bak, as the reference does.
std::variant<ServerStatsData, std::string> load_stats(const std::filesystem::path& f);

}  // namespace sr::smp
