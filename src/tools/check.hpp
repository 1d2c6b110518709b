// `simplex-relay check ADDRESS`: tests an SMP or XFTP server the way the apps' "Test server" does (SMP: connect,
// create a queue, secure it, send, receive, delete; XFTP: connect, create a file, upload, download, compare,
// delete) and explains each failure: the step, what the client saw, the likely cause and the fix. Exit code 0
// only when every step passed. A tool, not a role: it uses both clients and neither role depends on it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoding.hpp"
#include "core/socks.hpp"

namespace sr::tools {

enum class CheckProtocol : uint8_t { SMP, XFTP };

enum class CheckStep : uint8_t {
  Connect,
  CreateQueue, SecureQueue, SendMessage, ReceiveMessage, DeleteQueue,          // SMP
  CreateFile, UploadFile, DownloadFile, CompareFile, DeleteFile,               // XFTP
};
// "connect", "create queue", ... as printed.
std::string_view step_name(CheckStep step);

// smp://KEYHASH[:PASSWORD]@HOST[,HOST2...][:PORT] or the same with xftp:// (default ports 5223 and 443).
struct CheckAddress {
  CheckProtocol protocol = CheckProtocol::SMP;
  Bytes key_hash;
  std::vector<std::string> hosts;
  uint16_t port = 0;
  std::optional<std::string> password;
};
// Throws std::invalid_argument naming the problem.
CheckAddress parse_check_address(std::string_view text);

// The host to dial and the proxy to dial it through: with a proxy the first .onion host (else the first host);
// without one the first public host; an address of .onion hosts only gets the Tor default 127.0.0.1:9050.
struct Route {
  std::string host;
  std::optional<socks::Proxy> socks;
};
Route choose_route(const CheckAddress& a, const std::optional<socks::Proxy>& socks);

// "HOST:PORT" (IPv4, name, [IPv6]) → Proxy; nullopt when it does not parse. A missing port means 9050.
std::optional<socks::Proxy> parse_proxy(std::string_view text);

// What a diagnosis may mention besides the error itself.
struct CheckContext {
  CheckProtocol protocol = CheckProtocol::SMP;
  std::string host;
  uint16_t port = 0;
  bool has_password = false;
  std::optional<socks::Proxy> socks;
  std::string expected_fingerprint;  // base64url key hash from the address
  std::string actual_fingerprint;    // base64url SHA-256 of the CA certificate the server presented; "" unknown
  int timeout_seconds = 10;
};

// The failure line after "✗ <step>: ": the client's error text ("NETWORK: connect: Connection refused",
// "HANDSHAKE IDENTITY", "TIMEOUT", "ERR AUTH", "ERR QUOTA", "DIGEST", ...), then " — " and the likely cause and
// fix. Pure: unit tested for every case.
std::string diagnose(CheckStep step, std::string_view error, const CheckContext& c);

// `simplex-relay check ...`
int check_main(int argc, char** argv);

}  // namespace sr::tools
