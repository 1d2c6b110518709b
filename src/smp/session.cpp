#include "smp/session.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <variant>

#include "core/certs.hpp"
#include "core/log.hpp"

namespace sr::smp {

namespace {

using namespace std::chrono_literals;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A reader producing replies faster than the client reads them waits once this many are queued.
constexpr size_t kOutboxHighWater = 512;

}  // namespace

Relay::Relay(RelayConfig cfg, RelayIdentity identity, RelayTimeouts timeouts)
    : state_(std::move(cfg)), identity_(std::move(identity)), timeouts_(timeouts) {}

asio::awaitable<void> Relay::serve(net::ConnectionPtr conn) {
  if (stopping_ || conn->session_id().empty()) co_return;
  const auto deadline = net::Clock::now() + timeouts_.handshake;

  // Block 1: server hello (§4.2). Without ALPN only the legacy range, and then no key part.
  const crypto::X25519KeyPair session_key = crypto::x25519_generate();
  ServerHello hello;
  hello.versions = conn->alpn().empty() ? kLegacyVersions : kServerVersions;
  hello.session_id = conn->session_id();
  if (hello.versions.max >= kAuthCmdsVersion) {
    hello.cert_chain = identity_.cert_chain;
    hello.signed_key = crypto::sign_signed_key(
        identity_.online_key, crypto::PublicKey{crypto::KeyAlg::X25519, Bytes(session_key.pub.begin(), session_key.pub.end())});
  }
  auto block1 = plain_block(encode_server_hello(hello));
  if (!block1 || !co_await conn->send(std::move(*block1))) co_return;

  // Block 2: client hello (§4.3, §4.4). Any failure closes the connection without a reply.
  Bytes block(kBlockSize);
  if (!co_await conn->read_exact(block, std::max<net::Clock::duration>(deadline - net::Clock::now(), 0s))) co_return;
  auto content = crypto::unpad(block);
  if (!content) co_return;
  auto ch = parse_client_hello(*content);
  if (!ch) co_return;
  if (ch->key_hash != identity_.key_hash) co_return;
  if (ch->version < hello.versions.min || ch->version > hello.versions.max) co_return;
  std::optional<ServiceSession> service;
  if (ch->service) {
    auto result = service_handshake(*conn, *ch->service);
    const bool ok = std::holds_alternative<ServiceSession>(result);
    // Block 3 (§4.5): never encrypted, sent before block encryption starts.
    auto b = plain_block(ok ? encode_service_response_ok(view(std::get<ServiceSession>(result).service_id))
                            : encode_service_response_error(std::get<TransportError>(result)));
    if (!b || !co_await conn->send(std::move(*b)) || !ok) co_return;
    service = std::get<ServiceSession>(result);
  }
  std::optional<crypto::Key32> secret;
  if (ch->client_key) {
    secret = crypto::x25519_dh(session_key.priv, *ch->client_key);
    if (!secret) co_return;  // DECISIONS.md: a low-order key closes the connection
  }
  const bool proxy = ch->version >= kProxyServerHandshakeVersion && ch->proxy_server;
  BlockSender sender;
  BlockReceiver receiver;
  if (ch->version >= kEncryptedBlockVersion && secret && !proxy) {
    auto chains = crypto::sbchain_init(conn->session_id(), *secret);
    sender = BlockSender(chains.server_to_client);
    receiver = BlockReceiver(chains.client_to_server);
  }

  const ClientId id = next_client_++;
  ClientState& cs = state_.add_client(id);
  cs.params = SessionParams{ch->version, conn->session_id()};
  cs.session_priv = session_key.priv;
  cs.session_secret = secret;
  cs.proxy_server = proxy;
  cs.service = service;
  cs.created_at = cs.last_active = unix_now();
  connections_[id] = conn;

  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer wake(executor), drained(executor);
  auto proxy_tasks = std::make_shared<ProxyTasks>(executor);
  bool reader_done = false, writer_done = false;
  cs.wake = [&wake] { wake.cancel(); };

  // Writer: drains the outbox in order; sealing here keeps the send chain in socket order (§8).
  auto writer = [&]() -> asio::awaitable<void> {
    std::vector<Bytes> txs;
    while (true) {
      if (cs.outbox.empty()) {
        drained.cancel();
        if (reader_done || conn->closing()) break;
        co_await net::wait_signal(wake);
        continue;
      }
      std::vector<Outgoing> items;
      items.swap(cs.outbox);
      // Replies confirm journaled changes: with fsync `always` they wait for the disk (group commit).
      if (journal_ && journal_->writer().policy() == journal::FsyncPolicy::Always)
        co_await wait_durable(journal_->writer().appended());
      txs.clear();
      for (const auto& o : items)
        txs.push_back(encode_server_transmission(cs.params, o.corr_id, o.entity_id,
                                                 encode_response(o.response, cs.params.version)));
      size_t dropped = 0;
      bool ok = true;
      for (const auto& c : batch_transmissions(txs, &dropped)) {
        auto b = sender.seal(c);
        if (!b || !co_await conn->send(std::move(*b))) {
          ok = false;
          break;
        }
      }
      if (dropped) LOG_WARN("dropped {} transmission(s) larger than a block", dropped);
      if (!ok) break;
    }
    writer_done = true;
    drained.cancel();
  };
  asio::co_spawn(executor, writer(), asio::detached);

  // Reader: one block at a time; a bad block is ERR BLOCK and the connection lives on (§5.5).
  block = Bytes();  // idle connections hold no block buffer: it is allocated when a block starts to arrive
  while (!stopping_) {
    uint8_t first = 0;
    if (!co_await conn->read_exact(std::span<uint8_t>(&first, 1))) break;
    block.resize(kBlockSize);
    block[0] = first;
    if (!co_await conn->read_exact(std::span<uint8_t>(block).subspan(1))) break;
    const int64_t now = unix_now();
    cs.last_active = now;
    auto content = receiver.open(block);
    auto items = content ? parse_batch(*content) : std::nullopt;
    if (!items) {
      cs.push({{}, {}, resp::ERR{ErrorType::of(ErrorType::Kind::BLOCK)}});
    } else {
      state_.process_batch(cs, *items, now);
      if (!cs.proxy_jobs.empty()) co_await start_proxy_jobs(cs, proxy_tasks);
    }
    Bytes().swap(block);
    while (cs.outbox.size() > kOutboxHighWater && !writer_done) co_await net::wait_signal(drained);
    if (writer_done) break;
  }
  reader_done = true;
  conn->close();  // a pending send in the writer returns false
  while (!writer_done) {
    wake.cancel();
    co_await net::wait_signal(drained);
  }
  cs.wake = nullptr;
  connections_.erase(id);
  state_.remove_client(id);
}

std::variant<ServiceSession, TransportError> Relay::service_handshake(const net::Connection& conn,
                                                                       const ServiceInfo& info) {
  // The chain repeated in the hello must be the TLS client chain, valid as the TLS layer checks it (§3.8).
  const auto& chain = conn.peer_chain();
  if (chain.empty() || chain != info.cert_chain) return TransportError::HANDSHAKE_BAD_AUTH;
  if (auto why = certs::check_client_chain(chain, std::time(nullptr)); !why.empty()) {
    LOG_DEBUG("service certificate from {} refused: {}", conn.peer(), why);
    return TransportError::HANDSHAKE_BAD_AUTH;
  }
  // Leaf signs the per-session Ed25519 key; the identity certificate (the only one, or the second) names the
  // service.
  auto leaf_key = certs::cert_public_key(chain[0]);
  auto session_key = leaf_key ? crypto::verify_signed_key(*leaf_key, info.signed_key) : std::nullopt;
  if (!session_key || session_key->alg != crypto::KeyAlg::Ed25519) return TransportError::HANDSHAKE_BAD_AUTH;
  const crypto::Sha256 cert_hash = crypto::sha256(chain.size() == 1 ? chain[0] : chain[1]);
  auto id = state_.register_service(info.role, chain, cert_hash, unix_now());
  if (!id) return TransportError::HANDSHAKE_BAD_SERVICE;
  ServiceSession s;
  s.service_id = *id;
  s.role = info.role;
  s.cert_hash = cert_hash;
  s.session_key = *session_key;
  return s;
}

asio::awaitable<void> Relay::every(std::chrono::steady_clock::duration period, std::function<void()> work) {
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  timers_.push_back(timer);
  while (!stopping_) {
    timer->expires_after(period);
    asio::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) break;
    work();
  }
}

