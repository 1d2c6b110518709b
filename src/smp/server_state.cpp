#include "smp/server_state.hpp"

#include "smp/store_log_records.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

namespace sr::smp {

namespace {

bool same(ByteView a, ByteView b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

Response error_response(ErrorType::Kind k) { return resp::ERR{ErrorType::of(k)}; }
Response cmd_error(CmdError c) { return resp::ERR{ErrorType::command(c)}; }

Bytes to_bytes(ByteView v) { return Bytes(v.begin(), v.end()); }
Bytes to_bytes(const Id& id) { return Bytes(id.begin(), id.end()); }

}  // namespace

void ClientState::push(Outgoing o) {
  outbox.push_back(std::move(o));
  if (wake) wake();
}

struct ServerState::Ctx {
  ClientState& c;
  const SessionParams& p;  // the transmission's version and session (fwdVersion inside RFWD)
  const RawTransmission& t;
  Bytes authorized;
  bool forwarded;
  int64_t now;
  Bytes corr_id;
  Bytes entity_id;
  // What queue keys sign when a service signature accompanies the command: the service certificate hash then
  // `authorized` (transport §6.2). Empty otherwise, and queue keys sign `authorized` itself (no 16 KB copy).
  Bytes service_prefixed = {};
  const ServiceSession* service = forwarded ? nullptr : (c.service ? &*c.service : nullptr);

  ByteView key_authorized() const {
    return service_prefixed.empty() ? ByteView(authorized) : ByteView(service_prefixed);
  }

