// TLS directly on a non-blocking TCP socket: OpenSSL (or BoringSSL) reads and writes the file descriptor itself
// and Asio only waits for readiness. asio::ssl::stream keeps two 17 KB buffers per connection and OpenSSL a BIO
// pair of two more, copying every record through them; here an idle connection holds no record buffer at all
// (SSL_MODE_RELEASE_BUFFERS) and data is copied once. The interface is the part of asio::ssl::stream the server
// and the SMP client use, so composed operations (asio::async_read/async_write) and per-operation cancellation
// work as before.
#pragma once
#include <cstddef>

#include <asio.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/stream_base.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>
#include <type_traits>
#include <utility>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-qualifiers"
#include <openssl/err.h>
#include <openssl/ssl.h>
#pragma GCC diagnostic pop

namespace sr::net {

class SslSocket {
 public:
  using executor_type = asio::any_io_executor;
  using lowest_layer_type = asio::ip::tcp::socket;

  // Takes ownership of ssl.
  SslSocket(asio::ip::tcp::socket socket, SSL* ssl) : socket_(std::move(socket)), ssl_(ssl, SSL_free) {
    asio::error_code ec;
    socket_.non_blocking(true, ec);
    SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle()));
  }

  executor_type get_executor() { return socket_.get_executor(); }
  lowest_layer_type& lowest_layer() { return socket_; }
  SSL* native_handle() { return ssl_.get(); }

  template <class Token>
  auto async_handshake(asio::ssl::stream_base::handshake_type type, Token&& token) {
    if (type == asio::ssl::stream_base::client)
      SSL_set_connect_state(ssl_.get());
    else
      SSL_set_accept_state(ssl_.get());
    return start<false>(Kind::Handshake, nullptr, 0, std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    asio::mutable_buffer b = first<asio::mutable_buffer>(buffers);
    return start<true>(Kind::Read, b.data(), b.size(), std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    asio::const_buffer b = first<asio::const_buffer>(buffers);
    return start<true>(Kind::Write, const_cast<void*>(b.data()), b.size(), std::forward<Token>(token));
  }

  template <class Token>
  auto async_shutdown(Token&& token) {
    return start<false>(Kind::Shutdown, nullptr, 0, std::forward<Token>(token));
  }

 private:
  enum class Kind { Handshake, Read, Write, Shutdown };

  // The first non-empty buffer: one SSL call reads or writes one contiguous range.
  template <class Buffer, class Buffers>
  static Buffer first(const Buffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
      Buffer b(*it);
      if (b.size() > 0) return b;
    }
    return Buffer();
  }

  // One OpenSSL call, retried after the socket is ready in the direction OpenSSL asks for. WithSize: the
  // completion carries a byte count (read/write) or not (handshake/shutdown).
  template <bool WithSize>
  struct Op {
    SslSocket* s;
    Kind kind;
    void* data;
    size_t size;
    bool started = false;

    template <class Self>
    void operator()(Self& self, asio::error_code ec = {}) {
      if (started && ec) return finish(self, ec, 0);
      started = true;
      ERR_clear_error();
      SSL* ssl = s->ssl_.get();
      size_t n = 0;
      int rc = 1;
      errno = 0;
      switch (kind) {
        case Kind::Handshake: rc = SSL_do_handshake(ssl); break;
        // SSL_read/SSL_write rather than the _ex forms: BoringSSL has only these.
        case Kind::Read:
        case Kind::Write: {
          if (size == 0) break;
          const int len = static_cast<int>(std::min<size_t>(size, INT_MAX));
          const int r = kind == Kind::Read ? SSL_read(ssl, data, len) : SSL_write(ssl, data, len);
          if (r > 0) n = static_cast<size_t>(r);
          rc = r > 0 ? 1 : r;
          break;
        }
        case Kind::Shutdown: rc = SSL_shutdown(ssl) >= 0 ? 1 : -1; break;
      }
      if (rc == 1) return finish(self, {}, n);
      const int err = SSL_get_error(ssl, rc);
      if (err == SSL_ERROR_WANT_READ)
        return s->socket_.async_wait(asio::socket_base::wait_read, std::move(self));
      if (err == SSL_ERROR_WANT_WRITE)
        return s->socket_.async_wait(asio::socket_base::wait_write, std::move(self));
      if (err == SSL_ERROR_ZERO_RETURN) return finish(self, asio::error::eof, 0);
      if (err == SSL_ERROR_SYSCALL) {
        const unsigned long e = ERR_get_error();
        if (e != 0) return finish(self, asio::error_code(static_cast<int>(e), asio::error::get_ssl_category()), 0);
        if (errno != 0) return finish(self, asio::error_code(errno, asio::system_category()), 0);
        return finish(self, asio::error::eof, 0);  // the peer closed without close_notify
      }
      const unsigned long e = ERR_get_error();
      finish(self, asio::error_code(e ? static_cast<int>(e) : err, asio::error::get_ssl_category()), 0);
    }

    template <class Self>
    void finish(Self& self, asio::error_code ec, size_t n) {
      if constexpr (WithSize)
        self.complete(ec, n);
      else
        self.complete(ec);
    }
  };

  template <bool WithSize, class Token>
  auto start(Kind kind, void* data, size_t size, Token&& token) {
    using Signature = std::conditional_t<WithSize, void(asio::error_code, size_t), void(asio::error_code)>;
    return asio::async_compose<Token, Signature>(Op<WithSize>{this, kind, data, size}, token,
                                                 socket_);
  }

  asio::ip::tcp::socket socket_;
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl_;
};

}  // namespace sr::net
