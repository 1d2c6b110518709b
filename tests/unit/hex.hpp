// Hex literals for test vectors (spec §12 values are written in hex).
#pragma once
#include <array>
#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/encoding.hpp"

namespace sr::test {

inline Bytes hex(std::string_view h) {
  Bytes out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

template <size_t N>
std::array<uint8_t, N> arr(std::string_view h) {
  const Bytes b = hex(h);
  if (b.size() != N) throw std::invalid_argument("hex literal has the wrong length");  // used at static init
  std::array<uint8_t, N> a;
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

template <typename C>
std::string to_hex(const C& c) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : c) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

}  // namespace sr::test
