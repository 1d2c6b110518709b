#include <catch2/catch.hpp>

#include "text_files.hpp"

#include "core/certs.hpp"
#include "core/tls.hpp"  // before the other OpenSSL headers (BoringSSL warning guard)

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/encoding.hpp"
#include "core/fsutil.hpp"

namespace stdfs = std::filesystem;
using sr::certs::CertError;
using sr::certs::KeyAlg;
using sr::tls::X509Ptr;

using sr::test::TempDir;

namespace {

const stdfs::path kFixtures = SR_FIXTURES_DIR;

// Sets the umask for one test so file modes do not depend on the caller's shell.
struct Umask {
  mode_t old;
  explicit Umask(mode_t m) : old(::umask(m)) {}
  ~Umask() { ::umask(old); }
};

unsigned mode_of(const stdfs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

X509Ptr only_cert(const stdfs::path& p) {
  auto certs = sr::tls::read_pem_certs(p.string());
  REQUIRE(certs.size() == 1);
  return std::move(certs.front());
}

std::string entry_text(X509_NAME* name, int index, int expected_nid) {
  X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, index);
  REQUIRE(entry != nullptr);
  CHECK(OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry)) == expected_nid);
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(entry);
  CHECK(ASN1_STRING_type(data) == V_ASN1_UTF8STRING);
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<size_t>(ASN1_STRING_length(data)));
}

std::vector<int> extension_nids(X509* cert) {
  std::vector<int> nids;
  for (int i = 0; i < X509_get_ext_count(cert); ++i)
    nids.push_back(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(cert, i))));
  return nids;
}

bool critical(X509* cert, int nid) {
  const int i = X509_get_ext_by_NID(cert, nid, -1);
  REQUIRE(i >= 0);
  return X509_EXTENSION_get_critical(X509_get_ext(cert, i)) == 1;
}

std::vector<uint8_t> octets(const ASN1_OCTET_STRING* s) {
  REQUIRE(s != nullptr);
  const uint8_t* p = ASN1_STRING_get0_data(s);
  return {p, p + ASN1_STRING_length(s)};
}

void check_validity(X509* cert) {
  int days = 0, secs = 0;
  REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)) == 1);
  CHECK(days == 999999);
  CHECK(secs == 0);
  CHECK(ASN1_STRING_type(X509_get0_notAfter(cert)) == V_ASN1_GENERALIZEDTIME);
  CHECK(X509_cmp_current_time(X509_get0_notBefore(cert)) <= 0);
}

std::string serial_hex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  REQUIRE(bn != nullptr);
  CHECK(BN_is_negative(bn) == 0);
  CHECK(BN_num_bytes(bn) <= 20);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::vector<KeyAlg> supported_algs() {
  std::vector<KeyAlg> algs{KeyAlg::Ed25519};
  if (sr::tls::ed448_supported()) algs.push_back(KeyAlg::Ed448);
  return algs;
}

// A self-signed certificate with the given key; subject has only the given entries.
X509Ptr self_signed(EVP_PKEY* key, const EVP_MD* md, const char* field, const char* value) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_NAME* name = X509_get_subject_name(cert.get());
  REQUIRE(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value), -1,
                                     -1, 0) == 1);
  X509_set_issuer_name(cert.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  REQUIRE(X509_sign(cert.get(), key, md) > 0);
  return cert;
}

sr::tls::PkeyPtr keygen(int type) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(type, nullptr);
  REQUIRE(ctx != nullptr);
  REQUIRE(EVP_PKEY_keygen_init(ctx) == 1);
  if (type == EVP_PKEY_RSA) REQUIRE(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) == 1);
  EVP_PKEY* key = nullptr;
  REQUIRE(EVP_PKEY_keygen(ctx, &key) == 1);
  EVP_PKEY_CTX_free(ctx);
  return sr::tls::PkeyPtr(key);
}

void write_pem(const stdfs::path& p, X509* cert) {
  FILE* f = std::fopen(p.c_str(), "w");
  REQUIRE(f != nullptr);
  REQUIRE(PEM_write_X509(f, cert) == 1);
  std::fclose(f);
}

