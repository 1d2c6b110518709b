// The durable record journal (core/record_journal): framing and checksum, what the reader recovers from torn and
// damaged files, atomic snapshots and a writer that never leaves a partial record behind. All on real files.
#include <catch2/catch.hpp>

#include "text_files.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_journal.hpp"

namespace stdfs = std::filesystem;
namespace journal = sr::journal;
using journal::ByteView;
using Payload = std::vector<uint8_t>;

using sr::test::TempDir;

namespace {

ByteView bytes_of(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// Distinct payloads of varied lengths (none a power of two, so one flipped length bit never gives 0).
Payload payload(size_t i, size_t len = 0) {
  if (len == 0) len = 3 + (i * 37) % 250;
  Payload p(len);
  for (size_t k = 0; k < len; ++k) p[k] = static_cast<uint8_t>(i * 31 + k * 7 + 1);
  return p;
}

size_t framed(const Payload& p) { return journal::kRecordHeaderSize + p.size(); }

Payload read_bytes(const stdfs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return Payload(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const stdfs::path& f, const Payload& b) {
  std::ofstream out(f, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  REQUIRE(out.good());
}

struct Read {
  journal::ReadReport report;
  std::vector<Payload> records;
};

Read read_all(const stdfs::path& f) {
  Read r;
  r.report = journal::read_records(f, [&](ByteView p) { r.records.emplace_back(p.begin(), p.end()); });
  return r;
}

// A journal file holding `records`, written as a snapshot.
void write_journal(const stdfs::path& f, const std::vector<Payload>& records) {
  journal::write_snapshot(f, [&](const auto& emit) {
    for (const auto& p : records) emit({ByteView(p)});
  });
}

}  // namespace

TEST_CASE("journal: crc32c matches the Castagnoli check values", "[journal]") {
  CHECK(journal::crc32c(bytes_of("123456789")) == 0xE3069283u);
  CHECK(journal::crc32c(ByteView{}) == 0u);
  // RFC 3720 (iSCSI) B.4 vectors: long enough for the 8-byte-at-a-time path.
  Payload zeros(32, 0), ones(32, 0xff), inc(32);
  for (size_t i = 0; i < inc.size(); ++i) inc[i] = static_cast<uint8_t>(i);
  CHECK(journal::crc32c(zeros) == 0x8A9136AAu);
  CHECK(journal::crc32c(ones) == 0x62A8AB43u);
  CHECK(journal::crc32c(inc) == 0x46DD794Eu);
}

TEST_CASE("journal: crc32c of chained calls equals one call", "[journal]") {
  const Payload data = payload(7, 301);
  const uint32_t whole = journal::crc32c(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    const ByteView all(data);
    CHECK(journal::crc32c(all.subspan(split), journal::crc32c(all.first(split))) == whole);
  }
  // Three pieces at unaligned offsets.
  const ByteView all(data);
  uint32_t c = journal::crc32c(all.first(5));
  c = journal::crc32c(all.subspan(5, 131), c);
  c = journal::crc32c(all.subspan(136), c);
  CHECK(c == whole);
}

TEST_CASE("journal: fsync policy names", "[journal]") {
  CHECK(journal::parse_fsync_policy("never") == journal::FsyncPolicy::Never);
  CHECK(journal::parse_fsync_policy("interval") == journal::FsyncPolicy::Interval);
  CHECK(journal::parse_fsync_policy("always") == journal::FsyncPolicy::Always);
  CHECK_FALSE(journal::parse_fsync_policy("Always"));
  CHECK_FALSE(journal::parse_fsync_policy(""));
}

TEST_CASE("journal: records appended by the writer read back in order", "[journal]") {
  const auto policy =
      GENERATE(journal::FsyncPolicy::Never, journal::FsyncPolicy::Interval, journal::FsyncPolicy::Always);
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  write_journal(f, {});
  CHECK(stdfs::file_size(f) == journal::kHeaderSize);

  std::vector<Payload> expected;
  uint64_t bytes = 0;
  {
    journal::Writer w(f, policy, std::chrono::milliseconds(5));
    CHECK(w.policy() == policy);
    CHECK(w.file_size() == journal::kHeaderSize);
    CHECK(w.appended() == 0);
    for (size_t i = 0; i < 50; ++i) {
      // A record given in parts is stored as their concatenation.
      const Payload head = payload(i, 1 + i % 5), tail = payload(i + 100);
      REQUIRE_FALSE(w.append({ByteView(head), ByteView{}, ByteView(tail)}));
      Payload whole = head;
      whole.insert(whole.end(), tail.begin(), tail.end());
      bytes += framed(whole);
      expected.push_back(std::move(whole));
      CHECK(w.appended() == bytes);
      CHECK(w.file_size() == journal::kHeaderSize + bytes);
    }
    w.sync_now();
    CHECK(w.synced() == w.appended());
  }
  Read r = read_all(f);
  CHECK(r.report.clean());
  CHECK(r.report.records == expected.size());
  CHECK(r.report.file_size == journal::kHeaderSize + bytes);
  CHECK(r.records == expected);

  // Reopened, the writer appends after what is there; appended() counts from the open.
  {
    journal::Writer w(f, policy, std::chrono::milliseconds(5));
    CHECK(w.file_size() == journal::kHeaderSize + bytes);
    CHECK(w.appended() == 0);
    expected.push_back(payload(999));
    REQUIRE_FALSE(w.append({ByteView(expected.back())}));
    CHECK(w.appended() == framed(expected.back()));
  }
  r = read_all(f);
  CHECK(r.report.clean());
  CHECK(r.records == expected);
}

TEST_CASE("journal: a torn last record drops only that record", "[journal]") {
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  const std::vector<Payload> recs = {payload(1), payload(2), payload(3, 40)};
  write_journal(f, recs);
  const Payload full = read_bytes(f);
  const size_t last = full.size() - framed(recs[2]);

  // Ending exactly at a record boundary is a clean file.
  write_bytes(f, Payload(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(last)));
  Read r = read_all(f);
  CHECK(r.report.clean());
  CHECK(r.records == std::vector<Payload>(recs.begin(), recs.begin() + 2));

  for (size_t cut = last + 1; cut < full.size(); ++cut) {
    INFO("file cut at " << cut);
    write_bytes(f, Payload(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)));
    r = read_all(f);
    CHECK(r.records == std::vector<Payload>(recs.begin(), recs.begin() + 2));
    CHECK(r.report.records == 2);
    CHECK(r.report.file_size == cut);
    REQUIRE(r.report.torn_at);
    CHECK(*r.report.torn_at == last);
    CHECK(r.report.damage.empty());
    CHECK_FALSE(r.report.bad_header);
  }
}

TEST_CASE("journal: a damaged record is skipped and the records around it are kept", "[journal]") {
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  const std::vector<Payload> recs = {payload(1), payload(2, 20), payload(3)};
  write_journal(f, recs);
  const Payload full = read_bytes(f);
  const size_t mid = journal::kHeaderSize + framed(recs[0]);
  const std::vector<Payload> around = {recs[0], recs[2]};

  // Every bit of the middle record's checksum and payload.
  for (size_t byte = mid + 4; byte < mid + framed(recs[1]); ++byte)
    for (int bit = 0; bit < 8; ++bit) {
      INFO("bit " << bit << " of byte " << byte);
      Payload bad = full;
      bad[byte] ^= static_cast<uint8_t>(1u << bit);
      write_bytes(f, bad);
      const Read r = read_all(f);
      CHECK(r.records == around);
      CHECK(r.report.records == 2);
      CHECK_FALSE(r.report.torn_at);
      REQUIRE(r.report.damage.size() == 1);
      CHECK(r.report.damage[0].offset == mid);
      CHECK(r.report.damage[0].length == framed(recs[1]));
      CHECK(r.report.damage[0].what == "checksum mismatch");
    }
}

// A length field damaged into a value that is still <= kMaxRecord but runs past the end of the file must be damage,
// not a torn tail: the records after it are kept and the file is reported (and moved aside by the server).
TEST_CASE("journal: a damaged length in a middle record does not lose the records after it", "[journal]") {
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  const std::vector<Payload> recs = {payload(1), payload(2, 100), payload(3, 50)};
  write_journal(f, recs);
  const Payload full = read_bytes(f);
  const size_t mid = journal::kHeaderSize + framed(recs[0]);
  for (int bit = 0; bit < 32; ++bit) {
    INFO("length bit " << bit);
    Payload bad = full;
    bad[mid + bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    write_bytes(f, bad);
    const Read r = read_all(f);
    CHECK(r.records == std::vector<Payload>{recs[0], recs[2]});
    CHECK_FALSE(r.report.torn_at);
    CHECK(r.report.damage.size() == 1);
  }
}

TEST_CASE("journal: a file that is not a journal reads nothing", "[journal]") {
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  write_journal(f, {payload(1), payload(2)});
  Payload bytes = read_bytes(f);
  bytes[3] ^= 1;  // "SRJ1" → "SRJ0"
  write_bytes(f, bytes);
  bool called = false;
  auto r = journal::read_records(f, [&](ByteView) { called = true; });
  CHECK(r.bad_header);
  CHECK(r.records == 0);
  CHECK_FALSE(called);
  CHECK_FALSE(r.clean());

  write_bytes(f, Payload{'S', 'R', 'J'});  // shorter than the header
  r = journal::read_records(f, [&](ByteView) { called = true; });
  CHECK(r.bad_header);
  CHECK_FALSE(called);
}

TEST_CASE("journal: a missing or empty file reads as an empty journal", "[journal]") {
  TempDir dir;
  Read r = read_all(dir.path / "missing");
  CHECK(r.report.clean());
  CHECK(r.report.records == 0);
  CHECK(r.report.file_size == 0);
  CHECK(r.records.empty());

  write_journal(dir.path / "empty", {});
  r = read_all(dir.path / "empty");
  CHECK(r.report.clean());
  CHECK(r.report.records == 0);
  CHECK(r.report.file_size == journal::kHeaderSize);
}

TEST_CASE("journal: a snapshot replaces the file atomically", "[journal]") {
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  const std::vector<Payload> before = {payload(1), payload(2)}, after = {payload(3), payload(4), payload(5)};
  write_journal(f, before);
  // A reader that had the old file open keeps seeing the old file: the new one was renamed over it, not
  // written in place.
  std::ifstream old(f, std::ios::binary);
  write_journal(f, after);
  CHECK_FALSE(stdfs::exists(dir.path / "j.new"));
  const Read r = read_all(f);
  CHECK(r.report.clean());
  CHECK(r.records == after);
  const Payload old_bytes{std::istreambuf_iterator<char>(old), {}};
  CHECK(old_bytes.size() == journal::kHeaderSize + framed(before[0]) + framed(before[1]));
}

TEST_CASE("journal: a snapshot that fails midway leaves the old file", "[journal]") {
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  const std::vector<Payload> before = {payload(1), payload(2)};
  write_journal(f, before);
  CHECK_THROWS_AS(journal::write_snapshot(f,
                                          [&](const auto& emit) {
                                            const Payload p = payload(9);
                                            emit({ByteView(p)});
                                            throw std::runtime_error("emit failed");
                                          }),
                  std::runtime_error);
  const Read r = read_all(f);
  CHECK(r.report.clean());
  CHECK(r.records == before);
}

TEST_CASE("journal: the writer keeps appending after a rewrite", "[journal]") {
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  write_journal(f, {});
  const auto policy = GENERATE(journal::FsyncPolicy::Never, journal::FsyncPolicy::Always);
  journal::Writer w(f, policy, std::chrono::milliseconds(5));
  for (size_t i = 0; i < 5; ++i) {
    const Payload p = payload(i);
    REQUIRE_FALSE(w.append({ByteView(p)}));
  }
  const uint64_t appended = w.appended();
  const std::vector<Payload> snap = {payload(100), payload(101)};
  w.rewrite([&](const auto& emit) {
    for (const auto& p : snap) emit({ByteView(p)});
  });
  CHECK_FALSE(stdfs::exists(dir.path / "j.new"));
  CHECK(w.file_size() == journal::kHeaderSize + framed(snap[0]) + framed(snap[1]));
  CHECK(w.synced() >= appended);  // the snapshot is on disk
  const Payload after = payload(200);
  REQUIRE_FALSE(w.append({ByteView(after)}));
  CHECK(w.file_size() == journal::kHeaderSize + framed(snap[0]) + framed(snap[1]) + framed(after));
  const Read r = read_all(f);
  CHECK(r.report.clean());
  CHECK(r.records == std::vector<Payload>{snap[0], snap[1], after});
}

TEST_CASE("journal: a failed append leaves no partial record", "[journal]") {
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  write_journal(f, {});
  const Payload big = payload(1, 100), small = payload(2, 20);
  // Room for three big records and half of a fourth: the fourth write is cut short by RLIMIT_FSIZE (EFBIG).
  const off_t limit = static_cast<off_t>(journal::kHeaderSize + 3 * framed(big) + framed(big) / 2);

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: exit code = records accepted, >= 100 for an unexpected outcome. No Catch2 here.
    int code = 0;
    try {
      ::signal(SIGXFSZ, SIG_IGN);
      const rlimit lim{static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
      if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(101);
      journal::Writer w(f, journal::FsyncPolicy::Never, std::chrono::milliseconds(1000));
      std::error_code ec;
      while (!(ec = w.append({ByteView(big)}))) ++code;
      if (ec != std::errc::file_too_large) ::_exit(102);
      if (w.appended() != code * framed(big)) ::_exit(103);
      if (w.file_size() != journal::kHeaderSize + code * framed(big)) ::_exit(104);
      // The file was cut back, so a record that fits still lands right after the last good one.
      if (w.append({ByteView(small)})) ::_exit(105);
      ++code;
    } catch (...) {
      ::_exit(106);
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 4);
  const Read r = read_all(f);
  CHECK(r.report.clean());
  CHECK(r.records == std::vector<Payload>{big, big, big, small});
  CHECK(stdfs::file_size(f) == journal::kHeaderSize + 3 * framed(big) + framed(small));
}

// When emit throws, write_snapshot closes F.new's descriptor and removes F.new.
TEST_CASE("journal: a snapshot that fails midway releases its temporary file", "[journal]") {
  TempDir dir;
  const stdfs::path f = dir.path / "j";
  write_journal(f, {payload(1)});
  auto open_fds = [] { return std::distance(stdfs::directory_iterator("/proc/self/fd"), stdfs::directory_iterator{}); };
  const auto fds = open_fds();
  CHECK_THROWS(journal::write_snapshot(f, [](const auto&) { throw std::runtime_error("emit failed"); }));
  CHECK(open_fds() == fds);
  CHECK_FALSE(stdfs::exists(dir.path / "j.new"));
}
