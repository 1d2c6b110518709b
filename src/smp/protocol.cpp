#include "smp/protocol.hpp"

#include <algorithm>
#include <cstring>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <string_view>

#include "core/server_address.hpp"

namespace sr::smp {

namespace {

constexpr uint8_t SP = ' ';

void append(Bytes& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }
Bytes to_bytes(ByteView v) { return Bytes(v.begin(), v.end()); }
std::string_view as_text(ByteView v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }

// `_smpP`: the single space that precedes a parameter block.
bool space(Decoder& d) {
  const auto c = d.byte();
  if (c && *c == SP) return true;
  d.fail();
  return false;
}

// A Key field: BS(DER SPKI) of one of the allowed algorithms (auth keys: Ed25519/Ed448/X25519; DH keys: X25519).
std::optional<crypto::PublicKey> read_key(Decoder& d, bool dh_only) {
  const auto der = d.short_string();
  if (!der) return std::nullopt;
  auto k = crypto::decode_spki(*der);
  const bool ok = k && (k->alg == crypto::KeyAlg::X25519 ||
                        (!dh_only && (k->alg == crypto::KeyAlg::Ed25519 || k->alg == crypto::KeyAlg::Ed448)));
  if (!ok) {
    d.fail();
    return std::nullopt;
  }
  return k;
}
std::optional<AuthKey> read_auth_key(Decoder& d) { return read_key(d, false); }
std::optional<DhKey> read_dh_key(Decoder& d) { return read_key(d, true); }
void put_key(Encoder& e, const crypto::PublicKey& k) { e.short_string(crypto::encode_spki(k)); }

std::optional<Bytes> read_bs(Decoder& d) {
  const auto s = d.short_string();
  if (!s) return std::nullopt;
  return to_bytes(*s);
}
std::optional<Bytes> read_large(Decoder& d) {
  const auto s = d.large();
  if (!s) return std::nullopt;
  return to_bytes(*s);
}

std::optional<std::string> read_basic_auth(Decoder& d) {
  const auto s = d.short_string();
  if (!s) return std::nullopt;
  std::string a(as_text(*s));
  if (!valid_basic_auth(a)) {
    d.fail();
    return std::nullopt;
  }
  return a;
}
void put_string(Encoder& e, std::string_view s) { e.short_string(as_bytes(s)); }

// TransportHost as its string form: IPv4, IPv6 (bare or bracketed), onion or DNS name.
bool valid_host(std::string_view h) {
  if (h.empty()) return false;
  if (h.front() == '[') return h.size() > 2 && h.back() == ']';
  const bool ipv6 = std::all_of(h.begin(), h.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':'; });
  if (ipv6 && h.find(':') != std::string_view::npos) return true;
  return h.find_first_of(":#,;/ \n\r\t") == std::string_view::npos;
}

// ---- QueueReqData / NewNtfCreds ----
std::optional<QueueReqData> read_queue_req(Decoder& d) {
  const auto mode = d.ch();
  if (!mode || (*mode != 'M' && *mode != 'C')) {
    d.fail();
    return std::nullopt;
  }
  QueueReqData q;
  q.mode = static_cast<QueueMode>(*mode);
  const bool contact = q.mode == QueueMode::Contact;
  auto link = d.maybe([contact](Decoder& dd) -> std::optional<LinkData> {
    LinkData l;
    if (contact) {
      auto id = read_bs(dd);
      if (!id) return std::nullopt;
      l.link_id = std::move(*id);
    }
    auto sid = read_bs(dd);
    auto fixed = read_large(dd);
    auto user = read_large(dd);
    if (!dd.ok()) return std::nullopt;
    l.sender_id = std::move(*sid);
    l.fixed_data = std::move(*fixed);
    l.user_data = std::move(*user);
    return l;
  });
  if (!link) return std::nullopt;
  q.link = std::move(*link);
  return q;
}
void put_queue_req(Encoder& e, const QueueReqData& q) {
  e.ch(static_cast<char>(q.mode));
  e.maybe(q.link, [&q](Encoder& ee, const LinkData& l) {
    if (q.mode == QueueMode::Contact) ee.short_string(l.link_id);
    ee.short_string(l.sender_id).large(l.fixed_data).large(l.user_data);
  });
}
std::optional<NewNtfCreds> read_ntf_creds(Decoder& d) {
  auto k = read_auth_key(d);
  auto dh = read_dh_key(d);
  if (!d.ok()) return std::nullopt;
  return NewNtfCreds{std::move(*k), std::move(*dh)};
}

// ---- Error text ----
constexpr const auto& kCmdErrors = kCmdErrorNames;
constexpr std::array<std::string_view, 9> kTransportErrors = {
    "BLOCK", "VERSION", "LARGE_MSG", "SESSION", "NO_AUTH",
    "HANDSHAKE PARSE", "HANDSHAKE IDENTITY", "HANDSHAKE BAD_AUTH", "HANDSHAKE BAD_SERVICE"};
constexpr std::array<std::string_view, 14> kErrorKinds = {"BLOCK",  "SESSION", "CMD",   "PROXY",  "AUTH",
                                                           "BLOCKED", "SERVICE", "CRYPTO", "QUOTA", "STORE",
                                                           "NO_MSG", "LARGE_MSG", "EXPIRED", "INTERNAL"};
constexpr std::array<std::string_view, 7> kBrokerKinds = {"RESPONSE", "UNEXPECTED", "NETWORK", "TIMEOUT",
                                                           "HOST",     "NO_SERVICE", "TRANSPORT"};
constexpr std::array<std::string_view, 4> kProxyKinds = {"PROTOCOL", "BROKER", "BASIC_AUTH", "NO_SESSION"};

// Wire form; `for_log` renders the BS-encoded broker texts without their length byte.
void put_error_text(Bytes& out, const ErrorType& err, bool for_log) {
  append(out, kErrorKinds[static_cast<size_t>(err.kind)]);
  switch (err.kind) {
    case ErrorType::Kind::CMD:
      append(out, " ");
      append(out, kCmdErrors[static_cast<size_t>(err.cmd)]);
      break;
    case ErrorType::Kind::BLOCKED:
      append(out, " ");
      append(out, encode_blocking_info(err.blocked));
      break;
    case ErrorType::Kind::STORE:
      append(out, " ");
      append(out, err.store);
      break;
    case ErrorType::Kind::PROXY: {
      if (!err.proxy) throw std::invalid_argument("PROXY error without detail");
      const ProxyError& p = *err.proxy;
      append(out, " ");
      append(out, kProxyKinds[static_cast<size_t>(p.kind)]);
      if (p.kind == ProxyError::Kind::PROTOCOL) {
        if (!p.protocol) throw std::invalid_argument("PROXY PROTOCOL error without detail");
        append(out, " ");
        put_error_text(out, *p.protocol, for_log);
      } else if (p.kind == ProxyError::Kind::BROKER) {
        const BrokerError& b = p.broker;
        append(out, " ");
        append(out, kBrokerKinds[static_cast<size_t>(b.kind)]);
        if (b.kind == BrokerError::Kind::RESPONSE || b.kind == BrokerError::Kind::UNEXPECTED) {
          append(out, " ");
          if (for_log) {
            append(out, b.text);
          } else {
            Encoder(out).short_string(as_bytes(b.text.substr(0, 255)));
          }
        } else if (b.kind == BrokerError::Kind::TRANSPORT) {
          append(out, " ");
          append(out, transport_error_text(b.transport));
        }
      }
      break;
    }
    default:
      break;
  }
}

// Recursive-descent parser over the error text (attoparsec's takeTill ' ' words).
struct TextParser {
  std::string_view s;
  size_t pos = 0;
  std::string_view word() {
    const size_t end = std::min(s.find(' ', pos), s.size());
    const auto w = s.substr(pos, end - pos);
    pos = end;
    return w;
  }
  bool space() {
    if (pos < s.size() && s[pos] == ' ') {
      ++pos;
      return true;
    }
    return false;
  }
  std::string_view rest() {
    const auto r = s.substr(pos);
    pos = s.size();
    return r;
  }
  bool at_end() const { return pos == s.size(); }
};

template <size_t N>
std::optional<size_t> index_of(const std::array<std::string_view, N>& names, std::string_view w) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == w) return i;
  return std::nullopt;
}