// PRXY/PFWD running for one connection; shared with the tasks, which may outlive the connection.
struct Relay::ProxyTasks {
  explicit ProxyTasks(asio::any_io_executor ex) : done(std::move(ex)) {}
  size_t running = 0;
  asio::steady_timer done;  // cancelled when a task ends
};

asio::awaitable<void> Relay::start_proxy_jobs(ClientState& cs, std::shared_ptr<ProxyTasks> tasks) {
  auto ex = co_await asio::this_coro::executor;
  if (!proxy_) {
    ServerStatsData& st = state_.stats();
    proxy_ = std::make_unique<ProxyAgent>(ex, proxy_cfg_,
                                          ProxyCounters{&st.pRelays, &st.pRelaysOwn, &st.pMsgFwds, &st.pMsgFwdsOwn});
  }
  std::vector<ProxyJob> jobs = std::move(cs.proxy_jobs);
  cs.proxy_jobs.clear();
  for (auto& job : jobs) {
    // Like the reference, a client with too many proxied commands in flight waits before its next ones.
    while (tasks->running >= proxy_concurrency_) co_await net::wait_signal(tasks->done);
    ++tasks->running;
    asio::co_spawn(ex, proxy_task(cs.id, std::move(job), tasks), asio::detached);
  }
}

asio::awaitable<void> Relay::proxy_task(ClientId id, ProxyJob job, std::shared_ptr<ProxyTasks> tasks) {
  Response r;
  try {
    if (auto* p = std::get_if<cmd::PRXY>(&job.command))
      r = co_await proxy_->relay_key(p->server);
    else
      r = co_await proxy_->forward(job.entity_id, job.corr_id, std::get<cmd::PFWD>(job.command));
  } catch (const std::exception& e) {
    LOG_ERROR("proxy: {}", e.what());
    r = resp::ERR{ErrorType::of(ErrorType::Kind::INTERNAL)};
  }
  --tasks->running;
  tasks->done.cancel();
  // The client may have gone meanwhile; its id is never reused.
  if (ClientState* c = state_.client(id)) c->push({std::move(job.corr_id), std::move(job.entity_id), std::move(r)});
}

