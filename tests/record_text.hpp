// Helpers for the store-log record tests of both roles: a line that must parse, and the base64url values the
// spec's example lines carry.
#pragma once
#include <catch2/catch.hpp>

#include <string>
#include <variant>

#include "core/crypto.hpp"
#include "core/encoding.hpp"

namespace sr::test {

// The record a parser returned for `line`, or a test failure naming the parse error.
template <class Record>
Record parsed_ok(std::variant<Record, std::string> r, const std::string& line) {
  if (auto* err = std::get_if<std::string>(&r)) FAIL("parse error: " << *err << " - " << line);
  return std::get<Record>(std::move(r));
}

inline Bytes b64d(const std::string& s) { return *base64url_decode(s); }
inline crypto::PublicKey key_of(const std::string& s) { return *crypto::decode_spki(b64d(s)); }

}  // namespace sr::test
