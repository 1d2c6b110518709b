// Shared by the smp-server CLI and start-up tests: a server's config and state directories in a TempDir,
// the binary run as `smp-server` with SMP_SERVER_CFG_PATH/SMP_SERVER_LOG_PATH pointing there, and independent
// (OpenSSL/BoringSSL, not sr::) computations of what the server is expected to produce.
#pragma once
// BoringSSL's stack.h casts to const-qualified types, which -Wextra reports.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-qualifiers"
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#if defined(SR_TLS_BORINGSSL)
#include <openssl/base64.h>
#endif
#pragma GCC diagnostic pop

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"
#include "text_files.hpp"

namespace sr::test {

// Replaces the one line equal to `from` (without its newline) by `to`; false when there is no such line.
inline bool replace_line(std::string& text, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    bool starts = pos == 0 || text[pos - 1] == '\n';
    size_t end = pos + from.size();
    if (starts && (end == text.size() || text[end] == '\n')) {
      text.replace(pos, from.size(), to);
      return true;
    }
    pos = end;
  }
  return false;
}

// DER of the first certificate in a PEM file.
inline std::vector<uint8_t> first_cert_der(const std::filesystem::path& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(pem.c_str(), "r"), BIO_free);
  if (!bio) throw std::runtime_error("cannot open " + pem.string());
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) throw std::runtime_error("no certificate in " + pem.string());
  uint8_t* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  std::vector<uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

// base64url (padded) of SHA-256(der): the reference's key hash, computed with libcrypto only.
inline std::string key_hash(const std::vector<uint8_t>& der) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(der.data(), der.size(), digest);
  uint8_t b64[64] = {};
  int n = EVP_EncodeBlock(b64, digest, sizeof digest);
  std::string s(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

// The algorithm of a certificate's public key: EVP_PKEY_ED25519, EVP_PKEY_ED448, EVP_PKEY_RSA, ...
inline int cert_key_type(const std::filesystem::path& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(pem.c_str(), "r"), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(X509_get_pubkey(cert.get()), EVP_PKEY_free);
  return key ? EVP_PKEY_id(key.get()) : -1;
}

// Adds lines to an INI file right after the header of `section`.
inline void add_ini_lines(const std::filesystem::path& ini, const std::string& section, const std::string& lines) {
  std::string text = read_text(ini);
  auto pos = text.find("[" + section + "]\n");
  if (pos == std::string::npos) throw std::runtime_error("no section " + section);
  text.insert(pos + section.size() + 3, lines);
  write_text(ini, text);
}

// The raw 32-byte key hash a client dials: SHA-256 of <cfg>/ca.crt's DER (computed with libcrypto).
inline std::vector<uint8_t> ca_key_hash(const std::filesystem::path& cfg) {
  auto der = first_cert_der(cfg / "ca.crt");
  std::vector<uint8_t> h(SHA256_DIGEST_LENGTH);
  SHA256(der.data(), der.size(), h.data());
  return h;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One smp-server installation in a temporary directory.
struct SmpDirs {
  TempDir tmp;
  std::filesystem::path cfg = tmp.path / "etc" / "opt" / "simplex";
  std::filesystem::path log = tmp.path / "var" / "opt" / "simplex";
  std::filesystem::path program = symlink_as(tmp.path, "smp-server");

  std::filesystem::path ini() const { return cfg / "smp-server.ini"; }
  Env env() const { return {{"SMP_SERVER_CFG_PATH", cfg.string()}, {"SMP_SERVER_LOG_PATH", log.string()}}; }
  std::vector<std::string> argv(const std::vector<std::string>& args) const {
    std::vector<std::string> a = {program.string()};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }
  RunResult smp(const std::vector<std::string>& args, const std::string& input = "") const {
    return run(argv(args), env(), input);
  }
  std::unique_ptr<Process> start(const std::vector<std::string>& args = {"start"}) const {
    return std::make_unique<Process>(argv(args), env());
  }
  std::string fingerprint() const { return key_hash(first_cert_der(cfg / "ca.crt")); }
  // Edits one line of the INI in place.
  void set_ini_line(const std::string& from, const std::string& to) const {
    std::string text = read_text(ini());
    if (!replace_line(text, from, to)) throw std::runtime_error("no line '" + from + "' in the INI");
    write_text(ini(), text);
  }
};

// An initialized server (`init -y --disable-web` plus extra options) listening on two free high ports.
struct StartDirs : SmpDirs {
  uint16_t p1 = free_port(), p2 = free_port();

  explicit StartDirs(std::vector<std::string> init_args = {"--no-password"}) {
    while (p2 == p1) p2 = free_port();
    std::vector<std::string> args = {"init", "-y", "--disable-web"};
    args.insert(args.end(), init_args.begin(), init_args.end());
    auto r = smp(args);
    if (r.exit_code != 0) throw std::runtime_error("init failed: " + r.out + r.err);
    set_ini_line("port = 5223,443", "port = " + ports());
  }
  // The raw 32-byte key hash a client dials (SHA-256 of the CA certificate DER, computed with libcrypto).
  std::vector<uint8_t> key_hash_bytes() const { return ca_key_hash(cfg); }
  std::string ports() const { return std::to_string(p1) + "," + std::to_string(p2); }
  // Adds lines right after a section header.
  void add_to_section(const std::string& section, const std::string& lines) const {
    add_ini_lines(ini(), section, lines);
  }
  // Waits until both listeners are bound: the NOTE "binding to <addr>:<p2>" ends with ":<p2>".
  std::unique_ptr<Process> start_ready(const std::vector<std::string>& args = {"start"}) const {
    auto p = start(args);
    if (!p->wait_for(":" + std::to_string(p2) + "\n", std::chrono::seconds(30)))
      throw std::runtime_error("server did not start: " + p->out() + p->err());
    return p;
  }
};

}  // namespace sr::test
