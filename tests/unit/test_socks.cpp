// SOCKS5 codec (RFC 1928, RFC 1929): the bytes sent to the proxy and the reading of its replies.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "core/socks.hpp"
#include "hex.hpp"

using sr::Bytes;
using sr::test::hex;
namespace socks = sr::socks;

TEST_CASE("greeting offers no authentication, or only username/password with credentials", "[socks]") {
  CHECK(socks::greeting(false) == hex("050100"));
  CHECK(socks::greeting(true) == hex("050102"));
}

TEST_CASE("method choice is checked against the offer", "[socks]") {
  CHECK(socks::check_method_choice(hex("0500"), false) == "");
  CHECK(socks::check_method_choice(hex("0502"), true) == "");
  CHECK(socks::check_method_choice(hex("05ff"), false) == "SOCKS: the proxy requires authentication");
  CHECK(socks::check_method_choice(hex("05ff"), true) ==
        "SOCKS: the proxy does not accept username/password authentication");
  // A method we did not offer (no authentication while we want isolation by credentials) is refused.
  CHECK(socks::check_method_choice(hex("0500"), true) ==
        "SOCKS: the proxy chose authentication method 0x00, which was not offered");
  CHECK(socks::check_method_choice(hex("0400"), false) == "SOCKS: the proxy does not speak SOCKS5");
  CHECK(socks::check_method_choice(hex("05"), false) == "SOCKS: the proxy does not speak SOCKS5");
}

TEST_CASE("username/password sub-negotiation", "[socks]") {
  CHECK(socks::auth_request("user", "pw") == hex("010475736572" "02" "7077"));
  CHECK(socks::auth_request("", "") == hex("010000"));
  CHECK_THROWS_AS(socks::auth_request(std::string(256, 'u'), "p"), std::length_error);
  CHECK_NOTHROW(socks::auth_request(std::string(255, 'u'), std::string(255, 'p')));

  CHECK(socks::check_auth_reply(hex("0100")) == "");
  CHECK(socks::check_auth_reply(hex("0101")) == "SOCKS: the proxy rejected the username/password");
  CHECK(socks::check_auth_reply(hex("0500")) == "SOCKS: malformed authentication reply");
}

TEST_CASE("CONNECT sends names as a domain name, never as an address", "[socks]") {
  const std::string onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion";
  Bytes expected = hex("05010003");
  expected.push_back(static_cast<uint8_t>(onion.size()));
  expected.insert(expected.end(), onion.begin(), onion.end());
  expected.push_back(0x14);  // 5223
  expected.push_back(0x67);
  CHECK(socks::connect_request(onion, 5223) == expected);

  CHECK(socks::connect_request("smp.example.com", 443) == hex("05010003" "0f" "736d702e6578616d706c652e636f6d" "01bb"));
  // A name that merely looks numeric is still a name.
  CHECK(socks::connect_request("1.2.3", 80) == hex("05010003" "05" "312e322e33" "0050"));
}

TEST_CASE("CONNECT sends IP literals as addresses", "[socks]") {
  CHECK(socks::connect_request("127.0.0.1", 5223) == hex("05010001" "7f000001" "1467"));
  CHECK(socks::connect_request("::1", 443) == hex("05010004" "00000000000000000000000000000001" "01bb"));
  CHECK(socks::connect_request("[2001:db8::2]", 443) == hex("05010004" "20010db8000000000000000000000002" "01bb"));
}

TEST_CASE("CONNECT refuses names the wire cannot carry", "[socks]") {
  CHECK_THROWS_AS(socks::connect_request(std::string(256, 'a'), 1), std::length_error);
  CHECK_NOTHROW(socks::connect_request(std::string(255, 'a'), 1));
  CHECK_THROWS_AS(socks::connect_request("", 1), std::invalid_argument);
}

