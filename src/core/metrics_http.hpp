// Our extension to the reference's metrics file (server-operations.md §5.3): the same Prometheus text served over
// plain HTTP/1.1 on a local address, so `curl` or a Prometheus scrape works without a textfile collector.
// GET /metrics → 200 text/plain (exposition format 0.0.4); other paths 404, other methods 405; one request per
// connection. Runs on the server's io_context; the text is rendered on that thread for each request.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <asio.hpp>

#include "core/config.hpp"

namespace sr::metrics_http {

using Address = config::ListenAddress;  // config::parse_listen_address

// The reply to one request head (request line and headers, without the body): the whole HTTP response.
std::string respond(std::string_view request_head, const std::function<std::string()>& render);

class Server {
 public:
  // Binds at once; throws std::system_error (e.g. address in use).
  Server(asio::io_context& io, const Address& addr, std::function<std::string()> render);
  uint16_t port() const { return port_; }
  void stop();  // closes the listener; requests being answered finish

 private:
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;  // only until the accept loop owns it
  std::weak_ptr<asio::ip::tcp::acceptor> weak_;
  uint16_t port_ = 0;
};

}  // namespace sr::metrics_http
