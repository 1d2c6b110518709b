// String encodings shared by every role. Binary smpEncode primitives join this file with the SMP protocol.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sr {

using Bytes = std::vector<uint8_t>;

// RFC 4648 URL-safe alphabet; output always padded with '=' (the reference's strEncode).
std::string base64url_encode(std::span<const uint8_t> data);
// Accepts input with or without '=' padding (DECISIONS.md); nullopt on any other invalid input (characters
// outside the alphabet, a length that cannot be base64, wrong padding, non-zero unused bits). "" decodes to no
// bytes: parsers that, like the reference's, refuse an empty value check that themselves.
std::optional<Bytes> base64url_decode(std::string_view text);

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace sr