TEST_CASE("CONNECT reply length is known from its first five bytes", "[socks]") {
  CHECK(socks::reply_rest(hex("0500000100")) == 5u);   // 3 more address bytes + port
  CHECK(socks::reply_rest(hex("0500000400")) == 17u);  // 15 more address bytes + port
  CHECK(socks::reply_rest(hex("0500000307")) == 9u);   // 7 name bytes + port
  CHECK_FALSE(socks::reply_rest(hex("0500000200")));   // unknown ATYP
  CHECK_FALSE(socks::reply_rest(hex("0400000100")));
  CHECK_FALSE(socks::reply_rest(hex("05000001")));
}

TEST_CASE("CONNECT reply with each address type", "[socks]") {
  auto v4 = socks::parse_connect_reply(hex("05000001" "7f000001" "1f90"));
  REQUIRE(v4);
  CHECK(v4->code == 0);
  CHECK(v4->atyp == 1);
  CHECK(v4->bound_host == "127.0.0.1");
  CHECK(v4->bound_port == 8080);

  auto v6 = socks::parse_connect_reply(hex("05000004" "00000000000000000000000000000001" "0050"));
  REQUIRE(v6);
  CHECK(v6->bound_host == "::1");
  CHECK(v6->bound_port == 80);

  auto name = socks::parse_connect_reply(hex("05040003" "03" "616263" "0001"));
  REQUIRE(name);
  CHECK(name->code == 4);
  CHECK(name->bound_host == "abc");
  CHECK(name->bound_port == 1);

  CHECK_FALSE(socks::parse_connect_reply(hex("05000001" "7f000001" "1f")));      // short
  CHECK_FALSE(socks::parse_connect_reply(hex("05000001" "7f000001" "1f9000")));  // trailing byte
  CHECK_FALSE(socks::parse_connect_reply(hex("05000005" "7f000001" "1f90")));    // unknown ATYP
  CHECK_FALSE(socks::parse_connect_reply(hex("04000001" "7f000001" "1f90")));    // not SOCKS5
}

TEST_CASE("reply codes read as text", "[socks]") {
  CHECK(socks::reply_text(0x01) == "general SOCKS server failure");
  CHECK(socks::reply_text(0x02) == "connection not allowed by ruleset");
  CHECK(socks::reply_text(0x03) == "network unreachable");
  CHECK(socks::reply_text(0x04) == "host unreachable");
  CHECK(socks::reply_text(0x05) == "connection refused");
  CHECK(socks::reply_text(0x06) == "TTL expired");
  CHECK(socks::reply_text(0x07) == "command not supported");
  CHECK(socks::reply_text(0x08) == "address type not supported");
  CHECK(socks::reply_text(0xF0) == "onion service descriptor can not be found");
  CHECK(socks::reply_text(0x42) == "unknown reply code 0x42");
}

TEST_CASE("onion hosts are recognised by their suffix", "[socks]") {
  CHECK(socks::is_onion("abcdef.onion"));
  CHECK(socks::is_onion("ABCDEF.ONION"));
  CHECK(socks::is_onion("smp.abcdef.Onion"));
  CHECK(socks::is_onion("abcdef.onion."));
  CHECK_FALSE(socks::is_onion(".onion"));
  CHECK_FALSE(socks::is_onion("onion"));
  CHECK_FALSE(socks::is_onion("abcdef.onion.example.com"));
  CHECK_FALSE(socks::is_onion("notonion"));
  CHECK_FALSE(socks::is_onion("127.0.0.1"));
  CHECK_FALSE(socks::is_onion(""));
}

TEST_CASE("proxy text brackets IPv6 literals", "[socks]") {
  CHECK(socks::proxy_text({"127.0.0.1", 9050, {}, {}}) == "127.0.0.1:9050");
  CHECK(socks::proxy_text({"::1", 9150, {}, {}}) == "[::1]:9150");
  CHECK(socks::proxy_text({"localhost", 9050, {}, {}}) == "localhost:9050");
}
