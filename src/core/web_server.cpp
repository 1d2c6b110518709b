#include "core/web_server.hpp"

#include "core/deflate.hpp"


#include <array>
#include <cctype>
#include <charconv>
#include <list>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "core/http2_server.hpp"
#include "core/log.hpp"
#include "core/static_files.hpp"

namespace sr::web {

namespace fsys = std::filesystem;

// ---- request heads ----------------------------------------------------------------------------------------------

const std::string* RequestHead::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return &value;
  return nullptr;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<RequestHead> parse_request_head(std::string_view head) {
  size_t eol = head.find('\n');
  const std::string_view line = trim(head.substr(0, eol));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1)
    return std::nullopt;
  RequestHead r;
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  r.version = std::string(line.substr(sp2 + 1));
  if (r.version.rfind("HTTP/", 0) != 0) return std::nullopt;
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 1);
    eol = head.find('\n');
    const std::string_view h = trim(head.substr(0, eol));
    if (h.empty()) break;
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;  // ignored, as lenient servers do
    r.headers.emplace_back(lower(trim(h.substr(0, colon))), std::string(trim(h.substr(colon + 1))));
  }
  return r;
}

// ---- responses --------------------------------------------------------------------------------------------------

std::string gzip(std::string_view text) { return deflate(text, DeflateFraming::Gzip); }

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool compressible(const fsys::path& file) {
  const std::string f = file.string();
  for (std::string_view ext : {".html", ".css", ".js", ".svg", ".json", "apple-app-site-association"})
    if (ends_with(f, ext)) return true;
  return false;
}

// %XX decoded; nullopt for a broken escape or a NUL byte.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= s.size()) return std::nullopt;
    auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || end != s.data() + i + 3 || v == 0) return std::nullopt;
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

Response text_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers = {{"content-type", "text/plain; charset=utf-8"}};
  r.body = std::move(body);
  return r;
}

std::string_view reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "";
  }
}

}  // namespace

Response static_response(const fsys::path& root, std::string_view method, std::string_view target,
                         bool accepts_gzip) {
  if (method != "GET" && method != "HEAD") {
    Response r = text_response(405, "method not allowed\n");
    r.headers.emplace_back("allow", "GET, HEAD");
    return r;
  }
  const std::string_view path = target.substr(0, target.find_first_of("?#"));
  const auto decoded = percent_decode(path);
  std::optional<StaticFile> file;
  if (decoded && !decoded->empty() && decoded->front() == '/') file = resolve_static_file(root, *decoded);
  std::string body;
  if (file) {
    try {
      body = fs::read_file(file->path);
    } catch (const std::exception&) {
      file.reset();
    }
  }
  if (!file) return text_response(404, "not found\n");
  Response r;
  r.headers.emplace_back("content-type", file->mime);
  if (accepts_gzip && compressible(file->path)) {
    body = gzip(body);
    r.headers.emplace_back("content-encoding", "gzip");
    r.headers.emplace_back("vary", "Accept-Encoding");
  }
  if (method == "HEAD") {
    r.headers.emplace_back("content-length", std::to_string(body.size()));
  } else {
    r.body = std::move(body);
  }
  return r;
}

std::string http1_response(const Response& r, bool keep_alive) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
  bool has_length = false;
  for (const auto& [name, value] : r.headers) {
    has_length = has_length || name == "content-length";
    out += fmt::format("{}: {}\r\n", name, value);
  }
  if (!has_length) out += fmt::format("content-length: {}\r\n", r.body.size());
  out += keep_alive ? "connection: keep-alive\r\n\r\n" : "connection: close\r\n\r\n";
  out += r.body;
  return out;
}

// ---- serving ----------------------------------------------------------------------------------------------------

namespace {

bool accepts_gzip(const std::string* accept_encoding) {
  return accept_encoding != nullptr && accept_encoding->find("gzip") != std::string::npos;
}

asio::awaitable<bool> send_text(const net::ConnectionPtr& conn, const std::string& text) {
  std::vector<uint8_t> bytes(text.begin(), text.end());
  auto s = conn->send(std::move(bytes));
  co_return co_await std::move(s);
}

}  // namespace

