#include "core/control_port.hpp"

#include <sys/resource.h>

#include <list>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "core/log.hpp"
#include "core/stats_csv.hpp"

namespace sr::control {

std::string_view role_name(Role r) {
  switch (r) {
    case Role::User: return "CPRUser";
    case Role::Admin: return "CPRAdmin";
    case Role::None: break;
  }
  return "CPRNone";
}

namespace {

// The messages follow the reference's attoparsec parser (parseAll: the command, then end of input).
constexpr std::string_view kBadCommand = "Failed reading: bad ControlProtocol command";
constexpr std::string_view kNotEnough = "not enough input";
constexpr std::string_view kEndOfInput = "endOfInput";

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// " <value>": the separating space; false when the input ended.
bool space(std::string_view& rest) {
  if (rest.empty() || rest.front() != ' ') return false;
  rest.remove_prefix(1);
  return true;
}

// base64urlP: one or more alphabet characters, optional '=' padding, then it must decode.
std::variant<Bytes, std::string> id_arg(std::string_view& rest) {
  size_t n = 0;
  while (n < rest.size() && base64url_char(rest[n])) ++n;
  if (n == 0) return std::string(rest.empty() ? kNotEnough : "Failed reading: takeWhile1");
  while (n < rest.size() && rest[n] == '=') ++n;
  auto bytes = base64url_decode(rest.substr(0, n));
  if (!bytes || bytes->empty()) return std::string("Failed reading: invalid base64url");
  rest.remove_prefix(n);
  return std::move(*bytes);
}

// BasicAuth: printable characters except space, '@', ':' and '/' (simplexmq: Protocol.hs basicAuth).
std::optional<std::string> password_arg(std::string_view& rest, std::string& error) {
  const size_t n = rest.find('@');
  const std::string_view p = rest.substr(0, n);
  if (p.empty()) {
    error = rest.empty() ? kNotEnough : "Failed reading: takeWhile1";
    return std::nullopt;
  }
  for (char c : p)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == ':' || c == '/') {
      error = "Failed reading: invalid character in BasicAuth";
      return std::nullopt;
    }
  rest.remove_prefix(p.size());
  return std::string(p);
}

}  // namespace

std::variant<Parsed, std::string> parse_line(const Commands& commands, std::string_view line) {
  Parsed p;
  const size_t sp = line.find(' ');
  p.name = std::string(line.substr(0, sp));
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp);
  Args args = Args::None;
  if (p.name == "auth") {
    if (!space(rest)) return std::string(kNotEnough);
    std::string error;
    auto pw = password_arg(rest, error);
    if (!pw) return error;
    p.password = std::move(*pw);
  } else if (p.name.empty() || p.name == "help" || p.name == "quit") {
    // no arguments
  } else if (auto it = commands.table.find(p.name); it != commands.table.end()) {
    args = it->second.args;
  } else {
    return std::string(kBadCommand);
  }
  if (args == Args::Id || args == Args::IdInfo) {
    if (!space(rest)) return std::string(kNotEnough);
    auto id = id_arg(rest);
    if (auto* e = std::get_if<std::string>(&id)) return std::move(*e);
    p.request.id = std::move(std::get<Bytes>(id));
  }
  if (args == Args::IdInfo) {
    if (!space(rest)) return std::string(kNotEnough);
    // The blocking info runs to the end of the line (its notice is JSON).
    auto info = parse_blocking_info(rest);
    if (!info) return std::string("Failed reading: bad blocking info (expected reason=spam|content[,notice={...}])");
    p.request.info = *info;
    rest = {};
  }
  if (!rest.empty()) return std::string(kEndOfInput);
  return p;
}

std::string runtime_stats() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return fmt::format("threads: {}, max_rss_kb: {}, user_cpu_s: {}.{:06}, system_cpu_s: {}.{:06}\n",
                     stats::thread_count(), ru.ru_maxrss, ru.ru_utime.tv_sec, ru.ru_utime.tv_usec, ru.ru_stime.tv_sec,
                     ru.ru_stime.tv_usec);
}

std::string greeting(const Commands& commands) { return commands.greeting + "\n'help' for supported commands\n"; }

std::string Session::auth(std::string_view password) {
  const Role wanted = password == passwords_.admin ? Role::Admin
                      : password == passwords_.user ? Role::User
                                                    : Role::None;
  std::string line = "Current role is " + std::string(role_name(role_ == Role::None ? wanted : role_));
  if (role_ == Role::None)
    role_ = wanted;
  else if (role_ != wanted)
    line += ", start new session to change.";
  return line + "\n";
}

