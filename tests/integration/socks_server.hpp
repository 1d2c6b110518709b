// Test-only TCP servers on 127.0.0.1 with blocking sockets and a thread per connection: a SOCKS5 proxy that
// records what it was asked to connect to and routes names to local ports, and an echo listener to reach
// through it. Destructors stop every thread and close every socket.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sr::test {

// Accepts connections on 127.0.0.1:<ephemeral port> and runs serve(fd) on a thread per connection. serve uses
// read_exact/relay below, which return false once stop() is called; the listener closes fd afterwards.
class ThreadedListener {
 public:
  using Serve = std::function<void(int fd)>;
  explicit ThreadedListener(Serve serve);
  ~ThreadedListener();
  ThreadedListener(const ThreadedListener&) = delete;
  ThreadedListener& operator=(const ThreadedListener&) = delete;

  uint16_t port() const { return port_; }
  // Blocking helpers for serve(): false on EOF, error or stop.
  bool read_exact(int fd, uint8_t* buf, size_t n) const;
  bool write_all(int fd, const uint8_t* buf, size_t n) const;
  // Copies bytes both ways until either side closes or stop.
  void relay(int a, int b) const;

 private:
  void accept_loop();
  // Waits until fd is readable; false on stop.
  bool wait_readable(int fd) const;

  Serve serve_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};  // written once by the destructor; every wait polls its read end
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> sessions_;
};

// Echoes every byte back until the peer closes.
class EchoServer {
 public:
  EchoServer();
  uint16_t port() const { return listener_.port(); }

 private:
  ThreadedListener listener_;
};

class SocksServer {
 public:
  struct Options {
    std::map<std::string, uint16_t> routes;  // requested host (name or address text) → 127.0.0.1 port
    // Set: require RFC 1929 username/password with these values. Unset: accept only "no authentication".
    std::optional<std::pair<std::string, std::string>> credentials;
  };
  struct Request {
    uint8_t atyp = 0;  // 1 IPv4, 3 domain name, 4 IPv6
    std::string host;  // the name as sent (ATYP 3) or the address text
    uint16_t port = 0;
  };

  explicit SocksServer(Options options);
  uint16_t port() const { return listener_.port(); }
  // Every CONNECT request received so far, in order.
  std::vector<Request> requests() const;
  // Username/password pairs offered so far (right or wrong).
  std::vector<std::pair<std::string, std::string>> logins() const;

 private:
  void serve(int fd);

  Options options_;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
  std::vector<std::pair<std::string, std::string>> logins_;
  ThreadedListener listener_;  // last: its threads use the members above and stop before they are destroyed
};

}  // namespace sr::test
