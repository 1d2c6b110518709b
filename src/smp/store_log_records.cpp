#include "smp/store_log_records.hpp"

#include "core/text_cursor.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace sr::smp {

namespace {

// ---- encoding ----

std::string b64(const Bytes& b) { return base64url_encode(b); }
std::string b64(const crypto::Key32& k) { return base64url_encode(k); }
std::string b64(const crypto::PublicKey& k) { return base64url_encode(crypto::encode_spki(k)); }

std::string key_list(const std::vector<crypto::PublicKey>& keys) {
  std::string s;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) s += ',';
    s += b64(keys[i]);
  }
  return s;
}

std::string ntf_creds(const NtfCredsRecord& n) {
  std::string s = b64(n.notifier_id) + ' ' + b64(n.notifier_key) + ' ' + b64(n.rcv_ntf_dh_secret);
  if (n.service_id) s += " nsrv=" + b64(*n.service_id);
  return s;
}

std::string queue_record(const CreateRecord& c) {
  std::string s = "rk=" + key_list(c.rcv_keys) + " rdh=" + b64(c.rcv_dh_secret) + " sid=" + b64(c.sender_id) + " sk=";
  if (c.sender_key) s += b64(*c.sender_key);
  if (c.queue_mode) {
    s += " queue_mode=";
    s += static_cast<char>(*c.queue_mode);
  }
  if (c.link)
    s += " link_id=" + b64(c.link->link_id) + " queue_data=" + b64(c.link->fixed_data) + ' ' + b64(c.link->user_data);
  if (c.notifier) s += " notifier=" + ntf_creds(*c.notifier);
  if (c.updated_at) s += " updated_at=" + std::to_string(*c.updated_at);
  if (c.status == QueueStatus::Off) s += " status=off";
  if (c.status == QueueStatus::Blocked) s += " status=blocked," + encode_blocking_info(c.blocking);
  if (c.rcv_service_id) s += " rsrv=" + b64(*c.rcv_service_id);
  return s;
}

struct Encode {
  std::string operator()(const CreateRecord& r) const { return "CREATE rid=" + b64(r.recipient_id) + ' ' + queue_record(r); }
  std::string operator()(const LinkRecord& r) const {
    return "LINK " + b64(r.recipient_id) + ' ' + b64(r.link_id) + ' ' + b64(r.fixed_data) + ' ' + b64(r.user_data);
  }
  std::string operator()(const SecureRecord& r) const { return "SECURE " + b64(r.recipient_id) + ' ' + b64(r.sender_key); }
  std::string operator()(const KeysRecord& r) const { return "KEYS " + b64(r.recipient_id) + ' ' + key_list(r.rcv_keys); }
  std::string operator()(const NotifierRecord& r) const {
    return "NOTIFIER " + b64(r.recipient_id) + ' ' + ntf_creds(r.creds);
  }
  std::string operator()(const BlockRecord& r) const {
    return "BLOCK " + b64(r.recipient_id) + ' ' + encode_blocking_info(r.info);
  }
  std::string operator()(const TimeRecord& r) const { return "TIME " + b64(r.recipient_id) + ' ' + std::to_string(r.date); }
  std::string operator()(const NewServiceRecord& r) const {
    std::string s = "NEW_SERVICE service_id=" + b64(r.service_id) + " role=" + r.role + " cert=";
    for (size_t i = 0; i < r.cert_chain.size(); ++i) {
      if (i) s += ',';
      s += b64(r.cert_chain[i]);
    }
    return s + " cert_hash=" + b64(r.cert_hash) + " created_at=" + std::to_string(r.created_at);
  }
  std::string operator()(const QueueServiceRecord& r) const {
    // An absent service id leaves the line ending with the separating space, as the reference writes it.
    return "QUEUE_SERVICE " + b64(r.recipient_id) + ' ' + r.party + ' ' + (r.service_id ? b64(*r.service_id) : "");
  }
  template <int Tag>
  std::string operator()(const RidRecord<Tag>& r) const {
    constexpr const char* kTags[] = {"LDELETE", "SUSPEND", "UNBLOCK", "DELETE", "NDELETE"};
    return std::string(kTags[Tag]) + ' ' + b64(r.recipient_id);
  }
};

// ---- parsing ----

class Cursor : public TextCursor {
 public:
  using TextCursor::TextCursor;

