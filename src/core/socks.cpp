#include "core/socks.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <array>
#include <cctype>
#include <memory>
#include <stdexcept>

namespace sr::socks {

namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

constexpr uint8_t kVersion = 5;
constexpr uint8_t kAuthVersion = 1;  // RFC 1929 sub-negotiation version
constexpr uint8_t kCmdConnect = 1;
constexpr uint8_t kAtypIPv4 = 1, kAtypDomain = 3, kAtypIPv6 = 4;

// An IP literal in host ("[::1]" included); nullopt for a name.
std::optional<asio::ip::address> ip_literal(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  asio::error_code ec;
  auto a = asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return a;
}

std::string hex_byte(uint8_t b) {
  static constexpr char digits[] = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 0xF];
}

}  // namespace

std::string proxy_text(const Proxy& proxy) {
  const auto ip = ip_literal(proxy.host);
  const bool bracket = ip && ip->is_v6() && proxy.host.front() != '[';
  return (bracket ? "[" + proxy.host + "]" : proxy.host) + ":" + std::to_string(proxy.port);
}

Bytes greeting(bool with_auth) {
  Bytes out;
  Encoder e(out);
  e.byte(kVersion).byte(1).byte(with_auth ? kMethodUsernamePassword : kMethodNone);
  return out;
}

std::string check_method_choice(std::span<const uint8_t> reply, bool with_auth) {
  Decoder d(reply);
  const auto ver = d.byte();
  const auto method = d.byte();
  if (!d.at_end() || *ver != kVersion) return "SOCKS: the proxy does not speak SOCKS5";
  if (*method == kMethodNoAcceptable)
    return with_auth ? "SOCKS: the proxy does not accept username/password authentication"
                     : "SOCKS: the proxy requires authentication";
  if (*method != (with_auth ? kMethodUsernamePassword : kMethodNone))
    return "SOCKS: the proxy chose authentication method " + hex_byte(*method) + ", which was not offered";
  return "";
}

Bytes auth_request(std::string_view username, std::string_view password) {
  Bytes out;
  Encoder e(out);
  e.byte(kAuthVersion).short_string(as_bytes(username)).short_string(as_bytes(password));
  return out;
}

std::string check_auth_reply(std::span<const uint8_t> reply) {
  Decoder d(reply);
  const auto ver = d.byte();
  const auto status = d.byte();
  if (!d.at_end() || *ver != kAuthVersion) return "SOCKS: malformed authentication reply";
  if (*status != 0) return "SOCKS: the proxy rejected the username/password";
  return "";
}

Bytes connect_request(std::string_view host, uint16_t port) {
  if (host.empty()) throw std::invalid_argument("SOCKS: empty host name");
  Bytes out;
  Encoder e(out);
  e.byte(kVersion).byte(kCmdConnect).byte(0);
  if (const auto ip = ip_literal(host); ip && ip->is_v4()) {
    e.byte(kAtypIPv4).raw(ip->to_v4().to_bytes());
  } else if (ip) {
    e.byte(kAtypIPv6).raw(ip->to_v6().to_bytes());
  } else {
    e.byte(kAtypDomain).short_string(as_bytes(host));
  }
  e.word16(port);
  return out;
}

std::optional<size_t> reply_rest(std::span<const uint8_t> head) {
  if (head.size() < kReplyHead || head[0] != kVersion) return std::nullopt;
  // The first address byte is already in head; the port follows the address.
  switch (head[3]) {
    case kAtypIPv4: return 4 - 1 + 2;
    case kAtypIPv6: return 16 - 1 + 2;
    case kAtypDomain: return size_t{head[4]} + 2;
    default: return std::nullopt;
  }
}

std::optional<ConnectReply> parse_connect_reply(std::span<const uint8_t> reply) {
  Decoder d(reply);
  const auto ver = d.byte();
  ConnectReply r;
  r.code = d.byte().value_or(0);
  d.byte();  // RSV
  r.atyp = d.byte().value_or(0);
  if (!d.ok() || *ver != kVersion) return std::nullopt;
  if (r.atyp == kAtypIPv4) {
    const auto a = d.raw(4);
    if (!a) return std::nullopt;
    asio::ip::address_v4::bytes_type b;
    std::copy(a->begin(), a->end(), b.begin());
    r.bound_host = asio::ip::address_v4(b).to_string();
  } else if (r.atyp == kAtypIPv6) {
    const auto a = d.raw(16);
    if (!a) return std::nullopt;
    asio::ip::address_v6::bytes_type b;
    std::copy(a->begin(), a->end(), b.begin());
    r.bound_host = asio::ip::address_v6(b).to_string();
  } else if (r.atyp == kAtypDomain) {
    const auto name = d.short_string();
    if (!name) return std::nullopt;
    r.bound_host.assign(name->begin(), name->end());
  } else {
    return std::nullopt;
  }
  const auto port = d.word16();
  if (!port || !d.at_end()) return std::nullopt;
  r.bound_port = *port;
  return r;
}

std::string reply_text(uint8_t code) {
  switch (code) {
    // RFC 1928 §6
    case 0x00: return "succeeded";
    case 0x01: return "general SOCKS server failure";
    case 0x02: return "connection not allowed by ruleset";
    case 0x03: return "network unreachable";
    case 0x04: return "host unreachable";
    case 0x05: return "connection refused";
    case 0x06: return "TTL expired";
    case 0x07: return "command not supported";
    case 0x08: return "address type not supported";
    // Tor's extended errors for onion services (socks-extensions.txt, with ExtendedErrors)
    case 0xF0: return "onion service descriptor can not be found";
    case 0xF1: return "onion service descriptor is invalid";
    case 0xF2: return "onion service introduction failed";
    case 0xF3: return "onion service rendezvous failed";
    case 0xF4: return "onion service missing client authorization";
    case 0xF5: return "onion service wrong client authorization";
    case 0xF6: return "onion service invalid address";
    case 0xF7: return "onion service introduction timed out";
    default: return "unknown reply code " + hex_byte(code);
  }
}