void Relay::set_message_journal(std::unique_ptr<MsgJournalFile> j) {
  journal_ = std::move(j);
  state_.messages().journal = journal_.get();
  state_.notifications().journal = journal_.get();
  durable_ = journal_->writer().synced();
}

asio::awaitable<void> Relay::wait_durable(uint64_t pos) {
  if (durable_ >= pos || stopping_) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor);
  durable_waiters_.emplace_back(pos, &t);
  while (durable_ < pos && !stopping_) co_await net::wait_signal(t);
  std::erase_if(durable_waiters_, [&](const auto& w) { return w.second == &t; });
}

void Relay::start_housekeeping(asio::io_context& io) {
  if (journal_) {
    // The sync thread reports each fdatasync; the io thread wakes the replies it covers.
    journal_->writer().on_synced([this, ex = io.get_executor()](uint64_t pos) {
      asio::post(ex, [this, pos] {
        durable_ = std::max(durable_, pos);
        for (auto& [p, t] : durable_waiters_)
          if (p <= durable_) t->cancel();
      });
    });
    asio::co_spawn(io, every(timeouts_.journal_compaction_check, [this] {
      try {
        if (journal_->compact_if_large(state_.messages(), state_.notifications()))
          LOG_INFO("compacted message journal {}", journal_->writer().path().string());
      } catch (const std::exception& e) {
        LOG_ERROR("message journal compaction failed: {}", e.what());
      }
    }), asio::detached);
  }
  if (timeouts_.expire_messages_on_start) {
    const size_t n = state_.expire_messages(unix_now());
    if (n) LOG_INFO("expired {} messages", n);
  }
  asio::co_spawn(io, every(timeouts_.ntf_delivery, [this] { state_.deliver_notifications(); }), asio::detached);
  asio::co_spawn(io, every(timeouts_.msg_expiry_check, [this] { state_.expire_messages(unix_now()); }),
                 asio::detached);
  asio::co_spawn(io, every(timeouts_.ntf_expiry_check, [this] { state_.expire_notifications(unix_now()); }),
                 asio::detached);
  if (timeouts_.disconnect_inactive)
    asio::co_spawn(io, every(timeouts_.inactive_check, [this] { close_inactive(); }), asio::detached);
}

void Relay::close_inactive() {
  const int64_t cutoff = unix_now() - timeouts_.inactive_ttl.count();
  for (auto& [id, weak] : connections_) {
    ClientState* c = state_.client(id);
    if (!c || c->has_subscriptions() || c->last_active >= cutoff) continue;
    if (auto conn = weak.lock()) conn->close();
  }
}

void Relay::stop() {
  stopping_ = true;
  if (proxy_) proxy_->close_all();
  // No more posts into the io_context that is about to go away; waiting replies are released.
  if (journal_) journal_->writer().on_synced(nullptr);
  for (auto& [p, t] : durable_waiters_) t->cancel();
  for (auto& weak : timers_)
    if (auto t = weak.lock()) t->cancel();
}

}  // namespace sr::smp