std::optional<TransportError> read_transport_error(TextParser& p) {
  const auto w = p.word();
  if (w == "HANDSHAKE") {
    if (!p.space()) return std::nullopt;
    const auto h = p.word();
    const auto i = index_of(kTransportErrors, std::string("HANDSHAKE ") + std::string(h));
    if (!i) return std::nullopt;
    return static_cast<TransportError>(*i);
  }
  const auto i = index_of(kTransportErrors, w);
  if (!i || *i >= 5) return std::nullopt;
  return static_cast<TransportError>(*i);
}

std::optional<BrokerError> read_broker_error(TextParser& p) {
  const auto i = index_of(kBrokerKinds, p.word());
  if (!i) return std::nullopt;
  BrokerError b{static_cast<BrokerError::Kind>(*i), {}, TransportError::BLOCK};
  switch (b.kind) {
    case BrokerError::Kind::RESPONSE:
    case BrokerError::Kind::UNEXPECTED: {
      if (!p.space() || p.pos >= p.s.size()) return std::nullopt;
      const size_t len = static_cast<unsigned char>(p.s[p.pos++]);
      if (p.s.size() - p.pos < len) return std::nullopt;
      b.text = std::string(p.s.substr(p.pos, len));
      p.pos += len;
      break;
    }
    case BrokerError::Kind::TRANSPORT: {
      if (!p.space()) return std::nullopt;
      const auto t = read_transport_error(p);
      if (!t) return std::nullopt;
      b.transport = *t;
      break;
    }
    case BrokerError::Kind::NETWORK: {
      // Newer encoders may add " <NetworkError>"; the detail is not kept.
      TextParser save = p;
      if (!p.space()) break;
      const auto w = p.word();
      if (w == "CONNECT" || w == "TLS" || w == "SUBSCRIBE") {
        if (!p.space() || p.pos >= p.s.size()) {
          p = save;
          break;
        }
        const size_t len = static_cast<unsigned char>(p.s[p.pos++]);
        if (p.s.size() - p.pos < len) {
          p = save;
          break;
        }
        p.pos += len;
      } else if (w != "UNKNOWNCA" && w != "FAILED" && w != "TIMEOUT") {
        p = save;
      }
      break;
    }
    default:
      break;
  }
  return b;
}

std::optional<ErrorType> read_error(TextParser& p) {
  const auto w = p.word();
  const auto i = index_of(kErrorKinds, w);
  if (!i) return std::nullopt;
  ErrorType e = ErrorType::of(static_cast<ErrorType::Kind>(*i));
  switch (e.kind) {
    case ErrorType::Kind::CMD: {
      if (!p.space()) return std::nullopt;
      const auto c = p.word();
      if (c == "NO_QUEUE") {
        e.cmd = CmdError::NO_ENTITY;  // legacy name
      } else {
        const auto ci = index_of(kCmdErrors, c);
        if (!ci) return std::nullopt;
        e.cmd = static_cast<CmdError>(*ci);
      }
      break;
    }
    case ErrorType::Kind::BLOCKED: {
      if (!p.space()) return std::nullopt;
      const auto b = parse_blocking_info(p.rest());
      if (!b) return std::nullopt;
      e.blocked = *b;
      break;
    }
    case ErrorType::Kind::STORE:
      if (!p.space()) return std::nullopt;
      e.store = std::string(p.rest());
      break;
    case ErrorType::Kind::PROXY: {
      if (!p.space()) return std::nullopt;
      const auto k = index_of(kProxyKinds, p.word());
      if (!k) return std::nullopt;
      ProxyError pe{static_cast<ProxyError::Kind>(*k), nullptr, {}};
      if (pe.kind == ProxyError::Kind::PROTOCOL) {
        if (!p.space()) return std::nullopt;
        auto inner = read_error(p);
        if (!inner) return std::nullopt;
        pe.protocol = std::make_shared<const ErrorType>(std::move(*inner));
      } else if (pe.kind == ProxyError::Kind::BROKER) {
        if (!p.space()) return std::nullopt;
        auto b = read_broker_error(p);
        if (!b) return std::nullopt;
        pe.broker = std::move(*b);
      }
      e = ErrorType::proxy_error(std::move(pe));
      break;
    }
    default:
      break;
  }
  return e;
}

ErrorType downgrade(const ErrorType& err, uint16_t v) {
  if (err.kind != ErrorType::Kind::BLOCKED) return err;
  if (v < kBlockedEntityVersion) return ErrorType::of(ErrorType::Kind::AUTH);
  if (v < kClientNoticesVersion) {
    ErrorType e = err;
    e.blocked.has_notice = false;
    e.blocked.notice_ttl.reset();
    return e;
  }
  return err;
}

