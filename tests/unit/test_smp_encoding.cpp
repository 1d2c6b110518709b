#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/encoding.hpp"

using sr::Bytes;
using sr::Decoder;
using sr::Encoder;
using sr::VersionRange;

namespace {

Bytes encode(const std::function<void(Encoder&)>& write) {
  Bytes out;
  Encoder e(out);
  write(e);
  return out;
}

Bytes to_bytes(std::span<const uint8_t> s) { return Bytes(s.begin(), s.end()); }

Bytes filled(size_t n, uint8_t v) { return Bytes(n, v); }

// One well-formed encoding per wire type and the read that consumes it exactly.
struct Sample {
  const char* type;
  Bytes wire;
  std::function<bool(Decoder&)> read;  // true when the read returned a value
};

std::vector<Sample> samples() {
  const Bytes nonce = filled(24, 0xab);
  return {
      {"Char", {'x'}, [](Decoder& d) { return d.ch().has_value(); }},
      {"Bool", {'T'}, [](Decoder& d) { return d.boolean().has_value(); }},
      {"Word16", {1, 2}, [](Decoder& d) { return d.word16().has_value(); }},
      {"Word32", {1, 2, 3, 4}, [](Decoder& d) { return d.word32().has_value(); }},
      {"Int64", {0x11, 0x22, 0x10, 0xF4, 0x7D, 0xE9, 0x81, 0x15}, [](Decoder& d) { return d.int64().has_value(); }},
      {"SystemTime", {0, 0, 0, 0, 0x61, 0xD0, 0x2B, 0xC5}, [](Decoder& d) { return d.system_time().has_value(); }},
      {"ByteString", {3, 'a', 'b', 'c'}, [](Decoder& d) { return d.short_string().has_value(); }},
      {"Large", {0, 3, 'a', 'b', 'c'}, [](Decoder& d) { return d.large().has_value(); }},
      {"CbNonce", nonce, [](Decoder& d) { return d.raw(24).has_value(); }},
      {"list count", {2}, [](Decoder& d) { return d.list_count().has_value(); }},
      {"NonEmpty count", {1}, [](Decoder& d) { return d.non_empty_count().has_value(); }},
      {"VersionRange", {0, 6, 0, 16}, [](Decoder& d) { return d.version_range().has_value(); }},
      {"Maybe Word16", {'1', 0, 7},
       [](Decoder& d) { return d.maybe([](Decoder& x) { return x.word16(); }).has_value(); }},
  };
}

}  // namespace

TEST_CASE("smpEncode known answers from the reference tests", "[smp-encoding]") {
  const Bytes int64_wire{0x11, 0x22, 0x10, 0xF4, 0x7D, 0xE9, 0x81, 0x15};
  CHECK(encode([](Encoder& e) { e.int64(1234567890123456789); }) == int64_wire);
  Decoder d1(int64_wire);
  CHECK(d1.int64() == 1234567890123456789);
  CHECK(d1.at_end());

  // 2022-01-01T10:24:05Z
  const Bytes time_wire{0x00, 0x00, 0x00, 0x00, 0x61, 0xD0, 0x2B, 0xC5};
  const std::chrono::sys_seconds t{std::chrono::seconds{1641032645}};
  CHECK(encode([&](Encoder& e) { e.system_time(t); }) == time_wire);
  Decoder d2(time_wire);
  CHECK(d2.system_time() == t);
  CHECK(d2.at_end());
}

TEST_CASE("smpEncode integers are big-endian and Int64 is two's complement", "[smp-encoding]") {
  CHECK(encode([](Encoder& e) { e.word16(0x0102); }) == Bytes{0x01, 0x02});
  CHECK(encode([](Encoder& e) { e.word32(0x01020304); }) == Bytes{0x01, 0x02, 0x03, 0x04});
  CHECK(encode([](Encoder& e) { e.int64(-1); }) == filled(8, 0xff));
  CHECK(encode([](Encoder& e) { e.int64(-2); }) == Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe});

  const int64_t extremes[] = {0, -1, INT64_MIN, INT64_MAX, -1234567890123456789};
  for (const int64_t v : extremes) {
    const Bytes wire = encode([&](Encoder& e) { e.int64(v); });
    Decoder d(wire);
    CHECK(d.int64() == v);
  }
}

TEST_CASE("smpEncode SystemTime drops the sub-second part, flooring", "[smp-encoding]") {
  using namespace std::chrono;
  const auto base = system_clock::time_point{seconds{1641032645}};
  CHECK(encode([&](Encoder& e) { e.system_time(base + milliseconds{999}); }) ==
        encode([](Encoder& e) { e.int64(1641032645); }));
  // Before the epoch the whole second below is taken, as systemSeconds does.
  CHECK(encode([](Encoder& e) { e.system_time(system_clock::time_point{milliseconds{-500}}); }) ==
        encode([](Encoder& e) { e.int64(-1); }));
}

