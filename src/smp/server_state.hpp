// The SMP relay's protocol state machine (smp-commands.md §2.2, §5–§11): queues, messages, subscriptions and
// notifications, driven one transmission at a time. Pure: no sockets, no clock (callers pass `now`), so unit
// tests and fuzzers drive it directly. The connection coroutines (session.cpp) feed it transmissions and drain
// each client's outbox.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "smp/msg_store.hpp"
#include "smp/protocol.hpp"
#include "smp/queue_store.hpp"
#include "smp/server_stats.hpp"
#include "smp/smp_metrics.hpp"

namespace sr::smp {

struct StoreLogRecord;  // store_log_records.hpp
using ClientId = uint64_t;

// One transmission to write to a client: a reply (corrId set) or an event (corrId empty).
struct Outgoing {
  Bytes corr_id;
  Bytes entity_id;
  Response response;
};

struct RelayConfig {
  size_t msg_queue_quota = 128;
  bool allow_proxy = true;  // PRXY/PFWD (the reference always allows them, with create_password as basic auth)
  bool new_queues = true;
  std::optional<std::string> create_password;
  int64_t message_ttl = 21 * 86400;  // seconds; 0 = never
  bool expire_messages_on_send = false;
  int64_t ntf_ttl = 24 * 3600;
};

// A service (transport §4.5, commands §12): identified by the SHA-256 of its identity certificate.
struct ServiceRec {
  Id service_id{};
  char role = 'M';  // 'M' messaging, 'N' notifier, 'P' proxy
  std::vector<Bytes> cert_chain;
  crypto::Sha256 cert_hash{};
  int64_t created_at = 0;
};

// A connection that identified itself as a service in the handshake.
struct ServiceSession {
  Id service_id{};
  char role = 'M';
  crypto::Sha256 cert_hash{};
  crypto::PublicKey session_key;  // Ed25519, signs the service-signature slot
  bool ntf_subscribed = false;    // NSUBS done on this connection
  int64_t ntf_sub_count = 0;      // notifier queues this connection holds for the service
};

// A PRXY or PFWD accepted for the proxy role (commands §10.2, §10.3): the connection's I/O layer runs it and
// pushes the reply with this corrId and entity when it completes.
struct ProxyJob {
  Bytes corr_id;
  Bytes entity_id;
  std::variant<cmd::PRXY, cmd::PFWD> command;
};

// Per-connection state the protocol needs (transport §8 "state kept per connection").
struct ClientState {
  ClientId id = 0;
  SessionParams params;              // negotiated version and tls-unique
  crypto::Key32 session_priv{};      // per-connection X25519 private key (its public half was in the hello)
  std::optional<crypto::Key32> session_secret;  // DH with the client hello key (RFWD, block encryption)
  DhCache dh_cache;                  // X25519 authenticator secrets of this connection
  bool proxy_server = false;
  std::optional<ServiceSession> service;
  int64_t last_active = 0;
  int64_t created_at = 0;            // Unix seconds the connection was accepted (control port `clients`)

  uint32_t slot = 0;                 // what QueueRec::subscriber holds for this connection
  // Recipient subscriptions: the queue records point back here; this list only serves the cleanup at
  // disconnect (entries go stale after END or DEL and are compacted away).
  std::vector<Id> sub_ids;
  size_t sub_count = 0;              // live subscriptions
  std::unordered_set<Id, IdHash> get_mode;             // queues read with GET on this connection (ProhibitSub)
  struct Delivered {
    Id msg_id;
    int64_t at = 0;  // Unix seconds it was handed out (delivery-time metrics)
  };
  std::unordered_map<Id, Delivered, IdHash> delivered;  // queue → message handed out and not yet acknowledged
  std::vector<Id> ntf_subs;          // notifier ids this connection subscribed (may be stale after END)
  std::vector<ProxyJob> proxy_jobs;  // accepted PRXY/PFWD waiting for the I/O layer

