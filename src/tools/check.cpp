#include "tools/check.hpp"

// The clients' headers include a standard header before <asio.hpp> (see core/server.hpp).
#include "smp/client.hpp"
#include "xftp/client.hpp"

#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>

#include <fmt/format.h>

#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/http2_client.hpp"
#include "core/server_address.hpp"
#include "xftp/file_description.hpp"

namespace sr::tools {

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

std::string_view proto_name(CheckProtocol p) { return p == CheckProtocol::SMP ? "SMP" : "XFTP"; }
std::string where(const CheckContext& c) {
  return c.host.find(':') != std::string::npos && c.host.front() != '['
             ? fmt::format("[{}]:{}", c.host, c.port)
             : fmt::format("{}:{}", c.host, c.port);
}

constexpr size_t kTestChunkSize = 64 << 10;  // the apps' test file: one 64 KB chunk

}  // namespace

std::string_view step_name(CheckStep step) {
  switch (step) {
    case CheckStep::Connect: return "connect";
    case CheckStep::CreateQueue: return "create queue";
    case CheckStep::SecureQueue: return "secure queue";
    case CheckStep::SendMessage: return "send message";
    case CheckStep::ReceiveMessage: return "receive message";
    case CheckStep::DeleteQueue: return "delete queue";
    case CheckStep::CreateFile: return "create file";
    case CheckStep::UploadFile: return "upload file";
    case CheckStep::DownloadFile: return "download file";
    case CheckStep::CompareFile: return "compare file";
    case CheckStep::DeleteFile: return "delete file";
  }
  return "?";
}

CheckAddress parse_check_address(std::string_view text) {
  CheckAddress a;
  if (starts_with(text, "smp://")) a.protocol = CheckProtocol::SMP;
  else if (starts_with(text, "xftp://")) a.protocol = CheckProtocol::XFTP;
  else throw std::invalid_argument("the address must start with smp:// or xftp://");
  ServerAddress s = parse_server_address(a.protocol == CheckProtocol::SMP ? "smp" : "xftp", text);
  if (s.key_hash.size() != 32)
    throw std::invalid_argument("bad key hash: expected 32 bytes in base64url (the server's fingerprint)");
  a.key_hash = std::move(s.key_hash);
  a.hosts = std::move(s.hosts);
  a.password = std::move(s.basic_auth);
  a.port = s.port.value_or(a.protocol == CheckProtocol::SMP ? 5223 : 443);
  for (auto& h : a.hosts)
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return a;
}

Route choose_route(const CheckAddress& a, const std::optional<socks::Proxy>& proxy) {
  Route r;
  auto find = [&](bool onion) -> const std::string* {
    for (const auto& h : a.hosts)
      if (socks::is_onion(h) == onion) return &h;
    return nullptr;
  };
  if (proxy) {
    const std::string* onion = find(true);
    r.host = onion ? *onion : a.hosts.front();
    r.socks = proxy;
  } else if (const std::string* pub = find(false)) {
    r.host = *pub;
  } else {
    r.host = a.hosts.front();
    r.socks = socks::Proxy{"127.0.0.1", 9050, std::nullopt, std::nullopt};
  }
  return r;
}

std::optional<socks::Proxy> parse_proxy(std::string_view text) {
  // config's parser normalises to "a.b.c.d:port" or "[v6]:port"; a name is kept as written.
  auto normal = config::parse_socks_proxy(text);
  std::string t;
  if (normal) {
    t = *normal;
  } else {
    if (text.empty() || contains(text, "[") || contains(text, "@")) return std::nullopt;
    t = std::string(text);
    if (t.find(':') == std::string::npos) t += ":9050";
  }
  const auto colon = t.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  socks::Proxy p;
  p.host = t.substr(0, colon);
  if (p.host.size() > 1 && p.host.front() == '[') p.host = p.host.substr(1, p.host.size() - 2);
  const std::string port = t.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const int n = std::stoi(port);
  if (n < 1 || n > 65535) return std::nullopt;
  p.port = static_cast<uint16_t>(n);
  return p;
}

