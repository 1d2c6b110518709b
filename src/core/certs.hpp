// CA and online certificates as `init` and `cert` make them (server-operations.md §1.5, §1.6, §2.4, §3.6.3;
// smp-transport.md §3.2–3.3), made with libcrypto instead of the openssl command line, same files and profile.
#pragma once
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"

namespace sr::certs {

enum class KeyAlg { Ed25519, Ed448 };
const char* alg_name(KeyAlg alg);            // "ED25519" / "ED448" (the reference's -a spelling)
bool parse_alg(std::string_view word, KeyAlg& out);  // exact spelling

struct CertError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Refuses Ed448 in a BoringSSL build with a message that says why and what to do.
void check_alg_supported(KeyAlg alg);

// Writes openssl_ca.conf, ca.key (0600), ca.crt (self-signed, CN=SMP server CA, O=SimpleX, 999999 days,
// SKI/AKI/basicConstraints=critical,CA:true), then the online credentials (see create_online) and fingerprint.
void create_ca_and_online(const std::filesystem::path& cfg_dir, KeyAlg alg, const std::string& online_cn);

// Writes openssl_server.conf, server.key (0600; an existing file keeps its mode), server.csr, server.crt
// (signed by ca.key/ca.crt, random serial, 999999 days, CA:FALSE, keyUsage digitalSignature,nonRepudiation,
// keyAgreement, EKU serverAuth, SKI/AKI), ca.srl, and rewrites fingerprint.
void create_online(const std::filesystem::path& cfg_dir, KeyAlg alg, const std::string& cn);

// base64url(SHA-256(DER of the first certificate in the PEM file)), padded: 44 characters.
std::string fingerprint_of_file(const std::filesystem::path& ca_crt);
std::vector<uint8_t> sha256_of_first_cert_der(const std::filesystem::path& pem_file);

// What `cert` reads from an existing server.crt when -a/--cn are not given. Errors carry the reference's
// texts: "No certificate found at <path>", "Too many certificates at <path>",
// "Unexpected signature algorithm <alg>", "Certificate subject has no CN element".
struct CertInfo {
  KeyAlg alg;
  std::string cn;
};
CertInfo read_cert_info(const std::filesystem::path& crt);

// The public key in a DER certificate (from its SubjectPublicKeyInfo; works for Ed448 in BoringSSL too).
std::optional<crypto::PublicKey> cert_public_key(std::span<const uint8_t> cert_der);

// A client's certificate chain checked as the reference's TLS layer does (transport §3.8): 1 certificate is its
// own trust anchor; 2..4 are checked up to the last one as anchor (each signed by the next); every certificate
// within its validity at `now`; more than 4 fail. Returns an empty string when valid, else the reason.
std::string check_client_chain(const std::vector<std::vector<uint8_t>>& chain, std::time_t now);


}  // namespace sr::certs