  // Transmissions waiting for this connection's writer, and the hook that wakes it.
  std::vector<Outgoing> outbox;
  std::function<void()> wake;
  void push(Outgoing o);

  bool has_subscriptions() const {
    return sub_count > 0 || !ntf_subs.empty() || (service && service->ntf_subscribed);
  }
};

// One row of the daily statistics (server-operations.md §5.1): the counters of the period that ended.
struct StatsPeriod {
  ServerStatsData data;  // fromTime: the period start
  bool week_ended = false, month_ended = false;  // the week / month sets were written and reset in this row
};

class ServerState {
 public:
  explicit ServerState(RelayConfig cfg);

  ClientState& add_client(ClientId id);
  ClientState* client(ClientId id);
  // Drops the connection's subscriptions (only where it is still the registered subscriber).
  void remove_client(ClientId id);

  // Handles one batch item from a client (transport §5.5 / commands §2.2), appending replies to its outbox
  // and events to other clients' outboxes.
  void process_item(ClientState& c, ByteView item, int64_t now);
  // A whole block's items: process_item for each, after the batch counters (qSubAllB, qDeletedAllB, ntfSubB,
  // ntfDeletedB) the reference counts for a batch of several recipient or notifier commands.
  void process_batch(ClientState& c, std::span<const ByteView> items, int64_t now);

  // Periodic work (commands §6.6, §9.3): each returns how much it did.
  size_t expire_messages(int64_t now);
  size_t expire_notifications(int64_t now);
  size_t deliver_notifications();

  QueueStore& queues() { return queues_; }
  MsgStore& messages() { return msgs_; }
  NtfStore& notifications() { return ntfs_; }
  // The reference's counters (simplexmq: Server/Stats.hs), counted at the same points as its Server.hs.
  const ServerStatsData& stats() const { return stats_; }
  ServerStatsData& stats() { return stats_; }  // the proxy role counts pRelays / pMsgFwds
  // Restored from smp-server-stats.log at start, or only fromTime set to the start time.
  void set_stats(ServerStatsData d) { stats_ = std::move(d); }
  // Ends the daily statistics period at `now` (what the reference's daily CSV logger does at each row): the
  // period counters are returned and reset, the day set always, the week set on Mondays and the month set on
  // the 1st (UTC); qCount, msgSentBlock, ntfNewCreated and the service counters are not reset.
  StatsPeriod roll_stats_period(int64_t now);
  // For the statistics outputs (server-operations.md §5.1, §5.3): store counts (a walk over all queues),
  // stored messages / pending notifications, and the connections' subscription counts.
  EntityCounts entity_counts() const;
  StoreGauges store_gauges() const;
  // Fills clientsCount, delivered, smpSubs and ntfSubs.
  void realtime_counts(RealTimeMetrics& rt, int64_t now) const;
  // Times from delivery to acknowledgement (simplex_smp_delivery_ack_confirmed_*); not saved, as the reference.
  const TimeBuckets& ack_times() const { return ack_times_; }
  const RelayConfig& config() const { return cfg_; }

  // The service record for a validated service handshake, created on first use; nullopt when the certificate
  // is already registered with another role (HANDSHAKE BAD_SERVICE).
  std::optional<Id> register_service(char role, const std::vector<Bytes>& chain, const crypto::Sha256& cert_hash,
                                     int64_t now);
  const ServiceRec* service(const Id& service_id) const;

  // Receives every change to queues and services as one smp-server-store.log line (server-operations.md §4.2),
  // when set: the store-log journal appends it and returns an error text when it could not ("" when written).
  // A failure turns the command's reply into ERR STORE, as the reference's withLog does.
  std::function<std::string(std::string_view line)> store_log;
  // Services read back from the store log at start.
  void add_service(ServiceRec rec);
  std::vector<ServiceRec> services() const;

