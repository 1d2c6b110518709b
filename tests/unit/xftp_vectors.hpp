// The fixed inputs of xftp-vectors.md V1 and the small builders the XFTP unit tests share.
#pragma once
#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "core/crypto.hpp"
#include "hex.hpp"
#include "xftp/protocol.hpp"

namespace sr::test::xftpv {

inline Bytes str(std::string_view s) { return Bytes(s.begin(), s.end()); }
// a, a+1, a+2, … (n bytes): how V1 writes its keys.
inline Bytes seq(uint8_t a, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(a + i);
  return b;
}
template <size_t N>
std::array<uint8_t, N> to_arr(const Bytes& b) {
  std::array<uint8_t, N> a{};
  std::copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min(N, b.size())), a.begin());
  return a;
}
inline crypto::Key32 key32(const Bytes& b) { return to_arr<32>(b); }
inline crypto::Nonce nonce24(const Bytes& b) { return to_arr<24>(b); }
// pad16k(m) as the vectors file defines it.
inline Bytes block_of(const Bytes& m) {
  Bytes b{static_cast<uint8_t>(m.size() >> 8), static_cast<uint8_t>(m.size())};
  b.insert(b.end(), m.begin(), m.end());
  b.resize(xftp::kBlockSize, '#');
  return b;
}
inline std::string sha_hex(const Bytes& b) { return to_hex(crypto::sha256(b)); }

// ---- V1 inputs ----
inline const crypto::PrivateKey kSndSk{crypto::KeyAlg::Ed25519, seq(0x00, 32)};
inline const crypto::PrivateKey kRcv1Sk{crypto::KeyAlg::Ed25519, seq(0x20, 32)};
inline const crypto::PrivateKey kRcv2Sk{crypto::KeyAlg::Ed25519, seq(0x40, 32)};
inline const crypto::Key32 kRcvDhSk = key32(seq(0x60, 32));
inline const Bytes kSessionId = str("session-id-for-xftp-test-vectors");
inline const Bytes kChallenge = str("challenge-32-bytes-for-web-hello");

}  // namespace sr::test::xftpv
