#include "smp/proxy_agent.hpp"

#include <algorithm>

#include "core/log.hpp"

namespace sr::smp {
namespace {

using Clock = std::chrono::steady_clock;

ErrorType broker(BrokerError::Kind k, std::string text = {}, TransportError te = TransportError::BLOCK) {
  return ErrorType::proxy_error(ProxyError{ProxyError::Kind::BROKER, nullptr, BrokerError{k, std::move(text), te}});
}

ErrorType transport(TransportError te) { return broker(BrokerError::Kind::TRANSPORT, {}, te); }

std::string address_key(const cmd::SMPServer& s) {
  std::string k;
  for (const auto& h : s.hosts) k += h + ",";
  return k + ":" + s.port + "#" + base64url_encode(s.key_hash);
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); });
}

}  // namespace

ErrorType proxy_client_error(const std::string& what) {
  if (what == "TIMEOUT") return broker(BrokerError::Kind::TIMEOUT);
  if (what == "CLOSED" || what.rfind("NETWORK", 0) == 0) return broker(BrokerError::Kind::NETWORK);
  if (what == "HOST") return broker(BrokerError::Kind::HOST);
  if (auto te = parse_transport_error(what)) return transport(*te);
  if (what.rfind("RESPONSE: ", 0) == 0) return broker(BrokerError::Kind::RESPONSE, what.substr(10));
  return ErrorType::of(ErrorType::Kind::INTERNAL);
}

bool temporary_client_error(const std::string& what) {
  return what == "TIMEOUT" || what == "CLOSED" || what.rfind("NETWORK", 0) == 0;
}

// One destination relay: its shared connection, or the error of the last attempt.
struct ProxyAgent::Dest {
  cmd::SMPServer server;
  bool own = false;
  std::unique_ptr<SmpClient> client;
  bool connecting = false;
  std::vector<asio::steady_timer*> waiters;  // requests waiting for the connection attempt
  std::string error;                          // ClientError text of the last failed attempt
  Clock::time_point error_at{};
  bool live() const { return client && !client->closed(); }
};

ProxyAgent::ProxyAgent(asio::any_io_executor ex, ProxyAgentConfig cfg, ProxyCounters counters)
    : ex_(std::move(ex)), cfg_(std::move(cfg)), counters_(counters) {}

ProxyAgent::~ProxyAgent() { close_all(); }

void ProxyAgent::close_all() {
  for (auto& [k, d] : dests_)
    if (d->client) d->client->close();
}

std::optional<ProxyAgent::Route> ProxyAgent::route(const cmd::SMPServer& server) const {
  auto preferred = std::find_if(server.hosts.begin(), server.hosts.end(),
                                [&](const std::string& h) { return socks::is_onion(h) == cfg_.prefer_onion; });
  if (preferred == server.hosts.end() && cfg_.required_host_mode) return std::nullopt;
  const std::string& host = preferred != server.hosts.end() ? *preferred : server.hosts.front();
  const bool onion = socks::is_onion(host);
  // An .onion name is never resolved here: it goes through SOCKS or not at all.
  if (onion && !cfg_.socks) return std::nullopt;
  return Route{host, onion || (cfg_.socks && cfg_.socks_always)};
}

bool ProxyAgent::is_own(const cmd::SMPServer& server) const {
  for (const auto& h : server.hosts)
    for (const auto& d : cfg_.own_server_domains)
      if (h.size() == d.size() ? ends_with_ci(h, d) : ends_with_ci(h, "." + d)) return true;
  return false;
}

asio::awaitable<void> ProxyAgent::connect(std::shared_ptr<Dest> d) {
  d->connecting = true;
  std::string error;
  auto r = route(d->server);
  if (!r) {
    error = "HOST";
    LOG_WARN("Error connecting: {}: no usable host ({})", d->server.hosts.front(),
             cfg_.socks ? "host_mode and required_host_mode exclude every host"
                        : ".onion hosts need [PROXY] socks_proxy");
  } else {
    auto client = std::make_unique<SmpClient>(ex_);
    ClientOptions o;
    o.proxy_server = true;
    o.timeout = cfg_.connect_timeout;
    if (r->via_socks) {
      o.socks = cfg_.socks;
      if (cfg_.socks_isolate && !o.socks->with_auth()) {
        o.socks->username = base64url_encode(crypto::random_bytes(12));
        o.socks->password = base64url_encode(crypto::random_bytes(12));
      }
    }
    const uint16_t port = static_cast<uint16_t>(d->server.port.empty() ? 5223 : std::stoi(d->server.port));
    try {
      co_await client->connect(r->host, port, d->server.key_hash, o);
      d->client = std::move(client);
      by_session_[d->client->params().session_id] = d;
    } catch (const ClientError& e) {
      error = e.what();
      LOG_WARN("Error connecting: {} {}", r->host, error);
    } catch (const std::exception& e) {
      error = std::string("NETWORK: ") + e.what();
      LOG_WARN("Error connecting: {} {}", r->host, error);
    }
  }
  d->error = error;
  d->error_at = Clock::now();
  d->connecting = false;
  for (auto* t : d->waiters) t->cancel();
}