// ---- Command tags ----
constexpr std::array<const char*, 24> kCommandTags = {"NEW",  "SUB",  "SUBS", "KEY",  "RKEY", "LSET", "LDEL", "NKEY",
                                                      "NDEL", "GET",  "ACK",  "OFF",  "DEL",  "QUE",  "SKEY", "SEND",
                                                      "PING", "LKEY", "LGET", "NSUB", "NSUBS", "PRXY", "PFWD", "RFWD"};
static_assert(kCommandTags.size() == std::variant_size_v<Command>);

template <size_t I = 0>
std::optional<Command> default_command(size_t index) {
  if constexpr (I < std::variant_size_v<Command>) {
    if (index == I) return Command(std::in_place_index<I>);
    return default_command<I + 1>(index);
  } else {
    return std::nullopt;
  }
}

// Parameters after the tag (starting with the SP, if any) into the default-constructed command `c`.
void read_params(Command& c, Decoder& d, uint16_t v) {
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, cmd::NEW>) {
          if (!space(d)) return;
          auto rk = read_auth_key(d);
          auto dk = read_dh_key(d);
          if (!d.ok()) return;
          x.rcv_auth_key = std::move(*rk);
          x.rcv_dh_key = std::move(*dk);
          if (v >= kSndAuthKeyVersion) {
            auto a = d.maybe(read_basic_auth);
            if (!a) return;
            x.basic_auth = std::move(*a);
          } else {
            Decoder save = d;
            const auto tag = d.ch();
            if (tag && *tag == 'A') {
              auto a = read_basic_auth(d);
              if (!a) return;
              x.basic_auth = std::move(*a);
            } else {
              d = save;
            }
          }
          const auto mode = d.ch();
          if (!mode || (*mode != 'S' && *mode != 'C')) return d.fail();
          x.subscribe = *mode == 'S';
          if (v >= kShortLinksVersion) {
            auto q = d.maybe(read_queue_req);
            if (!q) return;
            x.req = std::move(*q);
            if (v >= kNewNtfCredsVersion) {
              auto n = d.maybe(read_ntf_creds);
              if (!n) return;
              x.ntf_creds = std::move(*n);
            }
          } else if (v >= kSndAuthKeyVersion) {
            const auto can_secure = d.boolean();
            if (!can_secure) return;
            x.req = QueueReqData{*can_secure ? QueueMode::Messaging : QueueMode::Contact, std::nullopt};
          }
        } else if constexpr (std::is_same_v<T, cmd::KEY> || std::is_same_v<T, cmd::SKEY> ||
                             std::is_same_v<T, cmd::LKEY>) {
          if (!space(d)) return;
          if (auto k = read_auth_key(d)) x.sender_key = std::move(*k);
        } else if constexpr (std::is_same_v<T, cmd::RKEY>) {
          if (!space(d)) return;
          const auto n = d.non_empty_count();
          if (!n) return;
          for (size_t i = 0; i < *n; ++i) {
            auto k = read_auth_key(d);
            if (!k) return;
            x.rcv_keys.push_back(std::move(*k));
          }
        } else if constexpr (std::is_same_v<T, cmd::LSET>) {
          if (!space(d)) return;
          auto id = read_bs(d);
          auto f = read_large(d);
          auto u = read_large(d);
          if (!d.ok()) return;
          x.link_id = std::move(*id);
          x.fixed_data = std::move(*f);
          x.user_data = std::move(*u);
        } else if constexpr (std::is_same_v<T, cmd::NKEY>) {
          if (!space(d)) return;
          auto k = read_auth_key(d);
          auto dh = read_dh_key(d);
          if (!d.ok()) return;
          x.notifier_key = std::move(*k);
          x.rcv_ntf_dh_key = std::move(*dh);
        } else if constexpr (std::is_same_v<T, cmd::ACK>) {
          if (!space(d)) return;
          if (auto id = read_bs(d)) x.msg_id = std::move(*id);
        } else if constexpr (std::is_same_v<T, cmd::SEND>) {
          if (!space(d)) return;
          const auto flag = d.boolean();
          if (!flag) return;
          x.notification = *flag;
          // Flag bytes a newer client may add are skipped up to the SP before the body.
          while (d.remaining() > 0) {
            Decoder save = d;
            if (*d.byte() == SP) {
              d = save;
              break;
            }
          }
          if (!space(d)) return;
          const auto body = d.rest();
          x.body = to_bytes(body);
        } else if constexpr (std::is_same_v<T, cmd::PRXY>) {
          if (!space(d)) return;
          const auto n = d.non_empty_count();
          if (!n) return;
          for (size_t i = 0; i < *n; ++i) {
            const auto h = d.short_string();
            if (!h) return;
            if (!valid_host(as_text(*h))) return d.fail();
            x.server.hosts.emplace_back(as_text(*h));
          }
          const auto port = d.short_string();
          auto kh = read_bs(d);
          if (!d.ok()) return;
          x.server.port = std::string(as_text(*port));
          x.server.key_hash = std::move(*kh);
          auto a = d.maybe(read_basic_auth);
          if (!a) return;
          x.basic_auth = std::move(*a);
        } else if constexpr (std::is_same_v<T, cmd::PFWD>) {
          if (!space(d)) return;
          const auto fv = d.word16();
          auto k = read_dh_key(d);
          if (!d.ok()) return;
          x.version = *fv;
          x.ephemeral_key = std::move(*k);
          x.enc_transmission = to_bytes(d.rest());
        } else if constexpr (std::is_same_v<T, cmd::RFWD>) {
          if (!space(d)) return;
          x.enc_forwarded = to_bytes(d.rest());
        } else {
          (void)x;  // no parameters: anything after the tag is trailing
        }
      },
      c);
}

// ---- Response tags ----
constexpr std::array<const char*, 17> kResponseTags = {"IDS", "LNK", "SOK",  "SOKS", "MSG", "NID", "NMSG", "PKEY", "RRES",
                                                       "PRES", "END", "ENDS", "DELD", "INFO", "OK", "ERR", "PONG"};
static_assert(kResponseTags.size() == std::variant_size_v<Response>);