asio::awaitable<void> serve_http1(net::ConnectionPtr conn, fsys::path root, HttpOptions options) {
  asio::steady_timer idle(co_await asio::this_coro::executor);
  std::weak_ptr<net::Connection> weak = conn;
  auto arm = [&] {
    idle.expires_after(options.idle_timeout);
    idle.async_wait([weak](asio::error_code ec) {
      if (ec) return;
      if (auto c = weak.lock()) c->close();  // cancels the pending read
    });
  };
  std::string buf;
  std::array<uint8_t, 4096> chunk{};
  for (;;) {
    arm();
    size_t end = std::string::npos, sep = 0;
    for (;;) {
      if (const size_t crlf = buf.find("\r\n\r\n"); crlf != std::string::npos) {
        end = crlf, sep = 4;
      } else if (const size_t lf = buf.find("\n\n"); lf != std::string::npos) {
        end = lf, sep = 2;
      }
      if (end != std::string::npos) break;
      if (buf.size() > options.max_head) {
        idle.cancel();
        const std::string reply = http1_response(text_response(431, "request head too large\n"), false);
        auto s = send_text(conn, reply);
        co_await std::move(s);
        co_return;
      }
      const size_t n = co_await conn->read_some(chunk);
      if (n == 0) {
        idle.cancel();
        co_return;
      }
      buf.append(reinterpret_cast<const char*>(chunk.data()), n);
    }
    idle.cancel();
    const std::string head = buf.substr(0, end);
    buf.erase(0, end + sep);
    const auto req = parse_request_head(head);
    if (!req) {
      const std::string reply = http1_response(text_response(400, "bad request\n"), false);
      auto s = send_text(conn, reply);
      co_await std::move(s);
      co_return;
    }
    const std::string* connection = req->header("connection");
    const std::string conn_value = connection ? lower(*connection) : "";
    bool keep_alive = req->version == "HTTP/1.1" ? conn_value.find("close") == std::string::npos
                                                  : conn_value.find("keep-alive") != std::string::npos;
    // A body we do not read would be taken for the next request: answer, then close.
    const std::string* length = req->header("content-length");
    if ((length && *length != "0") || req->header("transfer-encoding")) keep_alive = false;
    const Response r = static_response(root, req->method, req->target, accepts_gzip(req->header("accept-encoding")));
    const std::string reply = http1_response(r, keep_alive);
    auto s = send_text(conn, reply);
    if (!co_await std::move(s) || !keep_alive) co_return;
  }
}

asio::awaitable<void> serve_connection(net::ConnectionPtr conn, fsys::path root) {
  if (conn->alpn() != "h2") {
    auto a = serve_http1(std::move(conn), std::move(root));
    co_await std::move(a);
    co_return;
  }
  h2::Handler handler = [root](std::shared_ptr<h2::Exchange> ex) -> asio::awaitable<void> {
    const h2::Request& req = ex->request();
    Response r = static_response(root, req.method, req.path, accepts_gzip(req.header("accept-encoding")));
    h2::Headers headers;
    for (auto& h : r.headers)
      if (h.first != "content-length") headers.push_back(std::move(h));
    std::vector<uint8_t> body(r.body.begin(), r.body.end());
    auto done = ex->respond(r.status, std::move(headers), std::move(body));
    co_await std::move(done);
  };
  auto a = h2::serve(std::move(conn), std::move(handler));
  co_await std::move(a);
}

// ---- plain HTTP listener ------------------------------------------------------------------------------------------

