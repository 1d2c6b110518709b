// Per listening port socket statistics, as the reference keeps them (control port `sockets`,
// simplex_smp_sockets_* metrics). A header of its own so metrics code need not include Asio.
#pragma once
#include <cstdint>

namespace sr::net {

struct SocketCounts {
  uint16_t port = 0;
  // leaked: accepted but neither active nor closed (the reference's accepted - closed - active).
  uint64_t accepted = 0, closed = 0, active = 0, leaked = 0;
};

}  // namespace sr::net
