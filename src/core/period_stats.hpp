// Distinct entities active in the current day / week / month, shared by both roles' statistics (SMP active
// queues, XFTP downloaded files; server-operations.md §5.1–§5.2). Plain data, no I/O.
#pragma once
#include <cstdint>
#include <set>
#include <span>

namespace sr::stats {

// The sets hold hashes of the entity ids (hash_entity_id), as the reference's IntSet of `hash id`.
struct PeriodStats {
  std::set<int64_t> day, week, month;
  friend bool operator==(const PeriodStats&, const PeriodStats&) = default;
};

// Haskell hashable-1.4.3 `hash` of the raw id bytes (what simplexmq 6.5.5 builds resolve; FNV-1 64-bit salted
// with the length), so the sets in the stats backup files stay compatible both ways.
int64_t hash_entity_id(std::span<const uint8_t> id);

}  // namespace sr::stats