std::string error_of(const stdfs::path& crt) {
  try {
    sr::certs::read_cert_info(crt);
  } catch (const CertError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("fingerprints of the reference fixtures", "[certs]") {
  CHECK(sr::certs::fingerprint_of_file(kFixtures / "ed25519" / "ca.crt") ==
        "evk6yvqIaOtOVWfFhXQTdQRtlKeDy_4MXsJDYh2agys=");
  // The Ed448 certificate only has to parse, which BoringSSL can do too.
  CHECK(sr::certs::fingerprint_of_file(kFixtures / "ca.crt") == "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=");
  const auto digest = sr::certs::sha256_of_first_cert_der(kFixtures / "ca.crt");
  CHECK(sr::base64url_encode(digest) == "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=");
  CHECK(digest.size() == 32);
  CHECK(digest[0] == 0x2d);
  CHECK(digest[31] == 0x32);
}

TEST_CASE("fingerprint uses the first certificate of the file", "[certs]") {
  TempDir dir;
  const auto two = dir.path / "two.crt";
  sr::fs::write_file(two, sr::fs::read_file(kFixtures / "ed25519" / "ca.crt") +
                              sr::fs::read_file(kFixtures / "ca.crt"));
  CHECK(sr::certs::fingerprint_of_file(two) == "evk6yvqIaOtOVWfFhXQTdQRtlKeDy_4MXsJDYh2agys=");
  sr::fs::write_file(dir.path / "empty.crt", "");
  CHECK_THROWS_AS(sr::certs::fingerprint_of_file(dir.path / "empty.crt"), CertError);
  CHECK_THROWS_AS(sr::certs::fingerprint_of_file(dir.path / "missing.crt"), CertError);
}

TEST_CASE("algorithm names", "[certs]") {
  KeyAlg alg{};
  CHECK(sr::certs::parse_alg("ED25519", alg));
  CHECK(alg == KeyAlg::Ed25519);
  CHECK(sr::certs::parse_alg("ED448", alg));
  CHECK(alg == KeyAlg::Ed448);
  CHECK_FALSE(sr::certs::parse_alg("ed25519", alg));
  CHECK_FALSE(sr::certs::parse_alg("ED25519 ", alg));
  CHECK(std::string(sr::certs::alg_name(KeyAlg::Ed25519)) == "ED25519");
  CHECK(std::string(sr::certs::alg_name(KeyAlg::Ed448)) == "ED448");
}

TEST_CASE("Ed448 is refused only in the BoringSSL build", "[certs]") {
  CHECK_NOTHROW(sr::certs::check_alg_supported(KeyAlg::Ed25519));
  if (sr::tls::ed448_supported()) {
    CHECK_NOTHROW(sr::certs::check_alg_supported(KeyAlg::Ed448));
  } else {
    CHECK_THROWS_WITH(sr::certs::check_alg_supported(KeyAlg::Ed448),
                      "Ed448 certificates are not supported in the BoringSSL build of simplex-relay; use -a ED25519 "
                      "or the OpenSSL build");
    TempDir dir;
    CHECK_THROWS_AS(sr::certs::create_ca_and_online(dir.path, KeyAlg::Ed448, "localhost"), CertError);
    CHECK(stdfs::is_empty(dir.path));
  }
}

TEST_CASE("init credentials: files, modes, profile and fingerprint", "[certs]") {
  for (const KeyAlg alg : supported_algs()) {
    INFO(sr::certs::alg_name(alg));
    Umask umask(022);
    TempDir dir;
    const auto& d = dir.path;
    sr::certs::create_ca_and_online(d, alg, "smp.example.com");

    for (const char* f : {"openssl_ca.conf", "ca.key", "ca.crt", "openssl_server.conf", "server.key", "server.csr",
                          "server.crt", "ca.srl", "fingerprint"})
      CHECK(stdfs::is_regular_file(d / f));
    CHECK(mode_of(d / "ca.key") == 0600);
    CHECK(mode_of(d / "server.key") == 0600);
    CHECK(mode_of(d / "ca.crt") == 0644);
    CHECK(mode_of(d / "server.crt") == 0644);

    CHECK(sr::fs::read_file(d / "openssl_ca.conf") ==
          "[req]\ndistinguished_name = req_distinguished_name\nprompt = no\n\n"
          "[req_distinguished_name]\nCN = SMP server CA\nO = SimpleX\n\n"
          "[v3]\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
          "basicConstraints = critical,CA:true\n");
    CHECK(sr::fs::read_file(d / "openssl_server.conf") ==
          "[req]\ndistinguished_name = req_distinguished_name\nprompt = no\n\n"
          "[req_distinguished_name]\nCN = smp.example.com\n\n"
          "[v3]\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature, nonRepudiation, keyAgreement\n"
          "extendedKeyUsage = serverAuth\n");
    for (const char* key : {"ca.key", "server.key"})
      CHECK(sr::fs::read_file(d / key).rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);
    CHECK(sr::fs::read_file(d / "server.csr").rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0) == 0);

    const int key_nid = alg == KeyAlg::Ed25519 ? NID_ED25519 : NID_ED448;
    X509Ptr ca = only_cert(d / "ca.crt");
    X509Ptr server = only_cert(d / "server.crt");
    auto ca_key = sr::tls::read_private_key((d / "ca.key").string());
    auto server_key = sr::tls::read_private_key((d / "server.key").string());

    // CA: v3, CN then O, self-issued, critical CA:true, SKI and AKI (keyid) in the config's order.
    CHECK(X509_get_version(ca.get()) == X509_VERSION_3);
    CHECK(X509_get_signature_nid(ca.get()) == key_nid);
    X509_NAME* ca_subject = X509_get_subject_name(ca.get());
    REQUIRE(X509_NAME_entry_count(ca_subject) == 2);
    CHECK(entry_text(ca_subject, 0, NID_commonName) == "SMP server CA");
    CHECK(entry_text(ca_subject, 1, NID_organizationName) == "SimpleX");
    CHECK(X509_NAME_cmp(X509_get_issuer_name(ca.get()), ca_subject) == 0);
    check_validity(ca.get());
    serial_hex(ca.get());
    CHECK(extension_nids(ca.get()) ==
          std::vector<int>{NID_subject_key_identifier, NID_authority_key_identifier, NID_basic_constraints});
    CHECK(critical(ca.get(), NID_basic_constraints));
    CHECK_FALSE(critical(ca.get(), NID_subject_key_identifier));
    CHECK(X509_check_ca(ca.get()) == 1);
    CHECK(octets(X509_get0_authority_key_id(ca.get())) == octets(X509_get0_subject_key_id(ca.get())));
    CHECK(X509_check_private_key(ca.get(), ca_key.get()) == 1);
    CHECK(X509_verify(ca.get(), ca_key.get()) == 1);

    // Online certificate: issued by the CA's exact DN, signed by the CA key, the server profile, then SKI/AKI.
    CHECK(X509_get_version(server.get()) == X509_VERSION_3);
    X509_NAME* subject = X509_get_subject_name(server.get());
    REQUIRE(X509_NAME_entry_count(subject) == 1);
    CHECK(entry_text(subject, 0, NID_commonName) == "smp.example.com");
    const auto issuer_der = [](X509_NAME* n) {
      unsigned char* buf = nullptr;
      const int len = i2d_X509_NAME(n, &buf);
      std::vector<uint8_t> out(buf, buf + len);
      OPENSSL_free(buf);
      return out;
    };
    CHECK(issuer_der(X509_get_issuer_name(server.get())) == issuer_der(ca_subject));
    CHECK(X509_verify(server.get(), ca_key.get()) == 1);
    CHECK(X509_verify(server.get(), server_key.get()) != 1);
    CHECK(X509_check_private_key(server.get(), server_key.get()) == 1);
    check_validity(server.get());
    CHECK(extension_nids(server.get()) ==
          std::vector<int>{NID_basic_constraints, NID_key_usage, NID_ext_key_usage, NID_subject_key_identifier,
                           NID_authority_key_identifier});
    CHECK_FALSE(critical(server.get(), NID_basic_constraints));
    CHECK_FALSE(critical(server.get(), NID_key_usage));
    CHECK(X509_check_ca(server.get()) == 0);
    CHECK(X509_get_key_usage(server.get()) == (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION | KU_KEY_AGREEMENT));
    CHECK(X509_get_extended_key_usage(server.get()) == XKU_SSL_SERVER);
    CHECK(octets(X509_get0_authority_key_id(server.get())) == octets(X509_get0_subject_key_id(ca.get())));
    CHECK(octets(X509_get0_subject_key_id(server.get())) != octets(X509_get0_subject_key_id(ca.get())));

    // The CSR carries the v3 section as requested extensions and is signed by the server key.
    {
      const std::string csr_pem = sr::fs::read_file(d / "server.csr");
      BIO* bio = BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size()));
      X509_REQ* req = PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
      BIO_free(bio);
      REQUIRE(req != nullptr);
      CHECK(X509_REQ_verify(req, server_key.get()) == 1);
      STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
      REQUIRE(exts != nullptr);
      CHECK(sk_X509_EXTENSION_num(exts) == 3);
      sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
      X509_REQ_free(req);
    }

    // ca.srl holds the online certificate's serial like -CAcreateserial writes it.
    CHECK(sr::fs::read_file(d / "ca.srl") == serial_hex(server.get()) + "\n");

    const auto ca_der = sr::tls::cert_der(ca.get());
    std::vector<uint8_t> digest(32);
    SHA256(ca_der.data(), ca_der.size(), digest.data());
    const std::string fingerprint = sr::base64url_encode(digest);
    CHECK(fingerprint.size() == 44);
    CHECK(sr::fs::read_file(d / "fingerprint") == fingerprint + "\n");
    CHECK(sr::certs::fingerprint_of_file(d / "ca.crt") == fingerprint);

    const auto info = sr::certs::read_cert_info(d / "server.crt");
    CHECK(info.alg == alg);
    CHECK(info.cn == "smp.example.com");

    // The generated identity works as a TLS server credential.
    CHECK(sr::tls::make_server_context((d / "server.crt").string(), (d / "ca.crt").string(),
                                       (d / "server.key").string()) != nullptr);
  }
}

