#include "smp/client.hpp"
#include "core/sync_run.hpp"

#include "core/certs.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <algorithm>
#include <utility>

#include "core/tls.hpp"

namespace sr::smp {

namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

[[noreturn]] void fail(const std::string& what) { throw ClientError(what); }

}  // namespace

// ---- Pure parts ----

bool chain_matches_key_hash(const std::vector<Bytes>& chain, ByteView key_hash) {
  if (chain.size() < 2 || chain.size() > 4) return false;
  const auto h = crypto::sha256(chain[1]);
  return key_hash.size() == h.size() && std::equal(h.begin(), h.end(), key_hash.begin());
}

std::optional<uint16_t> choose_version(VersionRange server, VersionRange client, bool proxy_server) {
  if (proxy_server && server.max < kProxyServerHandshakeVersion)
    client.max = std::max(client.min, kDeletedEventVersion);
  const uint16_t lo = std::max(server.min, client.min);
  const uint16_t hi = std::min(server.max, client.max);
  if (lo > hi) return std::nullopt;
  return hi;
}

// ---- SmpClient ----

struct SmpClient::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(asio::any_io_executor e) : ex(std::move(e)) {}

  asio::any_io_executor ex;
  tls::CtxPtr ctx;
  std::unique_ptr<net::TlsStream> stream;
  ClientOptions options;
  SessionParams params;
  ServerHello hello;
  std::optional<crypto::Key32> server_key;
  std::optional<crypto::PrivateKey> service_key;  // service session signing key
  Bytes service_cert_hash;
  Bytes service_id;
  std::optional<crypto::Key32> session_secret;  // dh(own hello key, server session key)
  std::string alpn;
  BlockSender sender;
  BlockReceiver receiver;
  bool connected = false;
  bool closed = false;
  std::string close_reason = "CLOSED";

  std::deque<Bytes> out;  // sealed blocks in chain order
  bool writing = false;

  struct Pending {
    std::optional<Received> result;
  };
  std::map<Bytes, Pending*> pending;
  std::deque<Received> inbox;  // everything no request waits for
  std::vector<asio::steady_timer*> waiters;

  void wake() {
    for (auto* t : waiters) t->cancel();
  }

  void shut(std::string reason) {
    if (!closed) {
      closed = true;
      close_reason = std::move(reason);
    }
    if (stream) {
      asio::error_code ec;
      stream->lowest_layer().close(ec);
    }
    wake();
  }

  // Waits until ready() or the deadline; returns ready().
  template <class Ready>
  asio::awaitable<bool> wait_until(Ready ready, Clock::time_point deadline) {
    asio::steady_timer t(ex, deadline);
    while (!ready()) {
      if (closed || Clock::now() >= deadline) co_return ready();
      waiters.push_back(&t);
      co_await t.async_wait(use_nothrow);  // woken by cancel() or the deadline: re-check
      waiters.erase(std::find(waiters.begin(), waiters.end(), &t));
    }
    co_return true;
  }

  void enqueue(Bytes block) {
    if (closed) fail(close_reason);
    out.push_back(std::move(block));
    if (!writing) {
      writing = true;
      asio::co_spawn(ex, drain(shared_from_this()), asio::detached);
    }
  }

  static asio::awaitable<void> drain(std::shared_ptr<Impl> self) {
    while (!self->out.empty() && !self->closed) {
      Bytes block = std::move(self->out.front());
      self->out.pop_front();
      auto [ec, n] = co_await asio::async_write(*self->stream, asio::buffer(block), use_nothrow);
      if (ec) {
        self->shut("NETWORK: " + ec.message());
        break;
      }
    }
    self->writing = false;
  }

  void send_items(const std::vector<Bytes>& items) {
    size_t dropped = 0;
    for (auto& content : batch_transmissions(items, &dropped)) {
      auto block = sender.seal(content);
      if (!block) fail("LARGE_MSG");
      enqueue(std::move(*block));
    }
    if (dropped != 0) fail("LARGE_MSG");
  }

  void dispatch(Received r) {
    if (!r.corr_id.empty()) {
      auto it = pending.find(r.corr_id);
      if (it != pending.end()) {
        it->second->result = std::move(r);
        pending.erase(it);
        wake();
        return;
      }
    }
    inbox.push_back(std::move(r));
    wake();
  }

  static asio::awaitable<void> read_loop(std::shared_ptr<Impl> self) {
    Bytes block(kBlockSize);
    while (!self->closed) {
      auto [ec, n] = co_await asio::async_read(*self->stream, asio::buffer(block), use_nothrow);
      if (ec) {
        self->shut(ec == asio::error::eof ? "CLOSED" : "NETWORK: " + ec.message());
        break;
      }
      auto content = self->receiver.open(block);
      auto items = content ? parse_batch(*content) : std::nullopt;
      if (!items) {
        self->shut("BLOCK");
        break;
      }
      for (ByteView item : *items) {
        auto t = parse_server_transmission(self->params, item);
        if (!t) {
          self->shut("BLOCK");
          break;
        }
        Received r{std::move(t->corr_id), std::move(t->entity_id), Bytes(t->response.begin(), t->response.end()),
                   parse_response(t->response, self->params.version)};
        self->dispatch(std::move(r));
      }
    }
  }

  ClientAuth complete(ClientAuth auth) const {
    if (!auth.server_session_key) auth.server_session_key = server_key;
    return auth;
  }

  Bytes encode(ByteView corr_id, ByteView entity_id, const Command& command, const ClientAuth& auth) const {
    const Bytes cmd = encode_command(command, params.version);
    return encode_client_transmission(params, corr_id, entity_id, cmd, complete(auth));
  }

  asio::awaitable<void> handshake(std::string host, uint16_t port, Bytes key_hash);
  asio::awaitable<std::vector<Response>> requests(std::vector<Request> reqs, Clock::duration timeout);
  asio::awaitable<std::optional<Received>> next(bool events_only, Clock::duration timeout);
};