TEST_CASE("smpEncode round trips every wire type", "[smp-encoding]") {
  const Bytes s255 = filled(255, 's');
  const Bytes l65535 = filled(65535, 'L');
  const Bytes nonce = filled(24, 0x5a);
  const std::chrono::sys_seconds t{std::chrono::seconds{-5}};
  const std::optional<uint32_t> nothing;
  const std::optional<uint32_t> just = 0xdeadbeef;
  const auto put_w32 = [](Encoder& e, uint32_t v) { e.word32(v); };

  Bytes wire;
  Encoder e(wire);
  e.byte(0x00)
      .ch('z')
      .boolean(true)
      .boolean(false)
      .word16(0xfffe)
      .word32(0x80000001)
      .int64(INT64_MIN)
      .system_time(t)
      .short_string({})
      .short_string(s255)
      .large({})
      .large(l65535)
      .raw(nonce)
      .list_count(0)
      .list_count(255)
      .version_range({1, 1})
      .version_range({6, 16})
      .maybe(nothing, put_w32)
      .maybe(just, put_w32)
      .tail(sr::as_bytes("the rest"));

  Decoder d(wire);
  const auto w32 = [](Decoder& x) { return x.word32(); };
  CHECK(d.byte() == 0x00);
  CHECK(d.ch() == 'z');
  CHECK(d.boolean() == true);
  CHECK(d.boolean() == false);
  CHECK(d.word16() == 0xfffe);
  CHECK(d.word32() == 0x80000001);
  CHECK(d.int64() == INT64_MIN);
  CHECK(d.system_time() == t);
  const auto empty_short = d.short_string();
  REQUIRE(empty_short);
  CHECK(empty_short->empty());
  const auto short255 = d.short_string();
  REQUIRE(short255);
  CHECK(to_bytes(*short255) == s255);
  const auto empty_large = d.large();
  REQUIRE(empty_large);
  CHECK(empty_large->empty());
  const auto large65535 = d.large();
  REQUIRE(large65535);
  CHECK(to_bytes(*large65535) == l65535);
  const auto n = d.raw(24);
  REQUIRE(n);
  CHECK(to_bytes(*n) == nonce);
  CHECK(d.list_count() == 0);
  CHECK(d.list_count() == 255);
  CHECK(d.version_range() == VersionRange{1, 1});
  CHECK(d.version_range() == VersionRange{6, 16});
  CHECK(d.maybe(w32) == std::optional<std::optional<uint32_t>>{nothing});
  CHECK(d.maybe(w32) == std::optional<std::optional<uint32_t>>{just});
  CHECK(!d.at_end());
  CHECK(to_bytes(d.rest()) == to_bytes(sr::as_bytes("the rest")));
  CHECK(d.ok());
  CHECK(d.at_end());
}

TEST_CASE("smpEncode length prefixes and tags have the documented bytes", "[smp-encoding]") {
  CHECK(encode([](Encoder& e) { e.boolean(true).boolean(false); }) == Bytes{'T', 'F'});
  CHECK(encode([](Encoder& e) { e.short_string(sr::as_bytes("abc")); }) == Bytes{3, 'a', 'b', 'c'});
  CHECK(encode([](Encoder& e) { e.large(sr::as_bytes("abc")); }) == Bytes{0, 3, 'a', 'b', 'c'});
  CHECK(encode([](Encoder& e) { e.version_range({6, 16}); }) == Bytes{0, 6, 0, 16});
  const auto put_b = [](Encoder& e, bool b) { e.boolean(b); };
  CHECK(encode([&](Encoder& e) { e.maybe(std::optional<bool>{}, put_b); }) == Bytes{'0'});
  CHECK(encode([&](Encoder& e) { e.maybe(std::optional<bool>{true}, put_b); }) == Bytes{'1', 'T'});
  CHECK(encode([](Encoder& e) { e.list_count(3); }) == Bytes{3});
  CHECK(encode([](Encoder& e) { e.tail(sr::as_bytes("xy")); }) == Bytes{'x', 'y'});
}

TEST_CASE("smpEncode encoder refuses values the wire cannot carry", "[smp-encoding]") {
  Bytes out{0x42};
  Encoder e(out);
  CHECK_THROWS_AS(e.short_string(filled(256, 0)), std::length_error);
  CHECK_THROWS_AS(e.large(filled(65536, 0)), std::length_error);
  CHECK_THROWS_AS(e.list_count(256), std::length_error);
  CHECK_THROWS_AS(e.version_range({3, 2}), std::invalid_argument);
  // Nothing is written by a refused value: no truncated length byte is left behind.
  CHECK(out == Bytes{0x42});
}

TEST_CASE("smpEncode decoder fails on every truncated input", "[smp-encoding]") {
  for (const auto& s : samples()) {
    INFO(s.type);
    {
      Decoder whole(s.wire);
      CHECK(s.read(whole));
      CHECK(whole.at_end());
    }
    for (size_t len = 0; len < s.wire.size(); ++len) {
      INFO("prefix length " << len);
      Decoder d(std::span<const uint8_t>(s.wire).first(len));
      CHECK_FALSE(s.read(d));
      CHECK_FALSE(d.ok());
      CHECK_FALSE(d.at_end());
      CHECK(d.remaining() == 0);
    }
  }
}

