#include "core/certs.hpp"
// Before the other OpenSSL headers: it includes them under the BoringSSL warning guard.
#include "core/tls.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "core/fsutil.hpp"

namespace sr::certs {
namespace {

namespace stdfs = std::filesystem;
using tls::BioPtr;
using tls::Deleter;
using tls::PkeyPtr;
using tls::X509Ptr;

// File names of the reference's X509Config defaults.
constexpr const char* kCaConf = "openssl_ca.conf";
constexpr const char* kCaKey = "ca.key";
constexpr const char* kCaCrt = "ca.crt";
constexpr const char* kCaSrl = "ca.srl";
constexpr const char* kServerConf = "openssl_server.conf";
constexpr const char* kServerKey = "server.key";
constexpr const char* kServerCsr = "server.csr";
constexpr const char* kServerCrt = "server.crt";
constexpr const char* kFingerprint = "fingerprint";

constexpr int kValidityDays = 999999;
constexpr unsigned kKeyMode = 0600;
constexpr unsigned kFileMode = 0644;

struct Rdn {
  const char* key;  // as written in the [req_distinguished_name] section
  int nid;
  std::string value;
};

// One `name = value` line of a [v3] section; the same pair is both written to the .conf file and applied.
struct ExtLine {
  const char* name;
  const char* value;
};

constexpr ExtLine kCaV3[] = {
    {"subjectKeyIdentifier", "hash"},
    {"authorityKeyIdentifier", "keyid:always"},
    {"basicConstraints", "critical,CA:true"},
};
constexpr ExtLine kServerV3[] = {
    {"basicConstraints", "CA:FALSE"},
    {"keyUsage", "digitalSignature, nonRepudiation, keyAgreement"},
    {"extendedKeyUsage", "serverAuth"},
};
// What OpenSSL 3's `x509 -req` adds after the -extfile section when it is missing there.
constexpr ExtLine kX509ReqDefaults[] = {
    {"subjectKeyIdentifier", "hash"},
    {"authorityKeyIdentifier", "keyid, issuer"},
};

std::vector<Rdn> ca_dn() {
  return {{"CN", NID_commonName, "SMP server CA"}, {"O", NID_organizationName, "SimpleX"}};
}
std::vector<Rdn> server_dn(const std::string& cn) {
  return {{"CN", NID_commonName, cn}};
}

// The request configuration the reference writes next to the keys (server-operations.md §3.6.3).
std::string req_conf(const std::vector<Rdn>& dn, std::span<const ExtLine> v3) {
  std::string text = "[req]\ndistinguished_name = req_distinguished_name\nprompt = no\n\n[req_distinguished_name]\n";
  for (const auto& rdn : dn) text += std::string(rdn.key) + " = " + rdn.value + "\n";
  text += "\n[v3]\n";
  for (const auto& ext : v3) text += std::string(ext.name) + " = " + ext.value + "\n";
  return text;
}

[[noreturn]] void fail(const std::string& what) {
  const std::string detail = tls::last_error();
  throw CertError(detail.empty() ? what : what + ": " + detail);
}

void free_extensions(STACK_OF(X509_EXTENSION) * sk) {
  sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
}
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using IntPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using ExtsPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<free_extensions>>;

// Runs a PEM writer into memory and returns the text.
template <typename Write>
std::string pem_text(Write&& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) fail("cannot encode PEM");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

void write(const stdfs::path& path, std::string_view content, unsigned mode) {
  try {
    fs::write_file(path, content, mode);
  } catch (const fs::FileError& e) {
    throw CertError(e.what());
  }
}

PkeyPtr generate_key(KeyAlg alg) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(alg == KeyAlg::Ed25519 ? EVP_PKEY_ED25519 : EVP_PKEY_ED448, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &key) != 1)
    fail(std::string("cannot generate ") + alg_name(alg) + " key");
  return PkeyPtr(key);
}