  crypto::PublicKey key() { return public_key(); }
  crypto::Key32 dh_secret() {
    const Bytes b = bytes();
    if (b.size() != 32) fail("invalid X25519 DH secret");
    crypto::Key32 k;
    std::copy(b.begin(), b.end(), k.begin());
    return k;
  }
  std::vector<crypto::PublicKey> keys() {
    std::vector<crypto::PublicKey> ks{key()};
    while (take(",")) ks.push_back(key());
    return ks;
  }
  // Entity status; a blocking notice JSON takes the rest of the line, as in the reference.
  void status(QueueStatus& st, BlockingInfo& info) {
    if (take("active")) {
      st = QueueStatus::Active;
    } else if (take("off")) {
      st = QueueStatus::Off;
    } else if (take("blocked,")) {
      st = QueueStatus::Blocked;
      info = blocking_info();
    } else {
      fail("bad status");
    }
  }
  BlockingInfo blocking_info() {
    const size_t start = pos();
    expect("reason=");
    if (!take("spam") && !take("content")) fail("bad blocking reason");
    if (remaining().starts_with(",notice=")) rest();
    auto b = parse_blocking_info(from(start));
    if (!b) fail("invalid blocking info");
    return *b;
  }
  NtfCredsRecord ntf_creds() {
    NtfCredsRecord n;
    n.notifier_id = bytes();
    expect(" ");
    n.notifier_key = key();
    expect(" ");
    n.rcv_ntf_dh_secret = dh_secret();
    if (take(" nsrv=")) n.service_id = bytes();
    return n;
  }
};

CreateRecord parse_create(Cursor& p) {
  CreateRecord c;
  p.expect("rid=");
  c.recipient_id = p.bytes();
  p.expect(" rk=");
  c.rcv_keys = p.keys();
  p.expect(" rdh=");
  c.rcv_dh_secret = p.dh_secret();
  p.expect(" sid=");
  c.sender_id = p.bytes();
  p.expect(" sk=");
  if (p.peek_b64()) c.sender_key = p.key();
  if (p.take(" sndSecure=")) {
    c.queue_mode = p.one_of("TF", "sndSecure") == 'T' ? QueueMode::Messaging : QueueMode::Contact;
  } else if (p.take(" queue_mode=")) {
    c.queue_mode = static_cast<QueueMode>(p.one_of("MC", "queue_mode"));
  }
  if (p.take(" link_id=")) {
    CreateRecord::Link l;
    l.link_id = p.bytes();
    p.expect(" queue_data=");
    l.fixed_data = p.bytes();
    p.expect(" ");
    l.user_data = p.bytes();
    c.link = std::move(l);
  }
  if (p.take(" notifier=")) c.notifier = p.ntf_creds();
  if (p.take(" updated_at=")) c.updated_at = p.int64();
  if (p.take(" status=")) p.status(c.status, c.blocking);
  if (p.take(" rsrv=")) c.rcv_service_id = p.bytes();
  return c;
}

StoreLogRecord parse_record(Cursor& p) {
  auto rid_then = [&p] {
    Bytes rid = p.bytes();
    p.expect(" ");
    return rid;
  };
  if (p.take("CREATE ")) return {parse_create(p)};
  if (p.take("LINK ")) {
    LinkRecord r;
    r.recipient_id = rid_then();
    r.link_id = p.bytes();
    p.expect(" ");
    r.fixed_data = p.bytes();
    p.expect(" ");
    r.user_data = p.bytes();
    return {std::move(r)};
  }
  if (p.take("LDELETE ")) return {LDeleteRecord{p.bytes()}};
  if (p.take("SECURE ")) {
    Bytes rid = rid_then();
    return {SecureRecord{std::move(rid), p.key()}};
  }
  if (p.take("KEYS ")) {
    Bytes rid = rid_then();
    return {KeysRecord{std::move(rid), p.keys()}};
  }
  if (p.take("NOTIFIER ")) {
    Bytes rid = rid_then();
    return {NotifierRecord{std::move(rid), p.ntf_creds()}};
  }
  if (p.take("SUSPEND ")) return {SuspendRecord{p.bytes()}};
  if (p.take("BLOCK ")) {
    Bytes rid = rid_then();
    return {BlockRecord{std::move(rid), p.blocking_info()}};
  }
  if (p.take("UNBLOCK ")) return {UnblockRecord{p.bytes()}};
  if (p.take("DELETE ")) return {DeleteRecord{p.bytes()}};
  if (p.take("NDELETE ")) return {NDeleteRecord{p.bytes()}};
  if (p.take("TIME ")) {
    Bytes rid = rid_then();
    return {TimeRecord{std::move(rid), p.int64()}};
  }
  if (p.take("NEW_SERVICE ")) {
    NewServiceRecord s;
    p.expect("service_id=");
    s.service_id = p.bytes();
    p.expect(" role=");
    s.role = p.one_of("MNP", "service role");
    p.expect(" cert=");
    // The reference reads a possibly empty comma-separated list here.
    if (p.peek_b64()) {
      s.cert_chain.push_back(p.bytes());
      while (p.take(",")) s.cert_chain.push_back(p.bytes());
    }
    p.expect(" cert_hash=");
    s.cert_hash = p.bytes();
    p.expect(" created_at=");
    s.created_at = p.int64();
    return {std::move(s)};
  }
  if (p.take("QUEUE_SERVICE ")) {
    QueueServiceRecord r;
    r.recipient_id = rid_then();
    r.party = p.one_of("RN", "subscriber party");
    p.expect(" ");
    if (p.peek_b64()) r.service_id = p.bytes();
    return {std::move(r)};
  }
  p.fail("unknown record tag");
}