Reply Session::handle(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto parsed = parse_line(*commands_, line);
  if (auto* e = std::get_if<std::string>(&parsed)) return {"error: " + *e + "\n"};
  Parsed& p = std::get<Parsed>(parsed);
  if (p.name == "quit") return {"", true};
  if (p.name.empty()) return {};
  if (p.name == "help") return {commands_->help + "\n"};
  if (p.name == "auth") return {auth(p.password)};
  // Logged before the role check, as the reference does (the password of `auth` never is).
  LOG_WARN("ControlPort: \"{}\"", line);
  const Command& c = commands_->table.find(p.name)->second;
  const bool allowed = c.need == Need::Any || (c.need == Need::User && role_ != Role::None) ||
                       (c.need == Need::Admin && role_ == Role::Admin);
  if (!allowed) {
    LOG_ERROR("Unauthorized control port command");
    return {"AUTH\n"};
  }
  p.request.role = role_;
  return {c.run(p.request)};
}

// ---- TCP ---------------------------------------------------------------------------------------------------

struct Listener::Shared {
  asio::ip::tcp::acceptor acceptor;
  std::list<std::weak_ptr<asio::ip::tcp::socket>> clients;
  bool stopped = false;
  explicit Shared(asio::io_context& io) : acceptor(io) {}
};

namespace {

constexpr size_t kMaxLine = 64 * 1024;

asio::awaitable<void> serve_client(std::shared_ptr<asio::ip::tcp::socket> sock,
                                   std::shared_ptr<const Commands> commands, Passwords passwords) {
  Session session(commands, std::move(passwords));
  asio::error_code ec;
  const std::string hello = greeting(*commands);
  co_await asio::async_write(*sock, asio::buffer(hello), asio::redirect_error(asio::use_awaitable, ec));
  std::string buf;
  while (!ec) {
    auto dyn = asio::dynamic_buffer(buf, kMaxLine);
    const size_t n = co_await asio::async_read_until(*sock, dyn, '\n', asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;  // closed, stopped, or a line longer than kMaxLine
    const std::string line = buf.substr(0, n - 1);
    buf.erase(0, n);
    Reply r = session.handle(line);
    if (!r.text.empty())
      co_await asio::async_write(*sock, asio::buffer(r.text), asio::redirect_error(asio::use_awaitable, ec));
    if (r.close) break;
  }
  sock->shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  sock->close(ec);
}

}  // namespace

Listener::Listener(asio::io_context& io, uint16_t port, std::shared_ptr<const Commands> commands,
                   Passwords passwords) {
  auto shared = std::make_shared<Shared>(io);
  const asio::ip::tcp::endpoint ep(asio::ip::address_v4::loopback(), port);
  LOG_NOTE("binding to 127.0.0.1:{}", port);
  try {
    shared->acceptor.open(ep.protocol());
    shared->acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
    shared->acceptor.bind(ep);
    shared->acceptor.listen();
  } catch (const std::system_error& e) {
    throw std::runtime_error(fmt::format(
        "control port 127.0.0.1:{}: {}; stop the program using it or set another port in [TRANSPORT] control_port",
        port, e.code().message()));
  }
  port_ = shared->acceptor.local_endpoint().port();
  shared_ = shared;
  asio::co_spawn(
      io,
      [shared, commands = std::move(commands), passwords = std::move(passwords)]() -> asio::awaitable<void> {
        for (;;) {
          asio::error_code ec;
          asio::ip::tcp::socket s = co_await shared->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
          if (shared->stopped) co_return;
          if (ec) {
            if (!shared->acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
            continue;
          }
          auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(s));
          std::erase_if(shared->clients, [](const auto& w) { return w.expired(); });
          shared->clients.push_back(sock);
          asio::co_spawn(shared->acceptor.get_executor(), serve_client(sock, commands, passwords), asio::detached);
        }
      },
      asio::detached);
}

Listener::~Listener() { stop(); }

void Listener::stop() {
  auto s = shared_.lock();
  if (!s) return;
  s->stopped = true;
  asio::error_code ec;
  s->acceptor.close(ec);
  for (auto& w : s->clients)
    if (auto c = w.lock()) {
      c->shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      c->close(ec);
    }
  s->clients.clear();
}

}  // namespace sr::control