// Private keys are PKCS#8 PEM ("BEGIN PRIVATE KEY"), as `openssl genpkey` writes them.
void write_key(const stdfs::path& path, EVP_PKEY* key, unsigned mode) {
  const std::string pem = pem_text([&](BIO* b) {
    return PEM_write_bio_PKCS8PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  write(path, pem, mode);
}

NamePtr make_name(const std::vector<Rdn>& dn) {
  NamePtr name(X509_NAME_new());
  if (!name) fail("out of memory");
  // UTF8String, as `openssl req` makes with its default string_mask utf8only.
  for (const auto& rdn : dn)
    if (X509_NAME_add_entry_by_NID(name.get(), rdn.nid, V_ASN1_UTF8STRING,
                                   reinterpret_cast<const unsigned char*>(rdn.value.data()),
                                   static_cast<int>(rdn.value.size()), -1, 0) != 1)
      fail("invalid subject " + std::string(rdn.key) + " = " + rdn.value);
  return name;
}

X509_EXTENSION* make_ext(X509V3_CTX* ctx, const ExtLine& line) {
  X509_EXTENSION* ext = X509V3_EXT_nconf(nullptr, ctx, line.name, line.value);
  if (ext == nullptr) fail(std::string("cannot make extension ") + line.name + " = " + line.value);
  return ext;
}

// Added one by one, so authorityKeyIdentifier finds the subjectKeyIdentifier added just before (self-signed CA).
void add_extensions(X509* cert, X509V3_CTX* ctx, std::span<const ExtLine> lines) {
  for (const auto& line : lines) {
    X509_EXTENSION* ext = make_ext(ctx, line);
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1) fail(std::string("cannot add extension ") + line.name);
  }
}

// A fresh positive serial of at most 159 bits, like OpenSSL's rand_serial.
BnPtr random_serial() {
  auto bytes = crypto::random_bytes(20);
  bytes[0] &= 0x7f;
  BnPtr bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn) fail("out of memory");
  return bn;
}

void set_serial(X509* cert, const BIGNUM* serial) {
  IntPtr asn(BN_to_ASN1_INTEGER(serial, nullptr));
  if (!asn || X509_set_serialNumber(cert, asn.get()) != 1) fail("cannot set serial number");
}

// `-CAcreateserial`: the serial file holds the last serial used; the next certificate gets it plus one
// (a random start when the file is missing), written back as upper-case hex and a newline.
BnPtr next_serial(const stdfs::path& srl) {
  BnPtr serial;
  if (auto line = fs::read_first_line(srl)) {
    BIGNUM* bn = nullptr;
    if (line->empty() || BN_hex2bn(&bn, line->c_str()) != static_cast<int>(line->size()))
      fail("unable to load number from " + srl.string());
    serial.reset(bn);
  } else {
    serial = random_serial();
  }
  if (BN_add_word(serial.get(), 1) != 1) fail("cannot increment serial");
  char* hex = BN_bn2hex(serial.get());
  if (hex == nullptr) fail("out of memory");
  std::string text = hex;
  OPENSSL_free(hex);
  if (text.size() % 2 != 0) text.insert(0, "0");  // whole bytes, as i2a_ASN1_INTEGER prints them
  write(srl, text + "\n", kFileMode);
  return serial;
}

// Version 3, validity now .. now + 999999 days (GeneralizedTime past 2049, as OpenSSL picks).
X509Ptr new_cert(const BIGNUM* serial, X509_NAME* issuer, X509_NAME* subject, EVP_PKEY* pubkey) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("out of memory");
  set_serial(cert.get(), serial);
  if (X509_set_issuer_name(cert.get(), issuer) != 1 || X509_set_subject_name(cert.get(), subject) != 1)
    fail("cannot set certificate names");
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), kValidityDays, 0, nullptr) == nullptr)
    fail("cannot set certificate validity");
  if (X509_set_pubkey(cert.get(), pubkey) != 1) fail("cannot set certificate key");
  return cert;
}