bool is_onion(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  constexpr std::string_view suffix = ".onion";
  if (host.size() <= suffix.size()) return false;
  const auto tail = host.substr(host.size() - suffix.size());
  for (size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(tail[i])) != suffix[i]) return false;
  return true;
}

namespace {

// Shared with the deadline's handler, which may run after connect() has returned.
struct Deadline {
  bool expired = false;
  bool finished = false;
};

// Marks the attempt finished however the coroutine leaves, so a late deadline handler touches nothing.
struct FinishOnExit {
  std::shared_ptr<Deadline> state;
  asio::steady_timer& timer;
  ~FinishOnExit() {
    state->finished = true;
    timer.cancel();
  }
};

std::string describe(const asio::error_code& ec) {
  if (ec == asio::error::eof) return "connection closed";
  std::string m = ec.message();
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

}  // namespace

asio::awaitable<std::string> connect(asio::ip::tcp::socket& socket, const Proxy& proxy, std::string host,
                                     uint16_t port, std::chrono::steady_clock::duration timeout) {
  const std::string where = "SOCKS proxy " + proxy_text(proxy) + ": ";
  const auto ex = socket.get_executor();
  asio::ip::tcp::resolver resolver(ex);
  auto state = std::make_shared<Deadline>();
  asio::steady_timer timer(ex, timeout);
  FinishOnExit finish{state, timer};
  // The deadline ends whichever step is waiting: the proxy lookup or any socket operation.
  timer.async_wait([state, &socket, &resolver](const asio::error_code& ec) {
    if (ec || state->finished) return;
    state->expired = true;
    resolver.cancel();
    asio::error_code ignored;
    socket.close(ignored);
  });

  auto failed = [&](const std::string& text) {
    asio::error_code ignored;
    socket.close(ignored);
    return state->expired ? where + "timed out" : text;
  };
  auto io_failed = [&](const asio::error_code& ec) { return failed(where + describe(ec)); };

  // Only the proxy's own address is looked up locally (usually a literal); the destination never is.
  std::string proxy_host = proxy.host;
  if (proxy_host.size() > 2 && proxy_host.front() == '[' && proxy_host.back() == ']')
    proxy_host = proxy_host.substr(1, proxy_host.size() - 2);
  auto [rec, endpoints] = co_await resolver.async_resolve(proxy_host, std::to_string(proxy.port), use_nothrow);
  if (rec) co_return io_failed(rec);
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, use_nothrow);
  if (cec) co_return io_failed(cec);

  Bytes request;
  try {
    request = connect_request(host, port);
  } catch (const std::exception&) {
    co_return failed("SOCKS: invalid host name \"" + host + "\"");
  }

  const bool with_auth = proxy.with_auth();
  std::array<uint8_t, 2> two{};
  const Bytes hello = greeting(with_auth);
  auto [gec, gn] = co_await asio::async_write(socket, asio::buffer(hello), use_nothrow);
  if (gec) co_return io_failed(gec);
  auto [mec, mn] = co_await asio::async_read(socket, asio::buffer(two), use_nothrow);
  if (mec) co_return io_failed(mec);
  if (auto err = check_method_choice(two, with_auth); !err.empty()) co_return failed(err);

  if (with_auth) {
    Bytes auth;
    try {
      auth = auth_request(*proxy.username, *proxy.password);
    } catch (const std::exception&) {
      co_return failed("SOCKS: username or password longer than 255 bytes");
    }
    auto [aec, an] = co_await asio::async_write(socket, asio::buffer(auth), use_nothrow);
    if (aec) co_return io_failed(aec);
    auto [sec, sn] = co_await asio::async_read(socket, asio::buffer(two), use_nothrow);
    if (sec) co_return io_failed(sec);
    if (auto err = check_auth_reply(two); !err.empty()) co_return failed(err);
  }

  auto [cwec, cwn] = co_await asio::async_write(socket, asio::buffer(request), use_nothrow);
  if (cwec) co_return io_failed(cwec);
  // VER and REP first: a refusal is reported even if the proxy closes without the rest of the reply.
  Bytes reply(kReplyHead, 0);
  auto [hec, hn] = co_await asio::async_read(socket, asio::buffer(reply.data(), 2), use_nothrow);
  if (hec) co_return io_failed(hec);
  if (reply[0] != kVersion) co_return failed("SOCKS: malformed CONNECT reply");
  if (reply[1] != 0) co_return failed("SOCKS: " + reply_text(reply[1]));
  auto [tec, tn] = co_await asio::async_read(socket, asio::buffer(reply.data() + 2, kReplyHead - 2), use_nothrow);
  if (tec) co_return io_failed(tec);
  const auto rest = reply_rest(reply);
  if (!rest) co_return failed("SOCKS: malformed CONNECT reply");
  reply.resize(kReplyHead + *rest);
  auto [rrec, rrn] = co_await asio::async_read(socket, asio::buffer(reply.data() + kReplyHead, *rest), use_nothrow);
  if (rrec) co_return io_failed(rrec);
  if (!parse_connect_reply(reply)) co_return failed("SOCKS: malformed CONNECT reply");
  if (state->expired) co_return failed("");  // the deadline fired as the last read completed
  co_return "";
}

}  // namespace sr::socks