asio::awaitable<void> SmpClient::Impl::handshake(std::string host, uint16_t port, Bytes key_hash) {
  // Reads exactly one block; fails with `what` on error.
  auto read_block = [this](Bytes& buf) -> asio::awaitable<void> {
    buf.assign(kBlockSize, 0);
    auto [ec, n] = co_await asio::async_read(*stream, asio::buffer(buf), use_nothrow);
    if (ec) fail(closed ? close_reason : "NETWORK: " + ec.message());
  };

  asio::ip::tcp::socket socket(ex);
  if (options.socks) {
    const std::string e = co_await socks::connect(socket, *options.socks, host, port, options.timeout);
    if (!e.empty()) fail("NETWORK: " + e);
  } else {
    asio::ip::tcp::resolver resolver(ex);
    auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), use_nothrow);
    if (rec) fail("NETWORK: resolve " + host + ": " + rec.message());
    auto [cec, ep] = co_await asio::async_connect(socket, endpoints, use_nothrow);
    if (cec) fail("NETWORK: connect: " + cec.message());
  }
  socket.set_option(asio::ip::tcp::no_delay(true));

  ctx = tls::make_client_context(options.alpn);
  SSL* ssl = SSL_new(ctx.get());
  if (ssl == nullptr) fail("NETWORK: SSL_new: " + tls::last_error());
  tls::prepare(ssl);
  stream = std::make_unique<net::TlsStream>(std::move(socket), ssl);  // the stream owns ssl
  std::vector<Bytes> service_chain;
  std::optional<crypto::PrivateKey> service_leaf_key;
  if (options.service) {
    // A service presents its certificate in TLS and repeats the chain in the hello (transport §3.8, §4.3).
    try {
      auto leaf = tls::read_pem_certs(options.service->cert_file);
      auto rest = options.service->ca_file.empty() ? std::vector<tls::X509Ptr>{}
                                                   : tls::read_pem_certs(options.service->ca_file);
      tls::PkeyPtr key = tls::read_private_key(options.service->key_file);
      if (leaf.empty() || SSL_use_certificate(ssl, leaf[0].get()) != 1 || SSL_use_PrivateKey(ssl, key.get()) != 1)
        fail("NETWORK: service certificate: " + tls::last_error());
      service_chain.push_back(tls::cert_der(leaf[0].get()));
      for (auto& c : rest) {
        if (SSL_add1_chain_cert(ssl, c.get()) != 1) fail("NETWORK: service certificate: " + tls::last_error());
        service_chain.push_back(tls::cert_der(c.get()));
      }
      service_leaf_key = tls::raw_private_key(key.get());
    } catch (const tls::TlsError& e) {
      fail(std::string("NETWORK: service certificate: ") + e.what());
    }
  }
  auto [hec] = co_await stream->async_handshake(asio::ssl::stream_base::client, use_nothrow);
  if (hec) fail(closed ? close_reason : "NETWORK: TLS handshake: " + hec.message());
  SSL* h = stream->native_handle();
  params.session_id = tls::session_id(h);
  alpn = tls::alpn_selected(h);
  if (params.session_id.empty()) fail("SESSION");
  const auto tls_chain = tls::peer_chain_der(h);
  if (!chain_matches_key_hash(tls_chain, key_hash)) fail("HANDSHAKE IDENTITY");

  // Block 1: server hello, unencrypted and unbatched.
  Bytes block;
  co_await read_block(block);
  auto content = crypto::unpad(block);
  auto sh = content ? parse_server_hello(*content) : std::nullopt;
  if (!sh) fail("HANDSHAKE PARSE");
  hello = std::move(*sh);
  if (hello.session_id != params.session_id) fail("SESSION");
  auto v = choose_version(hello.versions, options.versions, options.proxy_server);
  if (!v) fail("VERSION");
  if (hello.versions.max >= kAuthCmdsVersion) {
    // The hello's chain must be the identity we dialled; its key is signed by the TLS leaf.
    if (!chain_matches_key_hash(hello.cert_chain, key_hash)) fail("HANDSHAKE BAD_AUTH");
    auto leaf = certs::cert_public_key(tls_chain[0]);
    auto key = leaf ? crypto::verify_signed_key(*leaf, hello.signed_key) : std::nullopt;
    if (!key || key->alg != crypto::KeyAlg::X25519 || key->raw.size() != 32) fail("HANDSHAKE BAD_AUTH");
    crypto::Key32 k{};
    std::copy(key->raw.begin(), key->raw.end(), k.begin());
    server_key = k;
  }

  // Block 2: client hello.
  ClientHello ch;
  ch.version = options.hello_version.value_or(*v);
  ch.key_hash = options.hello_key_hash.value_or(key_hash);
  ch.proxy_server = options.proxy_server;
  std::optional<crypto::X25519KeyPair> own;
  if (options.send_client_key && *v >= kAuthCmdsVersion) {
    own = crypto::x25519_generate();
    ch.client_key = own->pub;
  }
  if (options.service && *v >= kServiceCertsVersion) {
    // A fresh Ed25519 key per session signs the service slot; the service certificate's key signs it.
    service_key = crypto::PrivateKey{crypto::KeyAlg::Ed25519, crypto::random_bytes(32)};
    ch.service = ServiceInfo{options.service->role, service_chain,
                             crypto::sign_signed_key(*service_leaf_key, crypto::public_key(*service_key))};
    const auto h = crypto::sha256(service_chain.size() == 1 ? service_chain[0] : service_chain[1]);
    service_cert_hash.assign(h.begin(), h.end());
  }
  auto hb = plain_block(encode_client_hello(ch));
  if (!hb) fail("HANDSHAKE PARSE");
  params.version = *v;
  enqueue(std::move(*hb));
  if (ch.service) {
    // Block 3: 'R' serviceId or 'E' error, never encrypted.
    Bytes b3;
    co_await read_block(b3);
    auto c3 = crypto::unpad(b3);
    if (!c3 || c3->empty()) fail("HANDSHAKE PARSE");
    std::string_view text(reinterpret_cast<const char*>(c3->data()) + 1, c3->size() - 1);
    if ((*c3)[0] == 'E') fail(std::string(text));
    Decoder d(ByteView(*c3).subspan(1));
    auto sid = d.short_string();
    if ((*c3)[0] != 'R' || !sid) fail("HANDSHAKE PARSE");
    service_id.assign(sid->begin(), sid->end());
  }

  if (own && server_key) {
    session_secret = crypto::x25519_dh(own->priv, *server_key);
    if (!session_secret) fail("HANDSHAKE BAD_AUTH");
  }
  // §4.6: block encryption iff v >= 11, key sent, not a proxy; the client sends on ckC and receives on ckS.
  if (*v >= kEncryptedBlockVersion && session_secret && !options.proxy_server) {
    auto chains = crypto::sbchain_init(params.session_id, *session_secret);
    sender = BlockSender(chains.client_to_server);
    receiver = BlockReceiver(chains.server_to_client);
  }
  connected = true;
  asio::co_spawn(ex, read_loop(shared_from_this()), asio::detached);
}