// EdDSA signs the message itself: no separate digest.
void sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, nullptr) <= 0) fail("cannot sign certificate");
}

std::vector<X509Ptr> read_certs(const stdfs::path& path) {
  try {
    return tls::read_pem_certs(path.string());
  } catch (const tls::TlsError& e) {
    throw CertError(e.what());
  }
}

PkeyPtr read_key(const stdfs::path& path) {
  try {
    return tls::read_private_key(path.string());
  } catch (const tls::TlsError& e) {
    throw CertError(e.what());
  }
}

// The reference names a foreign signature algorithm with Haskell's `show` of crypton-x509's SignatureALG.
std::string show_signature_alg(const X509* cert) {
  const X509_ALGOR* algor = nullptr;
  X509_get0_signature(nullptr, &algor, cert);
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, algor);
  char dotted[128] = {0};
  if (obj == nullptr || OBJ_obj2txt(dotted, sizeof dotted, obj, 1) <= 0) return "SignatureALG_Unknown []";
  static constexpr std::pair<std::string_view, std::string_view> kKnown[] = {
      {"1.2.840.113549.1.1.5", "SignatureALG HashSHA1 PubKeyALG_RSA"},
      {"1.2.840.113549.1.1.4", "SignatureALG HashMD5 PubKeyALG_RSA"},
      {"1.2.840.113549.1.1.2", "SignatureALG HashMD2 PubKeyALG_RSA"},
      {"1.2.840.113549.1.1.11", "SignatureALG HashSHA256 PubKeyALG_RSA"},
      {"1.2.840.113549.1.1.12", "SignatureALG HashSHA384 PubKeyALG_RSA"},
      {"1.2.840.113549.1.1.13", "SignatureALG HashSHA512 PubKeyALG_RSA"},
      {"1.2.840.113549.1.1.14", "SignatureALG HashSHA224 PubKeyALG_RSA"},
      {"1.2.840.10040.4.3", "SignatureALG HashSHA1 PubKeyALG_DSA"},
      {"1.2.840.10045.4.1", "SignatureALG HashSHA1 PubKeyALG_EC"},
      {"1.2.840.10045.4.3.1", "SignatureALG HashSHA224 PubKeyALG_EC"},
      {"1.2.840.10045.4.3.2", "SignatureALG HashSHA256 PubKeyALG_EC"},
      {"1.2.840.10045.4.3.3", "SignatureALG HashSHA384 PubKeyALG_EC"},
      {"1.2.840.10045.4.3.4", "SignatureALG HashSHA512 PubKeyALG_EC"},
      {"2.16.840.1.101.3.4.3.1", "SignatureALG HashSHA224 PubKeyALG_DSA"},
      {"2.16.840.1.101.3.4.3.2", "SignatureALG HashSHA256 PubKeyALG_DSA"},
  };
  for (const auto& [oid, shown] : kKnown)
    if (oid == dotted) return std::string(shown);
  // Unknown OIDs (RSASSA-PSS included: its hash sits in the parameters) show as the OID's arc list.
  std::string arcs = dotted;
  for (char& c : arcs)
    if (c == '.') c = ',';
  return "SignatureALG_Unknown [" + arcs + "]";
}

bool signature_alg(const X509* cert, KeyAlg& out) {
  switch (X509_get_signature_nid(cert)) {
    case NID_ED25519: out = KeyAlg::Ed25519; return true;
    case NID_ED448: out = KeyAlg::Ed448; return true;
    default: return false;
  }
}

}  // namespace

const char* alg_name(KeyAlg alg) {
  return alg == KeyAlg::Ed25519 ? "ED25519" : "ED448";
}

bool parse_alg(std::string_view word, KeyAlg& out) {
  if (word == "ED25519") out = KeyAlg::Ed25519;
  else if (word == "ED448") out = KeyAlg::Ed448;
  else return false;
  return true;
}

