// XFTP file records and the file store log `file-server-store.log` (xftp-protocol.md §10–§12,
// server-operations.md §4.6, §4.7): the reference's exact line format, its load semantics and the compacted output.
#include <catch2/catch.hpp>

#include "record_text.hpp"

#include <string>
#include <vector>

#include "xftp/file_store.hpp"
#include "xftp/store_log_records.hpp"

using namespace sr;
using namespace sr::xftp;

using sr::test::b64d;
using sr::test::key_of;

namespace {

// Lines copied verbatim from server-operations.md §4.6.
const std::vector<std::string> kSpec46Log = {
    R"(FNEW c92P2-zHd3OC2pYwL82DeQ== MCowBQYDK2VwAyEA-2X2c6e9naYonwPUhxAPCTDhPZkHx3ZTcJfXMoQ7o0s= 4194304 MPy7xCFrpGIdZWv9NgBF3fj5zZdN_-IFNS9k_tqapJM= 1748790000 active)",
    R"(FADD c92P2-zHd3OC2pYwL82DeQ== oZ3LLxhyTSQXic_jsaIKmA==:MCowBQYDK2VwAyEAfwGpFXWnR2j_jf7u1xW1QVDCOoNJBxGQxBtmG9hKYhE=)",
    R"(FPUT c92P2-zHd3OC2pYwL82DeQ== L3Nydi94ZnRwL2M5MlAyLXpIZDNPQzJwWXdMODJEZVE9PQ==)",
    R"(FACK oZ3LLxhyTSQXic_jsaIKmA==)",
    R"(FDEL c92P2-zHd3OC2pYwL82DeQ==)",
};
// server-operations.md §4.7: the log during operation and the compaction of its first five lines.
const std::vector<std::string> kSpec47Log = {
    R"(FNEW Niex5QHgCXQZPIeWJRWjkw== MCowBQYDK2VwAyEAVvYBo4Ktp_2yD-0pbx-B8LXXxunabyZwcxYKadgyOoo= 4194304 nbyQUKrhLc4_CjeDV4VftaVNDLDmcDOcA30dNuDseY4= 1748790000 active)",
    R"(FADD Niex5QHgCXQZPIeWJRWjkw== kb7poMrFf_vmoduuaQf9qQ==:MCowBQYDK2VwAyEAXWc0F678cxoFrKMWEeSy615wTibsfQFB3SMl_JqQCO4=,oe0nCf040BMFSMzeVK5ttA==:MCowBQYDK2VuAyEAGXLBfHU2XyAi162Y-k7SdSNcO8umxlHwYmQGb3A61B0=)",
    R"(FPUT Niex5QHgCXQZPIeWJRWjkw== L3Nydi94ZnRwL05pZXg1UUhnQ1hRWlBJZVdKUldqa3c9PQ==)",
    R"(FACK kb7poMrFf_vmoduuaQf9qQ==)",
    R"(FBLK Niex5QHgCXQZPIeWJRWjkw== reason=content)",
    R"(FDEL Niex5QHgCXQZPIeWJRWjkw==)",
};
const std::vector<std::string> kSpec47Compacted = {
    R"(FNEW Niex5QHgCXQZPIeWJRWjkw== MCowBQYDK2VwAyEAVvYBo4Ktp_2yD-0pbx-B8LXXxunabyZwcxYKadgyOoo= 4194304 nbyQUKrhLc4_CjeDV4VftaVNDLDmcDOcA30dNuDseY4= 1748790000 blocked,reason=content)",
    R"(FADD Niex5QHgCXQZPIeWJRWjkw== oe0nCf040BMFSMzeVK5ttA==:MCowBQYDK2VuAyEAGXLBfHU2XyAi162Y-k7SdSNcO8umxlHwYmQGb3A61B0=)",
    R"(FPUT Niex5QHgCXQZPIeWJRWjkw== L3Nydi94ZnRwL05pZXg1UUhnQ1hRWlBJZVdKUldqa3c9PQ==)",
};

const std::string kSid = "c92P2-zHd3OC2pYwL82DeQ==";
const std::string kEdKey = "MCowBQYDK2VwAyEA-2X2c6e9naYonwPUhxAPCTDhPZkHx3ZTcJfXMoQ7o0s=";
const std::string kXKey = "MCowBQYDK2VuAyEAGXLBfHU2XyAi162Y-k7SdSNcO8umxlHwYmQGb3A61B0=";
const std::string kDigest = "MPy7xCFrpGIdZWv9NgBF3fj5zZdN_-IFNS9k_tqapJM=";

StoreLogRecord parse_ok(const std::string& line) { return test::parsed_ok(parse_store_log_record(line), line); }

bool parse_fails(const std::string& line) { return std::holds_alternative<std::string>(parse_store_log_record(line)); }

FileId id_of(uint8_t fill) { return FileId(kIdSize, fill); }
FileInfo info_of(uint32_t size) { return FileInfo{key_of(kEdKey), size, b64d(kDigest)}; }

// Loads lines as the start-up reader does; returns what it would print.
std::vector<std::string> load(FileStore& store, const std::vector<std::string>& lines) {
  std::vector<std::string> printed;
  for (const auto& l : lines)
    if (auto msg = load_store_log_line(store, l)) printed.push_back(*msg);
  return printed;
}

std::vector<std::string> compacted(const FileStore& store) {
  std::vector<std::string> out;
  write_compacted(store, [&](std::string_view l) { out.emplace_back(l); });
  return out;
}

}  // namespace