asio::awaitable<std::vector<Response>> SmpClient::Impl::requests(std::vector<Request> reqs, Clock::duration timeout) {
  if (!connected) fail("CLOSED");
  std::vector<Pending> slots(reqs.size());
  std::vector<Bytes> corr_ids, items;
  for (size_t i = 0; i < reqs.size(); ++i) {
    Bytes corr = reqs[i].corr_id ? *reqs[i].corr_id : crypto::random_bytes(kIdSize);
    items.push_back(encode(corr, reqs[i].entity_id, reqs[i].command, reqs[i].auth));
    pending[corr] = &slots[i];
    corr_ids.push_back(std::move(corr));
  }
  auto forget = [&] {
    for (auto& c : corr_ids) pending.erase(c);
  };
  try {
    send_items(items);
  } catch (...) {
    forget();
    throw;
  }
  auto all = [&] { return std::all_of(slots.begin(), slots.end(), [](const Pending& p) { return p.result.has_value(); }); };
  const bool done = co_await wait_until(all, Clock::now() + timeout);
  forget();
  if (!done) fail(closed ? close_reason : "TIMEOUT");
  std::vector<Response> out;
  for (auto& s : slots) {
    if (!s.result->response) fail("RESPONSE: unparsable reply");
    out.push_back(std::move(*s.result->response));
  }
  co_return out;
}