// ---- conversions ----

std::optional<std::optional<Id>> opt_id(const std::optional<Bytes>& b) {
  if (!b) return std::optional<Id>{};
  auto id = to_id(*b);
  if (!id) return std::nullopt;
  return std::optional<Id>{*id};
}

std::optional<NotifierRec> to_notifier_rec(const NtfCredsRecord& n) {
  auto nid = to_id(n.notifier_id);
  auto srv = opt_id(n.service_id);
  if (!nid || !srv) return std::nullopt;
  return NotifierRec{*nid, StoredKey::of(n.notifier_key), n.rcv_ntf_dh_secret, *srv};
}

NtfCredsRecord ntf_creds_record(const NotifierRec& n) {
  NtfCredsRecord r{Bytes(n.notifier_id.begin(), n.notifier_id.end()), n.notifier_key.key(), n.rcv_ntf_dh_secret, {}};
  if (n.service_id) r.service_id = Bytes(n.service_id->begin(), n.service_id->end());
  return r;
}

std::optional<uint32_t> to_day(int64_t seconds) {
  if (seconds < 0 || seconds / 86400 > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return static_cast<uint32_t>(seconds / 86400);
}

Bytes to_bytes(const Id& id) { return Bytes(id.begin(), id.end()); }

// ---- load ----

class Loader {
 public:
  Loader(QueueStore& store, std::vector<ServiceRec>& services, std::set<Id>* deleted)
      : store_(store), services_(services), deleted_(deleted) {}

  std::string operator()(const CreateRecord& c) {
    auto q = to_queue_rec(c);
    if (!q) return queue_error(c.recipient_id, "CreateQueue", "unsupported ID length or date");
    if ((deleted_ && deleted_->count(q->recipient_id)) || store_.add(std::move(*q)) != StoreResult::Ok)
      return queue_error(c.recipient_id, "CreateQueue", "DUPLICATE_");
    return {};
  }
  std::string operator()(const LinkRecord& r) {
    return with_queue(r.recipient_id, "CreateLink", [&](QueueRec& q, const Id& rid) -> std::string {
      auto lid = to_id(r.link_id);
      if (!lid) return "unsupported ID length";
      // Link data may be re-set only with the same id and fixed data.
      if (const QueueLink* old = q.link(); old && (old->link_id != *lid || old->fixed_data != r.fixed_data))
        return "AUTH";
      return store_.set_link(rid, QueueLink{*lid, r.fixed_data, r.user_data}) == StoreResult::Ok ? "" : "AUTH";
    });
  }
  std::string operator()(const LDeleteRecord& r) {
    return with_queue(r.recipient_id, "DeleteLink", [&](QueueRec&, const Id& rid) -> std::string {
      store_.delete_link(rid);
      return {};
    });
  }
  std::string operator()(const SecureRecord& r) {
    return with_queue(r.recipient_id, "SecureQueue", [&](QueueRec& q, const Id& rid) -> std::string {
      const StoredKey k = StoredKey::of(r.sender_key);
      if (q.has_sender_key()) return q.snd_key == k ? "" : "AUTH";
      store_.set_sender_key(rid, k);
      return {};
    });
  }
  std::string operator()(const KeysRecord& r) {
    return with_queue(r.recipient_id, "UpdateKeys", [&](QueueRec&, const Id& rid) -> std::string {
      std::vector<StoredKey> keys;
      for (const auto& k : r.rcv_keys) keys.push_back(StoredKey::of(k));
      store_.set_rcv_keys(rid, keys);
      return {};
    });
  }
  std::string operator()(const NotifierRecord& r) {
    return with_queue(r.recipient_id, "AddNotifier", [&](QueueRec&, const Id& rid) -> std::string {
      auto n = to_notifier_rec(r.creds);
      if (!n) return "unsupported ID length";
      // The reference refuses a notifier id already indexed, even the queue's own current one.
      if (store_.by_notifier(n->notifier_id)) return "DUPLICATE_";
      return store_.set_notifier(rid, *n) == StoreResult::Ok ? "" : "DUPLICATE_";
    });
  }
  std::string operator()(const SuspendRecord& r) { return status(r.recipient_id, "SuspendQueue", QueueStatus::Off); }
  std::string operator()(const BlockRecord& r) {
    return status(r.recipient_id, "BlockQueue", QueueStatus::Blocked, r.info);
  }
  std::string operator()(const UnblockRecord& r) {
    return status(r.recipient_id, "UnblockQueue", QueueStatus::Active);
  }
  std::string operator()(const DeleteRecord& r) {
    return with_queue(r.recipient_id, "DeleteQueue", [&](QueueRec&, const Id& rid) -> std::string {
      store_.remove(rid);
      if (deleted_) deleted_->insert(rid);
      return {};
    });
  }
  std::string operator()(const NDeleteRecord& r) {
    return with_queue(r.recipient_id, "DeleteNotifier", [&](QueueRec&, const Id& rid) -> std::string {
      store_.delete_notifier(rid);
      return {};
    });
  }
  std::string operator()(const TimeRecord& r) {
    return with_queue(r.recipient_id, "UpdateTime", [&](QueueRec&, const Id& rid) -> std::string {
      auto day = to_day(r.date);
      if (!day) return "unsupported date";
      store_.touch(rid, *day);
      return {};
    });
  }
  std::string operator()(const NewServiceRecord& r) {
    const std::string pfx = "STORE: getCreateService, stored service " + b64(r.service_id) + ", ";
    auto s = to_service_rec(r);
    if (!s) return pfx + "unsupported ID or hash length";
    // As the reference: a known certificate hash keeps its service (same role), otherwise the id must be new.
    for (const auto& known : services_) {
      if (known.cert_hash != s->cert_hash) continue;
      if (known.role != s->role) return pfx + "SERVICE";
      if (known.service_id != s->service_id) return pfx + "created with the wrong ID " + b64(to_bytes(known.service_id));
      return {};
    }
    for (const auto& known : services_)
      if (known.service_id == s->service_id) return pfx + "DUPLICATE_";
    services_.push_back(std::move(*s));
    return {};
  }
  std::string operator()(const QueueServiceRecord& r) {
    return with_queue(r.recipient_id, "QueueService", [&](QueueRec& q, const Id& rid) -> std::string {
      auto srv = opt_id(r.service_id);
      if (!srv) return "unsupported ID length";
      if (r.party == 'N') return store_.set_notifier_service(rid, *srv) == StoreResult::Ok ? "" : "AUTH";
      // QueueStore has no mutation method for the recipient service yet; the load writes the record directly.
      if (*srv) {
        q.ensure_extra().rcv_service_id = *srv;
      } else if (q.extra) {
        q.extra->rcv_service_id.reset();
      }
      return {};
    });
  }

 private:
  static std::string queue_error(const Bytes& rid, const char* op, std::string_view err) {
    std::string s = "STORE: ";
    s += op;
    s += ", stored queue " + b64(rid) + ", ";
    s += err;
    return s;
  }
  // The reference's withQueue: unknown queue → AUTH, deleted queue → "already deleted", else the action's error.
  template <class F>
  std::string with_queue(const Bytes& rid_bytes, const char* op, F&& action) {
    const auto rid = to_id(rid_bytes);
    QueueRec* q = rid ? store_.by_recipient(*rid) : nullptr;
    if (!q) {
      const bool was_deleted = rid && deleted_ && deleted_->count(*rid);
      return queue_error(rid_bytes, op, was_deleted ? "already deleted" : "AUTH");
    }
    std::string err = action(*q, *rid);
    return err.empty() ? err : queue_error(rid_bytes, op, err);
  }
  std::string status(const Bytes& rid, const char* op, QueueStatus st, const BlockingInfo& info = {}) {
    return with_queue(rid, op, [&](QueueRec&, const Id& id) -> std::string {
      store_.set_status(id, st, info);
      return {};
    });
  }

  QueueStore& store_;
  std::vector<ServiceRec>& services_;
  std::set<Id>* deleted_;
};

}  // namespace