std::string diagnose(CheckStep step, std::string_view error, const CheckContext& c) {
  const bool smp = c.protocol == CheckProtocol::SMP;
  const std::string_view ini = smp ? "smp-server.ini" : "file-server.ini";
  const std::string_view thing = smp ? "queue" : "file";
  const std::string addr = where(c);
  std::string cause;
  auto detail_after = [&](std::string_view prefix) { return std::string(error.substr(prefix.size())); };

  if (starts_with(error, "NETWORK: resolve ")) {
    cause = fmt::format("DNS lookup of {} failed: check the host name in the address and the server's DNS records "
                        "(A/AAAA), and that this machine can resolve names",
                        c.host);
  } else if (starts_with(error, "NETWORK: connect: ")) {
    const std::string d = detail_after("NETWORK: connect: ");
    if (contains(d, "refused"))
      cause = fmt::format("TCP connection to {} refused: nothing listens on that port. Check that the server is "
                          "running, the port in the address (default {}) matches `port` in [TRANSPORT] of {}, and "
                          "the firewall",
                          addr, smp ? 5223 : 443, ini);
    else
      cause = fmt::format("TCP connection to {} failed: the host is down or unreachable, or a firewall drops the "
                          "connection. Check the host, the port and the firewall",
                          addr);
  } else if (starts_with(error, "NETWORK: SOCKS proxy ")) {
    cause = fmt::format("the SOCKS proxy {} does not work: start Tor (or your proxy) or pass the right "
                        "--socks HOST:PORT",
                        c.socks ? socks::proxy_text(*c.socks) : "");
  } else if (starts_with(error, "NETWORK: SOCKS: ")) {
    cause = fmt::format("the SOCKS proxy could not reach {}: {}", addr,
                        socks::is_onion(c.host)
                            ? "the onion service is offline, or the .onion address is wrong"
                            : "check the host and the port, and that the proxy allows the connection");
  } else if (starts_with(error, "NETWORK: TLS handshake") &&
             (contains(error, "no application protocol") || contains(error, "NO_APPLICATION_PROTOCOL"))) {
    // The alert's text as OpenSSL and BoringSSL word it.
    cause = fmt::format("the server at {} refused the {} protocol (ALPN): it serves another protocol there. Is it "
                        "an {} port in an {}:// address? Check the port and the scheme",
                        addr, proto_name(c.protocol), smp ? "XFTP" : "SMP", smp ? "smp" : "xftp");
  } else if (starts_with(error, "NETWORK: TLS handshake")) {
    cause = fmt::format("TLS handshake with {} failed: the port does not serve a SimpleX {} server (a web server "
                        "or another service?), or something between intercepts TLS. Check the port",
                        addr, proto_name(c.protocol));
  } else if (error == "HANDSHAKE IDENTITY") {
    if (c.actual_fingerprint.empty())
      cause = fmt::format("fingerprint mismatch: the address expects {} but the server's certificate does not "
                          "match it. Check the key hash in the address",
                          c.expected_fingerprint);
    else
      cause = fmt::format("fingerprint mismatch: the address expects {}, the server presents {}. Copy the address "
                          "again from the server (`{} start` prints it; the file `fingerprint` holds the hash): "
                          "the address is wrong, the server was initialized again with a new CA certificate, or "
                          "something intercepts the connection",
                          c.expected_fingerprint, c.actual_fingerprint, smp ? "smp-server" : "xftp-server");
  } else if (error == "HANDSHAKE BAD_AUTH") {
    cause = "the server's handshake does not prove it holds the identity in the address (its session key is not "
            "signed by its certificate): a broken or impostor server";
  } else if (error == "VERSION") {
    cause = fmt::format("version mismatch: the server and this tool share no {} protocol version. Update the server "
                        "(or this tool)",
                        proto_name(c.protocol));
  } else if (error == "SESSION") {
    cause = "TLS session mismatch: something between terminates TLS (a TLS-intercepting proxy or load balancer). "
            "The SimpleX server must terminate TLS itself";
  } else if (starts_with(error, "HANDSHAKE")) {
    cause = fmt::format("the server's answer is not a SimpleX {} handshake: the port serves another protocol "
                        "(an {} port in an {}:// address?) or an incompatible server",
                        proto_name(c.protocol), smp ? "XFTP" : "SMP", smp ? "smp" : "xftp");
  } else if (error == "TIMEOUT") {
    cause = step == CheckStep::Connect
                ? fmt::format("no answer from {} within {} s: a firewall drops the packets, the host or port is "
                              "wrong, or the network is slow. Check the address and the firewall, or try a larger "
                              "--timeout",
                              addr, c.timeout_seconds)
                : fmt::format("no reply within {} s: the server is overloaded or the connection stalled. Retry, "
                              "or try a larger --timeout",
                              c.timeout_seconds);
  } else if (error == "CLOSED" || starts_with(error, "NETWORK: ")) {
    cause = "the connection broke: the server closed it or the network failed. Check the server's log";
  } else if (error == "ERR AUTH" && (step == CheckStep::CreateQueue || step == CheckStep::CreateFile)) {
    const std::string_view flag = smp ? "new_queues" : "new_files";
    if (c.has_password)
      cause = fmt::format("the server refused the password in the address: it is wrong (it must equal "
                          "create_password in [AUTH] of {}), or the server does not accept new {}s at all "
                          "({} = off)",
                          ini, thing, flag);
    else
      cause = fmt::format("the server requires a password: add it to the address as {}://KEYHASH:PASSWORD@host "
                          "(create_password in [AUTH] of {}), or the server does not accept new {}s at all "
                          "({} = off)",
                          smp ? "smp" : "xftp", ini, thing, flag);
  } else if (error == "ERR AUTH") {
    cause = fmt::format("the server rejected the keys of the {} this check just created: the {} disappeared on the "
                        "server, or the server is not compatible",
                        thing, thing);
  } else if (error == "ERR QUOTA") {
    cause = smp ? std::string("the queue is full (msg_queue_quota in [STORE_LOG] of smp-server.ini is too small)")
                : std::string("the server's storage is full: storage_quota in [FILES] of file-server.ini is used "
                              "up. The operator must free space or raise the quota");
  } else if (error == "ERR SIZE") {
    cause = step == CheckStep::DownloadFile
                ? std::string("the server returned a chunk of the wrong size: its storage is corrupt")
                : std::string("the server does not accept a 64 KB chunk: its file size limits are below the "
                              "apps' smallest chunk");
  } else if (starts_with(error, "ERR BLOCKED")) {
    cause = fmt::format("the server operator blocked this {}", thing);
  } else if (starts_with(error, "ERR CMD")) {
    cause = "the server did not accept the command: a version mismatch with an old or incompatible server. "
            "Update the server";
  } else if (error == "ERR INTERNAL" || starts_with(error, "ERR STORE") || error == "ERR FILE_IO") {
    cause = "the server failed internally (disk full, store permissions?): check the server's log";
  } else if (error == "ERR NO_FILE" || error == "ERR NO_MSG") {
    cause = fmt::format("the server lost the {} this check just created: check the server's log", thing);
  } else if (error == "ERR CRYPTO" || error == "ERR DIGEST") {
    cause = "the data does not decrypt or does not match its digest: the server or something on the way "
            "corrupts data";
  } else if (error == "DIFFERENT") {
    cause = step == CheckStep::CompareFile
                ? "the downloaded file differs from the uploaded one: the server's storage corrupts data"
                : "the delivered message differs from the sent one: the server corrupts messages";
  } else if (error == "NO MESSAGE") {
    cause = fmt::format("the server accepted the message but did not deliver it to the subscribed queue within "
                        "{} s: message delivery is broken on the server",
                        c.timeout_seconds);
  } else if (starts_with(error, "ERR ")) {
    cause = "the server refused the command: check the server's log";
  } else if (starts_with(error, "RESPONSE: ")) {
    cause = "an unexpected reply: the server is not compatible with this client (version mismatch?)";
  } else {
    cause = "an unexpected failure";
  }
  return fmt::format("{} — {}", error, cause);
}