template <size_t I = 0>
std::optional<Response> default_response(size_t index) {
  if constexpr (I < std::variant_size_v<Response>) {
    if (index == I) return Response(std::in_place_index<I>);
    return default_response<I + 1>(index);
  } else {
    return std::nullopt;
  }
}

std::optional<std::vector<Bytes>> read_cert_chain(Decoder& d) {
  const auto n = d.non_empty_count();
  if (!n) return std::nullopt;
  std::vector<Bytes> chain;
  for (size_t i = 0; i < *n; ++i) {
    auto c = read_large(d);
    if (!c) return std::nullopt;
    chain.push_back(std::move(*c));
  }
  return chain;
}
void put_cert_chain(Encoder& e, const std::vector<Bytes>& chain) {
  e.list_count(chain.size());
  for (const auto& c : chain) e.large(c);
}

}  // namespace

// ---- Limits ----

size_t max_message_length(uint16_t v) {
  if (v >= kEncryptedBlockVersion) return 16048;
  if (v >= kSendingProxyVersion) return 16064;
  return 16088;
}

// ---- Errors ----

std::string transport_error_text(TransportError e) { return std::string(kTransportErrors[static_cast<size_t>(e)]); }

std::optional<TransportError> parse_transport_error(std::string_view text) {
  TextParser p{text};
  const auto e = read_transport_error(p);
  if (!e || !p.at_end()) return std::nullopt;
  return e;
}

ErrorType ErrorType::proxy_error(ProxyError p) {
  ErrorType e;
  e.kind = Kind::PROXY;
  e.proxy = std::make_shared<const ProxyError>(std::move(p));
  return e;
}

bool operator==(const ErrorType& a, const ErrorType& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case ErrorType::Kind::CMD:
      return a.cmd == b.cmd;
    case ErrorType::Kind::BLOCKED:
      return a.blocked == b.blocked;
    case ErrorType::Kind::STORE:
      return a.store == b.store;
    case ErrorType::Kind::PROXY: {
      if (!a.proxy || !b.proxy) return a.proxy == b.proxy;
      const ProxyError& x = *a.proxy;
      const ProxyError& y = *b.proxy;
      if (x.kind != y.kind) return false;
      if (x.kind == ProxyError::Kind::PROTOCOL)
        return x.protocol && y.protocol ? *x.protocol == *y.protocol : x.protocol == y.protocol;
      if (x.kind == ProxyError::Kind::BROKER) return x.broker == y.broker;
      return true;
    }
    default:
      return true;
  }
}

void encode_error(Encoder& e, const ErrorType& err, uint16_t v) {
  Bytes text;
  put_error_text(text, downgrade(err, v), false);
  e.raw(text);
}

std::optional<ErrorType> parse_error(Decoder& d) {
  TextParser p{as_text(d.rest())};
  auto e = read_error(p);
  if (!e || !p.at_end()) {
    d.fail();
    return std::nullopt;
  }
  return e;
}

std::string error_text(const ErrorType& err) {
  Bytes text;
  put_error_text(text, err, true);
  return std::string(as_text(text));
}

// ---- Commands ----

const char* command_tag(const Command& c) { return kCommandTags[c.index()]; }

std::variant<Command, CmdError> parse_command(ByteView bytes, uint16_t v) {
  const auto sp = std::find(bytes.begin(), bytes.end(), SP);
  const auto tag = as_text(bytes.first(static_cast<size_t>(sp - bytes.begin())));
  const auto it = std::find(kCommandTags.begin(), kCommandTags.end(), tag);
  if (it == kCommandTags.end()) return CmdError::UNKNOWN;
  auto c = default_command(static_cast<size_t>(it - kCommandTags.begin()));
  Decoder d(bytes.subspan(tag.size()));
  read_params(*c, d, v);
  if (!d.at_end()) return CmdError::SYNTAX;
  return std::move(*c);
}

Bytes encode_command(const Command& c, uint16_t v) {
  Bytes out;
  append(out, command_tag(c));
  Encoder e(out);
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, cmd::NEW>) {
          e.ch(' ');
          put_key(e, x.rcv_auth_key);
          put_key(e, x.rcv_dh_key);
          const char mode = x.subscribe ? 'S' : 'C';
          if (v >= kSndAuthKeyVersion) {
            e.maybe(x.basic_auth, [](Encoder& ee, const std::string& a) { put_string(ee, a); });
            e.ch(mode);
            if (v >= kShortLinksVersion) {
              e.maybe(x.req, put_queue_req);
              if (v >= kNewNtfCredsVersion)
                e.maybe(x.ntf_creds, [](Encoder& ee, const NewNtfCreds& n) {
                  put_key(ee, n.notifier_key);
                  put_key(ee, n.rcv_ntf_dh_key);
                });
            } else {
              e.boolean(x.req && x.req->mode == QueueMode::Messaging);
            }
          } else {
            if (x.basic_auth) {
              e.ch('A');
              put_string(e, *x.basic_auth);
            }
            e.ch(mode);
          }
        } else if constexpr (std::is_same_v<T, cmd::KEY> || std::is_same_v<T, cmd::SKEY> ||
                             std::is_same_v<T, cmd::LKEY>) {
          e.ch(' ');
          put_key(e, x.sender_key);
        } else if constexpr (std::is_same_v<T, cmd::RKEY>) {
          e.ch(' ').list_count(x.rcv_keys.size());
          for (const auto& k : x.rcv_keys) put_key(e, k);
        } else if constexpr (std::is_same_v<T, cmd::LSET>) {
          e.ch(' ').short_string(x.link_id).large(x.fixed_data).large(x.user_data);
        } else if constexpr (std::is_same_v<T, cmd::NKEY>) {
          e.ch(' ');
          put_key(e, x.notifier_key);
          put_key(e, x.rcv_ntf_dh_key);
        } else if constexpr (std::is_same_v<T, cmd::ACK>) {
          e.ch(' ').short_string(x.msg_id);
        } else if constexpr (std::is_same_v<T, cmd::SEND>) {
          e.ch(' ').boolean(x.notification).ch(' ').tail(x.body);
        } else if constexpr (std::is_same_v<T, cmd::PRXY>) {
          e.ch(' ').list_count(x.server.hosts.size());
          for (const auto& h : x.server.hosts) put_string(e, h);
          put_string(e, x.server.port);
          e.short_string(x.server.key_hash);
          e.maybe(x.basic_auth, [](Encoder& ee, const std::string& a) { put_string(ee, a); });
        } else if constexpr (std::is_same_v<T, cmd::PFWD>) {
          e.ch(' ').word16(x.version);
          put_key(e, x.ephemeral_key);
          e.tail(x.enc_transmission);
        } else if constexpr (std::is_same_v<T, cmd::RFWD>) {
          e.ch(' ').tail(x.enc_forwarded);
        } else {
          (void)x;
        }
      },
      c);
  return out;
}