asio::awaitable<std::optional<Received>> SmpClient::Impl::next(bool events_only, Clock::duration timeout) {
  auto find = [&] {
    return std::find_if(inbox.begin(), inbox.end(), [&](const Received& r) { return !events_only || r.corr_id.empty(); });
  };
  co_await wait_until([&] { return find() != inbox.end(); }, Clock::now() + timeout);
  auto it = find();
  if (it == inbox.end()) {
    if (closed) fail(close_reason);
    co_return std::nullopt;
  }
  Received r = std::move(*it);
  inbox.erase(it);
  co_return r;
}

SmpClient::SmpClient(asio::any_io_executor ex) : impl_(std::make_shared<Impl>(std::move(ex))) {}
SmpClient::~SmpClient() { close(); }

asio::awaitable<void> SmpClient::connect(std::string host, uint16_t port, Bytes key_hash, ClientOptions options) {
  if (impl_->connected || impl_->stream) fail("already connected");
  impl_->options = std::move(options);
  // The deadline closes the socket, which ends whatever step is waiting.
  auto self = impl_;
  auto expired = std::make_shared<bool>(false);
  asio::steady_timer guard(impl_->ex);
  guard.expires_after(impl_->options.timeout);
  guard.async_wait([self, expired](const asio::error_code& ec) {
    if (ec || self->connected) return;
    *expired = true;
    self->shut("TIMEOUT");
  });
  try {
    co_await impl_->handshake(std::move(host), port, std::move(key_hash));
  } catch (const ClientError&) {
    guard.cancel();
    if (*expired) {
      impl_->shut("TIMEOUT");
      fail("TIMEOUT");
    }
    impl_->shut("CLOSED");
    throw;
  }
  guard.cancel();
}