// ---- The check itself ----

namespace {

using asio::awaitable;

struct Options {
  std::optional<socks::Proxy> socks;
  int timeout_seconds = 10;
  bool verbose = false;
};

// Prints one line per step and remembers whether all passed.
struct Report {
  CheckContext ctx;
  bool failed = false;
  int passed = 0;
  void ok(CheckStep s, const std::string& detail = "") {
    ++passed;
    std::printf("✓ %.*s%s\n", static_cast<int>(step_name(s).size()), step_name(s).data(),
                detail.empty() ? "" : (" (" + detail + ")").c_str());
  }
  void fail(CheckStep s, std::string_view error) {
    failed = true;
    const std::string line = diagnose(s, error, ctx);
    std::printf("✗ %.*s: %s\n", static_cast<int>(step_name(s).size()), step_name(s).data(), line.c_str());
  }
  void note(bool verbose, const std::string& text) const {
    if (verbose) std::printf("  %s\n", text.c_str());
  }
};

std::string tls_text(size_t tls_unique_size) {
  // tls-unique is the client's Finished: 32 bytes in TLS 1.3 (SHA-256 suites), 12 in TLS 1.2.
  return tls_unique_size == 12 ? "TLS 1.2" : "TLS 1.3";
}

// The fingerprint the server actually presents: a second TLS connection reading the chain (either client stops
// at the mismatch without keeping it). "" when the chain cannot be read or is not 2..4 certificates.
awaitable<std::string> presented_fingerprint(asio::any_io_executor ex, Route route, uint16_t port,
                                             std::vector<std::string> alpn, std::chrono::seconds timeout) {
  h2::ConnectOptions o;
  o.alpn = std::move(alpn);
  o.timeout = timeout;
  o.socks = route.socks;
  try {
    auto conn = co_await h2::Connection::connect(ex, route.host, port, o);
    const auto chain = conn->peer_chain();
    conn->close();
    if (chain.size() < 2 || chain.size() > 4) co_return std::string();
    const auto h = crypto::sha256(chain[1]);
    co_return base64url_encode(h);
  } catch (const std::exception&) {
    co_return std::string();
  }
}

// What both checks share: the client, the address and its route, and the connect step. Plain member coroutines
// (no coroutine lambdas, no braced temporaries inside co_await expressions): GCC 12 miscompiles some of those.
template <class Client>
class CheckBase {
 protected:
  CheckBase(asio::any_io_executor ex, const CheckAddress& a, Route route, const Options& opt, Report& rep)
      : client_(ex), a_(a), route_(std::move(route)), opt_(opt), rep_(rep) {}

