#include "core/metrics_http.hpp"

#include <chrono>
#include <charconv>
#include <system_error>

#include <fmt/format.h>

#include "core/web_server.hpp"

namespace sr::metrics_http {

namespace {

std::string reply(std::string_view status, std::string_view type, std::string_view body) {
  return fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
                     type, body.size(), body);
}

constexpr size_t kMaxHead = 8192;

asio::awaitable<void> serve_one(asio::ip::tcp::socket sock, std::function<std::string()> render) {
  std::string head;
  asio::steady_timer deadline(sock.get_executor());
  deadline.expires_after(std::chrono::seconds(10));
  deadline.async_wait([&sock](asio::error_code ec) {
    if (!ec) sock.close();
  });
  char buf[1024];
  while (head.find("\r\n\r\n") == std::string::npos && head.find("\n\n") == std::string::npos) {
    if (head.size() > kMaxHead) break;
    asio::error_code ec;
    const size_t n = co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      deadline.cancel();
      co_return;
    }
    head.append(buf, n);
  }
  const std::string out = head.size() > kMaxHead ? reply("431 Request Header Fields Too Large", "text/plain", "")
                                                  : respond(head, render);
  asio::error_code ec;
  co_await asio::async_write(sock, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
  deadline.cancel();
  sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  sock.close(ec);
}

}  // namespace

std::string respond(std::string_view head, const std::function<std::string()>& render) {
  const auto req = web::parse_request_head(head);
  if (!req) return reply("400 Bad Request", "text/plain", "bad request\n");
  const std::string_view method = req->method;
  std::string_view target = req->target;
  target = target.substr(0, target.find('?'));
  if (target != "/metrics") return reply("404 Not Found", "text/plain", "not found\n");
  if (method != "GET" && method != "HEAD") return reply("405 Method Not Allowed", "text/plain", "method not allowed\n");
  const std::string body = render();
  std::string r = reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", body);
  if (method == "HEAD") r.resize(r.size() - body.size());
  return r;
}

Server::Server(asio::io_context& io, const Address& addr, std::function<std::string()> render)
    : acceptor_(std::make_shared<asio::ip::tcp::acceptor>(io)) {
  const asio::ip::tcp::endpoint ep(asio::ip::make_address(addr.host), addr.port);
  try {
    acceptor_->open(ep.protocol());
    acceptor_->set_option(asio::ip::tcp::acceptor::reuse_address(true));
    acceptor_->bind(ep);
    acceptor_->listen();
  } catch (const std::system_error& e) {
    // Say which setting the address came from, e.g. "prometheus_address 127.0.0.1:9090: Address already in use".
    throw std::system_error(e.code(), fmt::format("prometheus_address {}:{}", addr.host, addr.port));
  }
  port_ = acceptor_->local_endpoint().port();
  // The acceptor lives in the accept coroutine (weakly held here), so it never outlives the io_context.
  auto acc = acceptor_;
  acceptor_.reset();
  weak_ = acc;
  asio::co_spawn(
      io,
      [acc, render = std::move(render)]() -> asio::awaitable<void> {
        for (;;) {
          asio::error_code ec;
          asio::ip::tcp::socket sock = co_await acc->async_accept(asio::redirect_error(asio::use_awaitable, ec));
          if (ec) {
            if (!acc->is_open() || ec == asio::error::operation_aborted) co_return;
            continue;
          }
          asio::co_spawn(acc->get_executor(), serve_one(std::move(sock), render), asio::detached);
        }
      },
      asio::detached);
}

void Server::stop() {
  if (auto a = weak_.lock()) {
    asio::error_code ec;
    a->close(ec);
  }
}

}  // namespace sr::metrics_http
