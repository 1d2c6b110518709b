// The store-log journal's start-up protocol and backup retention (server-operations.md §4.3), on real files.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "core/store_log.hpp"
#include "text_files.hpp"

using namespace sr;
using namespace sr::storelog;
using sr::test::read_text;
using sr::test::write_text;
namespace fsys = std::filesystem;
using namespace std::chrono;

using sr::test::TempDir;

namespace {

TimePoint at(int64_t secs) { return TimePoint(seconds(secs)); }

// A toy record format: the state is the set of lines not cancelled by "-<line>".
struct Toy {
  std::vector<std::string> state;
  std::vector<std::string> read;
  void load(const fsys::path& f) {
    read_lines(f, [&](std::string_view l) {
      read.emplace_back(l);
      if (!l.empty() && l[0] == '-')
        std::erase(state, std::string(l.substr(1)));
      else
        state.emplace_back(l);
    });
  }
  void compact(Writer& w) {
    for (const auto& l : state) w.append(l);
  }
};

Writer open(Toy& t, const fsys::path& f, TimePoint now) {
  return open_store_log(
      f, [&](const fsys::path& p) { t.load(p); }, [&](Writer& w) { t.compact(w); }, now);
}

}  // namespace

TEST_CASE("ISO-8601 backup names have the reference's canonical form", "[storelog]") {
  CHECK(iso8601_show(at(1748736000)) == "2025-06-01T00:00:00Z");
  CHECK(iso8601_show(at(1748736000) + milliseconds(789)) == "2025-06-01T00:00:00.789Z");
  CHECK(iso8601_show(at(1748736000) + nanoseconds(789012340)) == "2025-06-01T00:00:00.78901234Z");
  auto t = iso8601_parse("2025-06-01T12:34:56.789012345Z");
  REQUIRE(t);
  CHECK(iso8601_show(*t) == "2025-06-01T12:34:56.789012345Z");
  CHECK(iso8601_parse("2025-06-01T12:34:56Z") == at(1748781296));
  CHECK_FALSE(iso8601_parse("2025-06-01 12:34:56Z"));
  CHECK_FALSE(iso8601_parse("2025-13-01T12:34:56Z"));
  CHECK_FALSE(iso8601_parse("2025-06-01T12:34:56"));
  CHECK_FALSE(iso8601_parse("bak"));
}

TEST_CASE("store log: created when absent, compacted at start with a timed backup", "[storelog]") {
  TempDir d;
  const fsys::path f = d.path / "smp-server-store.log";
  {
    Toy t;
    Writer w = open(t, f, at(1748736000));
    CHECK(t.read.empty());
    w.append("a");
    w.append("b");
    w.append("-a");
  }
  CHECK(read_text(f) == "a\nb\n-a\n");
  Toy t;
  Writer w = open(t, f, at(1748736000) + milliseconds(5));
  CHECK(t.read == std::vector<std::string>{"a", "b", "-a"});
  CHECK(read_text(f) == "b\n");
  CHECK(read_text(d.path / "smp-server-store.log.2025-06-01T00:00:00.005Z") == "a\nb\n-a\n");
  CHECK_FALSE(fsys::exists(d.path / "smp-server-store.log.start"));
  w.append("c");
  CHECK(read_text(f) == "b\nc\n");
}

TEST_CASE("store log: an interrupted compaction restarts from F.start and keeps F as F.bak", "[storelog]") {
  TempDir d;
  const fsys::path f = d.path / "smp-server-store.log";
  write_text(d.path / "smp-server-store.log.start", "x\ny\n");
  write_text(f, "x\n");  // the half-written compacted file
  Toy t;
  open(t, f, at(1748736000));
  CHECK(t.read == std::vector<std::string>{"x", "y"});
  CHECK(read_text(f) == "x\ny\n");
  CHECK(read_text(d.path / "smp-server-store.log.bak") == "x\n");
  CHECK(read_text(d.path / "smp-server-store.log.2025-06-01T00:00:00Z") == "x\ny\n");
}

TEST_CASE("store log: a torn last line reaches the reader as it is", "[storelog]") {
  TempDir d;
  const fsys::path f = d.path / "smp-server-store.log";
  write_text(f, "complete\ntorn-with-no-newl");
  Toy t;
  open(t, f, at(1748736000));
  CHECK(t.read == std::vector<std::string>{"complete", "torn-with-no-newl"});
}

TEST_CASE("store log backups: a day of backups, then the newest 3 older ones, then 21 days", "[storelog]") {
  TempDir d;
  const fsys::path f = d.path / "file-server-store.log";
  const TimePoint now = at(1748736000);
  auto backup = [&](TimePoint t) {
    fsys::path p = f;
    p += "." + iso8601_show(t);
    write_text(p, "");
    return p;
  };
  const auto recent1 = backup(now - hours(1));
  const auto recent2 = backup(now - hours(23));
  const auto old1 = backup(now - hours(24 * 30));  // oldest: deleted
  const auto old2 = backup(now - hours(24 * 25));  // deleted
  const auto old3 = backup(now - hours(24 * 24));  // one of the newest 3 older than a day: kept
  const auto old4 = backup(now - hours(24 * 22));  // kept
  const auto mid = backup(now - hours(24 * 2));     // kept (newest older one)
  write_text(d.path / "file-server-store.log.bak", "");
  write_text(d.path / "file-server-store.log.start.old", "");
  auto removed = remove_backups(f, now);
  CHECK(removed == std::vector<fsys::path>{old1, old2});
  for (const auto& p : {recent1, recent2, old3, old4, mid}) CHECK(fsys::exists(p));
  CHECK_FALSE(fsys::exists(old1));
  CHECK(fsys::exists(d.path / "file-server-store.log.bak"));
}
