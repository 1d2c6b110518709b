// Integration-test harness: runs the real simplex-relay binary as a child process (by path or through a
// symlink name), feeds stdin, collects stdout/stderr, sends signals, and probes its TLS listeners with an
// OpenSSL/BoringSSL client over real sockets on 127.0.0.1.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text_files.hpp"

namespace sr::test {

std::filesystem::path relay_binary();   // the built simplex-relay
std::filesystem::path fixtures_dir();   // tests/fixtures


// Creates <dir>/<name> → relay binary, for argv[0] dispatch (smp-server, xftp-server). Returns the link path.
std::filesystem::path symlink_as(const std::filesystem::path& dir, const std::string& name);

using Env = std::map<std::string, std::string>;

struct RunResult {
  int exit_code = -1;  // exit status, or 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

// Runs program with args (argv[0] = program), environment = current environment plus env (an empty value unsets),
// stdin = input then EOF. Kills the child and fails the test after timeout.
RunResult run(const std::vector<std::string>& argv, const Env& env = {}, const std::string& input = "",
              std::chrono::seconds timeout = std::chrono::seconds(60));

// A server running in the background. Output is collected as it arrives.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const Env& env = {});
  ~Process();  // SIGKILL and reap when still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Waits until stdout (or stderr) contains needle; false on timeout or child exit.
  bool wait_for(std::string_view needle, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string out();
  std::string err();
  void signal(int sig);
  // Exit code (128 + signal when signalled); nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool running();
  pid_t pid() const { return pid_; }

 private:
  void pump(int timeout_ms);
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  std::optional<int> status_;
};

// A blocking IPv4 TCP connection with 20 s send/receive timeouts; -1 when it cannot connect.
int tcp_connect(const std::string& host, uint16_t port);

// A TCP port that was free a moment ago on 127.0.0.1 (bind to port 0, read it, close).
uint16_t free_port();

struct TlsProbe {
  bool connected = false;           // TCP connected
  bool handshake_ok = false;        // TLS handshake completed
  std::string error;                // why it failed
  std::string version;              // "TLSv1.3" / "TLSv1.2"
  std::string cipher;               // negotiated suite name
  std::string alpn;                 // negotiated ALPN, empty if none
  std::vector<std::vector<uint8_t>> chain_der;  // server's chain as sent, leaf first
  bool got_session_ticket = false;  // any NewSessionTicket seen within a short wait after the handshake
  std::vector<uint8_t> client_finished;  // tls-unique from the client's side (its own Finished)
  bool closed_by_server = false;    // server closed the connection within close_wait (if close_wait > 0)
  std::chrono::milliseconds closed_after{0};
};

struct TlsProbeOptions {
  std::vector<std::string> alpn = {"smp/1"};  // empty: no ALPN extension
  int max_version = 0;                        // 0: any; TLS1_2_VERSION to force TLS 1.2
  std::chrono::milliseconds close_wait{0};    // >0: after the handshake, wait this long for the server to close
  std::string host = "127.0.0.1";
  std::string sni;  // server name sent (SNI), none when empty
};

TlsProbe tls_probe(uint16_t port, const TlsProbeOptions& options = {});

}  // namespace sr::test