  // Operator blocking (control port, commands §6.7): sets the status and sends ERR BLOCKED to the subscriber.
  bool block_queue(const Id& rid, const BlockingInfo& info);
  bool unblock_queue(const Id& rid);
  // Control-port `delete`: removes the queue, its messages and notifier without telling its subscriber (as the
  // reference); counted like a recipient's DEL. Returns the messages deleted (quota marker included).
  size_t delete_queue_by_operator(Id rid);
  // The store-log failure of the last operator change ("" when written); cleared by reading it.
  std::string take_store_error() { return std::exchange(store_error_, {}); }
  // Every connection, in no particular order.
  template <class F>
  void for_each_client(F&& f) const {
    for (const auto& [id, c] : clients_) f(*c);
  }

 private:
  struct Ctx;  // one transmission being processed
  std::optional<Response> dispatch(Ctx& x);
  Response store_error_response(std::string text);  // ERR STORE <text>
  // dispatch, with a failed store-log write during the command turning its reply into ERR STORE.
  std::optional<Response> dispatch_logged(Ctx& x);
  // The batch counters (qSubAllB, qDeletedAllB, ntfSubB, ntfDeletedB) of a batch of several transmissions.
  void count_batch(const SessionParams& params, std::span<const ByteView> items);
  std::optional<Response> process_forwarded(ClientState& c, const cmd::RFWD& f, ByteView corr_id, int64_t now);

  // Handlers return the reply (nullopt: none, e.g. already queued in order).
  Response new_queue(Ctx& x, const cmd::NEW& n);
  std::optional<Response> subscribe(Ctx& x, QueueRec& q);
  Response get_message(Ctx& x, QueueRec& q);
  Response ack(Ctx& x, QueueRec& q, const cmd::ACK& a);
  Response send(Ctx& x, QueueRec& q, const cmd::SEND& s);
  Response secure(Ctx& x, QueueRec& q, const AuthKey& key);
  Response delete_queue(Ctx& x, QueueRec& q);
  Response set_notifier(Ctx& x, QueueRec& q, const cmd::NKEY& k);
  Response delete_notifier(Ctx& x, QueueRec& q);
  Response subscribe_notifier(Ctx& x, QueueRec& q);
  Response subscribe_service_notifiers(Ctx& x);
  Response queue_info(Ctx& x, QueueRec& q);

  // The MSG for a stored message, encrypted for the recipient.
  resp::MSG make_msg(const QueueRec& q, const Message& m) const;
  // Sends the head message to the subscriber as an event if the push condition holds (§6.2).
  void try_push(const QueueRec& q);
  // Ends the queue's subscription held by a connection other than `except` (END, or DELD when deleted).
  void end_subscription(QueueRec& q, uint32_t except, bool deleted);
  void note_subscribed(ClientState& c, QueueRec& q);
  ClientState* by_slot(uint32_t slot) const { return slot && slot <= slots_.size() ? slots_[slot - 1] : nullptr; }
  void end_notifier_subscription(const Id& nid, bool deleted);
  Id new_id();
  void journal(const StoreLogRecord& r);
  std::string store_error_;  // set by a failed store-log or message-journal write during one command
  void touch(QueueRec& q, int64_t now);

  RelayConfig cfg_;
  QueueStore queues_;
  MsgStore msgs_;
  NtfStore ntfs_;
  ServerStatsData stats_;
  TimeBuckets ack_times_;
  void note_sub_end() { ++stats_.qSubEnd; ++stats_.qSubEndB; }  // one END / DELD / ENDS event sent
  static void note_active(PeriodStats& p, int64_t queue_hash);
  void note_deleted(bool secured);  // a queue deleted by its recipient (or the control port)
  std::unordered_map<ClientId, std::unique_ptr<ClientState>> clients_;
  std::vector<ClientState*> slots_;  // slot - 1 → connection (nullptr: free)
  std::vector<uint32_t> free_slots_;
  std::unordered_map<Id, ClientId, IdHash> ntf_subscribers_;  // notifier id → subscribed connection
  std::unordered_map<Id, ServiceRec, IdHash> services_;
  std::unordered_map<Id, ClientId, IdHash> ntf_service_subscribers_;  // service id → connection after NSUBS
};

}  // namespace sr::smp
