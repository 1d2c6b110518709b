// The SMP control-port commands (server-operations.md §5.4; simplexmq: Server.hs runCPClient). Each reply is a
// pure function of the server state (plus `now`), so unit tests drive them without sockets; smp_commands()
// assembles the table the shared control::Session runs.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/control_port.hpp"
#include "smp/server_state.hpp"
#include "smp/smp_metrics.hpp"

namespace sr::smp {

class Relay;

// The reference's `show` renderings the replies contain.
std::string show_blocking_info(const BlockingInfo& b);  // BlockingInfo {reason = BRSpam, notice = Nothing}
std::string show_status(const QueueRec& q);             // EntityActive | EntityOff | EntityBlocked (BlockingInfo {…})

// `stats`: the label/value lines; an admin also gets "ntfCount 2".
std::string control_stats(ServerState& st, control::Role role);
// `clients`: CSV header and one row per connection.
std::string control_clients(ServerState& st, int64_t now);
// `sockets`: four counters per listening port.
std::string control_sockets(const std::vector<SocketCounts>& ports);
// `server-info` (user or admin; an admin gets the per-connection queue details).
std::string control_server_info(ServerState& st, control::Role role);
// `status <sender or link id>`.
std::string control_status(ServerState& st, const Bytes& id);
// `delete <sender or link id>` (the queue and its messages; the stats count it like a DEL).
std::string control_delete(ServerState& st, const Bytes& id);
// `block <sender or link id> <info>`: refused once `quota` queues were blocked today (quota 0: no limit; -1:
// blocking prohibited); the subscriber gets ERR BLOCKED; the store log gets BLOCK.
std::string control_block(ServerState& st, const Bytes& id, const BlockingInfo& info, int64_t quota);
// `unblock <sender or link id>`.
std::string control_unblock(ServerState& st, const Bytes& id);

struct SmpControl {
  std::shared_ptr<Relay> relay;
  int64_t daily_block_queue_quota = 20;
  std::function<std::vector<SocketCounts>()> sockets;
  // `save`: the stats backup and a durable message journal, leaving the server running (DECISIONS.md; 8.Q16).
  std::function<void()> save;
};
std::shared_ptr<const control::Commands> smp_commands(SmpControl c);

}  // namespace sr::smp