uint16_t SmpClient::version() const { return impl_->params.version; }
const SessionParams& SmpClient::params() const { return impl_->params; }
const ServerHello& SmpClient::server_hello() const { return impl_->hello; }
std::optional<crypto::Key32> SmpClient::server_session_key() const { return impl_->server_key; }
bool SmpClient::block_encryption() const { return impl_->sender.encrypted(); }
const Bytes& SmpClient::service_id() const { return impl_->service_id; }
std::optional<crypto::Key32> SmpClient::session_secret() const { return impl_->session_secret; }
ClientAuth SmpClient::service_auth(std::optional<crypto::PrivateKey> queue_key) const {
  ClientAuth a;
  if (queue_key) {
    a.key = std::move(queue_key);
    a.service_key = impl_->service_key;
    a.service_cert_hash = impl_->service_cert_hash;
  } else {
    a.key = impl_->service_key;  // service-wide commands (SUBS, NSUBS) are signed by the service key alone
  }
  return a;
}
const std::string& SmpClient::alpn() const { return impl_->alpn; }
bool SmpClient::closed() const { return impl_->closed; }

asio::awaitable<Response> SmpClient::request(ByteView entity_id, Command command, ClientAuth auth,
                                             std::optional<Clock::duration> timeout) {
  std::vector<Request> one;
  one.push_back(Request{Bytes(entity_id.begin(), entity_id.end()), std::move(command), std::move(auth), std::nullopt});
  const Clock::duration t = timeout.value_or(impl_->options.timeout);
  auto r = co_await impl_->requests(std::move(one), t);
  co_return std::move(r.front());
}

std::optional<ProxiedRelay> proxied_relay(const resp::PKEY& k, ByteView key_hash, VersionRange ours) {
  if (!chain_matches_key_hash(k.cert_chain, key_hash)) return std::nullopt;
  auto leaf = certs::cert_public_key(k.cert_chain[0]);
  auto key = leaf ? crypto::verify_signed_key(*leaf, k.signed_key) : std::nullopt;
  if (!key || key->alg != crypto::KeyAlg::X25519 || key->raw.size() != 32) return std::nullopt;
  const uint16_t max = std::min(ours.max, k.versions.max);
  if (max < std::max(ours.min, k.versions.min)) return std::nullopt;
  ProxiedRelay r;
  r.dest = SessionParams{max, k.session_id};
  std::copy(key->raw.begin(), key->raw.end(), r.dest_key.begin());
  return r;
}

asio::awaitable<Response> SmpClient::proxy_relay(cmd::SMPServer dest, std::optional<std::string> basic_auth,
                                                 std::optional<Clock::duration> timeout) {
  // Locals, not braced temporaries in the co_await (GCC 12 destroys those twice).
  Command c = cmd::PRXY{std::move(dest), std::move(basic_auth)};
  ClientAuth none;
  Response r = co_await request(ByteView{}, std::move(c), std::move(none), timeout);
  co_return r;
}

asio::awaitable<Response> SmpClient::proxied_request(ProxiedRelay relay, Bytes entity_id, Command command,
                                                     ClientAuth auth, std::optional<Clock::duration> timeout) {
  auto req = seal_proxied_request(relay.dest, relay.dest_key, entity_id, encode_command(command, relay.dest.version),
                                  auth);
  if (!req) throw ClientError("RESPONSE: the command does not fit a forwarded transmission");
  cmd::PFWD pfwd{relay.dest.version,
                 crypto::PublicKey{crypto::KeyAlg::X25519, Bytes(req->ephemeral.pub.begin(), req->ephemeral.pub.end())},
                 req->enc_transmission};
  std::vector<Request> one;
  one.push_back(Request{relay.dest.session_id, std::move(pfwd), {}, req->corr_id});
  auto r = co_await request_batch(std::move(one), timeout);
  auto* pres = std::get_if<resp::PRES>(&r.front());
  if (!pres) co_return std::move(r.front());
  Bytes storage;
  auto tx = open_proxied_response(relay.dest, *req, pres->enc, storage);
  if (!tx || !std::equal(tx->corr_id.begin(), tx->corr_id.end(), req->corr_id.begin(), req->corr_id.end())) throw ClientError("RESPONSE: PRES does not open");
  auto inner = parse_response(tx->response, relay.dest.version);
  if (!inner) throw ClientError("RESPONSE: PRES holds an unparsable reply");
  co_return std::move(*inner);
}

