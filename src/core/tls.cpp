#include "core/tls.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <iterator>
#include <type_traits>

#include "core/fsutil.hpp"

namespace sr::tls {
namespace {

// Parameter lists of the reference (transport §3.1).
constexpr const char* kTls12Ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
#ifdef SR_TLS_OPENSSL
constexpr const char* kTls13Suites = "TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X448:X25519";
constexpr const char* kSigalgs = "ed448:ed25519";
#else
// BoringSSL has neither X448 nor Ed448. The reference client sends its only TLS 1.3 key share for X448, so it
// gets a HelloRetryRequest for X25519: legal, one extra round trip.
constexpr const char* kGroups = "X25519";
constexpr uint16_t kSigalgs[] = {SSL_SIGN_ED25519};
#endif

// The broad set used for every connection once a web certificate is configured (the reference's
// defaultSupportedParamsHTTPS): browsers need AES-GCM, ECDHE with RSA/ECDSA certificates and NIST curves.
constexpr const char* kHttpsTls12Ciphers =
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
#ifdef SR_TLS_OPENSSL
constexpr const char* kHttpsTls13Suites = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256";
constexpr const char* kHttpsGroups = "X25519:X448:P-256:P-384:P-521";
constexpr const char* kHttpsSigalgs =
    "ed25519:ed448:ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:"
    "rsa_pss_rsae_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512";
#else
constexpr const char* kHttpsGroups = "X25519:P-256:P-384:P-521";
constexpr uint16_t kHttpsSigalgs[] = {
    SSL_SIGN_ED25519,           SSL_SIGN_ECDSA_SECP256R1_SHA256, SSL_SIGN_ECDSA_SECP384R1_SHA384,
    SSL_SIGN_ECDSA_SECP521R1_SHA512, SSL_SIGN_RSA_PSS_RSAE_SHA256, SSL_SIGN_RSA_PSS_RSAE_SHA384,
    SSL_SIGN_RSA_PSS_RSAE_SHA512, SSL_SIGN_RSA_PKCS1_SHA256,   SSL_SIGN_RSA_PKCS1_SHA384,
    SSL_SIGN_RSA_PKCS1_SHA512};
#endif

[[noreturn]] void fail(const std::string& what) {
  const std::string detail = last_error();
  throw TlsError(detail.empty() ? what : what + ": " + detail);
}

// The whole file in a memory BIO; the text must outlive the BIO.
BioPtr memory_bio(const std::string& text) {
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) fail("out of memory");
  return bio;
}

std::string read_text(const std::string& file) {
  try {
    return fs::read_file(file);
  } catch (const fs::FileError& e) {
    throw TlsError(e.what());
  }
}

bool is_pem_end(unsigned long err) {
  return ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
}

// ---- tls-unique capture -----------------------------------------------------------------------------------

using Finished = std::vector<uint8_t>;

void free_finished(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Finished*>(ptr);
}

int finished_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_finished);
  return index;
}

Finished* finished_slot(SSL* ssl) {
  auto* slot = static_cast<Finished*>(SSL_get_ex_data(ssl, finished_index()));
  if (slot == nullptr) {
    slot = new Finished();
    if (SSL_set_ex_data(ssl, finished_index(), slot) != 1) {
      delete slot;
      return nullptr;
    }
  }
  return slot;
}

// tls-unique is the verify_data of the client's Finished (transport §3.6). The message callback sees every
// handshake message in both backends and both versions, unlike SSL_get_peer_finished, which BoringSSL leaves
// empty in TLS 1.3; so this is the one mechanism. Handshake message = type(1) + length(3) + body.
void capture_finished(int is_write, int, int content_type, const void* buf, size_t len, SSL* ssl, void*) {
  constexpr uint8_t kFinished = 20;
  if (content_type != SSL3_RT_HANDSHAKE || len < 4) return;
  const auto* msg = static_cast<const uint8_t*>(buf);
  if (msg[0] != kFinished) return;
  const bool sent_by_client = SSL_is_server(ssl) ? is_write == 0 : is_write != 0;
  if (!sent_by_client) return;
  if (Finished* slot = finished_slot(ssl)) slot->assign(msg + 4, msg + len);
}

// ---- ALPN -------------------------------------------------------------------------------------------------

using AlpnList = std::vector<std::string>;

void free_alpn(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<AlpnList*>(ptr);
}

int alpn_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_alpn);
  return index;
}

