// One-shot DEFLATE compression (zlib, default level) in the two framings the relays need: raw (xftp file
// description links, as pako's deflateRaw) and gzip (RFC 1952, static pages for browsers).
#pragma once
#include <string>
#include <string_view>

namespace sr {

enum class DeflateFraming { Raw, Gzip };
// Throws std::runtime_error when zlib fails.
std::string deflate(std::string_view in, DeflateFraming framing);

}  // namespace sr
