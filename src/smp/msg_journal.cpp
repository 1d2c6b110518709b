#include "smp/msg_journal.hpp"

#include <fmt/format.h>

#include <cstring>

#include "core/encoding.hpp"
#include "core/log.hpp"

namespace sr::smp {
namespace {

using journal::ByteView;

constexpr size_t kMinCompactBytes = 64u << 20;

ByteView byte_of(const uint8_t& b) { return ByteView(&b, 1); }

struct Int64Bytes {
  Bytes b;
  explicit Int64Bytes(int64_t v) { Encoder(b).int64(v); }
  ByteView view() const { return b; }
};

uint8_t flags_of(const Message& m) { return static_cast<uint8_t>((m.notification ? 1 : 0) | (m.quota ? 2 : 0)); }

const uint8_t kPut = 'M', kAck = 'A', kDrop = 'D', kExpire = 'X', kNtf = 'N', kNtfDrop = 'T', kNtfExpire = 'Y';

void emit_put(const std::function<void(std::initializer_list<ByteView>)>& emit, const Id& rid, const Message& m) {
  const Int64Bytes ts(m.ts);
  const uint8_t flags = flags_of(m);
  emit({byte_of(kPut), view(rid), view(m.msg_id), ts.view(), byte_of(flags), ByteView(m.body)});
}

void emit_ntf(const std::function<void(std::initializer_list<ByteView>)>& emit, const Id& nid,
              const Notification& n) {
  const Int64Bytes ts(n.ts);
  emit({byte_of(kNtf), view(nid), view(n.msg_id), ts.view(), ByteView(n.nonce), ByteView(n.enc_meta)});
}

std::optional<Id> read_id(Decoder& d) {
  auto r = d.raw(kIdSize);
  if (!r) return std::nullopt;
  return to_id(*r);
}

// Applies one record; false when it is malformed, nullopt-like "inconsistent" counted by the caller.
enum class Applied { Ok, Inconsistent, Malformed };

Applied apply_record(ByteView p, MsgStore& msgs, NtfStore& ntfs) {
  Decoder d(p);
  const auto type = d.byte();
  if (!type) return Applied::Malformed;
  switch (*type) {
    case kPut: {
      auto rid = read_id(d), mid = read_id(d);
      auto ts = d.int64();
      auto flags = d.byte();
      if (!rid || !mid || !ts || !flags) return Applied::Malformed;
      Message m;
      m.msg_id = *mid;
      m.ts = *ts;
      m.notification = *flags & 1;
      m.quota = *flags & 2;
      auto body = d.rest();
      m.body.assign(body.begin(), body.end());
      msgs.replay_put(*rid, std::move(m));
      return Applied::Ok;
    }
    case kAck: {
      auto rid = read_id(d), mid = read_id(d);
      if (!rid || !mid || !d.at_end()) return Applied::Malformed;
      return msgs.delete_head_if(*rid, view(*mid)) ? Applied::Ok : Applied::Inconsistent;
    }
    case kDrop: {
      auto rid = read_id(d);
      if (!rid || !d.at_end()) return Applied::Malformed;
      msgs.delete_queue(*rid);
      return Applied::Ok;
    }
    case kExpire: {
      auto cutoff = d.int64();
      if (!cutoff) return Applied::Malformed;
      if (d.at_end()) {
        msgs.expire_all(*cutoff);
        return Applied::Ok;
      }
      auto rid = read_id(d);
      if (!rid || !d.at_end()) return Applied::Malformed;
      msgs.expire(*rid, *cutoff);
      return Applied::Ok;
    }
    case kNtf: {
      auto nid = read_id(d), mid = read_id(d);
      auto ts = d.int64();
      auto nonce = d.raw(std::tuple_size_v<crypto::Nonce>);
      if (!nid || !mid || !ts || !nonce) return Applied::Malformed;
      Notification n;
      n.msg_id = *mid;
      n.ts = *ts;
      std::memcpy(n.nonce.data(), nonce->data(), n.nonce.size());
      auto meta = d.rest();
      n.enc_meta.assign(meta.begin(), meta.end());
      ntfs.add(*nid, std::move(n));
      return Applied::Ok;
    }
    case kNtfDrop: {
      auto nid = read_id(d);
      if (!nid || !d.at_end()) return Applied::Malformed;
      ntfs.erase(*nid);
      return Applied::Ok;
    }
    case kNtfExpire: {
      auto cutoff = d.int64();
      if (!cutoff || !d.at_end()) return Applied::Malformed;
      ntfs.expire(*cutoff);
      return Applied::Ok;
    }
    default:
      return Applied::Malformed;
  }
}

}  // namespace

bool MsgJournalFile::write(const char* op, const Id& id, std::initializer_list<ByteView> parts) {
  if (auto ec = w_->append(parts)) {
    // The reference's STORE error text: operation, queue, exception.
    last_error_ = fmt::format("{}, {}, {}: {}", op, base64url_encode(view(id)), w_->path().string(), ec.message());
    LOG_ERROR("STORE: {}", last_error_);
    return false;
  }
  return true;
}

bool MsgJournalFile::put(const Id& rid, const Message& m) {
  bool ok = true;
  emit_put([&](std::initializer_list<ByteView> parts) { ok = write("writeMsg", rid, parts); }, rid, m);
  return ok;
}

bool MsgJournalFile::del_head(const Id& rid, const Id& msg_id) {
  return write("tryDelMsg", rid, {byte_of(kAck), view(rid), view(msg_id)});
}

void MsgJournalFile::drop_queue(const Id& rid) { write("deleteQueue", rid, {byte_of(kDrop), view(rid)}); }

void MsgJournalFile::expire(const Id* rid, int64_t older_than) {
  const Int64Bytes cutoff(older_than);
  if (rid)
    write("expireMessages", *rid, {byte_of(kExpire), cutoff.view(), view(*rid)});
  else
    write("expireMessages", Id{}, {byte_of(kExpire), cutoff.view()});
}

bool MsgJournalFile::ntf_add(const Id& notifier_id, const Notification& n) {
  bool ok = true;
  emit_ntf([&](std::initializer_list<ByteView> parts) { ok = write("storeNtf", notifier_id, parts); }, notifier_id, n);
  return ok;
}

void MsgJournalFile::ntf_drop(const Id& notifier_id) {
  write("deleteNtfs", notifier_id, {byte_of(kNtfDrop), view(notifier_id)});
}

void MsgJournalFile::ntf_expire(int64_t older_than) {
  const Int64Bytes cutoff(older_than);
  write("expireNtfs", Id{}, {byte_of(kNtfExpire), cutoff.view()});
}

void MsgJournalFile::compact(const MsgStore& msgs, const NtfStore& ntfs) {
  w_->rewrite([&](const auto& emit) { write_msg_snapshot(emit, msgs, ntfs); });
  snapshot_size_ = w_->file_size();
}

bool MsgJournalFile::compact_if_large(const MsgStore& msgs, const NtfStore& ntfs) {
  if (snapshot_size_ == 0) snapshot_size_ = w_->file_size();
  if (w_->file_size() < std::max<uint64_t>(kMinCompactBytes, 2 * snapshot_size_)) return false;
  compact(msgs, ntfs);
  return true;
}

MsgReplayReport replay_msg_journal(const std::filesystem::path& f, MsgStore& msgs, NtfStore& ntfs) {
  MsgReplayReport r;
  r.read = journal::read_records(f, [&](ByteView p) {
    switch (apply_record(p, msgs, ntfs)) {
      case Applied::Ok:
        break;
      case Applied::Inconsistent:
        ++r.inconsistent;
        break;
      case Applied::Malformed:
        ++r.unknown;
        break;
    }
  });
  return r;
}

void write_msg_snapshot(const std::function<void(std::initializer_list<ByteView>)>& emit, const MsgStore& msgs,
                        const NtfStore& ntfs) {
  for (const Id& rid : msgs.queue_ids()) msgs.for_each_message(rid, [&](const Message& m) { emit_put(emit, rid, m); });
  for (const Id& nid : ntfs.ids())
    for (const Notification& n : *ntfs.pending(nid)) emit_ntf(emit, nid, n);
}

size_t drop_orphans(QueueStore& queues, MsgStore& msgs, NtfStore& ntfs) {
  std::vector<Id> gone, gone_ntfs;
  msgs.for_each_queue([&](const Id& rid) {
    if (!queues.by_recipient(rid)) gone.push_back(rid);
  });
  ntfs.for_each_id([&](const Id& nid) {
    if (!queues.by_notifier(nid)) gone_ntfs.push_back(nid);
  });
  size_t n = 0;
  for (const Id& rid : gone) {
    n += msgs.size(rid);
    msgs.delete_queue(rid);
  }
  for (const Id& nid : gone_ntfs) {
    n += ntfs.pending(nid)->size();
    ntfs.erase(nid);
  }
  return n;
}

}  // namespace sr::smp