TEST_CASE("smpEncode decoder rejects a Bool other than T or F", "[smp-encoding]") {
  for (const uint8_t b : {uint8_t{0}, uint8_t{1}, uint8_t{'t'}, uint8_t{'f'}, uint8_t{'1'}, uint8_t{0xff}}) {
    INFO(int{b});
    const Bytes wire{b};
    Decoder d(wire);
    CHECK_FALSE(d.boolean());
    CHECK_FALSE(d.ok());
  }
}

TEST_CASE("smpEncode decoder rejects a Maybe tag other than ASCII 0 or 1", "[smp-encoding]") {
  const auto w16 = [](Decoder& x) { return x.word16(); };
  for (const uint8_t tag : {uint8_t{0}, uint8_t{1}, uint8_t{'2'}, uint8_t{'T'}}) {
    INFO(int{tag});
    const Bytes wire{tag, 0, 7};
    Decoder d(wire);
    CHECK_FALSE(d.maybe(w16));
    CHECK_FALSE(d.ok());
  }
  SECTION("a Just whose value is malformed fails") {
    const Bytes wire{'1', 'X'};
    Decoder d(wire);
    CHECK_FALSE(d.maybe([](Decoder& x) { return x.boolean(); }));
    CHECK_FALSE(d.ok());
  }
  SECTION("Nothing consumes only the tag") {
    const Bytes wire{'0', 'T'};
    Decoder d(wire);
    const auto m = d.maybe(w16);
    REQUIRE(m);
    CHECK_FALSE(m->has_value());
    CHECK(d.remaining() == 1);
    CHECK(d.boolean() == true);
    CHECK(d.at_end());
  }
}

TEST_CASE("smpEncode decoder rejects a VersionRange with min above max", "[smp-encoding]") {
  const Bytes wire{0, 7, 0, 6};
  Decoder d(wire);
  CHECK_FALSE(d.version_range());
  CHECK_FALSE(d.ok());
}

TEST_CASE("smpEncode NonEmpty count 0 fails while a list count 0 is fine", "[smp-encoding]") {
  const Bytes zero{0};
  Decoder list(zero);
  CHECK(list.list_count() == 0);
  CHECK(list.at_end());
  Decoder non_empty(zero);
  CHECK_FALSE(non_empty.non_empty_count());
  CHECK_FALSE(non_empty.ok());
}

TEST_CASE("smpEncode decoder failure is sticky", "[smp-encoding]") {
  const Bytes wire{'X', 'T', 'F', 0, 1};
  Decoder d(wire);
  CHECK_FALSE(d.boolean());
  // The remaining bytes are well-formed but a failed decoder reads nothing more.
  CHECK_FALSE(d.boolean());
  CHECK_FALSE(d.word16());
  CHECK(d.rest().empty());
  CHECK(d.remaining() == 0);
  CHECK_FALSE(d.ok());
  CHECK_FALSE(d.at_end());

  Decoder marked(wire);
  marked.fail();
  CHECK_FALSE(marked.ch());
}

TEST_CASE("smpEncode Tail takes everything left and may be empty", "[smp-encoding]") {
  const Bytes wire{2, 'h', 'i', 'a', 'b', 'c'};
  Decoder d(wire);
  const auto s = d.short_string();
  REQUIRE(s);
  CHECK(to_bytes(*s) == Bytes{'h', 'i'});
  CHECK(d.remaining() == 3);
  const auto tail = d.rest();
  CHECK(to_bytes(tail) == Bytes{'a', 'b', 'c'});
  CHECK(d.at_end());
  CHECK(d.rest().empty());
  CHECK(d.ok());
  // Reading past the end after the Tail is a truncation.
  CHECK_FALSE(d.byte());
  CHECK_FALSE(d.ok());
}

TEST_CASE("smpEncode at_end means all input consumed without failure", "[smp-encoding]") {
  const Bytes empty;
  CHECK(Decoder(empty).at_end());

  const Bytes wire{'T', 'F'};
  Decoder d(wire);
  CHECK_FALSE(d.at_end());
  CHECK(d.boolean() == true);
  CHECK_FALSE(d.at_end());
  CHECK(d.remaining() == 1);
  CHECK(d.boolean() == false);
  CHECK(d.at_end());

  // Trailing bytes are left for the caller to judge (the handshake ignores them, batches refuse them).
  const Bytes trailing{'T', 0};
  Decoder t(trailing);
  CHECK(t.boolean() == true);
  CHECK(t.ok());
  CHECK_FALSE(t.at_end());
}

TEST_CASE("smpEncode decoded strings are views into the input", "[smp-encoding]") {
  const Bytes wire{3, 'a', 'b', 'c', 0, 1, 'd'};
  Decoder d(wire);
  const auto s = d.short_string();
  const auto l = d.large();
  REQUIRE(s);
  REQUIRE(l);
  CHECK(s->data() == wire.data() + 1);
  CHECK(l->data() == wire.data() + 6);
  CHECK(d.at_end());
}