TEST_CASE("every file store log record round-trips byte for byte", "[xftp-store]") {
  std::vector<std::string> lines = kSpec46Log;
  lines.insert(lines.end(), kSpec47Log.begin(), kSpec47Log.end());
  lines.insert(lines.end(), kSpec47Compacted.begin(), kSpec47Compacted.end());
  lines.push_back("FBLK " + kSid + " reason=spam,notice={\"ttl\":86400}");
  lines.push_back("FBLK " + kSid + " reason=content,notice={}");
  lines.push_back("FNEW " + kSid + ' ' + kXKey + " 65536 " + kDigest + " 1748790000 off");
  lines.push_back("FNEW " + kSid + ' ' + kEdKey + " 262144 " + kDigest +
                  " 1748790000 blocked,reason=spam,notice={\"ttl\":3600}");
  for (const auto& line : lines) {
    INFO(line);
    CHECK(encode_store_log_record(parse_ok(line)) == line);
  }
}

TEST_CASE("file store log records carry the reference's values", "[xftp-store]") {
  SECTION("FNEW") {
    const auto r = std::get<AddFileRecord>(parse_ok(kSpec46Log[0]).rec);
    CHECK(r.sender_id == b64d(kSid));
    CHECK(r.sender_id.size() == kIdSize);
    CHECK(r.info.snd_key == key_of(kEdKey));
    CHECK(r.info.size == 4194304);
    CHECK(r.info.digest == b64d(kDigest));
    CHECK(r.created_at == 1748790000);
    CHECK(r.status == EntityStatus{});
  }
  SECTION("FPUT stores the full path, base64url-encoded") {
    const auto r = std::get<PutFileRecord>(parse_ok(kSpec46Log[2]).rec);
    CHECK(r.path == "/srv/xftp/c92P2-zHd3OC2pYwL82DeQ==");
  }
  SECTION("FADD keeps the recipients in order, each with its own key") {
    const auto r = std::get<AddRecipientsRecord>(parse_ok(kSpec47Log[1]).rec);
    REQUIRE(r.recipients.size() == 2);
    CHECK(r.recipients[0].recipient_id == b64d("kb7poMrFf_vmoduuaQf9qQ=="));
    CHECK(r.recipients[0].key.alg == crypto::KeyAlg::Ed25519);
    CHECK(r.recipients[1].key.alg == crypto::KeyAlg::X25519);
  }
  SECTION("FBLK and a blocked status keep the notice") {
    const auto b = std::get<BlockFileRecord>(parse_ok("FBLK " + kSid + " reason=spam,notice={\"ttl\":86400}").rec);
    CHECK(b.info.reason == BlockingInfo::Reason::spam);
    CHECK(b.info.has_notice);
    CHECK(b.info.notice_ttl == 86400);
    const auto f = std::get<AddFileRecord>(parse_ok(kSpec47Compacted[0]).rec);
    CHECK(f.status.kind == FileStatus::Blocked);
    CHECK(f.status.blocking.reason == BlockingInfo::Reason::content);
  }
}

