// An xftp-server installation in a temporary directory for the relay tests: `init -p <files> -q <quota>`, a free
// port, INI edits, start until the server answers TLS, and the key hash clients dial (computed with libcrypto).
#pragma once
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "smp_fixture.hpp"
#include "text_files.hpp"

namespace sr::test {

#ifdef SR_TLS_BORINGSSL
// No Ed448 in BoringSSL: every init that does not test the algorithm itself asks for Ed25519.
inline const std::vector<std::string> kXftpAlgArgs = {"-a", "ED25519"};
#else
inline const std::vector<std::string> kXftpAlgArgs = {};
#endif

// Starts `<program> start` and returns once the server answers TLS on port. An answer (a ServerHello or an alert)
// needs the server's event loop, which runs only after its signal handlers are installed, so a signal sent
// afterwards takes the graceful path. The "binding to" line can precede listen(), hence the retries.
inline std::unique_ptr<Process> start_xftp_process(const std::filesystem::path& program, const Env& env,
                                                   uint16_t port, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {program.string(), "start"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto p = std::make_unique<Process>(argv, env);
  if (!p->wait_for("binding to")) return p;  // the caller's checks show the output
  TlsProbeOptions o;
  o.alpn = {"h2"};
  TlsProbe probe;
  for (int attempt = 0; attempt < 100 && !probe.connected; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    probe = tls_probe(port, o);
  }
  return p;
}

struct XftpRelay {
  TempDir tmp;
  std::filesystem::path cfg = tmp.path / "etc";
  std::filesystem::path log = tmp.path / "var";
  std::filesystem::path files = tmp.path / "files";
  std::filesystem::path program = symlink_as(tmp.path, "xftp-server");
  uint16_t port = free_port();

  // `init -p files -q quota`, then the port set to a free one.
  explicit XftpRelay(const std::string& quota = "10gb", std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"init", "-p", files.string(), "-q", quota};
    args.insert(args.end(), kXftpAlgArgs.begin(), kXftpAlgArgs.end());
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = xftp(args);
    if (r.exit_code != 0) throw std::runtime_error("init failed: " + r.out + r.err);
    set_line("port = 443", "port = " + std::to_string(port));
  }
  Env env() const { return {{"XFTP_SERVER_CFG_PATH", cfg.string()}, {"XFTP_SERVER_LOG_PATH", log.string()}}; }
  std::filesystem::path ini() const { return cfg / "file-server.ini"; }
  std::filesystem::path store_log() const { return log / "file-server-store.log"; }
  RunResult xftp(std::vector<std::string> args) const {
    args.insert(args.begin(), program.string());
    return run(args, env());
  }
  // Replaces one whole INI line.
  void set_line(const std::string& from, const std::string& to) const {
    std::string text = read_text(ini());
    if (!replace_line(text, from, to)) throw std::runtime_error("no line '" + from + "' in the INI");
    write_text(ini(), text);
  }
  // Adds lines right after a section header.
  void add_to_section(const std::string& section, const std::string& lines) const {
    add_ini_lines(ini(), section, lines);
  }
  std::unique_ptr<Process> start() const { return start_xftp_process(program, env(), port); }
  std::vector<uint8_t> key_hash_bytes() const { return ca_key_hash(cfg); }
};

}  // namespace sr::test