// Walk the client's list in its order and take the first name we support; no match is a fatal
// no_application_protocol alert (transport §3.5). Not called when the client sent no ALPN.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void* arg) {
  const auto* ours = static_cast<const AlpnList*>(arg);
  for (unsigned int i = 0; i < in_len;) {
    const unsigned int n = in[i];
    if (n == 0 || i + 1 + n > in_len) break;
    const std::string_view name(reinterpret_cast<const char*>(in + i + 1), n);
    for (const auto& candidate : *ours) {
      if (candidate == name) {
        *out = in + i + 1;
        *out_len = static_cast<unsigned char>(n);
        return SSL_TLSEXT_ERR_OK;
      }
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

std::string alpn_wire(const std::vector<std::string>& names) {
  std::string wire;
  for (const auto& name : names) {
    if (name.empty() || name.size() > 255) throw TlsError("invalid ALPN protocol name '" + name + "'");
    wire += static_cast<char>(name.size());
    wire += name;
  }
  return wire;
}

// ---- common context setup ---------------------------------------------------------------------------------

// Cipher suites, groups and signature algorithms: the reference's native set, or the HTTPS set (web certificate).
void set_parameters(SSL_CTX* raw, bool https) {
  if (SSL_CTX_set_cipher_list(raw, https ? kHttpsTls12Ciphers : kTls12Ciphers) != 1)
    fail("cannot set TLS 1.2 cipher list");
#ifdef SR_TLS_OPENSSL
  if (SSL_CTX_set_ciphersuites(raw, https ? kHttpsTls13Suites : kTls13Suites) != 1)
    fail("cannot set TLS 1.3 cipher suites");
  if (SSL_CTX_set1_groups_list(raw, https ? kHttpsGroups : kGroups) != 1) fail("cannot set key exchange groups");
  if (SSL_CTX_set1_sigalgs_list(raw, https ? kHttpsSigalgs : kSigalgs) != 1)
    fail("cannot set signature algorithms");
#else
  // BoringSSL's TLS 1.3 suites are fixed (AES-GCM and CHACHA20-POLY1305, ordered by hardware support); there is
  // no API to limit them to TLS_CHACHA20_POLY1305_SHA256, so a BoringSSL peer may negotiate AES-GCM.
  if (SSL_CTX_set1_curves_list(raw, https ? kHttpsGroups : kGroups) != 1) fail("cannot set key exchange groups");
  const uint16_t* algs = https ? kHttpsSigalgs : kSigalgs;
  const size_t n = https ? std::size(kHttpsSigalgs) : std::size(kSigalgs);
  if (SSL_CTX_set_signing_algorithm_prefs(raw, algs, n) != 1 || SSL_CTX_set_verify_algorithm_prefs(raw, algs, n) != 1)
    fail("cannot set signature algorithms");
#endif
}

CtxPtr new_context(const SSL_METHOD* method, bool https = false) {
  SSL_CTX* raw = SSL_CTX_new(method);
  if (raw == nullptr) fail("cannot create TLS context");
  CtxPtr ctx(raw, CtxFree{});

  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION) != 1)
    fail("cannot set TLS versions");
  set_parameters(raw, https);

  // No resumption of any kind: the reference has no session manager (transport §3.1).
  SSL_CTX_set_options(raw, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_num_tickets(raw, 0) != 1) fail("cannot disable session tickets");
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  // The chain is exactly what we configure. SSL_MODE_RELEASE_BUFFERS is 0 in BoringSSL, which frees idle
  // buffers by itself.
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);

  SSL_CTX_set_msg_callback(raw, capture_finished);
  return ctx;
}

// ---- web certificate by SNI (xftp §3.2) ------------------------------------------------------------------------

void free_web_ctx(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  if (ptr != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ptr));
}

int web_ctx_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_web_ctx);
  return index;
}

int sni_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// A client that names a host gets the web chain; the flag records it for the role (web connection).
int select_by_servername(SSL* ssl, int*, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr || *name == '\0') return SSL_TLSEXT_ERR_OK;
  auto* web = static_cast<SSL_CTX*>(arg);
  if (SSL_set_SSL_CTX(ssl, web) != web) return SSL_TLSEXT_ERR_ALERT_FATAL;
  // The verify mode stays the identity context's; a browser is no SMP service, so it is not asked for a client
  // certificate (which could make it prompt the user to pick one).
  SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
  SSL_set_ex_data(ssl, sni_index(), reinterpret_cast<void*>(1));
  return SSL_TLSEXT_ERR_OK;
}

