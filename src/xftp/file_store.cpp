#include "xftp/file_store.hpp"

namespace sr::xftp {

std::string encode_entity_status(const EntityStatus& s) {
  switch (s.kind) {
    case FileStatus::Active:
      return "active";
    case FileStatus::Off:
      return "off";
    case FileStatus::Blocked:
      break;
  }
  return "blocked," + encode_blocking_info(s.blocking);
}

std::string_view error_text(StoreError e) {
  switch (e) {
    case StoreError::AUTH:
      return "AUTH";
    case StoreError::DUPLICATE_:
      return "DUPLICATE_";
    case StoreError::SIZE:
      return "SIZE";
    case StoreError::INTERNAL:
      break;
  }
  return "INTERNAL";
}

std::optional<StoreError> FileStore::add_file(const SenderId& sid, FileInfo info, int64_t created_at,
                                              EntityStatus status) {
  FileRec rec;
  rec.sender_id = sid;
  rec.info = std::move(info);
  rec.created_at = created_at;
  rec.status = status;
  if (!files_.try_emplace(sid, std::move(rec)).second) return StoreError::DUPLICATE_;
  return std::nullopt;
}

std::optional<StoreError> FileStore::add_recipient(const SenderId& sid, const FileRecipient& r) {
  auto f = files_.find(sid);
  if (f == files_.end()) return StoreError::AUTH;
  if (!recipients_.try_emplace(r.recipient_id, sid).second) return StoreError::DUPLICATE_;
  f->second.recipients.emplace(r.recipient_id, r.key);
  return std::nullopt;
}

std::optional<StoreError> FileStore::set_file_path(const SenderId& sid, std::string path) {
  auto f = files_.find(sid);
  if (f == files_.end() || f->second.path || f->second.status.kind != FileStatus::Active) return StoreError::AUTH;
  f->second.path = std::move(path);
  return std::nullopt;
}

std::optional<FileRec> FileStore::delete_file(const SenderId& sid) {
  auto f = files_.find(sid);
  if (f == files_.end()) return std::nullopt;
  FileRec rec = std::move(f->second);
  files_.erase(f);
  for (const auto& [rid, key] : rec.recipients) recipients_.erase(rid);
  return rec;
}

std::optional<StoreError> FileStore::block_file(const SenderId& sid, const BlockingInfo& info) {
  auto f = files_.find(sid);
  if (f == files_.end()) return StoreError::AUTH;
  f->second.status = EntityStatus::blocked(info);
  return std::nullopt;
}

std::optional<StoreError> FileStore::ack_file(const RecipientId& rid) {
  auto r = recipients_.find(rid);
  if (r == recipients_.end()) return StoreError::AUTH;
  if (auto f = files_.find(r->second); f != files_.end()) f->second.recipients.erase(rid);
  recipients_.erase(r);
  return std::nullopt;
}

namespace {

// Server.hs retryAdd: a fresh id per attempt; only a collision is retried.
template <class Add>
std::optional<StoreError> retry_add(const FileStore::IdSource& new_id, FileId& id, Add&& add) {
  for (int i = 0; i < kIdAttempts; ++i) {
    id = new_id();
    const auto err = add(id);
    if (err != StoreError::DUPLICATE_) return err;
  }
  return StoreError::INTERNAL;
}

}  // namespace

std::variant<std::vector<FileRecipient>, StoreError> FileStore::add_recipients(
    const SenderId& sid, const std::vector<crypto::PublicKey>& rcv_keys, const IdSource& new_id) {
  std::vector<FileRecipient> added;
  for (const auto& key : rcv_keys) {
    FileRecipient r{{}, key};
    if (auto err = retry_add(new_id, r.recipient_id, [&](const FileId& id) {
          return add_recipient(sid, FileRecipient{id, key});
        }))
      return *err;
    added.push_back(std::move(r));
  }
  return added;
}

std::variant<NewFileIds, StoreError> FileStore::create_file(const FileInfo& info,
                                                            const std::vector<crypto::PublicKey>& rcv_keys,
                                                            int64_t created_at, const IdSource& new_id) {
  NewFileIds ids;
  if (auto err = retry_add(new_id, ids.sender_id,
                           [&](const FileId& id) { return add_file(id, info, created_at, EntityStatus{}); }))
    return *err;
  auto rs = add_recipients(ids.sender_id, rcv_keys, new_id);
  if (auto* err = std::get_if<StoreError>(&rs)) return *err;
  ids.recipients = std::move(std::get<std::vector<FileRecipient>>(rs));
  return ids;
}

const FileRec* FileStore::by_sender(const SenderId& sid) const {
  auto f = files_.find(sid);
  return f == files_.end() ? nullptr : &f->second;
}

std::optional<FileStore::RecipientFile> FileStore::by_recipient(const RecipientId& rid) const {
  auto r = recipients_.find(rid);
  if (r == recipients_.end()) return std::nullopt;
  const FileRec* f = by_sender(r->second);
  if (!f) return std::nullopt;
  auto k = f->recipients.find(rid);
  if (k == f->recipients.end()) return std::nullopt;
  return RecipientFile{f, &k->second};
}

void FileStore::for_each(const std::function<void(const FileRec&)>& f) const {
  for (const auto& [sid, rec] : files_) f(rec);
}

std::vector<ExpiredFile> FileStore::expired(int64_t old) const {
  std::vector<ExpiredFile> out;
  for (const auto& [sid, rec] : files_)
    if (rec.created_at < old - kFileTimePrecision) out.push_back({sid, rec.path, rec.info.size});
  return out;
}

std::vector<ExpiredFile> FileStore::expire(int64_t old) {
  auto out = expired(old);
  for (const auto& e : out) delete_file(e.sender_id);
  return out;
}

int64_t FileStore::total_size() const {
  int64_t total = 0;
  for (const auto& [sid, rec] : files_) total += rec.info.size;
  return total;
}

}  // namespace sr::xftp