  // Verifies auth with key, or runs the dummy verification when there is no key (§2.2 step 9 timing rule).
  bool verify(const std::optional<crypto::PublicKey>& key) const {
    if (!key) return dummy_verify(t.auth, key_authorized(), t.corr_id, c.session_priv, &c.dh_cache);
    return verify_auth(*key, t.auth, key_authorized(), t.corr_id, c.session_priv, &c.dh_cache);
  }
  bool verify_any(const std::vector<crypto::PublicKey>& keys) const {
    // A key whose algorithm cannot match the auth kind is skipped; with none left, verify the dummy key.
    const size_t n = t.auth.size();
    bool tried = false;
    for (const auto& k : keys) {
      const bool fits = (k.alg == crypto::KeyAlg::X25519 && n == 80) ||
                        (k.alg == crypto::KeyAlg::Ed25519 && n == 64) || (k.alg == crypto::KeyAlg::Ed448 && n == 114);
      if (!fits) continue;
      tried = true;
      if (verify_auth(k, t.auth, key_authorized(), t.corr_id, c.session_priv, &c.dh_cache)) return true;
    }
    if (!tried) dummy_verify(t.auth, key_authorized(), t.corr_id, c.session_priv, &c.dh_cache);
    return false;
  }
  void reply(Response r) { c.push({corr_id, entity_id, std::move(r)}); }
};

ServerState::ServerState(RelayConfig cfg) : cfg_(std::move(cfg)), msgs_(cfg_.msg_queue_quota) {}

ClientState& ServerState::add_client(ClientId id) {
  auto& c = clients_[id];
  c = std::make_unique<ClientState>();
  c->id = id;
  if (free_slots_.empty()) {
    slots_.push_back(c.get());
    c->slot = static_cast<uint32_t>(slots_.size());
  } else {
    c->slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[c->slot - 1] = c.get();
  }
  return *c;
}

void ServerState::note_subscribed(ClientState& c, QueueRec& q) {
  q.subscriber = c.slot;
  ++c.sub_count;
  c.sub_ids.push_back(q.recipient_id);
  if (c.sub_ids.size() > 2 * c.sub_count + 16) {
    // Drop entries of queues this connection no longer holds (and repeats), keeping the list near its size.
    std::erase_if(c.sub_ids, [&](const Id& rid) {
      QueueRec* r = queues_.by_recipient(rid);
      return !r || r->subscriber != c.slot;
    });
    std::sort(c.sub_ids.begin(), c.sub_ids.end());
    c.sub_ids.erase(std::unique(c.sub_ids.begin(), c.sub_ids.end()), c.sub_ids.end());
  }
}

ClientState* ServerState::client(ClientId id) {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second.get();
}

void ServerState::remove_client(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  ClientState& c = *it->second;
  for (const Id& rid : c.sub_ids)
    if (QueueRec* q = queues_.by_recipient(rid); q && q->subscriber == c.slot) q->subscriber = 0;
  for (const Id& nid : c.ntf_subs) {
    auto s = ntf_subscribers_.find(nid);
    if (s != ntf_subscribers_.end() && s->second == id) ntf_subscribers_.erase(s);
  }
  if (c.service) {
    auto s = ntf_service_subscribers_.find(c.service->service_id);
    if (s != ntf_service_subscribers_.end() && s->second == id) ntf_service_subscribers_.erase(s);
  }
  slots_[c.slot - 1] = nullptr;
  free_slots_.push_back(c.slot);
  clients_.erase(it);
}

void ServerState::touch(QueueRec& q, int64_t now) {
  // updated_at is the day of last use, written once per queue per day (server-operations.md §4.2 TIME).
  const auto day = static_cast<uint32_t>(now / 86400);
  if (q.updated_at == day) return;
  queues_.touch(q.recipient_id, day);
  // A lost TIME record only makes the queue look idle longer: reads must not fail for it (full disk).
  if (store_log) store_log(encode_store_log_record({TimeRecord{to_bytes(q.recipient_id), static_cast<int64_t>(day) * 86400}}));
}

void ServerState::journal(const StoreLogRecord& r) {
  if (!store_log) return;
  std::string e = store_log(encode_store_log_record(r));
  if (!e.empty() && store_error_.empty()) store_error_ = std::move(e);
}

void ServerState::add_service(ServiceRec rec) {
  const Id id = rec.service_id;
  services_.insert_or_assign(id, std::move(rec));
}

std::vector<ServiceRec> ServerState::services() const {
  std::vector<ServiceRec> out;
  for (const auto& [id, rec] : services_) out.push_back(rec);
  return out;
}

Id ServerState::new_id() {
  Id id;
  crypto::random_bytes(id);
  return id;
}

void ServerState::process_item(ClientState& c, ByteView item, int64_t now) {
  c.last_active = now;
  auto parsed = parse_transmission(c.params, item);
  if (auto* e = std::get_if<TransmissionError>(&parsed)) {
    c.push({e->corr_id, {}, resp::ERR{e->err}});
    return;
  }
  const auto& t = std::get<RawTransmission>(parsed);
  Ctx x{c, c.params, t, authorized_bytes(c.params, t), false, now, to_bytes(t.corr_id), to_bytes(t.entity_id)};
  if (auto r = dispatch_logged(x)) x.reply(std::move(*r));
}

void ServerState::process_batch(ClientState& c, std::span<const ByteView> items, int64_t now) {
  // Only batches of several transmissions count: single ones (most SENDs) are not parsed twice.
  if (items.size() > 1) count_batch(c.params, items);
  for (ByteView item : items) process_item(c, item, now);
}

void ServerState::count_batch(const SessionParams& params, std::span<const ByteView> items) {
  // The reference counts a batch once, by its first command, when it has several transmissions that parsed and
  // all of them belong to the recipient or all to the notifier party (simplexmq: Server.hs updateBatchStats).
  enum class Party { Recipient, Notifier, Other };
  auto party_of = [](const Command& cmd) {
    if (std::holds_alternative<cmd::NSUB>(cmd)) return Party::Notifier;
    const bool rcp = std::visit(
        [](const auto& x) {
          using C = std::decay_t<decltype(x)>;
          return std::is_same_v<C, cmd::SUB> || std::is_same_v<C, cmd::KEY> || std::is_same_v<C, cmd::RKEY> ||
                 std::is_same_v<C, cmd::LSET> || std::is_same_v<C, cmd::LDEL> || std::is_same_v<C, cmd::NKEY> ||
                 std::is_same_v<C, cmd::NDEL> || std::is_same_v<C, cmd::GET> || std::is_same_v<C, cmd::ACK> ||
                 std::is_same_v<C, cmd::OFF> || std::is_same_v<C, cmd::DEL> || std::is_same_v<C, cmd::QUE>;
        },
        cmd);
    return rcp ? Party::Recipient : Party::Other;
  };
  std::optional<Command> first;
  Party party = Party::Other;
  size_t parsed = 0;
  bool same_party = true;
  for (ByteView item : items) {
    auto t = parse_transmission(params, item);
    if (!std::holds_alternative<RawTransmission>(t)) continue;
    auto cmd = parse_command(std::get<RawTransmission>(t).command, params.version);
    if (!std::holds_alternative<Command>(cmd)) continue;
    const Party p = party_of(std::get<Command>(cmd));
    if (parsed++ == 0) {
      party = p;
      if (p == Party::Other) break;
      first = std::move(std::get<Command>(cmd));
    } else if (p != party) {
      same_party = false;
      break;
    }
  }
  if (first && parsed > 1 && same_party) {
    if (std::holds_alternative<cmd::SUB>(*first)) ++stats_.qSubAllB;
    else if (std::holds_alternative<cmd::DEL>(*first)) ++stats_.qDeletedAllB;
    else if (std::holds_alternative<cmd::NDEL>(*first)) ++stats_.ntfDeletedB;
    else if (std::holds_alternative<cmd::NSUB>(*first)) ++stats_.ntfSubB;
  }
}

Response ServerState::store_error_response(std::string text) {
  ErrorType e;
  e.kind = ErrorType::Kind::STORE;
  e.store = std::move(text);
  return resp::ERR{std::move(e)};
}

std::optional<Response> ServerState::dispatch_logged(Ctx& x) {
  store_error_.clear();
  auto r = dispatch(x);
  // The change stays in memory; the client learns that it was not recorded (the reference's withLog).
  if (!store_error_.empty()) r = store_error_response(std::exchange(store_error_, {}));
  return r;
}

std::optional<Response> ServerState::dispatch(Ctx& x) {
  auto parsed = parse_command(x.t.command, x.p.version);
  if (auto* ce = std::get_if<CmdError>(&parsed)) return cmd_error(*ce);
  const Command& command = std::get<Command>(parsed);
  if (auto ce = check_credentials(command, !x.t.auth.empty(), !x.t.entity_id.empty())) return cmd_error(*ce);
  if (x.forwarded && !std::holds_alternative<cmd::SEND>(command) && !std::holds_alternative<cmd::SKEY>(command) &&
      !std::holds_alternative<cmd::LKEY>(command) && !std::holds_alternative<cmd::LGET>(command))
    return cmd_error(CmdError::PROHIBITED);

  // Queue commands look the entity up first: a missing queue is AUTH after a dummy verification (§2.2 step 7).
  auto lookup = [&](QueueRec* (QueueStore::*find)(const Id&)) -> QueueRec* {
    auto id = to_id(x.t.entity_id);
    return id ? (queues_.*find)(*id) : nullptr;
  };
  // A failed verification of these commands is counted; forwarded ones are not (Server.hs `verified`).
  int64_t* auth_stat = x.forwarded                                  ? nullptr
                       : std::holds_alternative<cmd::SEND>(command) ? &stats_.msgSentAuth
                       : std::holds_alternative<cmd::SUB>(command)  ? &stats_.qSubAuth
                       : std::holds_alternative<cmd::NSUB>(command) ? &stats_.ntfSubAuth
                       : std::holds_alternative<cmd::GET>(command)  ? &stats_.msgGetAuth
                                                                    : nullptr;
  auto auth_failed = [&]() -> Response {
    if (auth_stat) ++*auth_stat;
    return error_response(ErrorType::Kind::AUTH);
  };
  // Service sessions (commands §12.2): the command's party must match the session's role (PING: any), NEW, SUB
  // and NSUB carry a valid service signature, and nothing else carries one.
  const ServiceSession* svc = x.service;
  auto role_of = [](const Command& cmd) -> char {
    if (std::holds_alternative<cmd::PING>(cmd)) return 0;
    if (std::holds_alternative<cmd::NSUB>(cmd) || std::holds_alternative<cmd::NSUBS>(cmd)) return 'N';
    if (std::holds_alternative<cmd::RFWD>(cmd)) return 'P';
    return 'M';
  };
  auto service_checks = [&](bool service_signed) -> std::optional<Response> {
    if (svc) {
      const char role = role_of(command);
      if (role && role != svc->role) return cmd_error(CmdError::PROHIBITED);
    }
    if (svc && service_signed) {
      if (!x.t.service_sig || !crypto::verify(svc->session_key, x.authorized, *x.t.service_sig))
        return error_response(ErrorType::Kind::SERVICE);
      x.service_prefixed.assign(svc->cert_hash.begin(), svc->cert_hash.end());
      x.service_prefixed.insert(x.service_prefixed.end(), x.authorized.begin(), x.authorized.end());
    } else if (x.t.service_sig) {
      return error_response(ErrorType::Kind::SERVICE);
    }
    return std::nullopt;
  };

  return std::visit(
      [&](const auto& c) -> std::optional<Response> {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, cmd::PING>) {
          return resp::PONG{};
        } else if constexpr (std::is_same_v<C, cmd::NEW>) {
          if (auto r = service_checks(true)) return r;
          if (!x.verify(c.rcv_auth_key)) return auth_failed();
          return new_queue(x, c);
        } else if constexpr (std::is_same_v<C, cmd::SUBS> || std::is_same_v<C, cmd::NSUBS>) {
          if (auto r = service_checks(false)) return r;
          // Service-wide commands: the entity is the session's service id and the only authorization is the
          // service session key's Ed25519 signature (§6.6).
          if (!svc || x.t.auth.size() != 64 || !same(x.t.entity_id, view(svc->service_id)) ||
              !crypto::verify(svc->session_key, x.authorized, x.t.auth))
            return error_response(ErrorType::Kind::SERVICE);
          if constexpr (std::is_same_v<C, cmd::SUBS>) {
            return cmd_error(CmdError::PROHIBITED);  // receiving services: not in the reference either
          } else {
            return subscribe_service_notifiers(x);
          }
        } else if constexpr (std::is_same_v<C, cmd::PRXY>) {
          if (auto r = service_checks(false)) return r;
          // The queue-creation password also guards proxying (§10.2 step 1).
          if (!cfg_.allow_proxy || (cfg_.create_password && c.basic_auth != cfg_.create_password))
            return resp::ERR{ErrorType::proxy_error(ProxyError{ProxyError::Kind::BASIC_AUTH, nullptr, {}})};
          x.c.proxy_jobs.push_back({x.corr_id, x.entity_id, c});
          return std::nullopt;
        } else if constexpr (std::is_same_v<C, cmd::PFWD>) {
          if (auto r = service_checks(false)) return r;
          x.c.proxy_jobs.push_back({x.corr_id, x.entity_id, c});
          return std::nullopt;
        } else if constexpr (std::is_same_v<C, cmd::RFWD>) {
          if (auto r = service_checks(false)) return r;
          return process_forwarded(x.c, c, x.t.corr_id, x.now);
        } else if constexpr (std::is_same_v<C, cmd::SKEY> || std::is_same_v<C, cmd::SEND>) {
          QueueRec* q = lookup(&QueueStore::by_sender);
          if (!q) {
            x.verify(std::nullopt);
            return auth_failed();
          }
          if (auto r = service_checks(false)) return r;
          if constexpr (std::is_same_v<C, cmd::SKEY>) {
            if (!x.verify(c.sender_key)) return auth_failed();
            if (q->status == QueueStatus::Blocked) return resp::ERR{ErrorType::blocked_by(q->extra->blocking)};
            touch(*q, x.now);
            if (q->queue_mode() != QueueMode::Messaging) return auth_failed();
            return secure(x, *q, c.sender_key);
          } else {
            if (q->has_sender_key()) {
              if (!x.verify(q->snd_key.key())) return auth_failed();
            } else if (!x.t.auth.empty()) {
              x.verify(std::nullopt);
              return auth_failed();
            }
            touch(*q, x.now);  // SEND records the use even on a blocked queue, as the reference does
            return send(x, *q, c);
          }
        } else if constexpr (std::is_same_v<C, cmd::LKEY> || std::is_same_v<C, cmd::LGET>) {
          QueueRec* q = lookup(&QueueStore::by_link);
          if (!q) {
            if (!x.t.auth.empty()) x.verify(std::nullopt);
            return auth_failed();
          }
          if (auto r = service_checks(false)) return r;
          if constexpr (std::is_same_v<C, cmd::LKEY>) {
            if (!x.verify(c.sender_key)) return auth_failed();
          }
          if (q->status == QueueStatus::Blocked) return resp::ERR{ErrorType::blocked_by(q->extra->blocking)};
          touch(*q, x.now);
          const QueueLink* link = q->link();
          if (!link) return auth_failed();
          if constexpr (std::is_same_v<C, cmd::LKEY>) {
            if (q->queue_mode() != QueueMode::Messaging) return auth_failed();
            Response r = secure(x, *q, c.sender_key);
            if (!std::holds_alternative<resp::OK>(r)) return r;
          } else {
            if (!q->is_contact()) return auth_failed();
          }
          return resp::LNK{to_bytes(q->sender_id), link->fixed_data, link->user_data};
        } else if constexpr (std::is_same_v<C, cmd::NSUB>) {
          QueueRec* q = lookup(&QueueStore::by_notifier);
          if (!q) {
            x.verify(std::nullopt);
            return auth_failed();
          }
          if (auto r = service_checks(true)) return r;
          if (!x.verify(q->notifier()->notifier_key.key())) return auth_failed();
          return subscribe_notifier(x, *q);
        } else {
          // Recipient commands.
          QueueRec* q = lookup(&QueueStore::by_recipient);
          if (!q) {
            x.verify(std::nullopt);
            return auth_failed();
          }
          if (auto r = service_checks(std::is_same_v<C, cmd::SUB>)) return r;
          if (!x.verify_any(q->rcv_keys())) return auth_failed();
          // OFF and DEL do not check the blocked status (§6.7).
          if constexpr (std::is_same_v<C, cmd::OFF>) {
            queues_.set_status(q->recipient_id, QueueStatus::Off);
            journal({SuspendRecord{to_bytes(q->recipient_id)}});
            return resp::OK{};
          } else if constexpr (std::is_same_v<C, cmd::DEL>) {
            return delete_queue(x, *q);
          } else {
            if (q->status == QueueStatus::Blocked) return resp::ERR{ErrorType::blocked_by(q->extra->blocking)};
            touch(*q, x.now);
            if constexpr (std::is_same_v<C, cmd::SUB>) {
              return subscribe(x, *q);
            } else if constexpr (std::is_same_v<C, cmd::GET>) {
              return get_message(x, *q);
            } else if constexpr (std::is_same_v<C, cmd::ACK>) {
              return ack(x, *q, c);
            } else if constexpr (std::is_same_v<C, cmd::KEY>) {
              return secure(x, *q, c.sender_key);
            } else if constexpr (std::is_same_v<C, cmd::RKEY>) {
              if (!q->is_contact()) return auth_failed();
              std::vector<StoredKey> keys;
              for (const auto& k : c.rcv_keys) keys.push_back(StoredKey::of(k));
              queues_.set_rcv_keys(q->recipient_id, keys);
              journal({KeysRecord{to_bytes(q->recipient_id), c.rcv_keys}});
              return resp::OK{};
            } else if constexpr (std::is_same_v<C, cmd::LSET>) {
              if (q->is_secured_messaging()) return auth_failed();
              auto lid = to_id(c.link_id);
              if (!lid) return auth_failed();
              if (const QueueLink* old = q->link())
                if (old->link_id != *lid || !same(old->fixed_data, c.fixed_data)) return auth_failed();
              if (queues_.set_link(q->recipient_id, QueueLink{*lid, c.fixed_data, c.user_data}) != StoreResult::Ok)
                return auth_failed();
              journal({LinkRecord{to_bytes(q->recipient_id), c.link_id, c.fixed_data, c.user_data}});
              return resp::OK{};
            } else if constexpr (std::is_same_v<C, cmd::LDEL>) {
              if (q->link()) {
                queues_.delete_link(q->recipient_id);
                journal({LDeleteRecord{to_bytes(q->recipient_id)}});
              }
              return resp::OK{};
            } else if constexpr (std::is_same_v<C, cmd::NKEY>) {
              return set_notifier(x, *q, c);
            } else if constexpr (std::is_same_v<C, cmd::NDEL>) {
              return delete_notifier(x, *q);
            } else if constexpr (std::is_same_v<C, cmd::QUE>) {
              return queue_info(x, *q);
            } else {
              static_assert(std::is_same_v<C, void>, "command not handled");
            }
          }
        }
      },
      command);
}

Response ServerState::new_queue(Ctx& x, const cmd::NEW& n) {
  if (!cfg_.new_queues || (cfg_.create_password && n.basic_auth != cfg_.create_password))
    return error_response(ErrorType::Kind::AUTH);
  if (x.service && !n.subscribe) return cmd_error(CmdError::PROHIBITED);
  const auto srv_dh = crypto::x25519_generate();
  const auto rcv_dh_secret = crypto::x25519_dh(srv_dh.priv, n.rcv_dh_key.raw);
  if (!rcv_dh_secret) return error_response(ErrorType::Kind::AUTH);
  std::optional<crypto::X25519KeyPair> ntf_dh;
  std::optional<crypto::Key32> ntf_secret;
  if (n.ntf_creds) {
    ntf_dh = crypto::x25519_generate();
    ntf_secret = crypto::x25519_dh(ntf_dh->priv, n.ntf_creds->rcv_ntf_dh_key.raw);
    if (!ntf_secret) return error_response(ErrorType::Kind::AUTH);
  }

  const LinkData* link = n.req && n.req->link ? &*n.req->link : nullptr;
  if (link) {
    // A client-supplied sender id must be the hash of this transmission's corrId (prevents an id oracle).
    const Bytes expected = sender_id_from_corr_id(x.t.corr_id);
    if (!same(link->sender_id, expected)) return cmd_error(CmdError::PROHIBITED);
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    QueueRec q;
    q.recipient_id = new_id();
    q.rcv_key = StoredKey::of(n.rcv_auth_key);
    q.rcv_dh_secret = *rcv_dh_secret;
    q.mode = n.req ? static_cast<uint8_t>(n.req->mode) : 0;
    q.updated_at = static_cast<uint32_t>(x.now / 86400);
    std::optional<Id> link_id;
    if (link) {
      q.sender_id = *to_id(link->sender_id);
      if (n.req->mode == QueueMode::Contact) {
        link_id = to_id(link->link_id);
        if (!link_id) return error_response(ErrorType::Kind::AUTH);
      } else {
        link_id = new_id();
      }
      q.ensure_extra().link = QueueLink{*link_id, link->fixed_data, link->user_data};
    } else {
      q.sender_id = new_id();
    }
    std::optional<Id> notifier_id;
    if (n.ntf_creds) {
      notifier_id = new_id();
      NotifierRec nr;
      nr.notifier_id = *notifier_id;
      nr.notifier_key = StoredKey::of(n.ntf_creds->notifier_key);
      nr.rcv_ntf_dh_secret = *ntf_secret;
      q.ensure_extra().notifier = nr;
    }
    if (x.service) q.ensure_extra().rcv_service_id = x.service->service_id;
    const Id rid = q.recipient_id, sid = q.sender_id;
    const uint8_t mode = q.mode;
    if (queues_.add(std::move(q)) != StoreResult::Ok) {
      if (link) return error_response(ErrorType::Kind::AUTH);  // a client-chosen id is taken: no retry
      continue;
    }
    ++stats_.qCreated;
    ++stats_.qCount;
    if (notifier_id) ++stats_.ntfNewCreated;
    journal(create_record(*queues_.by_recipient(rid)));
    if (n.subscribe) note_subscribed(x.c, *queues_.by_recipient(rid));
    resp::IDS ids{to_bytes(rid), to_bytes(sid), crypto::PublicKey{crypto::KeyAlg::X25519, to_bytes(srv_dh.pub)},
                  std::nullopt, std::nullopt, std::nullopt, std::nullopt};
    if (mode) ids.mode = static_cast<QueueMode>(mode);
    if (x.service) ids.service_id = to_bytes(x.service->service_id);
    if (link_id) ids.link_id = to_bytes(*link_id);
    if (notifier_id)
      ids.ntf_creds = std::make_pair(to_bytes(*notifier_id),
                                     crypto::PublicKey{crypto::KeyAlg::X25519, to_bytes(ntf_dh->pub)});
    return ids;
  }
  return error_response(ErrorType::Kind::INTERNAL);
}

resp::MSG ServerState::make_msg(const QueueRec& q, const Message& m) const {
  return resp::MSG{to_bytes(m.msg_id),
                   encrypt_rcv_message(q.rcv_dh_secret, view(m.msg_id), m.ts, m.notification, m.body, m.quota)};
}

void ServerState::end_subscription(QueueRec& q, uint32_t except, bool deleted) {
  if (!q.subscriber || q.subscriber == except) return;
  if (ClientState* other = by_slot(q.subscriber)) {
    other->delivered.erase(q.recipient_id);
    --other->sub_count;
    other->push({{}, to_bytes(q.recipient_id), deleted ? Response{resp::DELD{}} : Response{resp::END{}}});
    note_sub_end();
  }
  q.subscriber = 0;
}

void ServerState::end_notifier_subscription(const Id& nid, bool deleted) {
  auto it = ntf_subscribers_.find(nid);
  if (it == ntf_subscribers_.end()) return;
  if (ClientState* other = client(it->second)) {
    std::erase(other->ntf_subs, nid);
    other->push({{}, to_bytes(nid), deleted ? Response{resp::DELD{}} : Response{resp::END{}}});
    note_sub_end();
  }
  ntf_subscribers_.erase(it);
}

std::optional<Response> ServerState::subscribe(Ctx& x, QueueRec& q) {
  const Id rid = q.recipient_id;
  if (x.c.get_mode.count(rid)) {
    ++stats_.qSubProhibited;
    return cmd_error(CmdError::PROHIBITED);
  }
  const bool had_sub = q.subscriber == x.c.slot;
  if (had_sub) {
    ++stats_.qSubDuplicate;
    x.c.delivered.erase(rid);  // a repeated SUB re-delivers the head
  } else {
    end_subscription(q, x.c.slot, false);
    note_subscribed(x.c, q);
  }
  // The reply goes before the MSG event (§6.2).
  x.reply(resp::SOK{x.service ? std::optional<Bytes>(to_bytes(x.service->service_id)) : std::nullopt});
  if (const Message* m = msgs_.peek(rid)) {
    x.c.delivered[rid] = {m->msg_id, std::time(nullptr)};
    x.c.push({{}, to_bytes(rid), make_msg(q, *m)});
    if (!had_sub) ++stats_.qSub;  // the reference counts a new subscription only when it delivers a message
  }
  return std::nullopt;
}

Response ServerState::get_message(Ctx& x, QueueRec& q) {
  const Id rid = q.recipient_id;
  if (q.subscriber == x.c.slot) {
    ++stats_.msgGetProhibited;
    return cmd_error(CmdError::PROHIBITED);
  }
  x.c.get_mode.insert(rid);  // GET does not register a subscriber and causes no END (§6.4)
  const bool unacked = x.c.delivered.erase(rid) > 0;  // the previous GET's message was not acknowledged
  if (const Message* m = msgs_.peek(rid)) {
    ++(unacked ? stats_.msgGetDuplicate : stats_.msgGet);
    x.c.delivered[rid] = {m->msg_id, std::time(nullptr)};
    return make_msg(q, *m);
  }
  ++stats_.msgGetNoMsg;
  return resp::OK{};
}

Response ServerState::ack(Ctx& x, QueueRec& q, const cmd::ACK& a) {
  const Id rid = q.recipient_id;
  const bool get_mode = x.c.get_mode.count(rid) > 0;
  if (!get_mode && q.subscriber != x.c.slot) return error_response(ErrorType::Kind::NO_MSG);
  auto d = x.c.delivered.find(rid);
  if (d == x.c.delivered.end() || (!a.msg_id.empty() && !same(a.msg_id, view(d->second.msg_id))))
    return error_response(ErrorType::Kind::NO_MSG);
  const Message* head = msgs_.peek(rid);
  const bool head_msg = head && !head->quota, head_ntf = head && head->notification;
  const AckOutcome deleted = msgs_.delete_head_if(rid, a.msg_id);
  // Refused: the message stays delivered and unacknowledged.
  if (deleted.refused) return store_error_response(msgs_.journal->last_error());
  const int64_t delivered_at = d->second.at;
  x.c.delivered.erase(d);
  if (deleted && head_msg) {  // a quota marker is not counted
    add_time(ack_times_, std::time(nullptr) - delivered_at);
    const int64_t h = hash_queue_id(rid);
    ++stats_.msgRecv;
    if (get_mode) ++stats_.msgRecvGet;
    note_active(stats_.activeQueues, h);
    if (head_ntf) {
      ++stats_.msgRecvNtf;
      note_active(stats_.activeQueuesNtf, h);
    }
  }
  if (get_mode) return resp::OK{};
  if (const Message* m = msgs_.peek(rid)) {
    x.c.delivered[rid] = {m->msg_id, std::time(nullptr)};
    return make_msg(q, *m);
  }
  return resp::OK{};
}

void ServerState::try_push(const QueueRec& q) {
  ClientState* c = by_slot(q.subscriber);
  if (!c || c->delivered.count(q.recipient_id)) return;
  const Message* m = msgs_.peek(q.recipient_id);
  if (!m) return;
  c->delivered[q.recipient_id] = {m->msg_id, std::time(nullptr)};
  c->push({{}, to_bytes(q.recipient_id), make_msg(q, *m)});
}

Response ServerState::send(Ctx& x, QueueRec& q, const cmd::SEND& s) {
  if (s.body.size() > max_message_length(x.p.version)) {
    ++stats_.msgSentLarge;
    return error_response(ErrorType::Kind::LARGE_MSG);
  }
  if (q.status == QueueStatus::Off) {
    ++stats_.msgSentAuth;
    return error_response(ErrorType::Kind::AUTH);
  }
  if (q.status == QueueStatus::Blocked) {
    ++stats_.msgSentBlock;
    return resp::ERR{ErrorType::blocked_by(q.extra->blocking)};
  }
  // The first message after securing consumes a one-time link (§6.1 step 3).
  if (q.link() && q.is_secured_messaging()) {
    queues_.delete_link(q.recipient_id);
    journal({LDeleteRecord{to_bytes(q.recipient_id)}});
  }
  if (cfg_.expire_messages_on_send && cfg_.message_ttl > 0)
    stats_.msgExpired += static_cast<int64_t>(msgs_.expire(q.recipient_id, x.now - cfg_.message_ttl));
  Message m;
  m.msg_id = new_id();
  m.ts = x.now;
  m.notification = s.notification;
  m.body = s.body;
  const Id msg_id = m.msg_id;
  const WriteOutcome w = msgs_.write(q.recipient_id, std::move(m));
  if (w.refused) return store_error_response(msgs_.journal->last_error());
  if (!w.accepted) {
    ++stats_.msgSentQuota;
    if (w.was_empty) try_push(q);  // a marker written into an empty queue is delivered like a message
    return error_response(ErrorType::Kind::QUOTA);
  }
  const int64_t h = hash_queue_id(q.recipient_id);
  ++stats_.msgSent;
  note_active(stats_.activeQueues, h);
  if (w.was_empty) try_push(q);
  if (s.notification) {
    ++stats_.msgSentNtf;  // counted with or without a notifier, as the reference does
    note_active(stats_.activeQueuesNtf, h);
    if (const NotifierRec* n = q.notifier()) {
      Notification ntf;
      ntf.msg_id = msg_id;
      ntf.ts = x.now;
      ntf.nonce = crypto::random_nonce();
      ntf.enc_meta = encrypt_ntf_meta(n->rcv_ntf_dh_secret, ntf.nonce, view(msg_id), x.now);
      // A notification the journal refuses is dropped: the message itself is stored.
      ntfs_.add(n->notifier_id, std::move(ntf));
    }
  }
  return resp::OK{};
}

Response ServerState::secure(Ctx&, QueueRec& q, const AuthKey& key) {
  const StoredKey k = StoredKey::of(key);
  if (q.has_sender_key()) {
    if (!(q.snd_key == k)) return error_response(ErrorType::Kind::AUTH);
    ++stats_.qSecured;  // the reference counts a repeated SKEY / KEY with the same key again
    return resp::OK{};
  }
  queues_.set_sender_key(q.recipient_id, k);
  journal({SecureRecord{to_bytes(q.recipient_id), key}});
  if (store_error_.empty()) ++stats_.qSecured;
  return resp::OK{};
}

Response ServerState::delete_queue(Ctx& x, QueueRec& q) {
  const Id rid = q.recipient_id;
  const bool secured = q.has_sender_key();
  msgs_.delete_queue(rid);
  if (q.subscriber == x.c.slot) --x.c.sub_count;
  x.c.get_mode.erase(rid);
  x.c.delivered.erase(rid);
  end_subscription(q, x.c.slot, true);
  if (const NotifierRec* n = q.notifier()) {
    ntfs_.erase(n->notifier_id);
    end_notifier_subscription(n->notifier_id, true);
  }
  queues_.remove(rid);
  journal({DeleteRecord{to_bytes(rid)}});
  note_deleted(secured);
  return resp::OK{};
}

Response ServerState::set_notifier(Ctx&, QueueRec& q, const cmd::NKEY& k) {
  const auto dh = crypto::x25519_generate();
  const auto secret = crypto::x25519_dh(dh.priv, k.rcv_ntf_dh_key.raw);
  if (!secret) return error_response(ErrorType::Kind::AUTH);
  const Id rid = q.recipient_id;
  if (const NotifierRec* old = q.notifier()) {
    const Id old_id = old->notifier_id;
    ntfs_.erase(old_id);
    end_notifier_subscription(old_id, true);
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    NotifierRec n;
    n.notifier_id = new_id();
    n.notifier_key = StoredKey::of(k.notifier_key);
    n.rcv_ntf_dh_secret = *secret;
    if (queues_.set_notifier(rid, n) != StoreResult::Ok) continue;
    journal({NotifierRecord{to_bytes(rid), NtfCredsRecord{to_bytes(n.notifier_id), k.notifier_key, *secret, std::nullopt}}});
    ++stats_.ntfCreated;
    return resp::NID{to_bytes(n.notifier_id), crypto::PublicKey{crypto::KeyAlg::X25519, to_bytes(dh.pub)}};
  }
  return error_response(ErrorType::Kind::INTERNAL);
}

Response ServerState::delete_notifier(Ctx&, QueueRec& q) {
  if (const NotifierRec* n = q.notifier()) {
    const Id nid = n->notifier_id;
    ntfs_.erase(nid);
    end_notifier_subscription(nid, true);
    queues_.delete_notifier(q.recipient_id);
    journal({NDeleteRecord{to_bytes(q.recipient_id)}});
    ++stats_.ntfDeleted;
  }
  return resp::OK{};
}

Response ServerState::subscribe_notifier(Ctx& x, QueueRec& q) {
  const Id nid = q.notifier()->notifier_id;
  if (ServiceSession* svc = x.service ? &*x.c.service : nullptr) {
    // A notifier service takes the queue over: the association is stored, the queue counts towards the
    // session's service subscriptions (commands §12.3).
    ServiceStats& ss = stats_.ntfServices;
    const bool had_sub = svc->ntf_sub_count != 0;  // this connection already holds queues of the service
    if (q.notifier()->service_id != svc->service_id) {
      ++(q.notifier()->service_id ? ss.assocUpdated : ss.assocNew);
      if (!had_sub) ++ss.subCount;
      ++ss.subQueues;
      queues_.set_notifier_service(q.recipient_id, svc->service_id);
      journal({QueueServiceRecord{to_bytes(q.recipient_id), 'N', to_bytes(svc->service_id)}});
    } else {
      ++ss.assocDuplicate;  // a repeat after a lost reply
      if (!had_sub) {
        ++ss.subCount;
        ++ss.subQueues;
      }
    }
    auto it = ntf_subscribers_.find(nid);
    if (it == ntf_subscribers_.end() || it->second != x.c.id) {
      if (it != ntf_subscribers_.end()) end_notifier_subscription(nid, false);
      ntf_subscribers_[nid] = x.c.id;
      x.c.ntf_subs.push_back(nid);
      ++svc->ntf_sub_count;
    }
    return resp::SOK{to_bytes(svc->service_id)};
  }
  auto it = ntf_subscribers_.find(nid);
  if (it != ntf_subscribers_.end() && it->second == x.c.id) {
    ++stats_.ntfSubDuplicate;
    return resp::SOK{};
  }
  ++stats_.ntfSub;
  if (it != ntf_subscribers_.end()) end_notifier_subscription(nid, false);
  if (q.notifier()->service_id) {
    ++stats_.ntfServices.assocRemoved;
    queues_.set_notifier_service(q.recipient_id, std::nullopt);
    journal({QueueServiceRecord{to_bytes(q.recipient_id), 'N', std::nullopt}});
  }
  ntf_subscribers_[nid] = x.c.id;
  x.c.ntf_subs.push_back(nid);
  return resp::SOK{};
}

Response ServerState::subscribe_service_notifiers(Ctx& x) {
  ServiceSession& svc = *x.c.service;
  if (svc.ntf_subscribed) return resp::SOKS{svc.ntf_sub_count};
  int64_t count = 0;
  queues_.for_each([&](const QueueRec& q) {
    if (const NotifierRec* n = q.notifier(); n && n->service_id == svc.service_id) ++count;
  });
  // Another connection holding this service loses it (ENDS with the count it held).
  auto it = ntf_service_subscribers_.find(svc.service_id);
  if (it != ntf_service_subscribers_.end() && it->second != x.c.id) {
    if (ClientState* other = client(it->second); other && other->service) {
      other->service->ntf_subscribed = false;
      other->push({{}, to_bytes(svc.service_id), resp::ENDS{other->service->ntf_sub_count}});
      note_sub_end();
      other->service->ntf_sub_count = 0;
    }
  }
  ntf_service_subscribers_[svc.service_id] = x.c.id;
  svc.ntf_subscribed = true;
  svc.ntf_sub_count = count;
  return resp::SOKS{count};
}

std::optional<Id> ServerState::register_service(char role, const std::vector<Bytes>& chain,
                                                const crypto::Sha256& cert_hash, int64_t now) {
  for (const auto& [id, rec] : services_)
    if (rec.cert_hash == cert_hash) return rec.role == role ? std::optional<Id>(id) : std::nullopt;
  ServiceRec rec;
  do {
    rec.service_id = new_id();
  } while (services_.count(rec.service_id) || queues_.id_in_use(rec.service_id));
  rec.role = role;
  rec.cert_chain = chain;
  rec.cert_hash = cert_hash;
  rec.created_at = now;
  const Id id = rec.service_id;
  journal({new_service_record(rec)});
  services_.emplace(id, std::move(rec));
  return id;
}

const ServiceRec* ServerState::service(const Id& service_id) const {
  auto it = services_.find(service_id);
  return it == services_.end() ? nullptr : &it->second;
}

Response ServerState::queue_info(Ctx& x, QueueRec& q) {
  // QueueInfo JSON as aeson renders it: fields in declaration order, Nothing fields omitted (§5.6).
  std::string j = fmt::format(R"({{"qiSnd":{},"qiNtf":{})", q.has_sender_key() ? "true" : "false",
                              q.notifier() ? "true" : "false");
  const bool get_mode = x.c.get_mode.count(q.recipient_id) > 0;
  if (get_mode || q.subscriber == x.c.slot) {
    j += fmt::format(R"(,"qiSub":{{"qSubThread":"{}")", get_mode ? "prohibitSub" : "noSub");
    if (auto d = x.c.delivered.find(q.recipient_id); d != x.c.delivered.end())
      j += fmt::format(R"(,"qDelivered":"{}")", base64_encode(view(d->second.msg_id)));
    j += "}";
  }
  j += fmt::format(R"(,"qiSize":{})", msgs_.size(q.recipient_id));
  if (const Message* m = msgs_.peek(q.recipient_id))
    j += fmt::format(R"(,"qiMsg":{{"msgId":"{}","msgTs":"{}","msgType":"{}"}})", base64_encode(view(m->msg_id)),
                     iso8601_show(std::chrono::system_clock::time_point(std::chrono::seconds(m->ts))), m->quota ? "quota" : "message");
  j += "}";
  return resp::INFO{j};
}

std::optional<Response> ServerState::process_forwarded(ClientState& c, const cmd::RFWD& rfwd, ByteView proxy_corr,
                                                       int64_t now) {
  auto broker_transport = [](TransportError te) {
    ProxyError p{ProxyError::Kind::BROKER, nullptr, BrokerError{BrokerError::Kind::TRANSPORT, {}, te}};
    return Response{resp::ERR{ErrorType::proxy_error(std::move(p))}};
  };
  if (!c.session_secret) return broker_transport(TransportError::NO_AUTH);
  const crypto::Nonce proxy_nonce = crypto::cb_nonce(proxy_corr);
  auto fwd = crypto::box_open(*c.session_secret, proxy_nonce, rfwd.enc_forwarded);
  if (!fwd) return error_response(ErrorType::Kind::CRYPTO);

  auto f = parse_fwd_transmission(*fwd);
  if (!f) return cmd_error(CmdError::SYNTAX);
  // DECISIONS.md: a forwarded version outside 8..max is a syntax error.
  if (f->fwd_version < kSendingProxyVersion || f->fwd_version > kMaxVersion) return cmd_error(CmdError::SYNTAX);

  const auto client_secret = crypto::x25519_dh(c.session_priv, f->fwd_key.raw);
  if (!client_secret) return error_response(ErrorType::Kind::CRYPTO);
  const crypto::Nonce client_nonce = crypto::cb_nonce(f->fwd_corr_id);
  auto inner = crypto::box_open_padded(*client_secret, client_nonce, f->enc_transmission);
  if (!inner) return error_response(ErrorType::Kind::CRYPTO);
  auto items = parse_batch(*inner);
  if (!items || items->size() != 1) return error_response(ErrorType::Kind::BLOCK);

  const SessionParams fp{f->fwd_version, c.params.session_id};
  Outgoing reply;
  auto parsed = parse_transmission(fp, (*items)[0]);
  if (auto* e = std::get_if<TransmissionError>(&parsed)) {
    reply = {e->corr_id, {}, resp::ERR{e->err}};
  } else {
    const auto& t = std::get<RawTransmission>(parsed);
    Ctx x{c, fp, t, authorized_bytes(fp, t), true, now, to_bytes(t.corr_id), to_bytes(t.entity_id)};
    auto r = dispatch_logged(x);
    reply = {x.corr_id, x.entity_id, r ? std::move(*r) : Response{resp::OK{}}};
  }
  const Bytes tx = encode_server_transmission(fp, reply.corr_id, reply.entity_id,
                                              encode_response(reply.response, fp.version));
  Bytes batch;
  Encoder(batch).byte(1).large(tx);
  // A reply that does not fit the padded size is ERR BLOCK (commands §10.4 step 9).
  auto r2 = crypto::box_seal_padded(*client_secret, crypto::reverse_nonce(client_nonce), batch, kProxiedPaddedSize);
  if (!r2) return error_response(ErrorType::Kind::BLOCK);
  Bytes fr;
  Encoder(fr).short_string(f->fwd_corr_id).tail(*r2);
  ++stats_.pMsgFwdsRecv;
  return resp::RRES{crypto::box_seal(*c.session_secret, crypto::reverse_nonce(proxy_nonce), fr)};
}

size_t ServerState::expire_messages(int64_t now) {
  if (cfg_.message_ttl <= 0) return 0;
  const size_t n = msgs_.expire_all(now - cfg_.message_ttl);
  stats_.msgExpired += static_cast<int64_t>(n);
  return n;
}

size_t ServerState::expire_notifications(int64_t now) {
  if (cfg_.ntf_ttl <= 0) return 0;
  const size_t n = ntfs_.expire(now - cfg_.ntf_ttl);
  stats_.msgNtfExpired += static_cast<int64_t>(n);
  return n;
}

size_t ServerState::deliver_notifications() {
  std::vector<std::pair<Id, ClientState*>> ready;
  ntfs_.for_each_id([&](const Id& nid) {
    auto s = ntf_subscribers_.find(nid);
    if (s == ntf_subscribers_.end()) {
      // Queues associated with a notifier service go to the connection that did NSUBS for it.
      const QueueRec* q = queues_.by_notifier(nid);
      const NotifierRec* n = q ? q->notifier() : nullptr;
      if (!n || !n->service_id) return;
      s = ntf_service_subscribers_.find(*n->service_id);
      if (s == ntf_service_subscribers_.end()) return;
    }
    if (ClientState* c = client(s->second)) ready.emplace_back(nid, c);
  });
  size_t n = 0;
  std::unordered_map<ClientState*, int64_t> per_client;
  for (auto& [nid, c] : ready) {
    for (auto& ntf : ntfs_.take(nid)) {
      c->outbox.push_back({{}, to_bytes(nid), resp::NMSG{ntf.nonce, std::move(ntf.enc_meta)}});
      ++n;
      ++per_client[c];
    }
    if (c->wake) c->wake();
  }
  for (const auto& [c, len] : per_client) {
    stats_.msgNtfs += len;
    stats_.msgNtfsB += len / 80 + 1;  // the reference's estimate: up to 80 NMSG in a block
  }
  return n;
}

bool ServerState::block_queue(const Id& rid, const BlockingInfo& info) {
  const QueueRec* q = queues_.by_recipient(rid);
  const bool was_active = q && q->status == QueueStatus::Active;
  if (queues_.set_status(rid, QueueStatus::Blocked, info) != StoreResult::Ok) return false;
  if (was_active) ++stats_.qBlocked;  // the daily block quota counts queues that were active
  journal({BlockRecord{to_bytes(rid), info}});
  if (ClientState* c = by_slot(queues_.by_recipient(rid)->subscriber))
    c->push({{}, to_bytes(rid), resp::ERR{ErrorType::blocked_by(info)}});
  return true;
}

void ServerState::note_active(PeriodStats& p, int64_t h) {
  p.day.insert(h);
  p.week.insert(h);
  p.month.insert(h);
}

void ServerState::note_deleted(bool secured) {
  ++(secured ? stats_.qDeletedSecured : stats_.qDeletedNew);
  ++stats_.qDeletedAll;
  --stats_.qCount;
}

StatsPeriod ServerState::roll_stats_period(int64_t now) {
  using namespace std::chrono;
  const sys_days date{days{now >= 0 ? now / 86400 : (now - 86399) / 86400}};  // UTC
  StatsPeriod r;
  r.week_ended = weekday(date).iso_encoding() == 1;
  r.month_ended = year_month_day(date).day() == std::chrono::day{1};
  r.data = stats_;
  ServerStatsData& s = stats_;
  // Kept across rows: the queue gauge, and the counters only the backup file and Prometheus show.
  ServerStatsData next;
  next.fromTime = now;
  next.qCount = s.qCount;
  next.msgSentBlock = s.msgSentBlock;
  next.ntfNewCreated = s.ntfNewCreated;
  next.rcvServices = s.rcvServices;
  next.ntfServices = s.ntfServices;
  next.activeQueues = std::move(s.activeQueues);
  next.activeQueuesNtf = std::move(s.activeQueuesNtf);
  for (PeriodStats* p : {&next.activeQueues, &next.activeQueuesNtf}) {
    p->day.clear();
    if (r.week_ended) p->week.clear();
    if (r.month_ended) p->month.clear();
  }
  stats_ = std::move(next);
  return r;
}

EntityCounts ServerState::entity_counts() const {
  EntityCounts e;
  e.queueCount = static_cast<int64_t>(queues_.size());
  for (const auto& [id, svc] : services_) ++(svc.role == 'N' ? e.ntfServiceCount : e.rcvServiceCount);
  queues_.for_each([&](const QueueRec& q) {
    if (const NotifierRec* n = q.notifier()) {
      ++e.notifierCount;
      if (n->service_id) ++e.ntfServiceQueuesCount;
    }
    if (q.extra && q.extra->rcv_service_id) ++e.rcvServiceQueuesCount;
  });
  return e;
}

StoreGauges ServerState::store_gauges() const {
  return {static_cast<int64_t>(msgs_.total_messages()), static_cast<int64_t>(ntfs_.total())};
}

void ServerState::realtime_counts(RealTimeMetrics& rt, int64_t now) const {
  rt.clientsCount = static_cast<int64_t>(clients_.size());
  for (const auto& [id, c] : clients_) {
    if (c->sub_count > 0) {
      rt.smpSubs.subsCount += static_cast<int64_t>(c->sub_count);
      ++rt.smpSubs.subClientsCount;
    }
    if (!c->delivered.empty()) {
      rt.delivered.subsCount += static_cast<int64_t>(c->delivered.size());
      ++rt.delivered.subClientsCount;
      for (const auto& [rid, d] : c->delivered) add_time(rt.deliveredTimes, now - d.at);
    }
    if (!c->ntf_subs.empty()) ++rt.ntfSubs.subClientsCount;
    if (c->service && c->service->role != 'N' && c->sub_count > 0) ++rt.smpSubs.subServicesCount;
  }
  rt.ntfSubs.subsCount = static_cast<int64_t>(ntf_subscribers_.size());
  rt.ntfSubs.subServicesCount = static_cast<int64_t>(ntf_service_subscribers_.size());
  rt.loadedQueueCount = static_cast<int64_t>(queues_.size());
}

size_t ServerState::delete_queue_by_operator(Id rid) {  // by value: rid may point into the record
  QueueRec* q = queues_.by_recipient(rid);
  if (!q) return 0;
  const bool secured = q->has_sender_key();
  const size_t n = msgs_.size(rid);
  msgs_.delete_queue(rid);
  if (ClientState* c = by_slot(q->subscriber)) {
    --c->sub_count;
    c->delivered.erase(rid);
  }
  q->subscriber = 0;
  if (const NotifierRec* nr = q->notifier()) {
    ntfs_.erase(nr->notifier_id);
    ntf_subscribers_.erase(nr->notifier_id);
  }
  queues_.remove(rid);
  journal({DeleteRecord{to_bytes(rid)}});
  note_deleted(secured);
  return n;
}

bool ServerState::unblock_queue(const Id& rid) {
  if (queues_.set_status(rid, QueueStatus::Active) != StoreResult::Ok) return false;
  journal({UnblockRecord{to_bytes(rid)}});
  return true;
}

}  // namespace sr::smp