namespace {

using tcp = asio::ip::tcp;

// net::Connection over a plain socket, so one HTTP/1.1 loop serves both plain and TLS connections. Used by one
// coroutine at a time; send writes directly.
class PlainConnection final : public net::Connection {
 public:
  explicit PlainConnection(tcp::socket s) : sock_(std::move(s)) {
    asio::error_code ec;
    auto remote = sock_.remote_endpoint(ec);
    peer_ = ec ? "?" : fmt::format("{}:{}", remote.address().to_string(), remote.port());
    auto local = sock_.local_endpoint(ec);
    local_port_ = ec ? 0 : local.port();
  }
  asio::awaitable<bool> read_exact(std::span<uint8_t> buf) override {
    asio::error_code ec;
    co_await asio::async_read(sock_, asio::buffer(buf.data(), buf.size()), asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }
  asio::awaitable<bool> read_exact(std::span<uint8_t> buf, net::Clock::duration) override {
    auto r = read_exact(buf);
    co_return co_await std::move(r);
  }
  asio::awaitable<size_t> read_some(std::span<uint8_t> buf) override {
    if (closing_ || buf.empty()) co_return 0;
    asio::error_code ec;
    const size_t n = co_await sock_.async_read_some(asio::buffer(buf.data(), buf.size()),
                                                    asio::redirect_error(asio::use_awaitable, ec));
    co_return ec ? 0 : n;
  }
  asio::awaitable<bool> send(std::vector<uint8_t> data) override {
    if (closing_) co_return false;
    asio::error_code ec;
    co_await asio::async_write(sock_, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }
  bool try_send(std::vector<uint8_t>) override { return false; }
  void close() override {
    if (closing_) return;
    closing_ = true;
    asio::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }
  bool closing() const override { return closing_; }

 private:
  tcp::socket sock_;
  bool closing_ = false;
};


tcp::acceptor bind_any(asio::io_context& io, uint16_t port, bool ipv6) {
  tcp::acceptor acc(io);
  asio::error_code ec;
  if (ipv6) {
    acc.open(tcp::v6(), ec);
    if (!ec) acc.set_option(asio::ip::v6_only(false), ec);
    if (ec) {
      asio::error_code ignored;
      acc.close(ignored);
    }
  }
  const bool v6 = ipv6 && !ec && acc.is_open();
  if (!v6) acc.open(tcp::v4());
  acc.set_option(tcp::acceptor::reuse_address(true));
  acc.bind(tcp::endpoint(v6 ? asio::ip::address(asio::ip::address_v6::any()) : asio::ip::address(asio::ip::address_v4::any()), port));
  acc.listen();
  return acc;
}

}  // namespace

// Open plain connections, closed at stop so the io_context can finish without waiting for idle timeouts.
struct Listeners::Live {
  std::list<std::weak_ptr<net::Connection>> conns;
};

Listeners::~Listeners() = default;

void Listeners::start(asio::io_context& io, const ListenOptions& o) {
  if (o.http) {
    LOG_INFO("Serving static site on port {}", *o.http);
    try {
      auto acc = std::make_shared<tcp::acceptor>(bind_any(io, *o.http, o.ipv6));
      http_port_ = acc->local_endpoint().port();
      http_ = acc;
      auto live = std::make_shared<Live>();
      live_ = live;
      asio::co_spawn(
          io,
          [acc, live, root = o.root]() -> asio::awaitable<void> {
            for (;;) {
              asio::error_code ec;
              tcp::socket sock = co_await acc->async_accept(asio::redirect_error(asio::use_awaitable, ec));
              if (ec) {
                if (!acc->is_open() || ec == asio::error::operation_aborted) co_return;
                continue;
              }
              auto conn = std::make_shared<PlainConnection>(std::move(sock));
              live->conns.remove_if([](const auto& w) { return w.expired(); });
              live->conns.push_back(conn);
              asio::co_spawn(
                  acc->get_executor(),
                  [conn, root]() -> asio::awaitable<void> {
                    auto a = serve_http1(conn, root);
                    co_await std::move(a);
                    conn->close();
                  },
                  asio::detached);
            }
          },
          asio::detached);
    } catch (const std::system_error& e) {
      LOG_ERROR("HTTP server crashed: [WEB] http = {}: {}", *o.http, e.code().message());
    }
  }
  if (o.https && o.https_ctx) {
    LOG_INFO("Serving static site on port {} (TLS)", *o.https);
    net::ServerOptions so;
    so.ports = {*o.https};
    so.ipv6 = o.ipv6;
    auto server = std::make_unique<net::TlsServer>(
        io, o.https_ctx, so, [root = o.root](net::ConnectionPtr conn) { return serve_connection(std::move(conn), root); });
    try {
      server->listen();
      server->start();
      https_port_ = server->bound_ports().front();
      https_ = std::move(server);
    } catch (const std::exception& e) {
      LOG_ERROR("HTTPS server crashed: [WEB] https = {}: {}", *o.https, e.what());
    }
  }
}

void Listeners::stop() {
  if (auto acc = http_.lock()) {
    asio::error_code ec;
    acc->close(ec);
  }
  if (auto live = live_.lock()) {
    for (auto& w : live->conns)
      if (auto c = w.lock()) c->close();
    live->conns.clear();
  }
  // Released now, on the io_context's thread: the owner may outlive the io_context (its coroutines keep what they
  // need until they finish there).
  if (https_) https_->stop();
  https_.reset();
}

}  // namespace sr::web
