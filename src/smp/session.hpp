// One SMP connection over the shared TLS server (smp-transport.md §4–§5, §8): the handshake, then a reader
// coroutine (blocks → batches → ServerState) and a writer coroutine (outbox → transmissions → batches →
// blocks, sealed in socket order). Plus the relay-wide housekeeping timers.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <variant>

#include "core/server.hpp"
#include "smp/msg_journal.hpp"
#include "smp/proxy_agent.hpp"
#include "smp/server_state.hpp"

namespace sr::smp {

struct RelayTimeouts {
  std::chrono::seconds handshake{120};          // smpHandshakeTimeout
  std::chrono::milliseconds ntf_delivery{1500};  // ntfDeliveryInterval
  std::chrono::seconds msg_expiry_check{2 * 3600};
  std::chrono::seconds ntf_expiry_check{3600};
  bool expire_messages_on_start = true;
  // Inactive clients (§14): closed after ttl without traffic, only if they hold no subscriptions.
  bool disconnect_inactive = false;
  std::chrono::seconds inactive_ttl{21600};
  std::chrono::seconds inactive_check{3600};
  std::chrono::seconds journal_compaction_check{60};
};

struct RelayIdentity {
  Bytes key_hash;                     // SHA-256 of the CA certificate DER (the address fingerprint)
  std::vector<Bytes> cert_chain;      // [online DER, CA DER], as in TLS
  crypto::PrivateKey online_key;      // signs each connection's X25519 key
};

class Relay {
 public:
  Relay(RelayConfig cfg, RelayIdentity identity, RelayTimeouts timeouts);
  // The connection handler for net::TlsServer.
  asio::awaitable<void> serve(net::ConnectionPtr conn);
  void start_housekeeping(asio::io_context& io);
  void stop();
  ServerState& state() { return state_; }
  // The durable message journal: every message change is recorded before its reply is written, and with the
  // `always` policy replies wait until an fdatasync covers their records (group commit).
  void set_message_journal(std::unique_ptr<MsgJournalFile> j);
  MsgJournalFile* message_journal() { return journal_.get(); }
  // The proxy role (commands §10): how destinations are reached, and PRXY/PFWD running at once per client.
  void set_proxy_config(ProxyAgentConfig cfg, size_t client_concurrency) {
    proxy_cfg_ = std::move(cfg);
    proxy_concurrency_ = std::max<size_t>(1, client_concurrency);
  }
  void set_identity(RelayIdentity identity) { identity_ = std::move(identity); }

 private:
  asio::awaitable<void> every(std::chrono::steady_clock::duration period, std::function<void()> work);
  void close_inactive();
  asio::awaitable<void> wait_durable(uint64_t pos);  // until the journal's fdatasync covers pos
  struct ProxyTasks;
  asio::awaitable<void> start_proxy_jobs(ClientState& cs, std::shared_ptr<ProxyTasks> tasks);
  asio::awaitable<void> proxy_task(ClientId id, ProxyJob job, std::shared_ptr<ProxyTasks> tasks);
  // Validates the service part of a client hello (transport §4.5) and registers the service.
  std::variant<ServiceSession, TransportError> service_handshake(const net::Connection& conn,
                                                                 const ServiceInfo& info);

  ServerState state_;
  RelayIdentity identity_;
  RelayTimeouts timeouts_;
  ClientId next_client_ = 1;
  std::unordered_map<ClientId, std::weak_ptr<net::Connection>> connections_;
  // Weak: each timer lives in its coroutine, so none outlives the io_context that owns its service.
  std::vector<std::weak_ptr<asio::steady_timer>> timers_;
  bool stopping_ = false;
  std::unique_ptr<MsgJournalFile> journal_;
  // Writers waiting for an fdatasync (always policy): position → its wake-up timer.
  std::vector<std::pair<uint64_t, asio::steady_timer*>> durable_waiters_;
  uint64_t durable_ = 0;  // the latest synced position the io thread has seen
  ProxyAgentConfig proxy_cfg_;
  size_t proxy_concurrency_ = 32;
  std::unique_ptr<ProxyAgent> proxy_;  // created with the first PRXY
};

}  // namespace sr::smp
