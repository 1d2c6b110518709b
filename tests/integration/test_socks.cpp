// The SOCKS5 client against a real (test) proxy over 127.0.0.1: names reach the proxy unresolved, credentials
// are sent, and every failure reads as a clear text.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "core/socks.hpp"
#include "harness.hpp"
#include "socks_server.hpp"

using namespace sr::test;
namespace socks = sr::socks;

namespace {

const std::string kOnion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion";

struct Outcome {
  std::string error;   // from socks::connect, "" on success
  std::string echoed;  // what came back through the tunnel
};

asio::awaitable<void> exchange(asio::ip::tcp::socket& socket, const socks::Proxy& proxy, std::string host,
                               uint16_t port, Outcome& out) {
  out.error = co_await socks::connect(socket, proxy, std::move(host), port, std::chrono::seconds(20));
  if (!out.error.empty()) co_return;
  const std::string hello = "hello through the proxy";
  co_await asio::async_write(socket, asio::buffer(hello), asio::use_awaitable);
  std::string back(hello.size(), '\0');
  co_await asio::async_read(socket, asio::buffer(back), asio::use_awaitable);
  out.echoed = back;
}

Outcome through(const socks::Proxy& proxy, const std::string& host, uint16_t port) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  Outcome out;
  asio::co_spawn(io, exchange(socket, proxy, host, port, out), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return out;
}

socks::Proxy local_proxy(uint16_t port) {
  socks::Proxy p;
  p.host = "127.0.0.1";
  p.port = port;
  return p;
}

}  // namespace

TEST_CASE("an onion host reaches the proxy as the name, and the stream carries data", "[socks]") {
  EchoServer echo;
  SocksServer proxy({{{kOnion, echo.port()}}, std::nullopt});

  const auto out = through(local_proxy(proxy.port()), kOnion, 5223);
  CHECK(out.error == "");
  CHECK(out.echoed == "hello through the proxy");

  const auto requests = proxy.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].atyp == 3);  // a domain name, not an address resolved here
  CHECK(requests[0].host == kOnion);
  CHECK(requests[0].port == 5223);
}

TEST_CASE("a clearnet name is not resolved locally either", "[socks]") {
  EchoServer echo;
  SocksServer proxy({{{"localhost", echo.port()}}, std::nullopt});

  const auto out = through(local_proxy(proxy.port()), "localhost", 443);
  CHECK(out.error == "");
  CHECK(out.echoed == "hello through the proxy");
  const auto requests = proxy.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].atyp == 3);
  CHECK(requests[0].host == "localhost");
}

TEST_CASE("username/password authentication", "[socks]") {
  EchoServer echo;
  SocksServer proxy({{{kOnion, echo.port()}}, std::make_pair(std::string("alice"), std::string("secret"))});
  auto p = local_proxy(proxy.port());
  p.username = "alice";

  SECTION("right credentials open the stream") {
    p.password = "secret";
    const auto out = through(p, kOnion, 5223);
    CHECK(out.error == "");
    CHECK(out.echoed == "hello through the proxy");
    const auto logins = proxy.logins();
    REQUIRE(logins.size() == 1);
    CHECK(logins[0] == std::make_pair(std::string("alice"), std::string("secret")));
    REQUIRE(proxy.requests().size() == 1);
  }
  SECTION("a wrong password is a clear error and no CONNECT is sent") {
    p.password = "guess";
    const auto out = through(p, kOnion, 5223);
    CHECK(out.error == "SOCKS: the proxy rejected the username/password");
    CHECK(proxy.requests().empty());
  }
  SECTION("no credentials when the proxy requires them") {
    const auto out = through(local_proxy(proxy.port()), kOnion, 5223);
    CHECK(out.error == "SOCKS: the proxy requires authentication");
    CHECK(proxy.requests().empty());
  }
}

TEST_CASE("an unknown host gives the proxy's host unreachable", "[socks]") {
  SocksServer proxy({{}, std::nullopt});
  const auto out = through(local_proxy(proxy.port()), "nosuchhost.onion", 5223);
  CHECK(out.error == "SOCKS: host unreachable");
  const auto requests = proxy.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].host == "nosuchhost.onion");
}

TEST_CASE("a destination refusing the proxy's connection is reported", "[socks]") {
  SocksServer proxy({{{kOnion, free_port()}}, std::nullopt});
  const auto out = through(local_proxy(proxy.port()), kOnion, 5223);
  CHECK(out.error == "SOCKS: connection refused");
}

TEST_CASE("a closed proxy port names the proxy", "[socks]") {
  const uint16_t port = free_port();
  const auto out = through(local_proxy(port), kOnion, 5223);
  CHECK(out.error == "SOCKS proxy 127.0.0.1:" + std::to_string(port) + ": connection refused");
}