// Certificate chain (leaf first, then every further certificate of the files) and key into ctx.
void use_chain(SSL_CTX* raw, const std::vector<X509Ptr>& certs, const std::string& cert_file,
               const std::vector<X509Ptr>& extra, const std::string& extra_file, EVP_PKEY* key,
               const std::string& key_file) {
  if (SSL_CTX_use_certificate(raw, certs.front().get()) != 1) fail(cert_file + ": cannot use certificate");
  for (size_t i = 1; i < certs.size(); ++i)
    if (SSL_CTX_add1_chain_cert(raw, certs[i].get()) != 1) fail(cert_file + ": cannot add certificate to chain");
  for (const auto& cert : extra)
    if (SSL_CTX_add1_chain_cert(raw, cert.get()) != 1) fail(extra_file + ": cannot add certificate to chain");
  if (X509_check_private_key(certs.front().get(), key) != 1)
    fail(key_file + ": private key does not match " + cert_file);
  if (SSL_CTX_use_PrivateKey(raw, key) != 1) fail(key_file + ": cannot use private key");
}

void set_alpn(SSL_CTX* raw, const std::vector<std::string>& alpn) {
  if (alpn.empty()) return;
  alpn_wire(alpn);  // validates the names
  auto* list = new AlpnList(alpn);
  if (SSL_CTX_set_ex_data(raw, alpn_index(), list) != 1) {
    delete list;
    fail("cannot store ALPN list");
  }
  SSL_CTX_set_alpn_select_cb(raw, select_alpn, list);
}

int accept_any_certificate(int, X509_STORE_CTX*) {
  return 1;  // service certificates are classified after the handshake (transport §3.8)
}

}  // namespace

const char* backend_name() {
#ifdef SR_TLS_OPENSSL
  static const std::string name = std::string("OpenSSL ") + OpenSSL_version(OPENSSL_VERSION_STRING);
  return name.c_str();
#else
  return "BoringSSL";
#endif
}

bool ed448_supported() {
#ifdef SR_TLS_OPENSSL
  return true;
#else
  return false;
#endif
}