TEST_CASE("cert: new online credentials keep the CA, the fingerprint and the key file's mode", "[certs]") {
  for (const KeyAlg alg : supported_algs()) {
    INFO(sr::certs::alg_name(alg));
    Umask umask(022);
    TempDir dir;
    const auto& d = dir.path;
    sr::certs::create_ca_and_online(d, alg, "127.0.0.1");
    const std::string ca_before = sr::fs::read_file(d / "ca.crt");
    const std::string ca_key_before = sr::fs::read_file(d / "ca.key");
    const std::string fp_before = sr::fs::read_file(d / "fingerprint");
    const std::string crt_before = sr::fs::read_file(d / "server.crt");
    const std::string key_before = sr::fs::read_file(d / "server.key");
    X509Ptr old_server = only_cert(d / "server.crt");
    REQUIRE(::chmod((d / "server.key").c_str(), 0640) == 0);

    sr::certs::create_online(d, KeyAlg::Ed25519, "relay.example.org");

    CHECK(sr::fs::read_file(d / "ca.crt") == ca_before);
    CHECK(sr::fs::read_file(d / "ca.key") == ca_key_before);
    CHECK(sr::fs::read_file(d / "fingerprint") == fp_before);
    CHECK(sr::fs::read_file(d / "server.crt") != crt_before);
    CHECK(sr::fs::read_file(d / "server.key") != key_before);
    CHECK(mode_of(d / "server.key") == 0640);
    CHECK(sr::fs::read_file(d / "openssl_server.conf").find("CN = relay.example.org\n") != std::string::npos);

    X509Ptr ca = only_cert(d / "ca.crt");
    X509Ptr server = only_cert(d / "server.crt");
    auto ca_key = sr::tls::read_private_key((d / "ca.key").string());
    CHECK(X509_verify(server.get(), ca_key.get()) == 1);
    const auto info = sr::certs::read_cert_info(d / "server.crt");
    CHECK(info.cn == "relay.example.org");
    // The algorithm shown is the certificate's signature algorithm, i.e. the CA's.
    CHECK(info.alg == alg);

    // The next serial is the stored one plus one.
    BIGNUM* a = ASN1_INTEGER_to_BN(X509_get_serialNumber(old_server.get()), nullptr);
    BIGNUM* b = ASN1_INTEGER_to_BN(X509_get_serialNumber(server.get()), nullptr);
    REQUIRE(BN_add_word(a, 1) == 1);
    CHECK(BN_cmp(a, b) == 0);
    BN_free(a);
    BN_free(b);
    CHECK(sr::fs::read_file(d / "ca.srl") == serial_hex(server.get()) + "\n");
  }
}

