#include "core/deflate.hpp"

#include <zlib.h>

#include <stdexcept>

namespace sr {

std::string deflate(std::string_view in, DeflateFraming framing) {
  z_stream zs{};
  // windowBits -15: no header or trailer; 15 + 16: a gzip header and trailer instead of zlib's.
  const int window_bits = framing == DeflateFraming::Raw ? -15 : 15 + 16;
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = ::deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

}  // namespace sr
