// One XFTP connection (xftp-protocol.md §4, §5, §7): HTTP/2 over the shared TLS server, each stream dispatched in
// the reference's order (CORS preflight, static pages, then the handshake state machine and commands), FPUT
// bodies streamed into the chunk store with a running SHA-256, FGET chunks streamed out encrypted (§9). At most
// one 16 KB slice of a chunk body is held per transfer beyond HTTP/2's flow-control windows.
#pragma once
#include "core/http2_server.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "xftp/handshake.hpp"
#include "xftp/xftp_state.hpp"

namespace sr::xftp {

// What every connection of one server shares.
struct ServerContext {
  ServerContext(XftpState& s, HandshakeIdentity id) : state(s), identity(std::move(id)) {}

  XftpState& state;
  HandshakeIdentity identity;
  // [WEB] static_path: GET on web connections serves files from here (index.html for directories); else 404.
  std::optional<std::filesystem::path> static_path;
  // §1: the whole FPUT body (and its digest) within this time, else TIMEOUT.
  net::Clock::duration file_timeout = std::chrono::minutes(5);
  // Reading the 16 KB command block of any request.
  net::Clock::duration block_timeout = std::chrono::seconds(60);
  h2::Options http2;
  // Runs blocking disk work (committing an upload: fsync of the chunk and its directory) off the I/O thread;
  // nullptr runs it inline (tests).
  asio::thread_pool* blocking = nullptr;
  std::function<int64_t()> now;  // Unix seconds; default: the system clock
};

// The TlsServer handler of the XFTP role.
asio::awaitable<void> serve_connection(net::ConnectionPtr conn, std::shared_ptr<const ServerContext> ctx);

}  // namespace sr::xftp
