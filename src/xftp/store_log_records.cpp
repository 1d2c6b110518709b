#include "xftp/store_log_records.hpp"

#include "core/text_cursor.hpp"

#include <charconv>
#include <limits>

namespace sr::xftp {

namespace {

// ---- encoding ----

std::string b64(const Bytes& b) { return base64url_encode(b); }
std::string b64(const crypto::PublicKey& k) { return base64url_encode(crypto::encode_spki(k)); }

struct Encode {
  std::string operator()(const AddFileRecord& r) const {
    return "FNEW " + b64(r.sender_id) + ' ' + b64(r.info.snd_key) + ' ' + std::to_string(r.info.size) + ' ' +
           b64(r.info.digest) + ' ' + std::to_string(r.created_at) + ' ' + encode_entity_status(r.status);
  }
  std::string operator()(const PutFileRecord& r) const {
    return "FPUT " + b64(r.sender_id) + ' ' + base64url_encode(as_bytes(r.path));
  }
  std::string operator()(const AddRecipientsRecord& r) const {
    std::string s = "FADD " + b64(r.sender_id) + ' ';
    for (size_t i = 0; i < r.recipients.size(); ++i) {
      if (i) s += ',';
      s += b64(r.recipients[i].recipient_id) + ':' + b64(r.recipients[i].key);
    }
    return s;
  }
  std::string operator()(const DeleteFileRecord& r) const { return "FDEL " + b64(r.sender_id); }
  std::string operator()(const BlockFileRecord& r) const {
    return "FBLK " + b64(r.sender_id) + ' ' + encode_blocking_info(r.info);
  }
  std::string operator()(const AckFileRecord& r) const { return "FACK " + b64(r.recipient_id); }
};

// ---- parsing ----

class Cursor : public TextCursor {
 public:
  using TextCursor::TextCursor;

  // APublicAuthKey: Ed25519, Ed448 or X25519 SPKI (X448 cannot authorize).
  crypto::PublicKey auth_key() {
    crypto::PublicKey k = public_key();
    if (k.alg == crypto::KeyAlg::X448) fail("invalid public key");
    return k;
  }
  // Blocking info and entity status run to the end of the line (the notice JSON takes the rest).
  BlockingInfo blocking_info() {
    auto b = parse_blocking_info(rest());
    if (!b) fail("invalid blocking info");
    return *b;
  }
  EntityStatus status() {
    if (take("active")) return {};
    if (take("off")) return {FileStatus::Off, {}};
    if (take("blocked,")) return EntityStatus::blocked(blocking_info());
    fail("bad status");
  }
};

StoreLogRecord parse_record(Cursor& p) {
  auto sid_then = [&p] {
    Bytes sid = p.bytes();
    p.expect(" ");
    return sid;
  };
  if (p.take("FNEW ")) {
    AddFileRecord r;
    r.sender_id = sid_then();
    r.info.snd_key = p.auth_key();
    p.expect(" ");
    r.info.size = p.word32();
    p.expect(" ");
    r.info.digest = p.bytes();
    p.expect(" ");
    r.created_at = p.int64();
    if (p.take(" ")) r.status = p.status();
    return {std::move(r)};
  }
  if (p.take("FPUT ")) {
    PutFileRecord r;
    r.sender_id = sid_then();
    const Bytes path = p.bytes();
    r.path.assign(path.begin(), path.end());
    return {std::move(r)};
  }
  if (p.take("FADD ")) {
    AddRecipientsRecord r;
    r.sender_id = sid_then();
    do {
      FileRecipient rcp;
      rcp.recipient_id = p.bytes();
      p.expect(":");
      rcp.key = p.auth_key();
      r.recipients.push_back(std::move(rcp));
    } while (p.take(","));
    return {std::move(r)};
  }
  if (p.take("FDEL ")) return {DeleteFileRecord{p.bytes()}};
  if (p.take("FBLK ")) {
    BlockFileRecord r;
    r.sender_id = sid_then();
    r.info = p.blocking_info();
    return {std::move(r)};
  }
  if (p.take("FACK ")) return {AckFileRecord{p.bytes()}};
  p.fail("unknown record tag");
}

// ---- load ----

struct Apply {
  FileStore& store;

  std::optional<StoreError> operator()(const AddFileRecord& r) const {
    if (r.info.size == 0) return StoreError::SIZE;
    return store.add_file(r.sender_id, r.info, r.created_at, r.status);
  }
  std::optional<StoreError> operator()(const PutFileRecord& r) const {
    return store.set_file_path(r.sender_id, r.path);
  }
  std::optional<StoreError> operator()(const AddRecipientsRecord& r) const {
    for (const auto& rcp : r.recipients)
      if (auto err = store.add_recipient(r.sender_id, rcp)) return err;
    return std::nullopt;
  }
  std::optional<StoreError> operator()(const DeleteFileRecord& r) const {
    if (!store.delete_file(r.sender_id)) return StoreError::AUTH;
    return std::nullopt;
  }
  std::optional<StoreError> operator()(const BlockFileRecord& r) const { return store.block_file(r.sender_id, r.info); }
  std::optional<StoreError> operator()(const AckFileRecord& r) const { return store.ack_file(r.recipient_id); }
};

}  // namespace

std::string encode_store_log_record(const StoreLogRecord& record) { return std::visit(Encode{}, record.rec); }

std::variant<StoreLogRecord, std::string> parse_store_log_record(std::string_view line) {
  return parse_line<Cursor>(line, [](Cursor& p) { return parse_record(p); });
}

std::optional<StoreError> apply_store_log_record(FileStore& store, const StoreLogRecord& r) {
  return std::visit(Apply{store}, r.rec);
}

std::optional<std::string> load_store_log_line(FileStore& store, std::string_view line) {
  const std::string_view head = line.substr(0, 100);
  auto parsed = parse_store_log_record(line);
  if (auto* err = std::get_if<std::string>(&parsed)) return "Log parsing error (" + *err + "): " + std::string(head);
  if (auto err = apply_store_log_record(store, std::get<StoreLogRecord>(parsed)))
    return "Log processing error (" + std::string(error_text(*err)) + "): " + std::string(head);
  return std::nullopt;
}

void write_compacted(const FileStore& store, const std::function<void(std::string_view)>& line) {
  store.for_each([&](const FileRec& f) {
    line(encode_store_log_record({AddFileRecord{f.sender_id, f.info, f.created_at, f.status}}));
    if (!f.recipients.empty()) {
      AddRecipientsRecord a{f.sender_id, {}};
      for (const auto& [rid, key] : f.recipients) a.recipients.push_back({rid, key});
      line(encode_store_log_record({std::move(a)}));
    }
    if (f.path) line(encode_store_log_record({PutFileRecord{f.sender_id, *f.path}}));
  });
}

}  // namespace sr::xftp