  std::chrono::seconds timeout() const { return std::chrono::seconds(opt_.timeout_seconds); }

  // Connects and reports the step (`describe` gives the detail of a success). On an identity failure the
  // fingerprint the server does present is fetched, so the report shows the expected and the actual one.
  template <class ClientOptions>
  awaitable<bool> connect_step(ClientOptions co, std::vector<std::string> alpn,
                               std::function<std::string()> describe) {
    co.timeout = timeout();
    co.socks = route_.socks;
    std::string error;
    try {
      co_await client_.connect(route_.host, a_.port, a_.key_hash, co);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error.empty()) {
      rep_.ok(CheckStep::Connect, describe());
      co_return true;
    }
    if (error == "HANDSHAKE IDENTITY") {
      auto ex = co_await asio::this_coro::executor;
      rep_.ctx.actual_fingerprint = co_await presented_fingerprint(ex, route_, a_.port, alpn, timeout());
    }
    rep_.fail(CheckStep::Connect, error);
    co_return false;
  }

  Client client_;
  const CheckAddress& a_;
  Route route_;
  const Options& opt_;
  Report& rep_;
};

// One SMP check.
class SmpCheck : CheckBase<smp::SmpClient> {
 public:
  SmpCheck(asio::any_io_executor ex, const CheckAddress& a, Route route, const Options& opt, Report& rep)
      : CheckBase(ex, a, std::move(route), opt, rep) {
    rcv_auth_.key = rcv_.priv;
    snd_auth_.key = snd_.priv;
  }