asio::awaitable<std::shared_ptr<ProxyAgent::Dest>> ProxyAgent::connected(const cmd::SMPServer& server,
                                                                         std::optional<ErrorType>& error) {
  if (dests_.size() > 1024) {
    // Addresses clients asked for once and that failed: forget them once their error is no longer served.
    std::erase_if(dests_, [&](const auto& kv) {
      const Dest& d = *kv.second;
      return !d.live() && !d.connecting && Clock::now() - d.error_at >= cfg_.persist_error;
    });
  }
  auto& slot = dests_[address_key(server)];
  if (!slot) {
    slot = std::make_shared<Dest>();
    slot->server = server;
    slot->own = is_own(server);
  }
  std::shared_ptr<Dest> d = slot;
  if (!d->live()) {
    if (d->connecting) {
      asio::steady_timer t(ex_);
      d->waiters.push_back(&t);
      while (d->connecting) co_await net::wait_signal(t);
      std::erase(d->waiters, &t);
    } else if (d->error.empty() || Clock::now() - d->error_at >= cfg_.persist_error) {
      if (d->client) by_session_.erase(d->client->params().session_id);
      d->client.reset();
      co_await connect(d);
    }
  }
  if (!d->live()) error = proxy_client_error(d->error.empty() ? "CLOSED" : d->error);
  co_return d;
}

asio::awaitable<Response> ProxyAgent::relay_key(cmd::SMPServer server) {
  std::optional<ErrorType> error;
  auto d = co_await connected(server, error);
  ProxyStats& st = d->own ? *counters_.relays_own : *counters_.relays;
  ++st.requests;
  if (error) {
    ++(temporary_client_error(d->error) ? st.errorsConnect : st.errorsOther);
    co_return resp::ERR{*error};
  }
  // §10.2 steps 4–5: the destination must speak a proxied version; the range shown is capped at 17.
  const ServerHello& h = d->client->server_hello();
  const VersionRange vr{std::max(h.versions.min, kProxiedVersions.min), std::min(h.versions.max, kProxiedVersions.max)};
  if (vr.min > vr.max || d->client->version() < kProxiedVersions.min) {
    ++st.errorsCompat;
    co_return resp::ERR{transport(TransportError::VERSION)};
  }
  if (h.signed_key.empty()) {
    ++st.errorsCompat;
    co_return resp::ERR{transport(TransportError::NO_AUTH)};
  }
  ++st.successes;
  co_return resp::PKEY{d->client->params().session_id, vr, h.cert_chain, h.signed_key};
}

asio::awaitable<Response> ProxyAgent::forward(Bytes session_id, Bytes corr_id, cmd::PFWD fwd) {
  auto it = by_session_.find(session_id);
  std::shared_ptr<Dest> d = it == by_session_.end() ? nullptr : it->second.lock();
  if (!d || !d->live() || d->client->params().session_id != session_id) {
    if (it != by_session_.end() && (!d || !d->live())) by_session_.erase(it);
    ++counters_.fwds->requests;
    ++counters_.fwds->errorsConnect;
    co_return resp::ERR{ErrorType::proxy_error(ProxyError{ProxyError::Kind::NO_SESSION, nullptr, {}})};
  }
  ProxyStats& st = d->own ? *counters_.fwds_own : *counters_.fwds;
  ++st.requests;
  SmpClient& c = *d->client;
  if (c.version() < kProxiedVersions.min) {
    ++st.errorsCompat;
    co_return resp::ERR{transport(TransportError::VERSION)};
  }
  const auto secret = c.session_secret();
  if (!secret) {
    ++st.errorsOther;
    co_return resp::ERR{transport(TransportError::NO_AUTH)};
  }
  // §10.4: the forwarded transmission, boxed for the destination with a fresh nonce that is also RFWD's corrId.
  const Bytes n_p = crypto::random_bytes(kIdSize);
  const crypto::Nonce nonce = crypto::cb_nonce(n_p);
  const Bytes inner = encode_fwd_transmission({std::move(corr_id), fwd.version, fwd.ephemeral_key,
                                               std::move(fwd.enc_transmission)});
  std::vector<Request> reqs;
  reqs.push_back(Request{{}, cmd::RFWD{crypto::box_seal(*secret, nonce, inner)}, {}, n_p});
  Response r;
  try {
    auto rs = co_await c.request_batch(std::move(reqs), cfg_.command_timeout);
    r = std::move(rs.at(0));
  } catch (const ClientError& e) {
    ++st.errorsOther;
    co_return resp::ERR{proxy_client_error(e.what())};
  }
  if (auto* err = std::get_if<resp::ERR>(&r)) {
    ++st.successes;  // the destination answered: as the reference counts it
    co_return resp::ERR{ErrorType::proxy_error(
        ProxyError{ProxyError::Kind::PROTOCOL, std::make_shared<const ErrorType>(err->err), {}})};
  }
  auto* rres = std::get_if<resp::RRES>(&r);
  if (!rres) {
    ++st.errorsOther;
    co_return resp::ERR{broker(BrokerError::Kind::UNEXPECTED, describe(r))};
  }
  // §10.5: unwrap with the reversed nonce; the inner corrId is not compared (as in the reference).
  auto fr = crypto::box_open(*secret, crypto::reverse_nonce(nonce), rres->enc);
  if (!fr) {
    ++st.errorsOther;
    co_return resp::ERR{ErrorType::of(ErrorType::Kind::CRYPTO)};
  }
  Decoder dec(*fr);
  auto fwd_corr = dec.short_string();
  const auto r2 = dec.rest();
  if (!fwd_corr) {
    ++st.errorsOther;
    co_return resp::ERR{broker(BrokerError::Kind::RESPONSE, "BLOCK")};
  }
  ++st.successes;
  co_return resp::PRES{Bytes(r2.begin(), r2.end())};
}

}  // namespace sr::smp
