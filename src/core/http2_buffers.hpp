// Helpers the HTTP/2 server and client sides share (core/http2_server.*, core/http2_client.*).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <span>
#include <string>
#include <vector>

namespace sr::h2::detail {

// Moves up to out.size() bytes from the front of a chunk queue (body parts waiting to be read or framed).
inline size_t take(std::deque<std::vector<uint8_t>>& q, size_t& offset, size_t& total, std::span<uint8_t> out) {
  size_t n = 0;
  while (n < out.size() && !q.empty()) {
    auto& front = q.front();
    const size_t k = std::min(out.size() - n, front.size() - offset);
    std::memcpy(out.data() + n, front.data() + offset, k);
    n += k;
    offset += k;
    if (offset == front.size()) {
      q.pop_front();
      offset = 0;
    }
  }
  total -= n;
  return n;
}

// HTTP/2 header names are lower case on the wire.
inline std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace sr::h2::detail