TEST_CASE("the file store log reader accepts what the reference reads", "[xftp-store]") {
  SECTION("an FNEW without status (old logs) is active and is written back with it") {
    const std::string legacy = "FNEW " + kSid + ' ' + kEdKey + " 65536 " + kDigest + " 1748790000";
    const auto r = parse_ok(legacy);
    CHECK(std::get<AddFileRecord>(r.rec).status == EntityStatus{});
    CHECK(encode_store_log_record(r) == legacy + " active");
  }
  SECTION("unpadded base64url; output is padded") {
    const auto r = parse_ok("FDEL c92P2-zHd3OC2pYwL82DeQ");
    CHECK(encode_store_log_record(r) == "FDEL " + kSid);
  }
  SECTION("a signed createdAt (Int64 signed decimal)") {
    const auto r = parse_ok("FNEW " + kSid + ' ' + kEdKey + " 65536 " + kDigest + " +3600");
    CHECK(std::get<AddFileRecord>(r.rec).created_at == 3600);
  }
}

TEST_CASE("the file store log reader refuses malformed lines", "[xftp-store]") {
  const std::string fnew = "FNEW " + kSid + ' ' + kEdKey + " 65536 " + kDigest + " 1748790000";
  CHECK(parse_fails(""));
  CHECK(parse_fails("FNOP " + kSid));
  CHECK(parse_fails("FDEL "));                                  // empty id
  CHECK(parse_fails("FDEL " + kSid + " "));                      // trailing text
  CHECK(parse_fails("FACK " + kSid + " x"));
  CHECK(parse_fails(fnew + " active "));
  CHECK(parse_fails(fnew + " paused"));
  CHECK(parse_fails(fnew + " blocked,reason=rude"));
  CHECK(parse_fails(fnew + " blocked,reason=spam,notice={"));
  CHECK(parse_fails("FNEW " + kSid + ' ' + kEdKey + " -65536 " + kDigest + " 1748790000"));  // Word32: digits only
  CHECK(parse_fails("FNEW " + kSid + ' ' + kEdKey + " 4294967296 " + kDigest + " 1748790000"));
  CHECK(parse_fails("FNEW " + kSid + " c92P2-zHd3OC2pYwL82DeQ== 65536 " + kDigest + " 1748790000"));  // not a key
  // X448 keys cannot authorize: the reference's APublicAuthKey refuses them.
  crypto::PublicKey x448{crypto::KeyAlg::X448, Bytes(56, 7)};
  CHECK(parse_fails("FADD " + kSid + ' ' + kSid + ':' + base64url_encode(crypto::encode_spki(x448))));
  CHECK(parse_fails("FADD " + kSid + ' '));                           // at least one recipient
  CHECK(parse_fails("FADD " + kSid + ' ' + kSid + ':' + kXKey + ','));  // no empty item
  CHECK(parse_fails("FBLK " + kSid));
  CHECK(parse_fails("FPUT " + kSid + ' '));  // empty path
}