std::optional<CmdError> check_credentials(const Command& c, bool has_auth, bool has_entity) {
  const auto no_auth_cmd = [&]() -> std::optional<CmdError> {
    if (!has_auth && !has_entity) return std::nullopt;
    return CmdError::HAS_AUTH;
  };
  const auto entity_cmd = [&]() -> std::optional<CmdError> {
    if (!has_entity) return CmdError::NO_ENTITY;
    if (has_auth) return CmdError::HAS_AUTH;
    return std::nullopt;
  };
  return std::visit(
      [&](const auto& x) -> std::optional<CmdError> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, cmd::NEW>) {
          if (!has_auth) return CmdError::NO_AUTH;
          if (has_entity) return CmdError::HAS_AUTH;
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, cmd::SEND>) {
          if (!has_entity) return CmdError::NO_ENTITY;
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, cmd::LGET> || std::is_same_v<T, cmd::PFWD>) {
          return entity_cmd();
        } else if constexpr (std::is_same_v<T, cmd::PING> || std::is_same_v<T, cmd::PRXY> ||
                             std::is_same_v<T, cmd::RFWD>) {
          return no_auth_cmd();
        } else {
          (void)x;
          if (!has_auth || !has_entity) return CmdError::NO_AUTH;
          return std::nullopt;
        }
      },
      c);
}

// ---- Responses ----

const char* response_tag(const Response& r, uint16_t v) {
  if (std::holds_alternative<resp::SOK>(r) && v < kServiceCertsVersion) return "OK";
  if (std::holds_alternative<resp::DELD>(r) && v < kDeletedEventVersion) return "END";
  return kResponseTags[r.index()];
}

Bytes encode_response(const Response& r, uint16_t v) {
  Bytes out;
  append(out, response_tag(r, v));
  Encoder e(out);
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, resp::IDS>) {
          e.ch(' ').short_string(x.rcv_id).short_string(x.snd_id);
          put_key(e, x.srv_dh_key);
          if (v >= kShortLinksVersion) {
            e.maybe(x.mode, [](Encoder& ee, QueueMode m) { ee.ch(static_cast<char>(m)); });
            e.maybe(x.link_id, [](Encoder& ee, const Bytes& id) { ee.short_string(id); });
            if (v >= kServiceCertsVersion)
              e.maybe(x.service_id, [](Encoder& ee, const Bytes& id) { ee.short_string(id); });
            if (v >= kNewNtfCredsVersion)
              e.maybe(x.ntf_creds, [](Encoder& ee, const std::pair<Bytes, DhKey>& n) {
                ee.short_string(n.first);
                put_key(ee, n.second);
              });
          } else if (v >= kSndAuthKeyVersion) {
            e.boolean(x.mode == QueueMode::Messaging);
          }
        } else if constexpr (std::is_same_v<T, resp::LNK>) {
          e.ch(' ').short_string(x.sender_id).large(x.fixed_data).large(x.user_data);
        } else if constexpr (std::is_same_v<T, resp::SOK>) {
          if (v >= kServiceCertsVersion) {
            e.ch(' ');
            e.maybe(x.service_id, [](Encoder& ee, const Bytes& id) { ee.short_string(id); });
          }
        } else if constexpr (std::is_same_v<T, resp::SOKS> || std::is_same_v<T, resp::ENDS>) {
          e.ch(' ').int64(x.count);
        } else if constexpr (std::is_same_v<T, resp::MSG>) {
          e.ch(' ').short_string(x.msg_id).tail(x.enc_body);
        } else if constexpr (std::is_same_v<T, resp::NID>) {
          e.ch(' ').short_string(x.notifier_id);
          put_key(e, x.srv_ntf_dh_key);
        } else if constexpr (std::is_same_v<T, resp::NMSG>) {
          e.ch(' ').raw(x.nonce).short_string(x.enc_meta);
        } else if constexpr (std::is_same_v<T, resp::PKEY>) {
          e.ch(' ').short_string(x.session_id).version_range(x.versions);
          put_cert_chain(e, x.cert_chain);
          e.large(x.signed_key);
        } else if constexpr (std::is_same_v<T, resp::RRES> || std::is_same_v<T, resp::PRES>) {
          e.ch(' ').tail(x.enc);
        } else if constexpr (std::is_same_v<T, resp::INFO>) {
          e.ch(' ').tail(as_bytes(x.json));
        } else if constexpr (std::is_same_v<T, resp::ERR>) {
          e.ch(' ');
          encode_error(e, x.err, v);
        } else {
          (void)x;  // END, DELD, OK, PONG: tag only
        }
      },
      r);
  return out;
}