  awaitable<void> run() {
    if (!(co_await connect())) co_return;
    if (!(co_await create())) co_return;
    bool passed = co_await secure();
    if (passed) passed = co_await send();
    if (passed) passed = co_await receive();
    if (!passed) {
      // Quietly remove the test queue.
      if (!client_.closed()) co_await request(ids_.rcv_id, smp::Command(smp::cmd::DEL()), rcv_auth_);
      co_return;
    }
    Reply del = co_await request(ids_.rcv_id, smp::Command(smp::cmd::DEL()), rcv_auth_);
    expect_ok(CheckStep::DeleteQueue, del);
    client_.close();
  }

 private:
  // A reply, or the failure as text: "ERR AUTH", "TIMEOUT", "NETWORK: ...".
  using Reply = std::variant<smp::Response, std::string>;

  awaitable<bool> connect() {
    smp::ClientOptions co;
    std::vector<std::string> alpn = co.alpn;
    std::function<std::string()> describe = [this] {
      return fmt::format("{}, SMP v{}", tls_text(client_.params().session_id.size()), client_.version());
    };
    co_return co_await connect_step(std::move(co), std::move(alpn), std::move(describe));
  }

  awaitable<Reply> request(Bytes entity, smp::Command cmd, smp::ClientAuth auth) {
    std::string error;
    try {
      smp::Response r = co_await client_.request(entity, std::move(cmd), std::move(auth), std::nullopt);
      if (const auto* e = std::get_if<smp::resp::ERR>(&r)) co_return Reply(std::in_place_type<std::string>, "ERR " + smp::error_text(e->err));
      co_return Reply(std::move(r));
    } catch (const std::exception& e) {
      error = e.what();
    }
    co_return Reply(std::in_place_type<std::string>, error);
  }

  static std::string failure(const Reply& r) {
    if (const auto* text = std::get_if<std::string>(&r)) return *text;
    return "RESPONSE: unexpected " + smp::describe(std::get<smp::Response>(r));
  }

  bool expect_ok(CheckStep step, const Reply& r) {
    const auto* resp = std::get_if<smp::Response>(&r);
    if (resp && std::holds_alternative<smp::resp::OK>(*resp)) {
      rep_.ok(step);
      return true;
    }
    rep_.fail(step, failure(r));
    return false;
  }

  awaitable<bool> create() {
    smp::cmd::NEW n;
    n.rcv_auth_key = rcv_.pub;
    n.rcv_dh_key = dh_.pub;
    n.basic_auth = a_.password;
    n.subscribe = true;  // the message of the send step then arrives as an event
    n.req = smp::QueueReqData();
    Reply r = co_await request(Bytes(), smp::Command(std::move(n)), rcv_auth_);
    const auto* resp = std::get_if<smp::Response>(&r);
    const auto* ids = resp ? std::get_if<smp::resp::IDS>(resp) : nullptr;
    if (!ids) {
      rep_.fail(CheckStep::CreateQueue, failure(r));
      co_return false;
    }
    ids_ = *ids;
    rep_.ok(CheckStep::CreateQueue);
    rep_.note(opt_.verbose, "recipient ID " + base64url_encode(ids_.rcv_id) + ", sender ID " +
                                base64url_encode(ids_.snd_id));
    co_return true;
  }