std::string encode_store_log_record(const StoreLogRecord& record) { return std::visit(Encode{}, record.rec); }

std::variant<StoreLogRecord, std::string> parse_store_log_record(std::string_view line) {
  return parse_line<Cursor>(line, [](Cursor& p) { return parse_record(p); });
}

StoreLogRecord create_record(const QueueRec& q) {
  CreateRecord c;
  c.recipient_id = to_bytes(q.recipient_id);
  c.rcv_keys = q.rcv_keys();
  c.rcv_dh_secret = q.rcv_dh_secret;
  c.sender_id = to_bytes(q.sender_id);
  if (q.has_sender_key()) c.sender_key = q.snd_key.key();
  c.queue_mode = q.queue_mode();
  if (const QueueLink* l = q.link()) c.link = CreateRecord::Link{to_bytes(l->link_id), l->fixed_data, l->user_data};
  if (const NotifierRec* n = q.notifier()) c.notifier = ntf_creds_record(*n);
  if (q.updated_at) c.updated_at = static_cast<int64_t>(q.updated_at) * 86400;
  c.status = q.status;
  if (q.status == QueueStatus::Blocked && q.extra) c.blocking = q.extra->blocking;
  if (q.extra && q.extra->rcv_service_id) c.rcv_service_id = to_bytes(*q.extra->rcv_service_id);
  return {std::move(c)};
}

