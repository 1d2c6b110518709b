// One thin wrapper over the TLS/X.509 API that OpenSSL 3 and BoringSSL share (smp-transport.md §3, §9).
// Everything backend-specific stays inside tls.cpp/certs.cpp behind SR_TLS_OPENSSL / SR_TLS_BORINGSSL.
#pragma once
// BoringSSL's stack.h casts to const-qualified types, which -Wextra reports in every file that includes it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-qualifiers"
#include <openssl/ssl.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"

namespace sr::tls {

struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using CtxPtr = std::shared_ptr<SSL_CTX>;

const char* backend_name();   // "OpenSSL 3.0.x" or "BoringSSL"
bool ed448_supported();       // false in a BoringSSL build

// The last error(s) of the backend's error queue as one line, for messages (the queue is emptied).
std::string last_error();

// unique_ptr deleter that calls the backend's free function for the type.
template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;

// Every certificate of a PEM file, in file order; PEM blocks of other types are skipped. Throws TlsError
// naming the file when it cannot be read or a certificate block does not parse.
std::vector<X509Ptr> read_pem_certs(const std::string& file);
// The private key of a PEM file (PKCS#8). Throws TlsError naming the file; in a BoringSSL build an Ed448 key
// gets a message that says to use the OpenSSL build or an Ed25519 key.
PkeyPtr read_private_key(const std::string& file);
// DER encoding of a certificate, as received or as read from its file.
std::vector<uint8_t> cert_der(const X509* cert);
// An Ed25519 or Ed448 key's raw private bytes (what signs session keys); throws TlsError for other keys.
crypto::PrivateKey raw_private_key(const EVP_PKEY* key);

// The reference server's ALPN list; any negotiated name means "full version range" (transport §3.5).
inline const std::vector<std::string> kServerAlpn = {"smp/1", "h2", "http/1.1"};

// An ordinary HTTPS certificate ([WEB] cert / key, e.g. Let's Encrypt; RSA and ECDSA allowed) presented only to
// clients that send SNI. The cert file holds the leaf and any intermediates.
struct WebCertificate {
  std::string cert_file, key_file;
  // ALPN offered on the web context; empty: the same list as the protocol (ServerOptions::alpn). SMP sharing its
  // port with the web site offers only HTTP here, so a browser never negotiates smp/1.
  std::vector<std::string> alpn;
};

struct ServerOptions {
  std::vector<std::string> alpn = kServerAlpn;
  bool request_client_cert = false;  // SMP service certificates (§3.8): request, accept any, check later
  // With a web certificate every connection gets the broad parameter set browsers need (AES-GCM, ECDHE-RSA/
  // ECDSA, P-256/384/521, RSA and ECDSA signatures) as the reference's "HTTPS" parameters do; native clients
  // still negotiate what they offer. A client sending SNI gets the web chain (xftp §3.2, sni_used()).
  std::optional<WebCertificate> web;
};

// Server context per transport §9: TLS 1.2+1.3, CHACHA20-POLY1305 suites, groups X448:X25519 (X25519 only in
// BoringSSL), sigalgs ed448:ed25519, no tickets, no session cache, no renegotiation, SSL_MODE_RELEASE_BUFFERS,
// ALPN walk over the client's list (fatal no_application_protocol when nothing matches), tls-unique capture.
// The certificate chain sent is every certificate of cert_file followed by every certificate of ca_file.
// Throws TlsError naming the file that failed.
CtxPtr make_server_context(const std::string& cert_file, const std::string& ca_file, const std::string& key_file,
                           const ServerOptions& options = {});

// A context with only the web certificate, for a separate HTTPS port ([WEB] https): the broad HTTPS parameter set,
// the cert file's chain, the given ALPN list. Throws TlsError naming the file that failed.
CtxPtr make_web_context(const WebCertificate& web, const std::vector<std::string>& alpn);

// Client context with the same parameter lists, the given ALPN list, no verification by the library (callers
// check the chain and the key hash themselves, transport §3.4).
// https: the broad parameter set of a server with a web certificate, for web-style clients that expect an
// ordinary HTTPS certificate (RSA/ECDSA) when they send SNI.
CtxPtr make_client_context(const std::vector<std::string>& alpn = {"smp/1"}, bool https = false);

// Optional hook for every SSL created from our contexts, before the handshake. The tls-unique capture is a
// message callback inherited from the context that allocates its per-SSL storage itself, so SSL objects made by
// asio::ssl::stream work without it; prepare() only allocates that storage up front.
void prepare(SSL* ssl);

// After the handshake: tls-unique = verify_data of the CLIENT's Finished message (transport §3.6): 32 bytes in
// TLS 1.3, 12 in TLS 1.2. Server side: the Finished received; client side: the Finished sent. Empty if unknown.
std::vector<uint8_t> session_id(const SSL* ssl);
std::string alpn_selected(const SSL* ssl);  // empty when no ALPN was negotiated
// Server side, after the handshake: the client sent SNI and the web certificate was presented (xftp "sniUsed").
bool sni_used(const SSL* ssl);

// DER encodings of the peer's chain, leaf first (server side: leaf + SSL_get_peer_cert_chain).
std::vector<std::vector<uint8_t>> peer_chain_der(const SSL* ssl);

}  // namespace sr::tls