std::optional<Response> parse_response(ByteView bytes, uint16_t v) {
  const auto sp = std::find(bytes.begin(), bytes.end(), SP);
  const auto tag = as_text(bytes.first(static_cast<size_t>(sp - bytes.begin())));
  const auto it = std::find(kResponseTags.begin(), kResponseTags.end(), tag);
  if (it == kResponseTags.end()) return std::nullopt;
  auto r = default_response(static_cast<size_t>(it - kResponseTags.begin()));
  Decoder d(bytes.subspan(tag.size()));
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, resp::IDS>) {
          if (!space(d)) return;
          auto rid = read_bs(d);
          auto sid = read_bs(d);
          auto dh = read_dh_key(d);
          if (!d.ok()) return;
          x.rcv_id = std::move(*rid);
          x.snd_id = std::move(*sid);
          x.srv_dh_key = std::move(*dh);
          if (v >= kShortLinksVersion) {
            auto m = d.maybe([](Decoder& dd) -> std::optional<QueueMode> {
              const auto c = dd.ch();
              if (!c || (*c != 'M' && *c != 'C')) return std::nullopt;
              return static_cast<QueueMode>(*c);
            });
            if (!m) return;
            x.mode = *m;
            auto l = d.maybe(read_bs);
            if (!l) return;
            x.link_id = std::move(*l);
            if (v >= kServiceCertsVersion) {
              auto s = d.maybe(read_bs);
              if (!s) return;
              x.service_id = std::move(*s);
            }
            if (v >= kNewNtfCredsVersion) {
              auto n = d.maybe([](Decoder& dd) -> std::optional<std::pair<Bytes, DhKey>> {
                auto id = read_bs(dd);
                auto k = read_dh_key(dd);
                if (!dd.ok()) return std::nullopt;
                return std::make_pair(std::move(*id), std::move(*k));
              });
              if (!n) return;
              x.ntf_creds = std::move(*n);
            }
          } else if (v >= kSndAuthKeyVersion) {
            const auto b = d.boolean();
            if (b) x.mode = *b ? QueueMode::Messaging : QueueMode::Contact;
          }
        } else if constexpr (std::is_same_v<T, resp::LNK>) {
          if (!space(d)) return;
          auto s = read_bs(d);
          auto f = read_large(d);
          auto u = read_large(d);
          if (!d.ok()) return;
          x = resp::LNK{std::move(*s), std::move(*f), std::move(*u)};
        } else if constexpr (std::is_same_v<T, resp::SOK>) {
          if (!space(d)) return;
          auto s = d.maybe(read_bs);
          if (s) x.service_id = std::move(*s);
        } else if constexpr (std::is_same_v<T, resp::SOKS> || std::is_same_v<T, resp::ENDS>) {
          if (!space(d)) return;
          if (auto n = d.int64()) x.count = *n;
        } else if constexpr (std::is_same_v<T, resp::MSG>) {
          if (!space(d)) return;
          auto id = read_bs(d);
          if (!id) return;
          x.msg_id = std::move(*id);
          x.enc_body = to_bytes(d.rest());
        } else if constexpr (std::is_same_v<T, resp::NID>) {
          if (!space(d)) return;
          auto id = read_bs(d);
          auto k = read_dh_key(d);
          if (!d.ok()) return;
          x.notifier_id = std::move(*id);
          x.srv_ntf_dh_key = std::move(*k);
        } else if constexpr (std::is_same_v<T, resp::NMSG>) {
          if (!space(d)) return;
          const auto n = d.raw(x.nonce.size());
          auto m = read_bs(d);
          if (!d.ok()) return;
          std::copy(n->begin(), n->end(), x.nonce.begin());
          x.enc_meta = std::move(*m);
        } else if constexpr (std::is_same_v<T, resp::PKEY>) {
          if (!space(d)) return;
          auto sid = read_bs(d);
          const auto vr = d.version_range();
          auto chain = read_cert_chain(d);
          auto sk = read_large(d);
          if (!d.ok() || !chain) return d.fail();
          x = resp::PKEY{std::move(*sid), *vr, std::move(*chain), std::move(*sk)};
        } else if constexpr (std::is_same_v<T, resp::RRES> || std::is_same_v<T, resp::PRES>) {
          if (!space(d)) return;
          x.enc = to_bytes(d.rest());
        } else if constexpr (std::is_same_v<T, resp::INFO>) {
          if (!space(d)) return;
          x.json = std::string(as_text(d.rest()));
        } else if constexpr (std::is_same_v<T, resp::ERR>) {
          if (!space(d)) return;
          if (auto err = parse_error(d)) x.err = std::move(*err);
        } else {
          (void)x;
        }
      },
      *r);
  if (!d.at_end()) return std::nullopt;
  return r;
}

// ---- Handshake ----

Bytes encode_server_hello(const ServerHello& h) {
  Bytes out;
  Encoder e(out);
  e.version_range(h.versions).short_string(h.session_id);
  if (h.versions.max >= kAuthCmdsVersion && !h.cert_chain.empty()) {
    put_cert_chain(e, h.cert_chain);
    e.large(h.signed_key);
  }
  return out;
}

std::optional<ServerHello> parse_server_hello(ByteView content) {
  Decoder d(content);
  ServerHello h;
  const auto vr = d.version_range();
  auto sid = read_bs(d);
  if (!d.ok()) return std::nullopt;
  h.versions = *vr;
  h.session_id = std::move(*sid);
  if (h.versions.max >= kAuthCmdsVersion) {
    // Optional key part (the reference parses it with `optional`): absent or malformed means no key.
    Decoder key_part = d;
    auto chain = read_cert_chain(key_part);
    auto sk = read_large(key_part);
    if (key_part.ok() && chain) {
      h.cert_chain = std::move(*chain);
      h.signed_key = std::move(*sk);
    }
  }
  return h;
}

Bytes encode_client_hello(const ClientHello& h) {
  Bytes out;
  Encoder e(out);
  e.word16(h.version).short_string(h.key_hash);
  if (h.version >= kAuthCmdsVersion && h.client_key)
    put_key(e, crypto::PublicKey{crypto::KeyAlg::X25519, Bytes(h.client_key->begin(), h.client_key->end())});
  if (h.version >= kProxyServerHandshakeVersion) e.boolean(h.proxy_server);
  if (h.version >= kServiceCertsVersion)
    e.maybe(h.service, [](Encoder& ee, const ServiceInfo& s) {
      ee.ch(s.role);
      put_cert_chain(ee, s.cert_chain);
      ee.large(s.signed_key);
    });
  return out;
}

std::optional<ClientHello> parse_client_hello(ByteView content) {
  Decoder d(content);
  ClientHello h;
  const auto v = d.word16();
  auto kh = read_bs(d);
  if (!d.ok()) return std::nullopt;
  h.version = *v;
  h.key_hash = std::move(*kh);
  if (h.version >= kAuthCmdsVersion) {
    // Optional key without a tag: try it, and rewind when it is not an X25519 SPKI (§4.3).
    Decoder attempt = d;
    const auto k = read_dh_key(attempt);
    if (k) {
      crypto::Key32 key;
      std::copy(k->raw.begin(), k->raw.end(), key.begin());
      h.client_key = key;
      d = attempt;
    }
  }
  if (h.version >= kProxyServerHandshakeVersion) {
    const auto p = d.boolean();
    if (!p) return std::nullopt;
    h.proxy_server = *p;
  }
  if (h.version >= kServiceCertsVersion) {
    auto s = d.maybe([](Decoder& dd) -> std::optional<ServiceInfo> {
      const auto role = dd.ch();
      if (!role || (*role != 'M' && *role != 'N' && *role != 'P')) return std::nullopt;
      auto chain = read_cert_chain(dd);
      if (!chain) return std::nullopt;
      auto sk = read_large(dd);
      if (!sk) return std::nullopt;
      return ServiceInfo{*role, std::move(*chain), std::move(*sk)};
    });
    if (!s) return std::nullopt;
    h.service = std::move(*s);
  }
  return h;
}