TEST_CASE("cert without the CA key changes nothing", "[certs]") {
  TempDir dir;
  const auto& d = dir.path;
  sr::certs::create_ca_and_online(d, KeyAlg::Ed25519, "127.0.0.1");
  const std::string crt_before = sr::fs::read_file(d / "server.crt");
  const std::string key_before = sr::fs::read_file(d / "server.key");
  stdfs::remove(d / "ca.key");
  CHECK_THROWS_AS(sr::certs::create_online(d, KeyAlg::Ed25519, "other"), CertError);
  CHECK(sr::fs::read_file(d / "server.crt") == crt_before);
  CHECK(sr::fs::read_file(d / "server.key") == key_before);
}

TEST_CASE("read_cert_info on the reference fixtures", "[certs]") {
  auto info = sr::certs::read_cert_info(kFixtures / "ed25519" / "server.crt");
  CHECK(info.alg == KeyAlg::Ed25519);
  CHECK(info.cn == "localhost");
  info = sr::certs::read_cert_info(kFixtures / "server.crt");
  CHECK(info.alg == KeyAlg::Ed448);
  CHECK(info.cn == "localhost");
}

TEST_CASE("read_cert_info errors carry the reference's texts", "[certs]") {
  TempDir dir;
  const auto& d = dir.path;

  sr::fs::write_file(d / "empty.crt", "");
  CHECK(error_of(d / "empty.crt") == "No certificate found at " + (d / "empty.crt").string());

  sr::fs::write_file(d / "two.crt",
                     sr::fs::read_file(kFixtures / "server.crt") + sr::fs::read_file(kFixtures / "ca.crt"));
  CHECK(error_of(d / "two.crt") == "Too many certificates at " + (d / "two.crt").string());

  auto rsa = keygen(EVP_PKEY_RSA);
  write_pem(d / "rsa.crt", self_signed(rsa.get(), EVP_sha256(), "CN", "rsa.example").get());
  CHECK(error_of(d / "rsa.crt") == "Unexpected signature algorithm SignatureALG HashSHA256 PubKeyALG_RSA");

  CHECK(error_of(kFixtures / "ss.crt") == "Unexpected signature algorithm SignatureALG HashSHA256 PubKeyALG_EC");

  auto ed = keygen(EVP_PKEY_ED25519);
  write_pem(d / "nocn.crt", self_signed(ed.get(), nullptr, "O", "SimpleX").get());
  CHECK(error_of(d / "nocn.crt") == "Certificate subject has no CN element");

  CHECK_THROWS_AS(sr::certs::read_cert_info(d / "missing.crt"), CertError);
}