asio::awaitable<std::vector<Response>> SmpClient::request_batch(std::vector<Request> requests,
                                                                std::optional<Clock::duration> timeout) {
  const Clock::duration t = timeout.value_or(impl_->options.timeout);
  auto r = co_await impl_->requests(std::move(requests), t);
  co_return r;
}

asio::awaitable<std::optional<Received>> SmpClient::next_event(Clock::duration timeout) {
  co_return co_await impl_->next(true, timeout);
}

asio::awaitable<std::optional<Received>> SmpClient::read_transmission(Clock::duration timeout) {
  co_return co_await impl_->next(false, timeout);
}

Bytes SmpClient::encode_transmission(ByteView corr_id, ByteView entity_id, const Command& command,
                                     ClientAuth auth) const {
  return impl_->encode(corr_id, entity_id, command, auth);
}

void SmpClient::send_raw_transmissions(const std::vector<Bytes>& items) { impl_->send_items(items); }

bool SmpClient::send_block_content(ByteView content) {
  auto block = impl_->sender.seal(content);
  if (!block) return false;
  impl_->enqueue(std::move(*block));
  return true;
}

void SmpClient::send_raw_block(ByteView block) {
  if (block.size() != kBlockSize) throw std::invalid_argument("a raw block is exactly 16384 bytes");
  // The server's receive chain advances on a block it cannot open (§5.4): keep ours in step.
  if (impl_->sender.encrypted()) (void)impl_->sender.seal(ByteView{});
  impl_->enqueue(Bytes(block.begin(), block.end()));
}

void SmpClient::close() {
  if (impl_) impl_->shut("CLOSED");
}

// ---- Keys ----

AuthKeyPair generate_auth_key(crypto::KeyAlg alg) {
  crypto::PrivateKey priv{alg, {}};
  if (alg == crypto::KeyAlg::X25519) {
    const auto kp = crypto::x25519_generate();
    priv.raw.assign(kp.priv.begin(), kp.priv.end());
    return {priv, AuthKey{alg, Bytes(kp.pub.begin(), kp.pub.end())}};
  }
  priv.raw = crypto::random_bytes(crypto::private_key_size(alg));
  return {priv, crypto::public_key(priv)};
}

crypto::Key32 x25519_private(const crypto::PrivateKey& key) {
  if (key.alg != crypto::KeyAlg::X25519 || key.raw.size() != 32) throw std::invalid_argument("not an X25519 key");
  crypto::Key32 k{};
  std::copy(key.raw.begin(), key.raw.end(), k.begin());
  return k;
}

std::optional<RcvMessage> decrypt_msg(const QueueCreds& q, const resp::MSG& msg) {
  return decrypt_rcv_message(q.rcv_dh_secret, msg.msg_id, msg.enc_body);
}

std::string describe(const Response& r) {
  if (const auto* e = std::get_if<resp::ERR>(&r)) return "ERR " + error_text(e->err);
  return response_tag(r, kMaxVersion);
}

// ---- SyncSmpClient ----

SyncSmpClient::SyncSmpClient() : client_(std::make_unique<SmpClient>(io_.get_executor())) {}

SyncSmpClient::~SyncSmpClient() {
  client_->close();
  client_.reset();
  // Let the reader and writer see the closed socket and release the session.
  io_.restart();
  io_.run_for(std::chrono::seconds(2));
}

template <class T>
T SyncSmpClient::run(asio::awaitable<T> op) {
  return run_blocking<ClientError>(io_, std::move(op), timeout + std::chrono::seconds(30), [this] { client_->close(); });
}

void SyncSmpClient::connect(const std::string& host, uint16_t port, const Bytes& key_hash, ClientOptions options) {
  options.timeout = timeout;
  auto op = [](SmpClient& c, std::string h, uint16_t p, Bytes k, ClientOptions o) -> asio::awaitable<bool> {
    co_await c.connect(std::move(h), p, std::move(k), std::move(o));
    co_return true;
  };
  run(op(*client_, host, port, key_hash, std::move(options)));
}

