#include "xftp/xftp_state.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

namespace sr::xftp {

namespace {

Response err(Error::Kind k) { return FRErr{Error::of(k)}; }
Response cmd_err(CmdError c) { return FRErr{Error::command(c)}; }

Error::Kind store_error_kind(StoreError e) {
  switch (e) {
    case StoreError::AUTH: return Error::Kind::AUTH;
    case StoreError::DUPLICATE_: return Error::Kind::DUPLICATE_;
    case StoreError::SIZE: return Error::Kind::SIZE;
    case StoreError::INTERNAL: break;
  }
  return Error::Kind::INTERNAL;
}

bool equal_digest(const Bytes& expected, const crypto::Sha256& got) {
  return expected.size() == got.size() && std::equal(got.begin(), got.end(), expected.begin());
}

}  // namespace

Put::Put(Put&& o) noexcept
    : sender_id(std::move(o.sender_id)),
      size(o.size),
      digest(std::move(o.digest)),
      upload(std::move(o.upload)),
      chunks_(std::exchange(o.chunks_, nullptr)) {
  o.upload.reset();
}

Put& Put::operator=(Put&& o) noexcept {
  if (this != &o) {
    release();
    sender_id = std::move(o.sender_id);
    size = o.size;
    digest = std::move(o.digest);
    upload = std::move(o.upload);
    o.upload.reset();
    chunks_ = std::exchange(o.chunks_, nullptr);
  }
  return *this;
}

Put::~Put() { release(); }

void Put::release() noexcept {
  if (upload) {
    upload->abort();
    upload.reset();
  }
  if (chunks_) {
    try {
      chunks_->remove(sender_id);
    } catch (const std::system_error&) {
    }
    chunks_ = nullptr;
  }
}

Response Get::response() const {
  return FRFile{crypto::PublicKey{crypto::KeyAlg::X25519, Bytes(keys.server.pub.begin(), keys.server.pub.end())},
                keys.nonce};
}

XftpState::XftpState(XftpStateConfig config, FileStore& store, chunks::ChunkStore& chunks)
    : new_id([] { return crypto::random_bytes(kIdSize); }),
      config_(std::move(config)),
      store_(store),
      chunks_(chunks) {}

void XftpState::log(const StoreLogRecord& r) {
  if (store_log) store_log(encode_store_log_record(r));
}

Outcome XftpState::handle(const RawTransmission& t, const std::optional<crypto::Key32>& server_dh_priv, int64_t now) {
  auto parsed = parse_command(t.command);
  if (auto* e = std::get_if<CmdError>(&parsed)) return cmd_err(*e);
  const Command& c = std::get<Command>(parsed);
  if (auto e = check_credentials(c, !t.auth.empty(), !t.entity_id.empty())) return cmd_err(*e);

  if (std::holds_alternative<PING>(c)) return Response{FRPong{}};

  std::lock_guard lock(mutex_);
  if (const auto* fnew = std::get_if<FNEW>(&c)) {
    // Proof of possession of the key the file will be controlled with; only then the server's own policy.
    if (!verify_transmission(fnew->file.snd_key, t, server_dh_priv)) return err(Error::Kind::AUTH);
    return create_file(*fnew, now);
  }

  const FileId id(t.entity_id.begin(), t.entity_id.end());
  const FileRec* rec = nullptr;
  const AuthKey* key = nullptr;
  if (command_party(c) == Party::Sender) {
    rec = store_.by_sender(id);
    if (rec) key = &rec->info.snd_key;
  } else if (auto r = store_.by_recipient(id)) {
    rec = r->file;
    key = r->key;
  }
  // Unknown or off: the same AUTH in about the same time as a failed signature check.
  if (!rec || rec->status.kind == FileStatus::Off) {
    dummy_verify_transmission(t, server_dh_priv);
    return err(Error::Kind::AUTH);
  }
  // Blocked files answer without any signature check (the reference's order).
  if (rec->status.kind == FileStatus::Blocked) return Response{FRErr{Error::blocked_by(rec->status.blocking)}};
  if (!verify_transmission(*key, t, server_dh_priv)) return err(Error::Kind::AUTH);

  return command_party(c) == Party::Sender ? sender_command(c, *rec) : recipient_command(c, id, *rec);
}

Response XftpState::create_file(const FNEW& c, int64_t now) {
  // A password sent to a server without one is accepted.
  const bool allowed =
      config_.new_files && (!config_.create_password || c.basic_auth == config_.create_password);
  if (!allowed) return err(Error::Kind::AUTH);
  if (!allowed_chunk_size(c.file.size)) return err(Error::Kind::SIZE);
  const int64_t created_at = round_file_time(now);
  auto r = store_.create_file(c.file, c.rcv_keys, created_at, new_id);
  if (auto* e = std::get_if<StoreError>(&r)) return err(store_error_kind(*e));
  auto& ids = std::get<NewFileIds>(r);
  log({AddFileRecord{ids.sender_id, c.file, created_at, EntityStatus{}}});
  log({AddRecipientsRecord{ids.sender_id, ids.recipients}});
  stats_.note_created(c.rcv_keys.size());
  FRSndIds out{ids.sender_id, {}};
  for (const auto& rcp : ids.recipients) out.recipient_ids.push_back(rcp.recipient_id);
  return out;
}

Outcome XftpState::sender_command(const Command& c, const FileRec& rec) {
  if (const auto* fadd = std::get_if<FADD>(&c)) {
    auto r = store_.add_recipients(rec.sender_id, fadd->rcv_keys, new_id);
    if (auto* e = std::get_if<StoreError>(&r)) return err(store_error_kind(*e));
    auto& rcps = std::get<std::vector<FileRecipient>>(r);
    log({AddRecipientsRecord{rec.sender_id, rcps}});
    stats_.note_recipients(rcps.size());
    FRRcvIds out;
    for (const auto& rcp : rcps) out.recipient_ids.push_back(rcp.recipient_id);
    return Response{std::move(out)};
  }
  if (std::holds_alternative<FPUT>(c)) return start_put(rec);
  if (std::holds_alternative<FDEL>(c)) return delete_file(rec);
  return err(Error::Kind::INTERNAL);  // parse_command's party rules make this unreachable
}

Outcome XftpState::recipient_command(const Command& c, const RecipientId& rid, const FileRec& rec) {
  if (const auto* fget = std::get_if<FGET>(&c)) return start_get(*fget, rec);
  if (std::holds_alternative<FACK>(c)) {
    log({AckFileRecord{rid}});  // written first, as the reference does
    if (auto e = store_.ack_file(rid)) return err(store_error_kind(*e));
    stats_.note_ack();
    return Response{FROk{}};
  }
  return err(Error::Kind::INTERNAL);
}

Outcome XftpState::start_put(const FileRec& rec) {
  Put put;
  put.sender_id = rec.sender_id;
  put.size = rec.info.size;
  put.digest = rec.info.digest;
  // Committed content is immutable: the body is read and dropped, no quota, no digest check.
  if (rec.uploaded()) return put;

  auto reserved = chunks_.reserve(rec.sender_id, rec.info.size);
  // Eviction (an option of the chunk store) deleted those chunks: their files are gone as after FDEL.
  for (const auto& victim : reserved.evicted) {
    if (victim == rec.sender_id) continue;
    if (const FileRec* v = store_.by_sender(victim); v && v->uploaded()) stats_.note_evicted(v->info.size);
    log({DeleteFileRecord{victim}});
    store_.delete_file(victim);
  }
  if (!reserved.ok()) {
    switch (*reserved.error) {
      case chunks::Error::Quota: return err(Error::Kind::QUOTA);
      // Duplicate: another FPUT of this id is in flight; Committed: one just committed and is recording its
      // path. The reference lets both write the same file and the loser answers AUTH; we refuse the second.
      case chunks::Error::Duplicate:
      case chunks::Error::Committed: return err(Error::Kind::AUTH);
      default: return err(Error::Kind::INTERNAL);
    }
  }
  try {
    auto up = chunks_.begin(rec.sender_id);
    if (auto* u = std::get_if<chunks::Upload>(&up)) {
      put.upload.emplace(std::move(*u));
      put.chunks_ = &chunks_;
      return put;
    }
  } catch (const std::system_error&) {
  }
  chunks_.remove(rec.sender_id);
  return err(Error::Kind::FILE_IO);
}

Response XftpState::finish_put(Put& put, const PutResult& result) {
  if (put.discard()) {
    if (result.io_error) return err(*result.io_error);
    return result.bytes_ok ? Response{FROk{}} : err(Error::Kind::SIZE);
  }

  auto fail = [&](Error::Kind k) {
    put.release();  // deletes the data and releases the reservation
    return err(k);
  };
  if (result.io_error) return fail(*result.io_error);
  if (!result.bytes_ok || put.upload->written() != put.size) return fail(Error::Kind::SIZE);
  if (!result.digest || !equal_digest(put.digest, *result.digest)) return fail(Error::Kind::DIGEST);

  // fsync and rename outside the lock; the record is checked afterwards, as the reference's setFilePath is.
  std::optional<chunks::Error> committed;
  try {
    committed = put.upload->commit();
  } catch (const std::system_error&) {
    return fail(Error::Kind::FILE_IO);
  }
  if (committed) {
    // NotReserved: the reservation was removed meanwhile (the chunk store dropped the data).
    return fail(*committed == chunks::Error::NotReserved ? Error::Kind::AUTH : Error::Kind::SIZE);
  }
  put.upload.reset();
  put.chunks_ = nullptr;  // the chunk is committed: from here on this function removes it on failure

  std::lock_guard lock(mutex_);
  std::string path = chunks_.path_of(put.sender_id).string();
  if (store_.set_file_path(put.sender_id, path)) {
    // The record vanished (FDEL, expiry), was blocked, or got a path meanwhile.
    try {
      chunks_.remove(put.sender_id);
    } catch (const std::system_error&) {
    }
    return err(Error::Kind::AUTH);
  }
  log({PutFileRecord{put.sender_id, std::move(path)}});
  stats_.note_uploaded(put.size);
  return FROk{};
}

Outcome XftpState::start_get(const FGET& c, const FileRec& rec) {
  if (!rec.uploaded()) return err(Error::Kind::NO_FILE);
  std::optional<chunks::Reader> reader;
  try {
    auto r = chunks_.open_read(rec.sender_id);
    if (auto* rd = std::get_if<chunks::Reader>(&r)) reader.emplace(std::move(*rd));
  } catch (const std::system_error&) {
  }
  // The recorded chunk file is missing (or unusable): AUTH, as the reference's doesFileExist check. Opening it
  // here rather than when streaming starts avoids a FILE reply followed by an aborted body.
  if (!reader || reader->size() < rec.info.size) return err(Error::Kind::AUTH);
  auto keys = new_download_keys(c.rcv_dh_key);
  if (!keys) return err(Error::Kind::INTERNAL);  // low-order DH key
  stats_.note_download(rec.sender_id);
  return Get{rec.sender_id, rec.info.size, std::move(*reader), *keys};
}

Response XftpState::delete_file(const FileRec& rec) {
  const SenderId sid = rec.sender_id;  // rec dies with delete_file
  log({DeleteFileRecord{sid}});         // written first, even if the removal then fails
  // Only a recorded path holds chunk bytes; an upload in flight releases its own reservation in finish_put.
  // The gauges count only a chunk that was still there (not evicted, not removed by a block), as the reference's
  // doesFileExist check does.
  bool had_chunk = false;
  if (rec.uploaded()) {
    try {
      had_chunk = chunks_.remove(sid);
    } catch (const std::system_error&) {
      return err(Error::Kind::FILE_IO);  // the record is kept
    }
  }
  stats_.note_deleted(had_chunk, rec.info.size);
  store_.delete_file(sid);
  return FROk{};
}

size_t XftpState::expire(int64_t now) {
  std::lock_guard lock(mutex_);
  const int64_t old = now - config_.file_ttl;
  const auto expired = store_.expired(old);
  for (const auto& f : expired) {
    if (!f.path) continue;
    try {
      chunks_.remove(f.sender_id);
    } catch (const std::system_error&) {
      // The reference logs the failure and drops the record anyway.
    }
  }
  for (const auto& f : expired) {
    log({DeleteFileRecord{f.sender_id}});
    stats_.note_expired();
  }
  store_.expire(old);
  return expired.size();
}

std::optional<Error> XftpState::delete_by_recipient(const RecipientId& rid) {
  std::lock_guard lock(mutex_);
  const auto f = store_.by_recipient(rid);
  if (!f) return Error::of(Error::Kind::AUTH);
  Response r = delete_file(*f->file);
  if (auto* e = std::get_if<FRErr>(&r)) return e->err;
  return std::nullopt;
}

std::optional<Error> XftpState::block_by_recipient(const RecipientId& rid, const BlockingInfo& info) {
  std::lock_guard lock(mutex_);
  const auto f = store_.by_recipient(rid);
  if (!f) return Error::of(Error::Kind::AUTH);
  const FileRec& rec = *f->file;
  const SenderId sid = rec.sender_id;
  log({BlockFileRecord{sid, info}});  // written first, as the reference's blockServerFile
  bool had_chunk = false;  // a second block finds no chunk
  if (rec.uploaded()) {
    try {
      had_chunk = chunks_.remove(sid);
    } catch (const std::system_error&) {
      return Error::of(Error::Kind::FILE_IO);  // the record stays as it was
    }
  }
  stats_.note_deleted(had_chunk, rec.info.size, true);
  store_.block_file(sid, info);
  return std::nullopt;
}

size_t XftpState::file_count() {
  std::lock_guard lock(mutex_);
  return store_.file_count();
}

}  // namespace sr::xftp

namespace sr::xftp {

FileServerStatsData XftpState::stats() {
  std::lock_guard lock(mutex_);
  return stats_;
}

void XftpState::set_stats(FileServerStatsData d) {
  std::lock_guard lock(mutex_);
  stats_ = std::move(d);
}

FileStatsPeriod XftpState::roll_stats(int64_t now) {
  std::lock_guard lock(mutex_);
  return roll_file_stats(stats_, now);
}

}  // namespace sr::xftp