// ---- fsutil (the certificate files are written through it) --------------------------------------------------

TEST_CASE("write_file replaces atomically with the mode under the umask", "[fsutil]") {
  Umask umask(027);
  TempDir dir;
  const auto f = dir.path / "a.txt";
  sr::fs::write_file(f, "one");
  CHECK(sr::fs::read_file(f) == "one");
  CHECK(mode_of(f) == 0640);
  sr::fs::write_file(f, std::string("two\0bytes", 9), 0600);
  CHECK(sr::fs::read_file(f) == std::string("two\0bytes", 9));
  CHECK(mode_of(f) == 0600);
  // No temporary file is left behind.
  CHECK(std::distance(stdfs::directory_iterator(dir.path), stdfs::directory_iterator()) == 1);
  CHECK_THROWS_AS(sr::fs::write_file(dir.path / "no" / "such" / "dir", "x"), sr::fs::FileError);
}

TEST_CASE("read_file and read_first_line", "[fsutil]") {
  TempDir dir;
  const auto missing = dir.path / "missing";
  CHECK_THROWS_WITH(sr::fs::read_file(missing), missing.string() + ": No such file or directory");
  CHECK_FALSE(sr::fs::read_first_line(missing).has_value());
  sr::fs::write_file(dir.path / "lines", "first\nsecond\n");
  CHECK(sr::fs::read_first_line(dir.path / "lines") == std::optional<std::string>("first"));
  sr::fs::write_file(dir.path / "noeol", "only");
  CHECK(sr::fs::read_first_line(dir.path / "noeol") == std::optional<std::string>("only"));
  sr::fs::write_file(dir.path / "empty", "");
  CHECK(sr::fs::read_first_line(dir.path / "empty") == std::optional<std::string>(""));
}

TEST_CASE("empty_directory removes everything inside and keeps the directory", "[fsutil]") {
  TempDir dir;
  stdfs::create_directories(dir.path / "sub" / "deeper");
  sr::fs::write_file(dir.path / "sub" / "deeper" / "f", "x");
  sr::fs::write_file(dir.path / "g", "y");
  sr::fs::write_file(dir.path / ".hidden", "z");
  sr::fs::empty_directory(dir.path);
  CHECK(stdfs::is_directory(dir.path));
  CHECK(stdfs::is_empty(dir.path));
  CHECK_NOTHROW(sr::fs::empty_directory(dir.path / "missing"));
  CHECK_THROWS_AS(sr::fs::empty_directory(kFixtures / "ca.crt"), sr::fs::FileError);
}

TEST_CASE("getenv_nonempty", "[fsutil]") {
  ::setenv("SR_TEST_ENV_VALUE", "x", 1);
  CHECK(sr::fs::getenv_nonempty("SR_TEST_ENV_VALUE") == std::optional<std::string>("x"));
  ::setenv("SR_TEST_ENV_VALUE", "", 1);
  CHECK_FALSE(sr::fs::getenv_nonempty("SR_TEST_ENV_VALUE").has_value());
  ::unsetenv("SR_TEST_ENV_VALUE");
  CHECK_FALSE(sr::fs::getenv_nonempty("SR_TEST_ENV_VALUE").has_value());
}