  // As the apps do: the sender secures a messaging queue (SKEY), otherwise the recipient does (KEY).
  awaitable<bool> secure() {
    Reply r;
    if (ids_.mode == smp::QueueMode::Messaging && client_.version() >= 9) {
      smp::cmd::SKEY k;
      k.sender_key = snd_.pub;
      r = co_await request(ids_.snd_id, smp::Command(std::move(k)), snd_auth_);
    } else {
      smp::cmd::KEY k;
      k.sender_key = snd_.pub;
      r = co_await request(ids_.rcv_id, smp::Command(std::move(k)), rcv_auth_);
    }
    co_return expect_ok(CheckStep::SecureQueue, r);
  }

  awaitable<bool> send() {
    body_ = crypto::random_bytes(64);
    smp::cmd::SEND m;
    m.body = body_;
    Reply r = co_await request(ids_.snd_id, smp::Command(std::move(m)), snd_auth_);
    co_return expect_ok(CheckStep::SendMessage, r);
  }

  awaitable<bool> receive() {
    std::optional<smp::Received> ev;
    std::string error;
    try {
      const auto deadline = smp::Clock::now() + timeout();
      while (!ev && smp::Clock::now() < deadline) {
        std::optional<smp::Received> e = co_await client_.next_event(deadline - smp::Clock::now());
        if (!e) break;
        if (e->entity_id == ids_.rcv_id && e->response && std::holds_alternative<smp::resp::MSG>(*e->response))
          ev = std::move(e);
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!ev && error.empty()) error = "NO MESSAGE";
    if (ev) {
      const smp::resp::MSG msg = std::get<smp::resp::MSG>(*ev->response);
      const auto secret = crypto::x25519_dh(smp::x25519_private(dh_.priv), ids_.srv_dh_key.raw);
      const auto plain = secret ? smp::decrypt_rcv_message(*secret, msg.msg_id, msg.enc_body) : std::nullopt;
      if (!plain) {
        error = "ERR CRYPTO";
      } else if (plain->body != body_) {
        error = "DIFFERENT";
      } else {
        smp::cmd::ACK ack;
        ack.msg_id = msg.msg_id;
        Reply r = co_await request(ids_.rcv_id, smp::Command(std::move(ack)), rcv_auth_);
        const auto* resp = std::get_if<smp::Response>(&r);
        if (!resp || !std::holds_alternative<smp::resp::OK>(*resp)) error = failure(r);
      }
    }
    if (!error.empty()) {
      rep_.fail(CheckStep::ReceiveMessage, error);
      co_return false;
    }
    rep_.ok(CheckStep::ReceiveMessage);
    co_return true;
  }

  smp::AuthKeyPair rcv_ = smp::generate_auth_key(crypto::KeyAlg::Ed25519);
  smp::AuthKeyPair dh_ = smp::generate_dh_key();
  smp::AuthKeyPair snd_ = smp::generate_auth_key(crypto::KeyAlg::Ed25519);
  smp::ClientAuth rcv_auth_, snd_auth_;
  smp::resp::IDS ids_;
  Bytes body_;
};

awaitable<void> check_smp(const CheckAddress& a, Route route, const Options& opt, Report& rep) {
  SmpCheck check(co_await asio::this_coro::executor, a, std::move(route), opt, rep);
  co_await check.run();
}

// One XFTP check, written like SmpCheck.
class XftpCheck : CheckBase<xftp::XftpClient> {
 public:
  XftpCheck(asio::any_io_executor ex, const CheckAddress& a, Route route, const Options& opt, Report& rep)
      : CheckBase(ex, a, std::move(route), opt, rep) {}

  awaitable<void> run() {
    if (!(co_await connect())) co_return;
    if (!(co_await create())) co_return;
    bool passed = co_await upload();
    if (passed) passed = co_await download();
    if (passed) {
      passed = received_ == chunk_;
      if (passed)
        rep_.ok(CheckStep::CompareFile);
      else
        rep_.fail(CheckStep::CompareFile, "DIFFERENT");
    }
    std::string error = co_await remove();  // also the quiet clean-up after a failure
    if (passed) {
      if (error.empty())
        rep_.ok(CheckStep::DeleteFile);
      else
        rep_.fail(CheckStep::DeleteFile, error);
    }
    client_.close();
  }

