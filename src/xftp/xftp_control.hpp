// The XFTP control-port commands (server-operations.md §5.4; simplexmq: FileTransfer/Server.hs runCPClient):
// stats-rts, and delete / block of a file found by its RECIPIENT id.
#pragma once
#include <memory>
#include <string>

#include "core/control_port.hpp"
#include "xftp/xftp_state.hpp"

namespace sr::xftp {

// `delete <recipient id>` / `block <recipient id> <info>`: "ok" or "error: <XFTP error>".
std::string control_delete(XftpState& state, const Bytes& recipient_id);
std::string control_block(XftpState& state, const Bytes& recipient_id, const BlockingInfo& info);

// The table for control::Session; `state` must outlive the listener.
std::shared_ptr<const control::Commands> xftp_commands(XftpState& state);

}  // namespace sr::xftp
