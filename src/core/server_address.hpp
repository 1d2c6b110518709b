// Protocol server addresses, one grammar for both schemes (the reference's ProtocolServer string encoding):
//   <scheme>://<keyHash base64url>[:<password>]@<host>[,<host2>…][:<port>]
// smp:// and xftp:// addresses differ only in the scheme and the default port.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoding.hpp"

namespace sr {

struct ServerAddress {
  Bytes key_hash;                         // SHA-256 of the CA certificate (any non-empty length is accepted)
  std::vector<std::string> hosts;         // as written (IPv6 in brackets), at least one
  std::optional<uint16_t> port;           // written only when present
  std::optional<std::string> basic_auth;  // the server password
  bool operator==(const ServerAddress&) const = default;
};

// The reason only, e.g. "no '@' after the key hash"; callers add which address and where it came from.
struct AddressError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// `scheme` without "://", e.g. "smp". Throws AddressError.
ServerAddress parse_server_address(std::string_view scheme, std::string_view text);
std::string format_server_address(std::string_view scheme, const ServerAddress& s);

// A BasicAuth password's characters: Latin-1 isPrint && !isSpace per byte, minus '@' ':' '/' (the reference's
// validBasicAuthChar over Char8). Empty passes; callers that need a password check emptiness themselves.
bool valid_basic_auth(std::string_view password);

}  // namespace sr
