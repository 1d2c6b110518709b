// The operators' control port both roles share (server-operations.md §5.4; simplexmq: Server/Control.hs,
// Server.hs runCPClient / controlPortAuth): a line-oriented text session over plain TCP on 127.0.0.1.
//
// Session is the protocol with no I/O: each input line in, the reply text out. A role supplies its command
// table (name → argument kind → required role → handler); auth, help, quit and the empty line are the session's.
// Listener is the TCP side: one coroutine per client on the server's io_context.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <asio.hpp>

#include "core/cmd_auth.hpp"
#include "core/encoding.hpp"

namespace sr::control {

// CPClientRole; shown as the reference shows it ("CPRNone", "CPRUser", "CPRAdmin").
enum class Role : uint8_t { None, User, Admin };
std::string_view role_name(Role r);

// Which role a command needs. Any: no check at all (the reference's stats-rts, quirk 8.Q13).
enum class Need : uint8_t { Any, User, Admin };

// What follows the command name: nothing, " <base64url id>", or " <base64url id> <blocking info>".
enum class Args : uint8_t { None, Id, IdInfo };

struct Request {
  Role role = Role::None;
  Bytes id;               // Args::Id, Args::IdInfo
  BlockingInfo info;      // Args::IdInfo
};

struct Command {
  Args args = Args::None;
  Need need = Need::User;
  // The reply: complete lines, each ending in '\n'.
  std::function<std::string(const Request&)> run;
};

struct Commands {
  std::string greeting;   // first line: "SMP server control port" / "XFTP server control port"
  std::string help;       // the line `help` answers
  std::map<std::string, Command, std::less<>> table;
};

// control_port_admin_password / control_port_user_password; unset: nobody gets that role.
struct Passwords {
  std::optional<std::string> admin, user;
};

// A parsed line: the command name ("" for an empty line) and its arguments; or the parser's message.
struct Parsed {
  std::string name;
  std::string password;  // auth
  Request request;
};
std::variant<Parsed, std::string> parse_line(const Commands& commands, std::string_view line);

struct Reply {
  std::string text;    // lines to write, each ending in '\n'
  bool close = false;  // quit
};

class Session {
 public:
  Session(std::shared_ptr<const Commands> commands, Passwords passwords)
      : commands_(std::move(commands)), passwords_(std::move(passwords)) {}
  // One input line without its terminator (a trailing CR is removed here).
  Reply handle(std::string_view line);
  Role role() const { return role_; }

 private:
  std::string auth(std::string_view password);
  std::shared_ptr<const Commands> commands_;
  Passwords passwords_;
  Role role_ = Role::None;
};

// `stats-rts` for both roles: this process's thread count, peak memory and CPU time (the reference prints
// GHC's runtime statistics, which have no equivalent here).
std::string runtime_stats();

// The two lines written on connect.
std::string greeting(const Commands& commands);

// The TCP listener on 127.0.0.1:<port>; logs NOTE "binding to 127.0.0.1:<port>". A port in use throws
// std::runtime_error naming the port and the `[TRANSPORT] control_port` setting.
class Listener {
 public:
  Listener(asio::io_context& io, uint16_t port, std::shared_ptr<const Commands> commands, Passwords passwords);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  uint16_t port() const { return port_; }
  // Closes the listener and every client connection; safe to call more than once.
  void stop();

 private:
  struct Shared;
  // The acceptor and the client sockets live in their coroutines; this only observes them, so nothing here
  // outlives the io_context.
  std::weak_ptr<Shared> shared_;
  uint16_t port_ = 0;
};

// What a role's cli::ServeHooks do with the control port: start() binds when a port is configured, stop()
// closes the listener and its sessions.
struct Hook {
  std::optional<uint16_t> port;  // [TRANSPORT] control_port; unset: no control port
  std::shared_ptr<const Commands> commands;
  Passwords passwords;
  std::unique_ptr<Listener> listener;
  void start(asio::io_context& io) {
    if (port) listener = std::make_unique<Listener>(io, *port, commands, passwords);
  }
  void stop() {
    if (listener) listener->stop();
  }
};

}  // namespace sr::control