Response SyncSmpClient::request(ByteView entity_id, Command command, ClientAuth auth) {
  return run(client_->request(entity_id, std::move(command), std::move(auth), timeout));
}

Response SyncSmpClient::proxy_relay(cmd::SMPServer dest, std::optional<std::string> basic_auth) {
  return run(client_->proxy_relay(std::move(dest), std::move(basic_auth), timeout));
}

Response SyncSmpClient::proxied_request(const ProxiedRelay& relay, ByteView entity_id, Command command,
                                        ClientAuth auth) {
  return run(client_->proxied_request(relay, Bytes(entity_id.begin(), entity_id.end()), std::move(command),
                                      std::move(auth), timeout));
}

std::vector<Response> SyncSmpClient::request_batch(std::vector<Request> requests) {
  return run(client_->request_batch(std::move(requests), timeout));
}

std::optional<Received> SyncSmpClient::next_event(Clock::duration t) { return run(client_->next_event(t)); }
std::optional<Received> SyncSmpClient::read_transmission(Clock::duration t) {
  return run(client_->read_transmission(t));
}

void SyncSmpClient::send_raw_transmissions(const std::vector<Bytes>& items) {
  client_->send_raw_transmissions(items);
  io_.restart();
  io_.poll();  // start the write
}
bool SyncSmpClient::send_block_content(ByteView content) {
  const bool ok = client_->send_block_content(content);
  io_.restart();
  io_.poll();
  return ok;
}
void SyncSmpClient::send_raw_block(ByteView block) {
  client_->send_raw_block(block);
  io_.restart();
  io_.poll();
}
void SyncSmpClient::close() { client_->close(); }

namespace {
template <class T>
T expect(Response r, const char* what) {
  if (auto* v = std::get_if<T>(&r)) return std::move(*v);
  throw ClientError(std::string("RESPONSE: ") + what + ": " + describe(r));
}
}  // namespace

QueueCreds SyncSmpClient::create_queue(crypto::KeyAlg rcv_alg, bool subscribe, std::optional<QueueReqData> req) {
  QueueCreds q;
  q.rcv_auth = generate_auth_key(rcv_alg);
  q.rcv_dh = generate_dh_key();
  cmd::NEW n{q.rcv_auth.pub, q.rcv_dh.pub, std::nullopt, subscribe, std::move(req), std::nullopt};
  ClientAuth auth;
  auth.key = q.rcv_auth.priv;
  q.ids = expect<resp::IDS>(request({}, std::move(n), auth), "NEW");
  q.rcv_id = q.ids.rcv_id;
  q.snd_id = q.ids.snd_id;
  q.srv_dh_key = q.ids.srv_dh_key;
  auto secret = crypto::x25519_dh(x25519_private(q.rcv_dh.priv), q.srv_dh_key.raw);
  if (!secret) throw ClientError("RESPONSE: IDS: bad server DH key");
  q.rcv_dh_secret = *secret;
  return q;
}

Response SyncSmpClient::recipient_request(const QueueCreds& q, Command command) {
  ClientAuth auth;
  auth.key = q.rcv_auth.priv;
  return request(q.rcv_id, std::move(command), auth);
}

void SyncSmpClient::secure(const QueueCreds& q, const AuthKey& sender_key) {
  expect<resp::OK>(recipient_request(q, cmd::KEY{sender_key}), "KEY");
}

void SyncSmpClient::secure_by_sender(const Bytes& snd_id, const AuthKeyPair& sender) {
  ClientAuth auth;
  auth.key = sender.priv;
  expect<resp::OK>(request(snd_id, cmd::SKEY{sender.pub}, auth), "SKEY");
}

Response SyncSmpClient::send(const Bytes& snd_id, const std::optional<AuthKeyPair>& sender, ByteView body,
                             bool notification) {
  ClientAuth auth;
  if (sender) auth.key = sender->priv;
  return request(snd_id, cmd::SEND{notification, Bytes(body.begin(), body.end())}, auth);
}

Response SyncSmpClient::ack(const QueueCreds& q, ByteView msg_id) {
  return recipient_request(q, cmd::ACK{Bytes(msg_id.begin(), msg_id.end())});
}

}  // namespace sr::smp