void check_alg_supported(KeyAlg alg) {
  if (alg == KeyAlg::Ed448 && !tls::ed448_supported())
    throw CertError(
        "Ed448 certificates are not supported in the BoringSSL build of simplex-relay; use -a ED25519 or the "
        "OpenSSL build");
}

void create_ca_and_online(const stdfs::path& cfg_dir, KeyAlg alg, const std::string& online_cn) {
  check_alg_supported(alg);
  const auto dn = ca_dn();
  write(cfg_dir / kCaConf, req_conf(dn, kCaV3), kFileMode);

  PkeyPtr key = generate_key(alg);
  write_key(cfg_dir / kCaKey, key.get(), kKeyMode);

  // `req -new -x509 -extensions v3`: self-signed, random serial.
  NamePtr name = make_name(dn);
  X509Ptr cert = new_cert(random_serial().get(), name.get(), name.get(), key.get());
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extensions(cert.get(), &ctx, kCaV3);
  sign(cert.get(), key.get());
  write(cfg_dir / kCaCrt, pem_text([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); }), kFileMode);

  create_online(cfg_dir, alg, online_cn);
}

void create_online(const stdfs::path& cfg_dir, KeyAlg alg, const std::string& cn) {
  check_alg_supported(alg);
  // The CA must load before anything is rewritten, so a missing ca.key leaves the old credentials intact.
  const stdfs::path ca_crt_path = cfg_dir / kCaCrt;
  auto ca_certs = read_certs(ca_crt_path);
  if (ca_certs.empty()) throw CertError("No certificate found at " + ca_crt_path.string());
  X509* ca = ca_certs.front().get();
  PkeyPtr ca_key = read_key(cfg_dir / kCaKey);
  if (X509_check_private_key(ca, ca_key.get()) != 1)
    fail("CA certificate and CA private key do not match");

  const auto dn = server_dn(cn);
  write(cfg_dir / kServerConf, req_conf(dn, kServerV3), kFileMode);

  // The reference's `cert` rewrites an existing server.key in place, so mode and owner stay: a key made for
  // the server's user must stay readable by it when root runs `cert`.
  const stdfs::path key_path = cfg_dir / kServerKey;
  struct stat old {};
  const bool existed = ::stat(key_path.c_str(), &old) == 0;
  PkeyPtr key = generate_key(alg);
  write_key(key_path, key.get(), existed ? (old.st_mode & 07777) : kKeyMode);
  if (existed) {
    // Only root may give a file away; anyone else keeps the owner they are.
    if (::chown(key_path.c_str(), old.st_uid, old.st_gid) != 0 && errno != EPERM)
      throw CertError(key_path.string() + ": " + std::strerror(errno));
    if (::chmod(key_path.c_str(), old.st_mode & 07777) != 0)
      throw CertError(key_path.string() + ": " + std::strerror(errno));
  }

  // `req -new -reqexts v3`: the v3 section as requested extensions.
  NamePtr subject = make_name(dn);
  ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), subject.get()) != 1 || X509_REQ_set_pubkey(req.get(), key.get()) != 1)
    fail("cannot make certificate request");
  {
    X509V3_CTX ctx{};
    X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
    ExtsPtr exts(sk_X509_EXTENSION_new_null());
    if (!exts) fail("out of memory");
    for (const auto& line : kServerV3) {
      X509_EXTENSION* ext = make_ext(&ctx, line);
      if (!sk_X509_EXTENSION_push(exts.get(), ext)) {
        X509_EXTENSION_free(ext);
        fail("out of memory");
      }
    }
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) fail("cannot add requested extensions");
  }
  if (X509_REQ_sign(req.get(), key.get(), nullptr) <= 0) fail("cannot sign certificate request");
  write(cfg_dir / kServerCsr, pem_text([&](BIO* b) { return PEM_write_bio_X509_REQ(b, req.get()); }), kFileMode);

  // `x509 -req -extfile openssl_server.conf -extensions v3 -CAcreateserial`: the CSR's extensions are not
  // copied; the v3 section plus OpenSSL's SKI/AKI defaults are.
  BnPtr serial = next_serial(cfg_dir / kCaSrl);
  X509Ptr cert = new_cert(serial.get(), X509_get_subject_name(ca), subject.get(), key.get());
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, ca, cert.get(), nullptr, nullptr, 0);
  add_extensions(cert.get(), &ctx, kServerV3);
  add_extensions(cert.get(), &ctx, kX509ReqDefaults);
  sign(cert.get(), ca_key.get());
  write(cfg_dir / kServerCrt, pem_text([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); }), kFileMode);

  write(cfg_dir / kFingerprint, fingerprint_of_file(ca_crt_path) + "\n", kFileMode);
}