std::optional<QueueRec> to_queue_rec(const CreateRecord& c) {
  auto rid = to_id(c.recipient_id);
  auto sid = to_id(c.sender_id);
  auto rsrv = opt_id(c.rcv_service_id);
  if (!rid || !sid || !rsrv || c.rcv_keys.empty()) return std::nullopt;
  QueueRec q;
  q.recipient_id = *rid;
  q.sender_id = *sid;
  q.rcv_key = StoredKey::of(c.rcv_keys.front());
  if (c.rcv_keys.size() > 1)
    for (size_t i = 1; i < c.rcv_keys.size(); ++i) q.ensure_extra().more_rcv_keys.push_back(StoredKey::of(c.rcv_keys[i]));
  if (c.sender_key) q.snd_key = StoredKey::of(*c.sender_key);
  q.rcv_dh_secret = c.rcv_dh_secret;
  q.status = c.status;
  if (c.status == QueueStatus::Blocked) q.ensure_extra().blocking = c.blocking;
  q.mode = c.queue_mode ? static_cast<uint8_t>(*c.queue_mode) : 0;
  if (c.updated_at) {
    auto day = to_day(*c.updated_at);
    if (!day) return std::nullopt;
    q.updated_at = *day;
  }
  if (c.link) {
    auto lid = to_id(c.link->link_id);
    if (!lid) return std::nullopt;
    q.ensure_extra().link = QueueLink{*lid, c.link->fixed_data, c.link->user_data};
  }
  if (c.notifier) {
    auto n = to_notifier_rec(*c.notifier);
    if (!n) return std::nullopt;
    q.ensure_extra().notifier = std::move(*n);
  }
  if (*rsrv) q.ensure_extra().rcv_service_id = *rsrv;
  return q;
}

std::optional<ServiceRec> to_service_rec(const NewServiceRecord& s) {
  auto id = to_id(s.service_id);
  if (!id || s.cert_hash.size() != crypto::Sha256{}.size()) return std::nullopt;
  ServiceRec r;
  r.service_id = *id;
  r.role = s.role;
  r.cert_chain = s.cert_chain;
  std::copy(s.cert_hash.begin(), s.cert_hash.end(), r.cert_hash.begin());
  r.created_at = s.created_at;
  return r;
}

NewServiceRecord new_service_record(const ServiceRec& s) {
  return {to_bytes(s.service_id), s.role, s.cert_chain, Bytes(s.cert_hash.begin(), s.cert_hash.end()), s.created_at};
}

std::string apply_store_log_record(QueueStore& store, std::vector<ServiceRec>& services, const StoreLogRecord& r,
                                   std::set<Id>* deleted) {
  return std::visit(Loader(store, services, deleted), r.rec);
}

void write_compacted(const QueueStore& store, const std::vector<ServiceRec>& services,
                     const std::function<void(std::string_view)>& line) {
  std::vector<const ServiceRec*> srvs;
  for (const auto& s : services) srvs.push_back(&s);
  std::sort(srvs.begin(), srvs.end(), [](auto* a, auto* b) { return a->service_id < b->service_id; });
  for (const auto* s : srvs) line(encode_store_log_record({new_service_record(*s)}));

  std::vector<const QueueRec*> queues;
  queues.reserve(store.size());
  store.for_each([&](const QueueRec& q) { queues.push_back(&q); });
  std::sort(queues.begin(), queues.end(), [](auto* a, auto* b) { return a->recipient_id < b->recipient_id; });
  for (const auto* q : queues) line(encode_store_log_record(create_record(*q)));
}

}  // namespace sr::smp
