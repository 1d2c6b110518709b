#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "core/chunk_store.hpp"
#include "core/config.hpp"
#include "core/encoding.hpp"
#include "tests/text_files.hpp"

using namespace sr::chunks;
namespace fs = std::filesystem;

namespace {

sr::Bytes id_of(const std::string& s) { return sr::Bytes(s.begin(), s.end()); }

Upload begin_ok(ChunkStore& st, const sr::Bytes& id) {
  auto r = st.begin(id);
  REQUIRE(std::holds_alternative<Upload>(r));
  return std::move(std::get<Upload>(r));
}

// Reserves, writes and commits one chunk.
void put(ChunkStore& st, const sr::Bytes& id, const std::string& content) {
  REQUIRE(st.reserve(id, content.size()).ok());
  auto up = begin_ok(st, id);
  REQUIRE_FALSE(up.write(sr::as_bytes(content)));
  REQUIRE_FALSE(up.commit());
}

std::string read_all(ChunkStore& st, const sr::Bytes& id) {
  auto r = st.open_read(id);
  REQUIRE(std::holds_alternative<Reader>(r));
  auto& rd = std::get<Reader>(r);
  std::string out;
  std::vector<uint8_t> buf(7);
  while (size_t n = rd.read(buf)) out.append(buf.begin(), buf.begin() + static_cast<long>(n));
  return out;
}

std::vector<std::string> dir_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("chunk files are named base64url(id) in the store directory, as the reference names them", "[chunks]") {
  // The reference's example: FPUT's path decodes to /srv/xftp/c92P2-zHd3OC2pYwL82DeQ== (server-operations §4.6).
  const auto id = *sr::base64url_decode("c92P2-zHd3OC2pYwL82DeQ==");
  CHECK(ChunkStore("/srv/xftp/", std::nullopt).path_of(id).string() == "/srv/xftp/c92P2-zHd3OC2pYwL82DeQ==");
  CHECK(ChunkStore("/srv/xftp", std::nullopt).path_of(id).string() == "/srv/xftp/c92P2-zHd3OC2pYwL82DeQ==");

  sr::test::TempDir tmp;
  ChunkStore st(tmp.path, std::nullopt);
  st.open();
  put(st, id, "chunk");
  CHECK(dir_names(tmp.path) == std::vector<std::string>{"c92P2-zHd3OC2pYwL82DeQ=="});
  CHECK(sr::test::read_text(tmp / "c92P2-zHd3OC2pYwL82DeQ==") == "chunk");
}

TEST_CASE("a reservation that does not fit the quota is refused; pending uploads count", "[chunks]") {
  sr::test::TempDir tmp;
  ChunkStore st(tmp.path, sr::config::parse_size("1kb"));  // the reference's quota syntax, 1024-based
  st.open();
  REQUIRE(st.quota() == 1024u);

  REQUIRE(st.reserve(id_of("a"), 600).ok());  // reserved, nothing written yet
  CHECK(st.used() == 600);
  auto refused = st.reserve(id_of("b"), 500);
  CHECK(refused.error == Error::Quota);
  CHECK(refused.evicted.empty());
  CHECK(st.used() == 600);
  CHECK_FALSE(st.pending_size(id_of("b")));

  CHECK(st.reserve(id_of("b"), 424).ok());  // exactly up to the quota is allowed (used + size <= quota)
  CHECK(st.reserve(id_of("c"), 1).error == Error::Quota);

  // Committing does not change the count; releasing a reservation frees it.
  auto up = begin_ok(st, id_of("a"));
  REQUIRE_FALSE(up.write(sr::as_bytes(std::string(600, 'x'))));
  REQUIRE_FALSE(up.commit());
  CHECK(st.used() == 1024);
  CHECK(st.remove(id_of("b")));
  CHECK(st.used() == 600);
  CHECK(st.reserve(id_of("c"), 424).ok());

  // A second reservation of the same id is refused whatever the quota.
  CHECK(st.reserve(id_of("c"), 1).error == Error::Duplicate);
  CHECK(st.reserve(id_of("a"), 1).error == Error::Committed);

  SECTION("no quota: anything fits") {
    ChunkStore unlimited(tmp / "u", std::nullopt);
    unlimited.open();
    CHECK(unlimited.reserve(id_of("x"), uint64_t{1} << 62).ok());
  }
}

TEST_CASE("evict_oldest deletes the oldest committed chunks to make room and names them", "[chunks]") {
  sr::test::TempDir tmp;
  ChunkStore st(tmp.path, 300, Options{.evict_oldest = true});
  st.open();
  put(st, id_of("first"), std::string(100, '1'));
  put(st, id_of("second"), std::string(100, '2'));
  put(st, id_of("third"), std::string(100, '3'));
  CHECK(st.committed_ids() == std::vector<sr::Bytes>{id_of("first"), id_of("second"), id_of("third")});

  auto r = st.reserve(id_of("new"), 150);
  REQUIRE(r.ok());
  CHECK(r.evicted == std::vector<sr::Bytes>{id_of("first"), id_of("second")});
  CHECK_FALSE(fs::exists(st.path_of(id_of("first"))));
  CHECK_FALSE(fs::exists(st.path_of(id_of("second"))));
  CHECK(read_all(st, id_of("third")) == std::string(100, '3'));
  CHECK(st.used() == 250);

  // Reservations are never evicted: 150 pending + 200 cannot fit in 300, so nothing is deleted.
  auto refused = st.reserve(id_of("big"), 200);
  CHECK(refused.error == Error::Quota);
  CHECK(refused.evicted.empty());
  CHECK(st.committed_size(id_of("third")) == 100u);
  CHECK(st.reserve(id_of("huge"), 301).error == Error::Quota);

  SECTION("without the option nothing is evicted") {
    ChunkStore plain(tmp / "plain", 200);
    plain.open();
    put(plain, id_of("a"), std::string(150, 'a'));
    auto r2 = plain.reserve(id_of("b"), 100);
    CHECK(r2.error == Error::Quota);
    CHECK(r2.evicted.empty());
    CHECK(plain.committed_size(id_of("a")) == 150u);
  }
}

TEST_CASE("an upload must write exactly the reserved size", "[chunks]") {
  sr::test::TempDir tmp;
  ChunkStore st(tmp.path, std::nullopt);
  st.open();
  const auto id = id_of("chunk");
  REQUIRE(st.reserve(id, 5).ok());

  SECTION("short: commit refused, the upload stays open") {
    auto up = begin_ok(st, id);
    REQUIRE_FALSE(up.write(sr::as_bytes("abc")));
    CHECK(up.commit() == Error::Size);
    CHECK_FALSE(st.committed_size(id));
    REQUIRE_FALSE(up.write(sr::as_bytes("de")));
    CHECK_FALSE(up.commit());
    CHECK(read_all(st, id) == "abcde");
  }
  SECTION("long: the overflowing piece is refused and not written") {
    auto up = begin_ok(st, id);
    REQUIRE_FALSE(up.write(sr::as_bytes("abc")));
    CHECK(up.write(sr::as_bytes("def")) == Error::Size);
    CHECK(up.written() == 3);
    up.abort();
    CHECK(dir_names(tmp.path).empty());
    CHECK_FALSE(st.committed_size(id));
  }
}

TEST_CASE("a committed chunk is immutable; one upload per id at a time", "[chunks]") {
  sr::test::TempDir tmp;
  ChunkStore st(tmp.path, std::nullopt);
  st.open();
  const auto id = id_of("chunk");
  REQUIRE(st.reserve(id, 3).ok());
  {
    auto up = begin_ok(st, id);
    auto second = st.begin(id);
    REQUIRE(std::holds_alternative<Error>(second));
    CHECK(std::get<Error>(second) == Error::Busy);
    REQUIRE_FALSE(up.write(sr::as_bytes("old")));
    REQUIRE_FALSE(up.commit());
  }
  auto again = st.begin(id);
  REQUIRE(std::holds_alternative<Error>(again));
  CHECK(std::get<Error>(again) == Error::Committed);
  CHECK(st.reserve(id, 3).error == Error::Committed);
  CHECK(read_all(st, id) == "old");

  auto unknown = st.begin(id_of("never reserved"));
  REQUIRE(std::holds_alternative<Error>(unknown));
  CHECK(std::get<Error>(unknown) == Error::NotReserved);
}

TEST_CASE("abort deletes the partial file and keeps the reservation for a retry", "[chunks]") {
  sr::test::TempDir tmp;
  ChunkStore st(tmp.path, 10);
  st.open();
  const auto id = id_of("chunk");
  REQUIRE(st.reserve(id, 4).ok());
  {
    auto up = begin_ok(st, id);
    REQUIRE_FALSE(up.write(sr::as_bytes("ab")));
    CHECK(dir_names(tmp.path).size() == 1);  // the partial file
    up.abort();
  }
  CHECK(dir_names(tmp.path).empty());
  CHECK(st.pending_size(id) == 4u);
  CHECK(st.used() == 4);
  {
    auto up = begin_ok(st, id);  // destroyed without commit: aborted too
    REQUIRE_FALSE(up.write(sr::as_bytes("xy")));
  }
  CHECK(dir_names(tmp.path).empty());
  auto up = begin_ok(st, id);
  REQUIRE_FALSE(up.write(sr::as_bytes("abcd")));
  REQUIRE_FALSE(up.commit());
  CHECK(read_all(st, id) == "abcd");
}

TEST_CASE("remove frees the bytes and the file; an upload removed meanwhile cannot commit", "[chunks]") {
  sr::test::TempDir tmp;
  ChunkStore st(tmp.path, 100);
  st.open();
  put(st, id_of("a"), std::string(60, 'a'));
  CHECK(st.used() == 60);
  CHECK(st.remove(id_of("a")));
  CHECK(st.used() == 0);
  CHECK_FALSE(fs::exists(st.path_of(id_of("a"))));
  CHECK_FALSE(st.remove(id_of("a")));
  auto gone = st.open_read(id_of("a"));
  REQUIRE(std::holds_alternative<Error>(gone));
  CHECK(std::get<Error>(gone) == Error::NotFound);

  REQUIRE(st.reserve(id_of("b"), 3).ok());
  auto up = begin_ok(st, id_of("b"));
  REQUIRE_FALSE(up.write(sr::as_bytes("bbb")));
  CHECK(st.remove(id_of("b")));  // e.g. FDEL during FPUT
  CHECK(up.commit() == Error::NotReserved);
  CHECK(dir_names(tmp.path).empty());
  CHECK(st.used() == 0);
  CHECK(st.reserve(id_of("b"), 100).ok());
}

TEST_CASE("after a restart used storage is the files on disk plus re-registered reservations", "[chunks]") {
  sr::test::TempDir tmp;
  {
    ChunkStore st(tmp.path, 1000);
    st.open();
    put(st, id_of("one"), std::string(100, '1'));
    put(st, id_of("two"), std::string(200, '2'));
    REQUIRE(st.reserve(id_of("pending"), 300).ok());
  }
  // A crash during an upload leaves its .part file; a reference server's chunk (24-byte sender id, written in
  // place) and unrelated files are in the directory too.
  const auto part = tmp.write(sr::base64url_encode(id_of("pending")) + ".7.part", "partial");
  const auto ref_id = *sr::base64url_decode("3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAA");
  tmp.write("3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAA", std::string(64, 'r'));
  tmp.write("notes.txt", "not a chunk");
  tmp.write("abc", "not canonical base64url: not a chunk");

  ChunkStore st(tmp.path, 1000);
  st.open();
  CHECK(st.used() == 100 + 200 + 64);
  CHECK(st.committed_count() == 3);
  CHECK(st.committed_size(ref_id) == 64u);
  CHECK(read_all(st, ref_id) == std::string(64, 'r'));
  CHECK(read_all(st, id_of("two")) == std::string(200, '2'));
  CHECK_FALSE(fs::exists(part));
  CHECK(fs::exists(tmp / "notes.txt"));

  // The caller's log says "pending" was reserved but never confirmed: it re-registers the reservation.
  st.restore_pending(id_of("pending"), 300);
  CHECK(st.used() == 100 + 200 + 64 + 300);
  // An upload that completed on disk but was never confirmed is dropped by restore_pending.
  st.restore_pending(id_of("one"), 100);
  CHECK_FALSE(fs::exists(st.path_of(id_of("one"))));
  CHECK(st.pending_size(id_of("one")) == 100u);
  CHECK(st.used() == 100 + 200 + 64 + 300);
  // Reservations restored above the quota are kept (as the reference does); new ones are refused.
  st.restore_pending(id_of("over"), 500);
  CHECK(st.used() > 1000);
  CHECK(st.reserve(id_of("x"), 1).error == Error::Quota);
}

TEST_CASE("after a restart eviction follows the files' modification times", "[chunks]") {
  sr::test::TempDir tmp;
  const auto now = fs::file_time_type::clock::now();
  const std::string old_name = sr::base64url_encode(id_of("old")), mid_name = sr::base64url_encode(id_of("mid"));
  tmp.write(mid_name, std::string(10, 'm'));
  tmp.write(old_name, std::string(10, 'o'));
  fs::last_write_time(tmp / mid_name, now - std::chrono::hours(1));
  fs::last_write_time(tmp / old_name, now - std::chrono::hours(2));

  ChunkStore st(tmp.path, 20, Options{.evict_oldest = true});
  st.open();
  CHECK(st.committed_ids() == std::vector<sr::Bytes>{id_of("old"), id_of("mid")});
  auto r = st.reserve(id_of("new"), 5);
  REQUIRE(r.ok());
  CHECK(r.evicted == std::vector<sr::Bytes>{id_of("old")});
}

TEST_CASE("a 4 MB chunk is written and read back in pieces", "[chunks]") {
  sr::test::TempDir tmp;
  ChunkStore st(tmp.path, sr::config::parse_size("4mb"));
  st.open();
  const auto id = id_of("big");
  constexpr size_t kSize = 4 * 1024 * 1024;
  auto byte_at = [](size_t i) { return static_cast<uint8_t>((i * 31 + i / 4096) & 0xff); };

  REQUIRE(st.reserve(id, kSize).ok());
  auto up = begin_ok(st, id);
  std::vector<uint8_t> piece(16384);  // the reference's upload slice size
  for (size_t off = 0; off < kSize; off += piece.size()) {
    for (size_t i = 0; i < piece.size(); ++i) piece[i] = byte_at(off + i);
    REQUIRE_FALSE(up.write(piece));
  }
  REQUIRE_FALSE(up.commit());
  CHECK(st.used() == kSize);

  auto r = st.open_read(id);
  REQUIRE(std::holds_alternative<Reader>(r));
  auto& rd = std::get<Reader>(r);
  CHECK(rd.size() == kSize);
  CHECK(st.remove(id));  // a download in progress keeps its data
  std::vector<uint8_t> buf(65536 + 3);  // pieces that do not divide the size
  size_t total = 0;
  bool same = true;
  while (size_t n = rd.read(buf)) {
    for (size_t i = 0; i < n; ++i) same = same && buf[i] == byte_at(total + i);
    total += n;
  }
  CHECK(total == kSize);
  CHECK(same);
  CHECK(rd.remaining() == 0);
}