std::vector<uint8_t> sha256_of_first_cert_der(const stdfs::path& pem_file) {
  const auto certs = read_certs(pem_file);
  if (certs.empty()) throw CertError("No certificate found at " + pem_file.string());
  const auto der = tls::cert_der(certs.front().get());
  std::vector<uint8_t> digest(SHA256_DIGEST_LENGTH);
  SHA256(der.data(), der.size(), digest.data());
  return digest;
}

std::string fingerprint_of_file(const stdfs::path& ca_crt) {
  return base64url_encode(sha256_of_first_cert_der(ca_crt));
}

CertInfo read_cert_info(const stdfs::path& crt) {
  const auto certs = read_certs(crt);
  if (certs.empty()) throw CertError("No certificate found at " + crt.string());
  if (certs.size() > 1) throw CertError("Too many certificates at " + crt.string());
  const X509* cert = certs.front().get();

  CertInfo info{};
  if (!signature_alg(cert, info.alg)) throw CertError("Unexpected signature algorithm " + show_signature_alg(cert));

  const X509_NAME* subject = X509_get_subject_name(cert);
  const int idx = X509_NAME_get_index_by_NID(const_cast<X509_NAME*>(subject), NID_commonName, -1);
  if (idx < 0) throw CertError("Certificate subject has no CN element");
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(const_cast<X509_NAME*>(subject), idx));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, value);
  if (len < 0) {
    tls::last_error();  // drop the queued reason
    throw CertError("Certificate subject CN decoding failed");
  }
  info.cn.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return info;
}



std::optional<crypto::PublicKey> cert_public_key(std::span<const uint8_t> cert_der) {
  const unsigned char* p = cert_der.data();
  tls::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(cert_der.size())));
  if (!cert) return std::nullopt;
  unsigned char* der = nullptr;
  const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  if (n <= 0) return std::nullopt;
  std::vector<uint8_t> spki(der, der + n);
  OPENSSL_free(der);
  return crypto::decode_spki(spki);
}

std::string check_client_chain(const std::vector<std::vector<uint8_t>>& chain, std::time_t now) {
  if (chain.empty() || chain.size() > 4) return chain.empty() ? "no certificate" : "chain too long";
  std::vector<tls::X509Ptr> certs;
  for (const auto& der : chain) {
    const unsigned char* p = der.data();
    tls::X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!c || p != der.data() + der.size()) return "malformed certificate";
    if (X509_cmp_time(X509_get0_notBefore(c.get()), &now) > 0) return "certificate not yet valid";
    if (X509_cmp_time(X509_get0_notAfter(c.get()), &now) < 0) return "certificate expired";
    certs.push_back(std::move(c));
  }
  // The last certificate is the trust anchor: each one before it must be signed by its successor.
  for (size_t i = 0; i + 1 < certs.size(); ++i) {
    tls::PkeyPtr issuer(X509_get_pubkey(certs[i + 1].get()));
    if (!issuer || X509_verify(certs[i].get(), issuer.get()) != 1) return "invalid signature";
  }
  return {};
}

}  // namespace sr::certs