std::string last_error() {
  std::string out;
  while (const unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

std::vector<X509Ptr> read_pem_certs(const std::string& file) {
  const std::string text = read_text(file);
  BioPtr bio = memory_bio(text);
  std::vector<X509Ptr> certs;
  ERR_clear_error();
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(cert);
  // Reading stops with "no start line" at the end of the file; anything else is a broken certificate.
  if (const unsigned long err = ERR_peek_last_error(); err != 0 && !is_pem_end(err))
    fail(file + ": invalid certificate");
  ERR_clear_error();
  return certs;
}

PkeyPtr read_private_key(const std::string& file) {
  const std::string text = read_text(file);
  ERR_clear_error();
  PkeyPtr key(PEM_read_bio_PrivateKey(memory_bio(text).get(), nullptr, nullptr, nullptr));
#ifdef SR_TLS_BORINGSSL
  if (!key) {
    // Tell an unsupported Ed448 key apart from a broken file.
    ERR_clear_error();
    PKCS8_PRIV_KEY_INFO* p8 = PEM_read_bio_PKCS8_PRIV_KEY_INFO(memory_bio(text).get(), nullptr, nullptr, nullptr);
    ASN1_OBJECT* alg = nullptr;
    const bool ed448 = p8 != nullptr && PKCS8_pkey_get0(&alg, nullptr, nullptr, nullptr, p8) == 1 &&
                       OBJ_obj2nid(alg) == NID_ED448;
    PKCS8_PRIV_KEY_INFO_free(p8);
    ERR_clear_error();
    if (ed448)
      throw TlsError(file + ": Ed448 keys are not supported by the BoringSSL build; use the OpenSSL build "
                            "(default) or re-initialise with -a ED25519");
  }
#endif
  if (!key) fail(file + ": cannot load private key");
  return key;
}

std::vector<uint8_t> cert_der(const X509* cert) {
  const int len = i2d_X509(const_cast<X509*>(cert), nullptr);
  if (len <= 0) fail("cannot encode certificate");
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  i2d_X509(const_cast<X509*>(cert), &p);
  return der;
}

CtxPtr make_server_context(const std::string& cert_file, const std::string& ca_file, const std::string& key_file,
                           const ServerOptions& options) {
  PkeyPtr key = read_private_key(key_file);
  std::vector<X509Ptr> certs = read_pem_certs(cert_file);
  if (certs.empty()) throw TlsError(cert_file + ": no certificate found");
  std::vector<X509Ptr> ca_certs = read_pem_certs(ca_file);
  if (ca_certs.empty()) throw TlsError(ca_file + ": no certificate found");

  const bool https = options.web.has_value();
  CtxPtr ctx = new_context(TLS_server_method(), https);
  SSL_CTX* raw = ctx.get();

  // Sent chain: every certificate of cert_file, then every one of ca_file (transport §3.2: [online, CA]).
  use_chain(raw, certs, cert_file, ca_certs, ca_file, key.get(), key_file);
  set_alpn(raw, options.alpn);

  if (https) {
    const auto& w = *options.web;
    // After the switch ALPN is looked up on the web context.
    CtxPtr web = make_web_context(w, w.alpn.empty() ? options.alpn : w.alpn);
    // The identity context owns a reference to the web context (freed with it, free_web_ctx).
    SSL_CTX* web_raw = web.get();
    SSL_CTX_up_ref(web_raw);
    if (SSL_CTX_set_ex_data(raw, web_ctx_index(), web_raw) != 1) {
      SSL_CTX_free(web_raw);
      fail("cannot store web certificate context");
    }
    SSL_CTX_set_tlsext_servername_callback(raw, select_by_servername);
    SSL_CTX_set_tlsext_servername_arg(raw, web_raw);
  }

  if (options.request_client_cert) {
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, accept_any_certificate);
    // OpenSSL insists on a session id context whenever peer verification is on.
    static constexpr unsigned char kSidCtx[] = "simplex-relay";
    if (SSL_CTX_set_session_id_context(raw, kSidCtx, sizeof kSidCtx - 1) != 1) fail("cannot set session context");
  }
  return ctx;
}

CtxPtr make_web_context(const WebCertificate& w, const std::vector<std::string>& alpn) {
  PkeyPtr web_key = read_private_key(w.key_file);
  std::vector<X509Ptr> web_certs = read_pem_certs(w.cert_file);
  if (web_certs.empty()) throw TlsError(w.cert_file + ": no certificate found");
  CtxPtr web = new_context(TLS_server_method(), true);
  use_chain(web.get(), web_certs, w.cert_file, {}, "", web_key.get(), w.key_file);
  set_alpn(web.get(), alpn);
  return web;
}

CtxPtr make_client_context(const std::vector<std::string>& alpn, bool https) {
  CtxPtr ctx = new_context(TLS_client_method(), https);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (!alpn.empty()) {
    const std::string wire = alpn_wire(alpn);
    // Returns 0 on success, unlike nearly everything else.
    if (SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0)
      fail("cannot set ALPN list");
  }
  return ctx;
}

void prepare(SSL* ssl) {
  finished_slot(ssl);
}

std::vector<uint8_t> session_id(const SSL* ssl) {
  const auto* slot = static_cast<const Finished*>(SSL_get_ex_data(ssl, finished_index()));
  return slot != nullptr ? *slot : std::vector<uint8_t>{};
}

std::string alpn_selected(const SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return data != nullptr ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
}

bool sni_used(const SSL* ssl) { return SSL_get_ex_data(ssl, sni_index()) != nullptr; }

std::vector<std::vector<uint8_t>> peer_chain_der(const SSL* ssl) {
  std::vector<std::vector<uint8_t>> out;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  // A server's stack leaves out the client's leaf; a client's stack starts with the server's leaf.
  if (SSL_is_server(ssl)) {
#ifdef SR_TLS_OPENSSL
    const X509* leaf = SSL_get0_peer_certificate(ssl);
#else
    const X509Ptr leaf_ref(SSL_get_peer_certificate(ssl));
    const X509* leaf = leaf_ref.get();
#endif
    if (leaf == nullptr) return out;
    out.push_back(cert_der(leaf));
  }
  if (chain != nullptr) {
    const auto n = sk_X509_num(chain);  // int in OpenSSL, size_t in BoringSSL
    for (std::remove_const_t<decltype(n)> i = 0; i < n; ++i) out.push_back(cert_der(sk_X509_value(chain, i)));
  }
  return out;
}

crypto::PrivateKey raw_private_key(const EVP_PKEY* key) {
  crypto::PrivateKey out;
  const int type = EVP_PKEY_id(key);
  if (type == EVP_PKEY_ED25519)
    out.alg = crypto::KeyAlg::Ed25519;
#ifdef EVP_PKEY_ED448
  else if (type == EVP_PKEY_ED448)
    out.alg = crypto::KeyAlg::Ed448;
#endif
  else
    throw TlsError("the private key is neither Ed25519 nor Ed448");
  size_t len = 0;
  if (EVP_PKEY_get_raw_private_key(key, nullptr, &len) != 1) throw TlsError(last_error());
  out.raw.resize(len);
  if (EVP_PKEY_get_raw_private_key(key, out.raw.data(), &len) != 1) throw TlsError(last_error());
  return out;
}

}  // namespace sr::tls
