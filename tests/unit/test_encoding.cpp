#include <catch2/catch.hpp>

#include <string>

#include "core/encoding.hpp"

using sr::Bytes;

namespace {

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

}  // namespace

TEST_CASE("base64url encodes the RFC 4648 vectors with padding", "[encoding]") {
  CHECK(sr::base64url_encode(sr::as_bytes("")) == "");
  CHECK(sr::base64url_encode(sr::as_bytes("f")) == "Zg==");
  CHECK(sr::base64url_encode(sr::as_bytes("fo")) == "Zm8=");
  CHECK(sr::base64url_encode(sr::as_bytes("foo")) == "Zm9v");
  CHECK(sr::base64url_encode(sr::as_bytes("foob")) == "Zm9vYg==");
  CHECK(sr::base64url_encode(sr::as_bytes("fooba")) == "Zm9vYmE=");
  CHECK(sr::base64url_encode(sr::as_bytes("foobar")) == "Zm9vYmFy");
}

TEST_CASE("base64url uses the URL-safe alphabet", "[encoding]") {
  CHECK(sr::base64url_encode(Bytes{0xfb, 0xef, 0xbe}) == "----");
  CHECK(sr::base64url_encode(Bytes{0xff, 0xff, 0xff}) == "____");
  CHECK(sr::base64url_encode(Bytes{0xfb, 0xff}) == "-_8=");
  CHECK(sr::base64url_decode("-_8=") == Bytes{0xfb, 0xff});
  CHECK(sr::base64url_decode("----") == Bytes{0xfb, 0xef, 0xbe});
}

TEST_CASE("base64url decodes padded and unpadded input", "[encoding]") {
  const std::pair<const char*, const char*> vectors[] = {
      {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, unpadded] : vectors) {
    INFO(plain);
    const std::string padded = sr::base64url_encode(sr::as_bytes(plain));
    CHECK(sr::base64url_decode(padded) == bytes_of(plain));
    CHECK(sr::base64url_decode(unpadded) == bytes_of(plain));
  }
  CHECK(sr::base64url_decode("") == Bytes{});
}

TEST_CASE("base64url rejects invalid input", "[encoding]") {
  for (const char* bad : {
           "Zm9v!",     // not in the alphabet
           "Zm+v",      // standard alphabet, not URL-safe
           "Zm/v",      //
           "Zm9v\n",    // whitespace
           " Zm9v",     //
           "Z",         // one character cannot end a group
           "Zm9vY",     //
           "Zg=",       // padding that does not complete the group
           "Zg===",     //
           "Zm9v=",     // padding after a complete group
           "=",         //
           "==",        //
           "Zm=9",      // padding in the middle
           "Zh==",      // non-zero unused bits (non-canonical)
           "Zm9=",      //
       }) {
    INFO(bad);
    CHECK_FALSE(sr::base64url_decode(bad).has_value());
  }
}

TEST_CASE("base64url round-trips every length", "[encoding]") {
  Bytes data;
  for (int n = 0; n < 70; ++n) {
    const std::string text = sr::base64url_encode(data);
    CHECK(text.size() == (data.size() + 2) / 3 * 4);
    CHECK(sr::base64url_decode(text) == data);
    std::string unpadded = text;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    CHECK(sr::base64url_decode(unpadded) == data);
    data.push_back(static_cast<uint8_t>(n * 37 + 11));
  }
}

TEST_CASE("standard base64 uses + and / and refuses the URL alphabet", "[encoding]") {
  const std::vector<uint8_t> b = {0xfb, 0xff};
  CHECK(sr::base64_encode(b) == "+/8=");
  CHECK(sr::base64_encode(sr::as_bytes("foobar")) == "Zm9vYmFy");
  CHECK(sr::base64_decode("+/8=") == std::optional<sr::Bytes>(b));
  CHECK_FALSE(sr::base64_decode("-_8="));
}