TEST_CASE("the spec's file store logs load and compact to the documented lines", "[xftp-store]") {
  SECTION("§4.6: the whole log leaves nothing; its first three lines compact to themselves") {
    FileStore all;
    CHECK(load(all, kSpec46Log).empty());
    CHECK(all.file_count() == 0);
    CHECK(all.recipient_count() == 0);
    CHECK(compacted(all).empty());

    FileStore first3;
    CHECK(load(first3, {kSpec46Log.begin(), kSpec46Log.begin() + 3}).empty());
    CHECK(compacted(first3) == std::vector<std::string>(kSpec46Log.begin(), kSpec46Log.begin() + 3));
    const FileRec* f = first3.by_sender(b64d(kSid));
    REQUIRE(f);
    CHECK(f->uploaded());
    CHECK(*f->path == "/srv/xftp/c92P2-zHd3OC2pYwL82DeQ==");
  }
  SECTION("§4.7: acked recipient dropped, blocked file keeps its FPUT") {
    FileStore store;
    CHECK(load(store, {kSpec47Log.begin(), kSpec47Log.begin() + 5}).empty());
    CHECK(compacted(store) == kSpec47Compacted);

    // On the next load the reference refuses that FPUT (8.Q17): the blocked file loses its path.
    FileStore reloaded;
    const auto printed = load(reloaded, kSpec47Compacted);
    REQUIRE(printed.size() == 1);
    CHECK(printed[0] == "Log processing error (AUTH): " + kSpec47Compacted[2]);
    const FileRec* f = reloaded.by_sender(b64d("Niex5QHgCXQZPIeWJRWjkw=="));
    REQUIRE(f);
    CHECK_FALSE(f->uploaded());
    CHECK(f->status.kind == FileStatus::Blocked);
    CHECK(compacted(reloaded) == std::vector<std::string>(kSpec47Compacted.begin(), kSpec47Compacted.begin() + 2));

    FileStore all;
    CHECK(load(all, kSpec47Log).empty());
    CHECK(compacted(all).empty());
  }
  SECTION("compaction orders files and recipients by id bytes") {
    FileStore store;
    REQUIRE_FALSE(store.add_file(id_of(0xf0), info_of(65536), 3600, {}));
    REQUIRE_FALSE(store.add_file(id_of(0x10), info_of(65536), 7200, {}));
    REQUIRE_FALSE(store.add_recipient(id_of(0x10), {id_of(0xc0), key_of(kXKey)}));
    REQUIRE_FALSE(store.add_recipient(id_of(0x10), {id_of(0x20), key_of(kEdKey)}));
    const auto out = compacted(store);
    REQUIRE(out.size() == 3);
    CHECK(out[0].starts_with("FNEW " + base64url_encode(id_of(0x10)) + ' '));
    CHECK(out[1] == "FADD " + base64url_encode(id_of(0x10)) + ' ' + base64url_encode(id_of(0x20)) + ':' + kEdKey + ',' +
                        base64url_encode(id_of(0xc0)) + ':' + kXKey);
    CHECK(out[2].starts_with("FNEW " + base64url_encode(id_of(0xf0)) + ' '));
  }
}

TEST_CASE("applying file store log records reports the reference's errors", "[xftp-store]") {
  FileStore store;
  const std::string unknown = "AAAAAAAAAAAAAAAAAAAAAA==";
  SECTION("records for unknown files or recipients are AUTH and change nothing") {
    const std::vector<std::string> lines = {
        "FPUT " + unknown + " L3Nydi94ZnRw",
        "FADD " + unknown + ' ' + kSid + ':' + kXKey,
        "FDEL " + unknown,
        "FBLK " + unknown + " reason=spam",
        "FACK " + unknown,
    };
    for (const auto& l : lines) {
      INFO(l);
      const auto msg = load_store_log_line(store, l);
      REQUIRE(msg);
      CHECK(*msg == "Log processing error (AUTH): " + l.substr(0, 100));
    }
    CHECK(store.file_count() == 0);
    CHECK(store.recipient_count() == 0);
  }
  SECTION("FNEW of size 0 is SIZE; a known sender id is DUPLICATE_") {
    const std::string zero = "FNEW " + kSid + ' ' + kEdKey + " 0 " + kDigest + " 1748790000 active";
    CHECK(load_store_log_line(store, zero) == "Log processing error (SIZE): " + zero.substr(0, 100));
    CHECK(store.file_count() == 0);
    CHECK_FALSE(load_store_log_line(store, kSpec46Log[0]));
    CHECK(load_store_log_line(store, kSpec46Log[0]) ==
          "Log processing error (DUPLICATE_): " + kSpec46Log[0].substr(0, 100));
  }
  SECTION("a second FPUT is AUTH and keeps the first path") {
    CHECK(load(store, {kSpec46Log[0], kSpec46Log[2]}).empty());
    const std::string again = "FPUT " + kSid + ' ' + base64url_encode(as_bytes("/other"));
    CHECK(load_store_log_line(store, again) == "Log processing error (AUTH): " + again);
    CHECK(*store.by_sender(b64d(kSid))->path == "/srv/xftp/c92P2-zHd3OC2pYwL82DeQ==");
  }
  SECTION("FADD stops at a duplicate recipient; those before it stay") {
    CHECK(load(store, {kSpec46Log[0], kSpec46Log[1]}).empty());
    const std::string rcp1 = "AQEBAQEBAQEBAQEBAQEBAQ==";
    const std::string line =
        "FADD " + kSid + ' ' + rcp1 + ':' + kXKey + ",oZ3LLxhyTSQXic_jsaIKmA==:" + kXKey +  // already used
        ",AgICAgICAgICAgICAgICAg==:" + kXKey;
    CHECK(load_store_log_line(store, line) == "Log processing error (DUPLICATE_): " + line.substr(0, 100));
    CHECK(store.by_recipient(b64d(rcp1)));
    CHECK_FALSE(store.by_recipient(b64d("AgICAgICAgICAgICAgICAg==")));
    CHECK(store.by_sender(b64d(kSid))->recipients.size() == 2);
  }
  SECTION("parse failures are printed with the first 100 bytes of the line") {
    const std::string bad = "FNEW " + kSid + " garbage " + std::string(200, 'x');
    const auto msg = load_store_log_line(store, bad);
    REQUIRE(msg);
    CHECK(msg->starts_with("Log parsing error ("));
    CHECK(msg->ends_with("): " + bad.substr(0, 100)));
  }
}

