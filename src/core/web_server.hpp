// The static web server of the embedded site (server-operations.md §5.5 "Serving"): HTTP/1.1 over a plain
// socket ([WEB] http), over TLS on a separate port ([WEB] https with cert/key), and over a connection that the
// protocol server already accepted (SMP port sharing by SNI: HTTP/1.1, or HTTP/2 when ALPN chose h2).
// Rules (simplexmq: Server/Web.hs staticFiles, withGzipFiles, resolveStaticFile): GET and HEAD only (405 otherwise),
// no directory listing, `/` and directories → index.html, nothing outside the root (404), /.well-known/ from
// well-known/, MIME by extension, gzip for .html .css .js .svg .json and apple-app-site-association when the
// request's Accept-Encoding mentions gzip. HTTP/1.1 connections are kept alive (idle limit) unless the client
// asks otherwise; requests with a body are answered and the connection closed.
#pragma once
#include <cstddef>

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/server.hpp"
#include "core/tls.hpp"

namespace sr::web {

// ---- HTTP/1.1 request heads (shared with metrics_http) ----------------------------------------------------------

struct RequestHead {
  std::string method, target, version;                       // "GET", "/a/?x", "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  const std::string* header(std::string_view lower_name) const;
};
// The request line and headers (up to the empty line; CRLF or LF). nullopt: malformed request line.
std::optional<RequestHead> parse_request_head(std::string_view head);

// ---- responses --------------------------------------------------------------------------------------------------

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;  // for HEAD: empty, with content-length of the GET body in headers
};

// The answer for one request to the site under root.
Response static_response(const std::filesystem::path& root, std::string_view method, std::string_view target,
                         bool accepts_gzip);
// gzip (RFC 1952) of text, zlib's default level.
std::string gzip(std::string_view text);
// "HTTP/1.1 <status> <reason>\r\n" + headers (content-length always) + connection header + body.
std::string http1_response(const Response& r, bool keep_alive);

// ---- serving ----------------------------------------------------------------------------------------------------

struct HttpOptions {
  std::chrono::seconds idle_timeout{30};  // between requests on a kept-alive connection, and for a request head
  size_t max_head = 16 * 1024;
};

// Serves HTTP/1.1 requests on an established connection (read_some/send) until the client closes, asks to close,
// idles out, or sends something we cannot parse.
asio::awaitable<void> serve_http1(net::ConnectionPtr conn, std::filesystem::path root, HttpOptions options = {});
// HTTP/2 (ALPN h2) or HTTP/1.1 by the connection's ALPN: for connections the SMP port hands over by SNI.
asio::awaitable<void> serve_connection(net::ConnectionPtr conn, std::filesystem::path root);

// The listeners of [WEB] http / https: started on the server's io_context (cli::ServeHooks start), stopped with it.
// Logs INFO "Serving static site on port <p>" / "... (TLS)" as the reference. A listener that cannot bind is
// logged as an ERROR naming the key and port ("HTTP server crashed: [WEB] http = 8000: ...") and the protocol
// server keeps running, as the reference's forked web servers do.
struct ListenOptions {
  std::filesystem::path root;
  std::optional<uint16_t> http;
  std::optional<uint16_t> https;  // separate TLS port; needs https_ctx
  tls::CtxPtr https_ctx;
  bool ipv6 = true;
};

class Listeners {
 public:
  Listeners() = default;
  ~Listeners();
  Listeners(const Listeners&) = delete;
  Listeners& operator=(const Listeners&) = delete;

  void start(asio::io_context& io, const ListenOptions& options);
  // Closes the listeners and their connections; must run before the io_context goes (cli::ServeHooks stop).
  void stop();
  std::optional<uint16_t> http_port() const { return http_port_; }
  std::optional<uint16_t> https_port() const { return https_port_; }

 private:
  struct Live;
  std::weak_ptr<asio::ip::tcp::acceptor> http_;
  std::weak_ptr<Live> live_;
  std::unique_ptr<net::TlsServer> https_;
  std::optional<uint16_t> http_port_, https_port_;
};

}  // namespace sr::web