 private:
  static std::string err_text(const xftp::Error& e) { return "ERR " + xftp::error_text(e); }

  awaitable<bool> connect() {
    xftp::ClientOptions co;
    std::vector<std::string> alpn;
    alpn.emplace_back(xftp::kAlpnXftp);
    std::function<std::string()> describe = [this] {
      return fmt::format("{}, XFTP v{}", tls_text(client_.connection().tls_unique().size()),
                         client_.session().version);
    };
    co_return co_await connect_step(std::move(co), std::move(alpn), std::move(describe));
  }

  awaitable<bool> create() {
    chunk_ = crypto::random_bytes(kTestChunkSize);
    const auto digest = crypto::sha256(chunk_);
    xftp::FileInfo file;
    file.snd_key = snd_.pub;
    file.size = static_cast<uint32_t>(chunk_.size());
    file.digest.assign(digest.begin(), digest.end());
    std::vector<xftp::AuthKey> rcv_keys;
    rcv_keys.push_back(rcv_.pub);
    std::string error;
    try {
      xftp::Result<xftp::FRSndIds> r = co_await client_.fnew(file, rcv_keys, a_.password, snd_.priv);
      if (!r)
        error = err_text(r.error());
      else if (r.value().recipient_ids.size() != 1)
        error = "RESPONSE: SIDS without one recipient ID";
      else
        ids_ = r.value();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      rep_.fail(CheckStep::CreateFile, error);
      co_return false;
    }
    created_ = true;
    rep_.ok(CheckStep::CreateFile);
    rep_.note(opt_.verbose, "sender ID " + base64url_encode(ids_.sender_id) + ", recipient ID " +
                                base64url_encode(ids_.recipient_ids[0]));
    co_return true;
  }

  awaitable<bool> upload() {
    std::string error;
    try {
      xftp::Result<xftp::FROk> r = co_await client_.fput(ids_.sender_id, snd_.priv, xftp::ChunkSource::of(chunk_));
      if (!r) error = err_text(r.error());
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      rep_.fail(CheckStep::UploadFile, error);
      co_return false;
    }
    rep_.ok(CheckStep::UploadFile, "64 KB");
    co_return true;
  }

  awaitable<bool> download() {
    std::string error;
    try {
      Bytes* out = &received_;
      xftp::ChunkReceiver::Sink sink = [out](std::span<const uint8_t> part) {
        out->insert(out->end(), part.begin(), part.end());
      };
      // No digest here: the compare step checks the bytes themselves.
      xftp::Result<xftp::Download> r =
          co_await client_.fget(ids_.recipient_ids[0], rcv_.priv, chunk_.size(), std::nullopt, std::move(sink));
      if (!r) error = err_text(r.error());
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      rep_.fail(CheckStep::DownloadFile, error);
      co_return false;
    }
    rep_.ok(CheckStep::DownloadFile);
    co_return true;
  }

  // "" when the file was deleted (or none was created).
  awaitable<std::string> remove() {
    if (!created_ || !client_.connected()) co_return std::string(created_ ? "CLOSED" : "");
    std::string error;
    try {
      xftp::Result<xftp::FROk> r = co_await client_.fdel(ids_.sender_id, snd_.priv);
      if (!r) error = err_text(r.error());
    } catch (const std::exception& e) {
      error = e.what();
    }
    co_return error;
  }

