// libFuzzer target for the SMP message journal (smp/msg_journal over core/record_journal): the input becomes a
// journal file, is replayed into fresh stores, the stores are written as a snapshot, and replaying the snapshot
// must give back the same stores with a clean read and every record applied.
//
// Input: first byte even → the rest is the file's bytes after the 8-byte header (torn, damaged and garbage
// records reach the reader); odd → the rest is split into records at each "\n|" and framed with valid checksums,
// so the payloads reach the record decoder.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_journal.hpp"
#include "smp/msg_journal.hpp"
#include "smp/msg_store.hpp"

using namespace sr::smp;
namespace journal = sr::journal;
namespace stdfs = std::filesystem;

namespace {

struct Files {
  stdfs::path dir, in, snap;
  std::vector<uint8_t> header;
  Files() {
    const stdfs::path base = stdfs::is_directory("/dev/shm") ? stdfs::path("/dev/shm") : stdfs::temp_directory_path();
    std::string tmpl = (base / "sr-fuzz-journal-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir = tmpl;
    in = dir / "in";
    snap = dir / "snap";
    // The header as the library writes it: an empty snapshot.
    journal::write_snapshot(in, [](const auto&) {});
    std::ifstream f(in, std::ios::binary);
    header.assign(std::istreambuf_iterator<char>(f), {});
    if (header.size() != journal::kHeaderSize) std::abort();
  }
  ~Files() {
    std::error_code ec;
    stdfs::remove_all(dir, ec);
  }
};

void write_file(const stdfs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!f.good()) std::abort();
}

void require(bool ok) {
  if (!ok) std::abort();
}

void require_same(const MsgStore& a, const NtfStore& an, const MsgStore& b, const NtfStore& bn) {
  const auto ids = a.queue_ids();
  require(ids == b.queue_ids());
  require(a.total_messages() == b.total_messages());
  size_t total = 0;
  for (const Id& rid : ids) {
    std::vector<const Message*> ma, mb;
    a.for_each_message(rid, [&](const Message& m) { ma.push_back(&m); });
    b.for_each_message(rid, [&](const Message& m) { mb.push_back(&m); });
    require(ma.size() == mb.size() && ma.size() == a.size(rid));
    total += ma.size();
    for (size_t i = 0; i < ma.size(); ++i)
      require(ma[i]->msg_id == mb[i]->msg_id && ma[i]->ts == mb[i]->ts &&
              ma[i]->notification == mb[i]->notification && ma[i]->quota == mb[i]->quota &&
              ma[i]->body == mb[i]->body);
  }
  require(total == a.total_messages());
  const auto nids = an.ids();
  require(nids == bn.ids());
  require(an.total() == bn.total());
  for (const Id& nid : nids) {
    const auto &na = *an.pending(nid), &nb = *bn.pending(nid);
    require(na.size() == nb.size());
    for (size_t i = 0; i < na.size(); ++i)
      require(na[i].msg_id == nb[i].msg_id && na[i].ts == nb[i].ts && na[i].nonce == nb[i].nonce &&
              na[i].enc_meta == nb[i].enc_meta);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Files files;
  if (size == 0) return 0;
  std::vector<uint8_t> file = files.header;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) == 0) {
    file.insert(file.end(), data + 1, data + size);
  } else {
    size_t pos = 0;
    while (pos <= body.size()) {
      size_t end = body.find("\n|", pos);
      if (end == std::string_view::npos) end = body.size();
      const std::string_view rec = body.substr(pos, end - pos);
      if (!rec.empty())
        journal::frame_record(file, {journal::ByteView(reinterpret_cast<const uint8_t*>(rec.data()), rec.size())});
      pos = end + 2;
    }
  }
  write_file(files.in, file);

  MsgStore msgs;
  NtfStore ntfs;
  const MsgReplayReport first = replay_msg_journal(files.in, msgs, ntfs);
  require(!first.read.bad_header);
  require(first.read.file_size == file.size());
  if (data[0] & 1) require(first.read.clean());

  journal::write_snapshot(files.snap, [&](const auto& emit) { write_msg_snapshot(emit, msgs, ntfs); });
  MsgStore msgs2;
  NtfStore ntfs2;
  const MsgReplayReport second = replay_msg_journal(files.snap, msgs2, ntfs2);
  require(second.read.clean() && second.inconsistent == 0 && second.unknown == 0);
  require(second.read.records == msgs.total_messages() + ntfs.total());
  require_same(msgs, ntfs, msgs2, ntfs2);

  // Both copies take the next write alike (the over-quota state is restored from the entries).
  for (const Id& rid : msgs.queue_ids()) {
    Message m;
    m.ts = 1;
    const WriteOutcome a = msgs.write(rid, m), b = msgs2.write(rid, m);
    require(a.accepted == b.accepted && a.was_empty == b.was_empty);
  }
  return 0;
}
