// SOCKS5 client (RFC 1928 CONNECT, RFC 1929 username/password) for reaching other relays through a proxy
// such as Tor. The destination is sent as a name (ATYP 3) and never resolved here: a .onion name must reach the
// proxy as written, and a clearnet name resolved locally would leak the lookup outside the proxy.
#pragma once
// A standard header before <asio.hpp>: see the note in core/server.hpp (ODR of the coroutine frame allocator).
#include <cstddef>

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/encoding.hpp"

namespace sr::socks {

struct Proxy {
  std::string host;
  uint16_t port = 9050;
  // Both set: authenticate with them (Tor isolates streams by these credentials). Otherwise no authentication.
  std::optional<std::string> username, password;
  bool with_auth() const { return username.has_value() && password.has_value(); }
};

// "host:port" for messages; an IPv6 literal is bracketed.
std::string proxy_text(const Proxy& proxy);

// ---- Codec (pure, no I/O). Texts returned by the check_* functions are complete error messages, "" = success.

// RFC 1928 §3 method identifiers.
inline constexpr uint8_t kMethodNone = 0x00;
inline constexpr uint8_t kMethodUsernamePassword = 0x02;
inline constexpr uint8_t kMethodNoAcceptable = 0xFF;

// VER 5, then the offered methods. With credentials only username/password is offered: a proxy choosing "no
// authentication" instead would silently drop the stream isolation the credentials ask for.
Bytes greeting(bool with_auth);
// The proxy's 2-byte method selection, checked against what greeting(with_auth) offered.
std::string check_method_choice(std::span<const uint8_t> reply, bool with_auth);

// RFC 1929: VER 1, ULEN, UNAME, PLEN, PASSWD. std::length_error if either is over 255 bytes.
Bytes auth_request(std::string_view username, std::string_view password);
// The 2-byte sub-negotiation status (VER 1, STATUS 0 = success).
std::string check_auth_reply(std::span<const uint8_t> reply);

// CONNECT request. An IPv4 literal goes as ATYP 1, an IPv6 literal (optionally in brackets) as ATYP 4, anything
// else as ATYP 3 with the name as given. std::length_error for a name over 255 bytes, std::invalid_argument for
// an empty one.
Bytes connect_request(std::string_view host, uint16_t port);

// The CONNECT reply is VER REP RSV ATYP BND.ADDR BND.PORT with a variable-length address. Read kReplyHead bytes
// (which include the domain length byte for ATYP 3), then reply_rest(head) more bytes.
inline constexpr size_t kReplyHead = 5;
// nullopt when head is not a SOCKS5 reply or has an unknown ATYP.
std::optional<size_t> reply_rest(std::span<const uint8_t> head);
struct ConnectReply {
  uint8_t code = 0;     // REP, 0 = succeeded
  uint8_t atyp = 0;
  std::string bound_host;  // address text (ATYP 1/4) or the name (ATYP 3)
  uint16_t bound_port = 0;
};
// The whole reply; nullopt if malformed (wrong version, unknown ATYP, wrong length).
std::optional<ConnectReply> parse_connect_reply(std::span<const uint8_t> reply);
// REP as text: "host unreachable", "connection refused", Tor's onion-service codes, ...
std::string reply_text(uint8_t code);

// "*.onion" (case-insensitive, one trailing dot allowed): such hosts are reachable only through the proxy.
bool is_onion(std::string_view host);

// ---- Client

// Connects `socket` (not yet open) to the proxy, then CONNECTs to host:port through it, all within `timeout`.
// Returns "" on success (the socket then carries the stream to host:port), otherwise an error text such as
// "SOCKS proxy 127.0.0.1:9050: connection refused" or "SOCKS: host unreachable"; the socket is closed then.
// The socket's executor must not run handlers concurrently (a single-threaded io_context or a strand).
asio::awaitable<std::string> connect(asio::ip::tcp::socket& socket, const Proxy& proxy, std::string host,
                                     uint16_t port, std::chrono::steady_clock::duration timeout);

}  // namespace sr::socks