TEST_CASE("file records: upload, block, ack and delete", "[xftp-store]") {
  FileStore store;
  const SenderId sid = id_of(1);
  REQUIRE_FALSE(store.add_file(sid, info_of(262144), 7200, {}));
  REQUIRE_FALSE(store.add_recipient(sid, {id_of(2), key_of(kEdKey)}));
  REQUIRE_FALSE(store.add_recipient(sid, {id_of(3), key_of(kXKey)}));

  const auto r = store.by_recipient(id_of(3));
  REQUIRE(r);
  CHECK(r->file->sender_id == sid);
  CHECK(*r->key == key_of(kXKey));
  CHECK_FALSE(store.by_sender(sid)->uploaded());

  SECTION("FACK removes one recipient only") {
    CHECK_FALSE(store.ack_file(id_of(2)));
    CHECK_FALSE(store.by_recipient(id_of(2)));
    CHECK(store.by_recipient(id_of(3)));
    CHECK(store.ack_file(id_of(2)) == StoreError::AUTH);
    CHECK(store.file_count() == 1);
  }
  SECTION("FDEL removes the file and all its recipient ids, before or after upload") {
    CHECK_FALSE(store.set_file_path(sid, "/srv/xftp/x"));
    const auto removed = store.delete_file(sid);
    REQUIRE(removed);
    CHECK(removed->path == "/srv/xftp/x");
    CHECK(removed->info.size == 262144);
    CHECK(store.file_count() == 0);
    CHECK(store.recipient_count() == 0);
    CHECK_FALSE(store.by_recipient(id_of(2)));
    CHECK_FALSE(store.delete_file(sid));
  }
  SECTION("a blocked file keeps its path and refuses a new one") {
    CHECK_FALSE(store.set_file_path(sid, "/srv/xftp/x"));
    CHECK_FALSE(store.block_file(sid, BlockingInfo{BlockingInfo::Reason::spam, false, {}}));
    const FileRec* f = store.by_sender(sid);
    CHECK(f->status.kind == FileStatus::Blocked);
    CHECK(f->path == "/srv/xftp/x");
    CHECK(store.block_file(id_of(9), {}) == StoreError::AUTH);
  }
  SECTION("a blocked file that was not uploaded cannot get a path") {
    CHECK_FALSE(store.block_file(sid, {}));
    CHECK(store.set_file_path(sid, "/srv/xftp/x") == StoreError::AUTH);
  }
}

TEST_CASE("expiry removes files created more than an hour before the cutoff", "[xftp-store]") {
  FileStore store;
  REQUIRE_FALSE(store.add_file(id_of(1), info_of(65536), 3600, {}));
  REQUIRE_FALSE(store.add_file(id_of(2), info_of(1048576), 7200, {}));
  REQUIRE_FALSE(store.add_file(id_of(3), info_of(4194304), 10800, {}));
  REQUIRE_FALSE(store.set_file_path(id_of(2), "/srv/xftp/two"));
  REQUIRE_FALSE(store.add_recipient(id_of(2), {id_of(9), key_of(kEdKey)}));
  REQUIRE_FALSE(store.block_file(id_of(1), {}));  // blocked files expire too

  // created_at + 3600 < old: with old = 10800 the file of 7200 is kept.
  CHECK(store.expired(10800).size() == 1);
  const auto gone = store.expire(10801);
  REQUIRE(gone.size() == 2);
  CHECK(gone[0].sender_id == id_of(1));
  CHECK_FALSE(gone[0].path);
  CHECK(gone[0].size == 65536);
  CHECK(gone[1].sender_id == id_of(2));
  CHECK(gone[1].path == "/srv/xftp/two");
  CHECK(gone[1].size == 1048576);
  CHECK(store.file_count() == 1);
  CHECK_FALSE(store.by_recipient(id_of(9)));
  CHECK(store.by_sender(id_of(3)));
  CHECK(store.expire(10801).empty());
}

