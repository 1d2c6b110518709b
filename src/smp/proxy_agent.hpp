// The proxy role of private message routing (smp-commands.md §10.2–§10.6, transport §4.8): this relay connects to
// destination relays as an SMP client with the proxy flag and forwards clients' commands to them. One connection
// per destination is shared by every client that routes there, so the destination cannot tell clients apart.
// Built on our SmpClient (client.hpp), the same client the tests and the load generator use.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/socks.hpp"
#include "smp/client.hpp"
#include "smp/server_stats.hpp"

namespace sr::smp {

struct ProxyAgentConfig {
  std::optional<socks::Proxy> socks;  // [PROXY] socks_proxy
  bool socks_always = false;          // socks_mode = always (else only .onion hosts go through SOCKS)
  bool socks_isolate = true;          // fresh random SOCKS credentials per destination (Tor stream isolation)
  bool prefer_onion = false;          // host_mode = onion
  bool required_host_mode = false;    // no host of the preferred kind → ERR PROXY BROKER HOST
  std::vector<std::string> own_server_domains;
  std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds(45);
  std::chrono::steady_clock::duration command_timeout = std::chrono::seconds(30);
  std::chrono::steady_clock::duration persist_error = std::chrono::seconds(30);  // a failed connect is remembered
};

// The reference's pRelays* / pMsgFwds* counters, owned by the server's statistics.
struct ProxyCounters {
  ProxyStats* relays = nullptr;
  ProxyStats* relays_own = nullptr;
  ProxyStats* fwds = nullptr;
  ProxyStats* fwds_own = nullptr;
};

class ProxyAgent {
 public:
  ProxyAgent(asio::any_io_executor ex, ProxyAgentConfig cfg, ProxyCounters counters);
  ~ProxyAgent();

  // PRXY → PKEY (or ERR PROXY ...): connects to the destination unless a live connection exists.
  asio::awaitable<Response> relay_key(cmd::SMPServer server);
  // PFWD → RFWD → RRES → PRES (or ERR): session_id is PFWD's entity, corr_id its corrId (N_c).
  asio::awaitable<Response> forward(Bytes session_id, Bytes corr_id, cmd::PFWD fwd);
  // Closes every destination connection (server stop).
  void close_all();

  // Which host of an address is dialled (host_mode public: the first non-onion host, onion: the first onion host;
  // else the first host unless required_host_mode) and whether it goes through SOCKS. nullopt: no usable host,
  // e.g. an .onion host without a SOCKS proxy.
  struct Route {
    std::string host;
    bool via_socks = false;
  };
  std::optional<Route> route(const cmd::SMPServer& server) const;
  bool is_own(const cmd::SMPServer& server) const;

 private:
  struct Dest;
  asio::awaitable<std::shared_ptr<Dest>> connected(const cmd::SMPServer& server, std::optional<ErrorType>& error);
  asio::awaitable<void> connect(std::shared_ptr<Dest> d);

  asio::any_io_executor ex_;
  ProxyAgentConfig cfg_;
  ProxyCounters counters_;
  std::map<std::string, std::shared_ptr<Dest>> dests_;      // by address (hosts, port, key hash)
  std::map<Bytes, std::weak_ptr<Dest>> by_session_;         // by the session id given out in PKEY
};

// ClientError texts (client.hpp) as the proxy reports them (§10.6), and whether they count as connection errors.
ErrorType proxy_client_error(const std::string& what);
bool temporary_client_error(const std::string& what);

}  // namespace sr::smp
