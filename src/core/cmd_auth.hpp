// Pieces the SMP and XFTP protocols share (smp-commands.md §8, xftp-protocol.md §6.1, §8): command error codes,
// blocking info, and verification of a transmission's authorization (Ed25519 / Ed448 signature or X25519
// authenticator). Pure: no I/O.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/crypto.hpp"
#include "core/encoding.hpp"

namespace sr {

// CommandError; the wire text is kCmdErrorNames[index] ("NO_QUEUE" is an accepted alias of NO_ENTITY).
enum class CmdError : uint8_t { UNKNOWN, SYNTAX, PROHIBITED, NO_AUTH, HAS_AUTH, NO_ENTITY };
inline constexpr std::array<std::string_view, 6> kCmdErrorNames = {"UNKNOWN", "SYNTAX",   "PROHIBITED",
                                                                   "NO_AUTH", "HAS_AUTH", "NO_ENTITY"};
std::optional<CmdError> parse_cmd_error(std::string_view text);  // whole text; accepts NO_QUEUE

// Text form "reason=spam[,notice={"ttl":86400}]" (also the store log's and control port's form).
struct BlockingInfo {
  enum class Reason : uint8_t { spam, content } reason = Reason::spam;
  bool has_notice = false;
  std::optional<int64_t> notice_ttl;  // only meaningful with has_notice; absent → {}
  bool operator==(const BlockingInfo&) const = default;
};
std::string encode_blocking_info(const BlockingInfo& b);
std::optional<BlockingInfo> parse_blocking_info(std::string_view text);

// ---- Authorization (smp-transport.md §6.3–6.5, xftp-protocol.md §6.1) ----
using AuthKey = crypto::PublicKey;  // Ed25519 / Ed448 / X25519

// X25519 authenticator: box(dh(priv, pub), cbNonce(corrId), sha512(authorized)) — 80 bytes (tag first).
std::optional<Bytes> make_authenticator(const crypto::Key32& priv, std::span<const uint8_t> peer_pub,
                                        std::span<const uint8_t> corr_id, std::span<const uint8_t> authorized);

// dh(server session key, entity key) is fixed for a connection and an X25519 entity key: a connection keeps the
// results it computed for authenticators (bounded; emptied when full) so repeated commands skip the scalar
// multiplication.
class DhCache {
 public:
  std::optional<crypto::Key32> dh(const crypto::Key32& priv, std::span<const uint8_t> pub);
  size_t size() const { return map_.size(); }
  static constexpr size_t kMaxEntries = 1024;

 private:
  struct Hash {
    size_t operator()(const crypto::Key32& k) const noexcept;
  };
  std::unordered_map<crypto::Key32, crypto::Key32, Hash> map_;
};

// Verifies `auth` against `key` over `authorized` (with server_session_priv for X25519 keys). The signature
// kind is decided by auth's length; a mismatch with the key's algorithm fails (after a dummy verification).
bool verify_auth(const AuthKey& key, std::span<const uint8_t> auth, std::span<const uint8_t> authorized,
                 std::span<const uint8_t> corr_id, const crypto::Key32& server_session_priv, DhCache* cache = nullptr);
// The reference's constant-time failure path: verifies against the fixed dummy key of the kind auth's
// length selects, and returns false. Counted in dummy_verify_count() so tests can assert it ran.
bool dummy_verify(std::span<const uint8_t> auth, std::span<const uint8_t> authorized, std::span<const uint8_t> corr_id,
                  const crypto::Key32& server_session_priv, DhCache* cache = nullptr);
uint64_t dummy_verify_count();

}  // namespace sr
