#include "core/period_stats.hpp"

namespace sr::stats {

int64_t hash_entity_id(std::span<const uint8_t> id) {
  // hashable-1.4.3 on 64-bit: hashWithSalt defaultSalt bs = fnv1(bytes, hashInt(defaultSalt, length)), where
  // hashInt folds the Int in four 16-bit FNV rounds. Unsigned arithmetic gives the Int wrap-around.
  constexpr uint64_t kPrime = 1099511628211ULL;
  uint64_t h = 14695981039346656037ULL;  // defaultSalt (-3750763034362895579 as Int)
  const uint64_t len = id.size();
  for (int shift : {48, 32, 16, 0}) h = (h * kPrime) ^ ((len >> shift) & 0xffff);
  for (uint8_t b : id) h = (h * kPrime) ^ b;
  return static_cast<int64_t>(h);
}

}  // namespace sr::stats