Bytes encode_service_response_ok(ByteView service_id) {
  Bytes out;
  Encoder(out).ch('R').short_string(service_id);
  return out;
}

Bytes encode_service_response_error(TransportError e) {
  Bytes out{'E'};
  append(out, transport_error_text(e));
  return out;
}

// ---- Blocks ----

std::optional<Bytes> plain_block(ByteView content) { return crypto::pad(content, kBlockSize); }

std::optional<Bytes> BlockSender::seal(ByteView content) {
  if (!chain_) return plain_block(content);
  const auto keys = chain_->next();  // advances even when the content does not fit, as the reference does
  return crypto::box_seal_padded(keys.key, keys.nonce, content, kEncryptedPaddedSize);
}

std::optional<Bytes> BlockReceiver::open(ByteView block) {
  if (!chain_) {
    if (block.size() != kBlockSize) return std::nullopt;
    return crypto::unpad(block);
  }
  const auto keys = chain_->next();
  if (block.size() != kBlockSize) return std::nullopt;
  return crypto::box_open_padded(keys.key, keys.nonce, block);
}

std::optional<std::vector<ByteView>> parse_batch(ByteView content) {
  Decoder d(content);
  const auto n = d.byte();
  if (!n || *n == 0) return std::nullopt;
  std::vector<ByteView> items;
  items.reserve(*n);
  for (size_t i = 0; i < *n; ++i) {
    const auto t = d.large();
    if (!t) return std::nullopt;
    items.push_back(*t);
  }
  if (!d.at_end()) return std::nullopt;
  return items;
}

std::vector<Bytes> batch_transmissions(const std::vector<Bytes>& items, size_t* dropped) {
  // Filled from the last item backwards (the reference's foldr), so the first block is the partial one.
  std::vector<Bytes> blocks_rev;
  std::vector<const Bytes*> group_rev;
  size_t len = 0;
  size_t n_dropped = 0;
  auto flush = [&] {
    if (group_rev.empty()) return;
    Bytes b;
    Encoder e(b);
    e.byte(static_cast<uint8_t>(group_rev.size()));
    for (auto it = group_rev.rbegin(); it != group_rev.rend(); ++it) e.large(**it);
    blocks_rev.push_back(std::move(b));
    group_rev.clear();
    len = 0;
  };
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    const size_t item_len = it->size() + 2;
    if (len + item_len <= kMaxBatchBytes && group_rev.size() < kMaxBatchItems) {
      group_rev.push_back(&*it);
      len += item_len;
    } else if (item_len <= kMaxBatchBytes) {
      flush();
      group_rev.push_back(&*it);
      len = item_len;
    } else {
      flush();
      ++n_dropped;
    }
  }
  flush();
  if (dropped) *dropped = n_dropped;
  return {std::make_move_iterator(blocks_rev.rbegin()), std::make_move_iterator(blocks_rev.rend())};
}

// ---- Transmissions ----

Bytes authorized_bytes(const SessionParams& s, const RawTransmission& t) {
  if (!s.implied_session_id()) return to_bytes(t.signed_part);
  Bytes out;
  Encoder(out).short_string(s.session_id).raw(t.signed_part);
  return out;
}

std::variant<RawTransmission, TransmissionError> parse_transmission(const SessionParams& s, ByteView item) {
  const auto framing = [] { return TransmissionError{ErrorType::of(ErrorType::Kind::BLOCK), {}}; };
  RawTransmission t;
  Decoder d(item);
  const auto auth = d.short_string();
  if (!auth) return framing();
  t.auth = *auth;
  if (s.service_auth() && !auth->empty()) {
    auto sig = d.maybe([](Decoder& dd) -> std::optional<ByteView> {
      const auto s = dd.short_string();
      if (!s || s->size() != 64) return std::nullopt;
      return *s;
    });
    if (!sig) return framing();
    t.service_sig = *sig;
  }
  t.signed_part = d.rest();
  Decoder p(t.signed_part);
  std::optional<ByteView> sess;
  if (!s.implied_session_id()) sess = p.short_string();
  const auto corr = p.short_string();
  const auto entity = p.short_string();
  if (!p.ok()) return framing();
  t.corr_id = *corr;
  t.entity_id = *entity;
  t.command = p.rest();
  if (sess && !std::equal(sess->begin(), sess->end(), s.session_id.begin(), s.session_id.end()))
    return TransmissionError{ErrorType::of(ErrorType::Kind::SESSION), to_bytes(t.corr_id)};
  const size_t n = t.auth.size();
  if (n != 0 && n != 64 && n != 80 && n != 114)
    return TransmissionError{ErrorType::of(ErrorType::Kind::BLOCK), to_bytes(t.corr_id)};
  return t;
}

Bytes encode_server_transmission(const SessionParams& s, ByteView corr_id, ByteView entity_id, ByteView response) {
  Bytes out;
  Encoder e(out);
  e.byte(0);
  if (!s.implied_session_id()) e.short_string(s.session_id);
  e.short_string(corr_id).short_string(entity_id).raw(response);
  return out;
}

Bytes encode_client_transmission(const SessionParams& s, ByteView corr_id, ByteView entity_id, ByteView command,
                                 const ClientAuth& auth) {
  Bytes body;
  {
    Encoder e(body);
    if (!s.implied_session_id()) e.short_string(s.session_id);
    e.short_string(corr_id).short_string(entity_id).raw(command);
  }
  Bytes out;
  Encoder e(out);
  if (!auth.key) {
    e.byte(0).raw(body);
    return out;
  }
  Bytes authorized;
  if (s.implied_session_id()) Encoder(authorized).short_string(s.session_id);
  authorized.insert(authorized.end(), body.begin(), body.end());
  Bytes for_key;
  if (auth.service_key) for_key = auth.service_cert_hash;
  for_key.insert(for_key.end(), authorized.begin(), authorized.end());
  Bytes a;
  if (auth.key->alg == crypto::KeyAlg::X25519) {
    if (!auth.server_session_key) throw std::runtime_error("X25519 authenticator needs the server session key");
    if (auth.key->raw.size() != 32) throw std::invalid_argument("bad X25519 private key");
    crypto::Key32 priv;
    std::copy(auth.key->raw.begin(), auth.key->raw.end(), priv.begin());
    auto m = make_authenticator(priv, *auth.server_session_key, corr_id, for_key);
    if (!m) throw std::runtime_error("X25519 authenticator: DH failed");
    a = std::move(*m);
  } else {
    a = crypto::sign(*auth.key, for_key);
  }
  e.short_string(a);
  if (s.service_auth()) {
    if (auth.service_key) {
      e.ch('1').short_string(crypto::sign(*auth.service_key, authorized));
    } else {
      e.ch('0');
    }
  }
  e.raw(body);
  return out;
}