  smp::AuthKeyPair snd_ = smp::generate_auth_key(crypto::KeyAlg::Ed25519);
  smp::AuthKeyPair rcv_ = smp::generate_auth_key(crypto::KeyAlg::Ed25519);
  Bytes chunk_, received_;
  xftp::FRSndIds ids_;
  bool created_ = false;
};

awaitable<void> check_xftp(const CheckAddress& a, Route route, const Options& opt, Report& rep) {
  XftpCheck check(co_await asio::this_coro::executor, a, std::move(route), opt, rep);
  co_await check.run();
}

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: simplex-relay check [--socks HOST:PORT] [--timeout SECONDS] [-v] ADDRESS\n\n"
               "Tests an SMP or XFTP server as the apps' \"Test server\" does and explains each failure.\n"
               "  ADDRESS            smp://KEYHASH[:PASSWORD]@HOST[,HOST2][:PORT] (default port 5223)\n"
               "                     xftp://KEYHASH[:PASSWORD]@HOST[,HOST2][:PORT] (default port 443)\n"
               "  --socks HOST:PORT  connect through this SOCKS5 proxy (Tor); .onion hosts use 127.0.0.1:9050\n"
               "                     when no proxy is given\n"
               "  --timeout SECONDS  connection and per-step timeout (default 10)\n"
               "  -v, --verbose      print more detail\n\n"
               "Exit code 0 only when every step passed; 1 when a step failed; 2 for a bad command line.\n");
}

}  // namespace

int check_main(int argc, char** argv) {
  Options opt;
  std::optional<std::string> address;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string_view(argv[++i]);
    };
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    } else if (arg == "-v" || arg == "--verbose") {
      opt.verbose = true;
    } else if (arg == "--socks") {
      auto v = value();
      opt.socks = v ? parse_proxy(*v) : std::nullopt;
      if (!opt.socks) {
        std::fprintf(stderr, "check: --socks needs HOST:PORT\n");
        return 2;
      }
    } else if (arg == "--timeout") {
      auto v = value();
      int n = 0;
      if (!v || v->empty() || v->size() > 5 || v->find_first_not_of("0123456789") != std::string_view::npos ||
          (n = std::stoi(std::string(*v))) < 1) {
        std::fprintf(stderr, "check: --timeout needs a number of seconds (1 or more)\n");
        return 2;
      }
      opt.timeout_seconds = n;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "check: unknown option %s\n\n", argv[i]);
      usage(stderr);
      return 2;
    } else if (address) {
      std::fprintf(stderr, "check: one address at a time\n");
      return 2;
    } else {
      address = std::string(arg);
    }
  }
  if (!address) {
    usage(stderr);
    return 2;
  }
  CheckAddress a;
  try {
    a = parse_check_address(*address);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "check: invalid server address: %s\n", e.what());
    return 2;
  }
  const Route route = choose_route(a, opt.socks);
  Report rep;
  rep.ctx.protocol = a.protocol;
  rep.ctx.host = route.host;
  rep.ctx.port = a.port;
  rep.ctx.has_password = a.password.has_value();
  rep.ctx.socks = route.socks;
  rep.ctx.expected_fingerprint = base64url_encode(a.key_hash);
  rep.ctx.timeout_seconds = opt.timeout_seconds;

  std::printf("Checking %s server %s:%u%s\n", std::string(proto_name(a.protocol)).c_str(), route.host.c_str(),
              a.port, route.socks ? (" via SOCKS proxy " + socks::proxy_text(*route.socks)).c_str() : "");
  asio::io_context io;
  std::exception_ptr crashed;
  asio::co_spawn(io, a.protocol == CheckProtocol::SMP ? check_smp(a, route, opt, rep) : check_xftp(a, route, opt, rep),
                 [&](std::exception_ptr e) { crashed = e; });
  io.run();
  if (crashed) {
    try {
      std::rethrow_exception(crashed);
    } catch (const std::exception& e) {
      std::printf("✗ check failed: %s\n", e.what());
    }
    return 1;
  }
  if (rep.failed) {
    std::printf("Server test failed.\n");
    return 1;
  }
  std::printf("Server test passed: %d steps.\n", rep.passed);
  return 0;
}

}  // namespace sr::tools