TEST_CASE("sender and recipient ids are separate id spaces", "[xftp-store]") {
  FileStore store;
  REQUIRE_FALSE(store.add_file(id_of(1), info_of(65536), 0, {}));
  REQUIRE_FALSE(store.add_file(id_of(2), info_of(65536), 0, {}));
  CHECK(store.add_file(id_of(1), info_of(65536), 0, {}) == StoreError::DUPLICATE_);
  // A recipient id may equal a sender id (the reference never checks one against the other).
  CHECK_FALSE(store.add_recipient(id_of(1), {id_of(2), key_of(kEdKey)}));
  CHECK(store.by_recipient(id_of(2))->file->sender_id == id_of(1));
  CHECK(store.by_sender(id_of(2))->sender_id == id_of(2));
  // A recipient id is unique across all files.
  CHECK(store.add_recipient(id_of(2), {id_of(2), key_of(kXKey)}) == StoreError::DUPLICATE_);
  CHECK(store.add_recipient(id_of(7), {id_of(8), key_of(kXKey)}) == StoreError::AUTH);
}

TEST_CASE("FNEW and FADD allocate fresh ids and retry collisions", "[xftp-store]") {
  FileStore store;
  std::vector<FileId> ids;
  size_t next = 0;
  const FileStore::IdSource source = [&] { return ids.at(next++); };
  const std::vector<crypto::PublicKey> keys = {key_of(kEdKey), key_of(kXKey)};

  SECTION("collisions are retried with a new id") {
    REQUIRE_FALSE(store.add_file(id_of(1), info_of(65536), 0, {}));
    REQUIRE_FALSE(store.add_recipient(id_of(1), {id_of(5), key_of(kEdKey)}));
    ids = {id_of(1), id_of(2), id_of(5), id_of(3), id_of(4)};
    const auto r = store.create_file(info_of(65536), keys, 3600, source);
    REQUIRE(std::holds_alternative<NewFileIds>(r));
    const auto& n = std::get<NewFileIds>(r);
    CHECK(n.sender_id == id_of(2));
    REQUIRE(n.recipients.size() == 2);
    CHECK(n.recipients[0] == FileRecipient{id_of(3), key_of(kEdKey)});
    CHECK(n.recipients[1] == FileRecipient{id_of(4), key_of(kXKey)});
    CHECK(store.by_sender(id_of(2))->created_at == 3600);
    CHECK(next == ids.size());

    ids.push_back(id_of(6));
    const auto added = store.add_recipients(id_of(2), {key_of(kEdKey)}, source);
    REQUIRE(std::holds_alternative<std::vector<FileRecipient>>(added));
    CHECK(store.by_recipient(id_of(6))->file->sender_id == id_of(2));
  }
  SECTION("three collisions are INTERNAL") {
    REQUIRE_FALSE(store.add_file(id_of(1), info_of(65536), 0, {}));
    ids = {id_of(1), id_of(1), id_of(1)};
    CHECK(std::get<StoreError>(store.create_file(info_of(65536), keys, 0, source)) == StoreError::INTERNAL);
    CHECK(store.file_count() == 1);
  }
  SECTION("FADD to an unknown file is AUTH") {
    ids = {id_of(3)};
    CHECK(std::get<StoreError>(store.add_recipients(id_of(9), keys, source)) == StoreError::AUTH);
  }
}

TEST_CASE("file time and used storage follow the reference", "[xftp-store]") {
  CHECK(round_file_time(1748793599) == 1748790000);
  CHECK(round_file_time(1748790000) == 1748790000);
  CHECK(round_file_time(-1) == -3600);

  // At start-up the used storage is the size of every record, uploaded or not (8.Q12).
  FileStore store;
  REQUIRE_FALSE(store.add_file(id_of(1), info_of(65536), 0, {}));
  REQUIRE_FALSE(store.add_file(id_of(2), info_of(4194304), 0, {}));
  REQUIRE_FALSE(store.set_file_path(id_of(2), "/p"));
  CHECK(store.total_size() == 65536 + 4194304);
}