std::optional<ServerTransmission> parse_server_transmission(const SessionParams& s, ByteView item) {
  Decoder d(item);
  const auto auth = d.short_string();
  if (!auth) return std::nullopt;
  if (s.service_auth() && !auth->empty()) {
    auto sig = d.maybe(read_bs);
    if (!sig) return std::nullopt;
  }
  if (!s.implied_session_id()) {
    const auto sess = d.short_string();
    if (!sess || !std::equal(sess->begin(), sess->end(), s.session_id.begin(), s.session_id.end()))
      return std::nullopt;
  }
  auto corr = read_bs(d);
  auto entity = read_bs(d);
  if (!d.ok()) return std::nullopt;
  return ServerTransmission{std::move(*corr), std::move(*entity), d.rest()};
}

// ---- Authorization ----

// ---- Message and notification encryption ----

Bytes encrypt_rcv_message(const crypto::Key32& rcv_dh_secret, ByteView msg_id, int64_t ts, bool notification,
                          ByteView body, bool quota_marker) {
  Bytes plain;
  Encoder e(plain);
  if (quota_marker) {
    append(plain, "QUOTA ");
    e.int64(ts);
  } else {
    e.int64(ts).boolean(notification).ch(' ').raw(body);
  }
  auto enc = crypto::box_seal_padded(rcv_dh_secret, crypto::cb_nonce(msg_id), plain, kRcvMsgPaddedSize);
  if (!enc) throw std::length_error("message body too large");
  return std::move(*enc);
}

std::optional<RcvMessage> decrypt_rcv_message(const crypto::Key32& rcv_dh_secret, ByteView msg_id, ByteView enc) {
  const auto plain = crypto::box_open_padded(rcv_dh_secret, crypto::cb_nonce(msg_id), enc);
  if (!plain) return std::nullopt;
  RcvMessage m;
  Decoder d(*plain);
  constexpr std::string_view kQuota = "QUOTA";
  if (as_text(*plain).substr(0, kQuota.size()) == kQuota) {
    (void)d.raw(kQuota.size());
    if (!space(d)) return std::nullopt;
    const auto ts = d.int64();
    if (!ts || !d.at_end()) return std::nullopt;
    m.ts = *ts;
    m.quota = true;
    return m;
  }
  const auto ts = d.int64();
  const auto flag = d.boolean();
  if (!d.ok()) return std::nullopt;
  while (d.remaining() > 0) {
    Decoder save = d;
    if (*d.byte() == SP) {
      d = save;
      break;
    }
  }
  if (!space(d)) return std::nullopt;
  m.ts = *ts;
  m.notification = *flag;
  m.body = to_bytes(d.rest());
  return m;
}

Bytes encrypt_ntf_meta(const crypto::Key32& ntf_dh_secret, const crypto::Nonce& nonce, ByteView msg_id, int64_t ts) {
  Bytes plain;
  Encoder(plain).short_string(msg_id).int64(ts);
  auto enc = crypto::box_seal_padded(ntf_dh_secret, nonce, plain, kNtfMetaPaddedSize);
  if (!enc) throw std::length_error("notification metadata too large");
  return std::move(*enc);
}

Bytes sender_id_from_corr_id(ByteView corr_id) {
  Bytes h = crypto::sha3_384(corr_id);
  h.resize(kIdSize);
  return h;
}

Bytes encode_fwd_transmission(const FwdTransmission& f) {
  Bytes out;
  Encoder(out).short_string(f.fwd_corr_id).word16(f.fwd_version).short_string(crypto::encode_spki(f.fwd_key))
      .tail(f.enc_transmission);
  return out;
}

std::optional<FwdTransmission> parse_fwd_transmission(ByteView b) {
  Decoder d(b);
  auto corr = d.short_string();
  auto version = d.word16();
  auto key = d.short_string();
  const ByteView et = d.rest();
  if (!d.ok() || !corr || !version || !key) return std::nullopt;
  auto k = crypto::decode_spki(*key);
  if (!k || k->alg != crypto::KeyAlg::X25519) return std::nullopt;
  return FwdTransmission{Bytes(corr->begin(), corr->end()), *version, std::move(*k), Bytes(et.begin(), et.end())};
}

std::optional<ProxiedRequest> seal_proxied_request(const SessionParams& dest, const crypto::Key32& dest_session_key,
                                                   ByteView entity_id, ByteView command, const ClientAuth& auth) {
  ProxiedRequest r;
  r.corr_id = crypto::random_bytes(kIdSize);
  r.ephemeral = crypto::x25519_generate();
  auto secret = crypto::x25519_dh(r.ephemeral.priv, dest_session_key);
  if (!secret) return std::nullopt;
  r.secret = *secret;
  ClientAuth a = auth;
  if (!a.server_session_key) a.server_session_key = dest_session_key;
  const Bytes inner = encode_client_transmission(dest, r.corr_id, entity_id, command, a);
  Bytes batch;
  Encoder(batch).byte(1).large(inner);
  auto et = crypto::box_seal_padded(r.secret, crypto::cb_nonce(r.corr_id), batch, kProxiedPaddedSize);
  if (!et) return std::nullopt;
  r.enc_transmission = std::move(*et);
  return r;
}

std::optional<ServerTransmission> open_proxied_response(const SessionParams& dest, const ProxiedRequest& req,
                                                        ByteView r2, Bytes& storage) {
  auto batch = crypto::box_open_padded(req.secret, crypto::reverse_nonce(crypto::cb_nonce(req.corr_id)), r2);
  if (!batch) return std::nullopt;
  storage = std::move(*batch);
  auto items = parse_batch(storage);
  if (!items || items->size() != 1) return std::nullopt;
  return parse_server_transmission(dest, (*items)[0]);
}

}  // namespace sr::smp
