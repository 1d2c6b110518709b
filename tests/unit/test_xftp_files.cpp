// Client-side XFTP file formats against shared/spec/xftp-vectors.md V8 (file encryption, chunk plan) and V9
// (file descriptions, web links), plus the reference's description fixture and error cases.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "xftp_vectors.hpp"
#include "core/crypto.hpp"
#include "hex.hpp"
#include "text_files.hpp"
#include "xftp/file_crypto.hpp"
#include "xftp/file_description.hpp"

using namespace sr;
using namespace sr::test;
using namespace sr::xftp;
using namespace sr::test::xftpv;

namespace {


crypto::Key32 file_key() {  // ff fe … e0
  crypto::Key32 k;
  for (size_t i = 0; i < 32; ++i) k[i] = static_cast<uint8_t>(0xff - i);
  return k;
}
const crypto::Nonce kFileNonce = to_arr<24>(seq(0x30, 24));

Bytes file_a() {
  Bytes b(1000);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i % 256);
  return b;
}
Bytes file_b() {
  Bytes b(300000);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i % 251);
  return b;
}

// Encrypts content with FileEncryptor, pulling output in `slice`-byte pieces and feeding the content in pieces of
// at most 777 bytes, so that every boundary falls somewhere odd.
Bytes encrypt_stream(const FilePlan& plan, const crypto::Key32& key, const crypto::Nonce& nonce, const Bytes& content,
                     size_t slice) {
  size_t off = 0;
  FileEncryptor enc(key, nonce, plan.header, plan.file_size, plan.enc_size, [&](std::span<uint8_t> buf) {
    const size_t n = std::min({buf.size(), content.size() - off, size_t{777}});
    std::copy_n(content.begin() + static_cast<ptrdiff_t>(off), n, buf.begin());
    off += n;
    return n;
  });
  Bytes out;
  Bytes buf(slice);
  while (const size_t n = enc.read(buf)) out.insert(out.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n));
  CHECK(enc.remaining() == 0);
  return out;
}

struct Decrypted {
  FileHeader header;
  Bytes content;
};
Decrypted decrypt_stream(const Bytes& enc, const crypto::Key32& key, const crypto::Nonce& nonce, size_t slice,
                         int64_t enc_size = -1) {
  Decrypted d;
  bool header_first = false;
  FileDecryptor dec(
      key, nonce, enc_size < 0 ? static_cast<int64_t>(enc.size()) : enc_size,
      [&](const FileHeader& h) {
        header_first = d.content.empty();
        d.header = h;
      },
      [&](ByteView data) { d.content.insert(d.content.end(), data.begin(), data.end()); });
  for (size_t i = 0; i < enc.size(); i += slice) dec.update(ByteView(enc).subspan(i, std::min(slice, enc.size() - i)));
  const FileHeader h = dec.finish();
  CHECK(header_first);
  CHECK(h == d.header);
  return d;
}

std::string hex_of(ByteView b) { return to_hex(Bytes(b.begin(), b.end())); }

}  // namespace

TEST_CASE("file header encoding", "[xftp-files]") {
  CHECK(to_hex(encode_file_header({"test-1000.bin", std::nullopt})) == "0d746573742d313030302e62696e30");
  CHECK(to_hex(encode_file_header({"test-300000.bin", std::nullopt})) == "0f746573742d3330303030302e62696e30");
  CHECK(to_hex(encode_file_header({"", std::nullopt})) == "0030");
  const FileHeader with_extra{"n\xc3\xa4me.txt", std::string("{\"x\":1}")};
  Bytes enc = encode_file_header(with_extra);
  enc.push_back(0x42);  // file content follows the header
  const auto p = parse_file_header(enc);
  REQUIRE(p);
  CHECK(p->header == with_extra);
  CHECK(p->size == enc.size() - 1);
  CHECK_FALSE(parse_file_header(hex("0d7465")));      // cut name
  CHECK_FALSE(parse_file_header(hex("0141")));        // no maybe tag
  CHECK_FALSE(parse_file_header(hex("014132")));      // bad maybe tag
  CHECK_THROWS_AS(encode_file_header({std::string(256, 'a'), std::nullopt}), std::length_error);
}

TEST_CASE("chunk plan: all V8 rows", "[xftp-files]") {
  constexpr uint32_t K64 = 65536, K256 = 262144, M1 = 1048576, M4 = 4194304;
  const std::vector<std::pair<int64_t, std::vector<uint32_t>>> rows = {
      {1, {K64}},
      {1000, {K64}},
      {65536, {K64}},
      {65537, {K64, K64}},
      {196608, {K64, K64, K64}},
      {196609, {K256}},
      {262144, {K256}},
      {300000, {K256, K64}},
      {786432, {K256, K256, K256}},
      {786433, {M1}},
      {1048576, {M1}},
      {3145728, {M1, M1, M1}},
      {3145729, {M4}},
      {5000000, {M4, M1}},
      {10485760, {M4, M4, M1, M1}},
  };
  for (const auto& [payload, chunks] : rows) {
    INFO("payload " << payload);
    CHECK(prepare_chunk_sizes(payload) == chunks);
  }
  CHECK(prepare_chunk_sizes(0).empty());
}

TEST_CASE("V8 file A and B: streaming encryption, digests, decryption", "[xftp-files]") {
  struct Case {
    std::string name;
    Bytes content;
    int64_t file_size;
    std::vector<uint32_t> chunks;
    std::string stream_start, first32, last32, sha512;
    std::vector<std::string> chunk_sha256;
  };
  const std::vector<Case> cases = {
      {"test-1000.bin", file_a(), 1015, {65536}, "00000000000003f70d746573742d313030302e62696e30",
       "3f39ee0c8c55eb6d0f4ab9bc6b08848cea88459aeba6e7b07aa6b5bb68b7f898",
       "7433fe238f9bc68626bee76044688660f70389dcbd9ad476e4826af929dc02c0",
       "18a0718ca55f4e1ea59e1a54c67fe3739f0e75dcc9a245a159e0beda202228c20936472758354e5e554fb0041bf7eb861e72fedce00f96c3342a7f7bff23e7e8",
       {"f829994b6b45013b36101eb53ac1080de0ecf2334d7764ebdf90cb6215b0267f"}},
      {"test-300000.bin", file_b(), 300017, {262144, 65536}, "00000000000493f10f746573742d3330303030302e62696e30",
       "3f39ee0c8c517b6b0d4ab9bc6b08868cea885bc8acaabede4ba4b7bd6eb5fa96",
       "41b8557fc4e108e858ba97fd5f383c70b809795c220e8654c468046de14a025f",
       "5150f45e267350ec9755a2f4632387116bd6b8811a9ff235ac6e2bdad219e1bff52c8e52ce5a7560a225fb8eb6bd3542875d0cef0705c13b57c415f2bb1a15d3",
       {"f9dacceae099500ce62ec701424e9bd4a1fcce211e2f26f53f4c839e6f82c4e3",
        "21963c514e004fe5205862ef6b299f9bfa6b77b54a63dc3dfeb7fe4c40d666b1"}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const FilePlan plan = plan_file({c.name, std::nullopt}, static_cast<int64_t>(c.content.size()));
    CHECK(plan.file_size == c.file_size);
    CHECK(plan.chunk_sizes == c.chunks);
    int64_t total = 0;
    for (auto s : c.chunks) total += s;
    CHECK(plan.enc_size == total);

    const Bytes enc = encrypt_stream(plan, file_key(), kFileNonce, c.content, 1000);
    REQUIRE(enc.size() == static_cast<size_t>(plan.enc_size));
    CHECK(hex_of(ByteView(enc).first(32)) == c.first32);
    CHECK(hex_of(ByteView(enc).last(32)) == c.last32);
    // Slicing does not change the stream.
    CHECK(encrypt_stream(plan, file_key(), kFileNonce, c.content, 16) == enc);
    CHECK(encrypt_stream(plan, file_key(), kFileNonce, c.content, 70000) == enc);
    // The same bytes as the whole-buffer secret box over i64 ‖ header ‖ file ‖ '#'….
    Bytes stream = hex(c.stream_start);
    stream.insert(stream.end(), c.content.begin(), c.content.end());
    stream.resize(static_cast<size_t>(plan.enc_size) - kAuthTagSize, '#');
    const Bytes sealed = crypto::box_seal(file_key(), kFileNonce, stream);  // tag ‖ ciphertext
    CHECK(Bytes(sealed.begin() + 16, sealed.end()) == Bytes(enc.begin(), enc.end() - 16));
    CHECK(Bytes(sealed.begin(), sealed.begin() + 16) == Bytes(enc.end() - 16, enc.end()));

    EncryptedDigests digests(plan.chunk_sizes);
    for (size_t i = 0; i < enc.size(); i += 10007) digests.update(ByteView(enc).subspan(i, std::min<size_t>(10007, enc.size() - i)));
    const auto d = digests.finish();
    CHECK(to_hex(d.file_digest) == c.sha512);
    CHECK(to_hex(crypto::sha512(enc)) == c.sha512);
    REQUIRE(d.chunk_digests.size() == c.chunk_sha256.size());
    for (size_t i = 0; i < d.chunk_digests.size(); ++i) CHECK(to_hex(d.chunk_digests[i]) == c.chunk_sha256[i]);

    for (const size_t slice : {size_t{1} << 20, size_t{5}, size_t{4096}}) {
      if (slice == 5 && enc.size() > 70000) continue;  // one byte-wise pass is enough
      const auto dec = decrypt_stream(enc, file_key(), kFileNonce, slice);
      CHECK(dec.header.file_name == c.name);
      CHECK_FALSE(dec.header.file_extra);
      CHECK(dec.content == c.content);
    }
  }
}

TEST_CASE("file decryption failures", "[xftp-files]") {
  const Bytes content = file_a();
  const FilePlan plan = plan_file({"test-1000.bin", std::nullopt}, 1000);
  const Bytes enc = encrypt_stream(plan, file_key(), kFileNonce, content, 4096);

  SECTION("flipped tag bit") {
    Bytes bad = enc;
    bad.back() ^= 1;
    try {
      decrypt_stream(bad, file_key(), kFileNonce, 4096);
      FAIL("no error");
    } catch (const FileCryptoError& e) {
      CHECK(e.kind() == FileCryptoError::Kind::InvalidAuthTag);
      CHECK(std::string(e.what()) == "Error decrypting file: incorrect auth tag");
    }
  }
  SECTION("flipped padding bit") {
    Bytes bad = enc;
    bad[bad.size() - 20] ^= 1;
    CHECK_THROWS_AS(decrypt_stream(bad, file_key(), kFileNonce, 4096), FileCryptoError);
  }
  SECTION("wrong key") {
    auto k = file_key();
    k[0] ^= 1;
    CHECK_THROWS_AS(decrypt_stream(enc, k, kFileNonce, 4096), FileCryptoError);
  }
  SECTION("truncated input") {
    const Bytes cut(enc.begin(), enc.end() - 1);
    try {
      decrypt_stream(cut, file_key(), kFileNonce, 4096, static_cast<int64_t>(enc.size()));
      FAIL("no error");
    } catch (const FileCryptoError& e) {
      CHECK(e.kind() == FileCryptoError::Kind::InvalidFileSize);
    }
  }
  SECTION("more input than the encrypted size") {
    FileDecryptor dec(file_key(), kFileNonce, static_cast<int64_t>(enc.size()) - 1, nullptr, nullptr);
    CHECK_THROWS_AS(dec.update(enc), FileCryptoError);
  }
  SECTION("length prefix beyond the data") {
    // A file whose i64 says more than the padded stream holds.
    FileEncryptor e(file_key(), kFileNonce, plan.header, 65536, 65536 + 8 + 16, [](std::span<uint8_t> b) {
      std::fill(b.begin(), b.end(), 0);
      return b.size();
    });
    Bytes out(65536 + 24);
    REQUIRE(e.read(out) == out.size());
    FileDecryptor dec(file_key(), kFileNonce, static_cast<int64_t>(out.size()) - 100, nullptr, nullptr);
    CHECK_THROWS_AS(dec.update(ByteView(out).first(8)), FileCryptoError);
  }
  SECTION("content shorter than announced") {
    FileEncryptor e(file_key(), kFileNonce, plan.header, plan.file_size, plan.enc_size,
                    [](std::span<uint8_t>) { return size_t{0}; });
    Bytes out(100000);
    try {
      e.read(out);
      FAIL("no error");
    } catch (const FileCryptoError& err) {
      CHECK(err.kind() == FileCryptoError::Kind::FileIO);
    }
  }
}

TEST_CASE("encrypt_file / decrypt_chunk_files round trip", "[xftp-files]") {
  TempDir dir;
  const Bytes content = file_b();
  {
    std::ofstream f(dir / "in.bin", std::ios::binary);
    f.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
  }
  const auto r = encrypt_file(dir / "in.bin", "test-300000.bin", file_key(), kFileNonce, dir / "enc");
  CHECK(r.plan.chunk_sizes == std::vector<uint32_t>{262144, 65536});
  CHECK(r.chunk_offsets == std::vector<int64_t>{0, 262144});
  CHECK(to_hex(r.digest) ==
        "5150f45e267350ec9755a2f4632387116bd6b8811a9ff235ac6e2bdad219e1bff52c8e52ce5a7560a225fb8eb6bd3542875d0cef0705c13b57c415f2bb1a15d3");
  REQUIRE(r.chunk_digests.size() == 2);
  CHECK(to_hex(r.chunk_digests[1]) == "21963c514e004fe5205862ef6b299f9bfa6b77b54a63dc3dfeb7fe4c40d666b1");

  // Split into chunk files as a download would leave them.
  const std::string enc = read_text(dir / "enc");
  REQUIRE(enc.size() == 327680);
  std::ofstream(dir / "1", std::ios::binary) << enc.substr(0, 262144);
  std::ofstream(dir / "2", std::ios::binary) << enc.substr(262144);
  const std::vector<std::filesystem::path> chunks = {dir / "1", dir / "2"};

  const auto h = decrypt_chunk_files(chunks, r.plan.enc_size, file_key(), kFileNonce,
                                     [&](const FileHeader& hd) { return dir / ("out-" + hd.file_name); });
  CHECK(h.file_name == "test-300000.bin");
  const std::string out = read_text(dir / "out-test-300000.bin");
  CHECK(Bytes(out.begin(), out.end()) == content);

  // A corrupted last chunk: error, and the partly written output is removed.
  std::string bad = enc.substr(262144);
  bad[100] ^= 1;
  std::ofstream(dir / "2", std::ios::binary | std::ios::trunc) << bad;
  CHECK_THROWS_AS(decrypt_chunk_files(chunks, r.plan.enc_size, file_key(), kFileNonce,
                                      [&](const FileHeader&) { return dir / "out2"; }),
                  FileCryptoError);
  CHECK_FALSE(std::filesystem::exists(dir / "out2"));
}

// ---- Descriptions (V9) ----

namespace {

const char* kServer2 = "xftp://NZ2p7PD0ncjjvhTBfx_VTLYADSRjeW5qhF9KKdFQ2o0=@xftp2.example.com:5223";
const char* kServerLocal = "xftp://PyEfd4DGGIBNsmZYxAag1S_Y0OkKUeyHLSk2Wb7SQmU=@localhost:8443";

crypto::PrivateKey ed_key(uint8_t first) { return {crypto::KeyAlg::Ed25519, seq(first, 32)}; }

const std::string kYamlA =
    "chunkSize: 64kb\n"
    "digest: GKBxjKVfTh6lnhpUxn_jc58OddzJokWhWeC-2iAiKMIJNkcnWDVOXlVPsAQb9-uGHnL-3OAPlsM0Kn97_yPn6A==\n"
    "key: __79_Pv6-fj39vX08_Lx8O_u7ezr6uno5-bl5OPi4eA=\n"
    "nonce: MDEyMzQ1Njc4OTo7PD0-P0BBQkNERUZH\n"
    "party: recipient\n"
    "replicas:\n"
    "- chunks:\n"
    "  - 1:cmVjaXBpZW50LWlkLTAwMg==:MC4CAQAwBQYDK2VwBCIEIEBBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f:-CmZS2tFATs2EB61OsEIDeDs8jNNd2Tr35DLYhWwJn8=\n"
    "  server: xftp://NZ2p7PD0ncjjvhTBfx_VTLYADSRjeW5qhF9KKdFQ2o0=@xftp2.example.com:5223\n"
    "- chunks:\n"
    "  - 1:cmVjaXBpZW50LWlkLTAwMQ==:MC4CAQAwBQYDK2VwBCIEICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4_\n"
    "  server: xftp://PyEfd4DGGIBNsmZYxAag1S_Y0OkKUeyHLSk2Wb7SQmU=@localhost:8443\n"
    "size: 64kb\n";

const std::string kFragmentA =
    "jZLLjqpAFEXnfAU_QDeWoEBC0rxU5N0gqBOiZSlQUNCAAn791VEPbm5yZ3ty9lkr2TC7ExzmTyTRCw6fqUt-Q10v0WtLHQsrvkbZoiRZsxtJWkBe8C6X57bGSZYgjQG5"
    "kluOuXUxJIkee_sy9jslOIvMfb0hNjP3FL_sHNYi4jKdfLJQZJnCaJLoNF2Kqf9YMNdiLj72rJDao-Cl9yV6tos7qXnmXPKen3NIkSlSE_jCc3Rjcp7BzC0g50X10tdZ"
    "xmdVNcCu8b07bqjm1Pav7hbBvMkR6akWNWUOT51EMTR8e74STTP0TIJVXJz2anNMeNZOSmxHyuDcZFlyNE5TAmVQg4NugXhQNdMwjd8noVFaITu6ERaDXbyN4lWcxLPs"
    "mJQ93Mf8VWK06hiCfqVEHTDUxczrDFNHeicUrnsBUTvndfuQJcOWCPILpkPtA7USPV77Rvr8dI-geYsRWBSPLFKvYxpH9kHRw-8CJfxPthIt67IKQM3KX-8b8IHGU9WU"
    "6APWlcQDMP8_1-BfrpqSmbmDt-GBWBr-saaht3NhcCLz6eo74D5vvFd0gh9x6d_4_mRcL5y-Xpuq21XHw6icbrMwPbAetnZo2tghBsl5GQbVTv4qa3gqs_o1NoHj5lT3"
    "u8E_";

const std::string kYamlB =
    "chunkSize: 256kb\n"
    "digest: UVD0XiZzUOyXVaL0YyOHEWvWuIEan_I1rG4r2tIZ4b_1LI5Szlp1YKIl-462vTVCh10M7wcFwTtXxBXyuxoV0w==\n"
    "key: __79_Pv6-fj39vX08_Lx8O_u7ezr6uno5-bl5OPi4eA=\n"
    "nonce: MDEyMzQ1Njc4OTo7PD0-P0BBQkNERUZH\n"
    "party: sender\n"
    "replicas:\n"
    "- chunks:\n"
    "  - 1:c2VuZGVyLWlkLTAwMDAwMQ==:MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f:-drM6uCZUAzmLscBQk6b1KH8ziEeLyb1P0yDnm-CxOM=\n"
    "  - 2:c2VuZGVyLWlkLTAwMDAwMg==:MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f:IZY8UU4AT-UgWGLvaymfm_prd7VKY9w9_rf-TEDWZrE=:64kb\n"
    "  server: xftp://PyEfd4DGGIBNsmZYxAag1S_Y0OkKUeyHLSk2Wb7SQmU=@localhost:8443\n"
    "size: 320kb\n";

const std::string kYamlRedirect =
    "chunkSize: 64kb\n"
    "digest: FR_FJd4q6zo8dxgm-51hNb7z8Wl5EdC0c-8VerYjRY6QNuvG6jFN8YVFY0eSplOps04kz826m7dS3dKFGTSynw==\n"
    "key: UFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlqa2xtbm8=\n"
    "nonce: aGlqa2xtbm9wcXJzdHV2d3h5ent8fX5_\n"
    "party: recipient\n"
    "redirect:\n"
    "  digest: UVD0XiZzUOyXVaL0YyOHEWvWuIEan_I1rG4r2tIZ4b_1LI5Szlp1YKIl-462vTVCh10M7wcFwTtXxBXyuxoV0w==\n"
    "  size: 327680\n"
    "replicas:\n"
    "- chunks:\n"
    "  - 1:cmVjaXBpZW50LWlkLTAwMg==:MC4CAQAwBQYDK2VwBCIEIEBBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f:2B7lVX2og5vQ_VX4GE1wwweS48zG9s5vR_mJfVBLX-I=\n"
    "  server: xftp://PyEfd4DGGIBNsmZYxAag1S_Y0OkKUeyHLSk2Wb7SQmU=@localhost:8443\n"
    "size: 64kb\n";

const char* kShaA =
    "18a0718ca55f4e1ea59e1a54c67fe3739f0e75dcc9a245a159e0beda202228c20936472758354e5e554fb0041bf7eb861e72fedce00f96c3342a7f7bff23e7e8";
const char* kShaB =
    "5150f45e267350ec9755a2f4632387116bd6b8811a9ff235ac6e2bdad219e1bff52c8e52ce5a7560a225fb8eb6bd3542875d0cef0705c13b57c415f2bb1a15d3";

FileDescription desc_a() {
  FileDescription fd;
  fd.party = FileParty::Recipient;
  fd.size = 65536;
  fd.digest = hex(kShaA);
  fd.key = file_key();
  fd.nonce = kFileNonce;
  fd.chunk_size = 65536;
  fd.chunks = {FileChunk{1, 65536, hex("f829994b6b45013b36101eb53ac1080de0ecf2334d7764ebdf90cb6215b0267f"),
                         {{parse_xftp_server(kServer2), str("recipient-id-002"), ed_key(0x40)},
                          {parse_xftp_server(kServerLocal), str("recipient-id-001"), ed_key(0x20)}}}};
  return fd;
}

FileDescription desc_b(FileParty party = FileParty::Sender) {
  FileDescription fd;
  fd.party = party;
  fd.size = 327680;
  fd.digest = hex(kShaB);
  fd.key = file_key();
  fd.nonce = kFileNonce;
  fd.chunk_size = 262144;
  const auto srv = parse_xftp_server(kServerLocal);
  fd.chunks = {FileChunk{1, 262144, hex("f9dacceae099500ce62ec701424e9bd4a1fcce211e2f26f53f4c839e6f82c4e3"),
                         {{srv, str("sender-id-000001"), ed_key(0)}}},
               FileChunk{2, 65536, hex("21963c514e004fe5205862ef6b299f9bfa6b77b54a63dc3dfeb7fe4c40d666b1"),
                         {{srv, str("sender-id-000002"), ed_key(0)}}}};
  return fd;
}

FileDescription desc_redirect() {
  FileDescription fd;
  fd.party = FileParty::Recipient;
  fd.size = 65536;
  fd.digest = *base64url_decode("FR_FJd4q6zo8dxgm-51hNb7z8Wl5EdC0c-8VerYjRY6QNuvG6jFN8YVFY0eSplOps04kz826m7dS3dKFGTSynw==");
  fd.key = to_arr<32>(seq(0x50, 32));
  fd.nonce = to_arr<24>(seq(0x68, 24));
  fd.chunk_size = 65536;
  fd.redirect = RedirectFileInfo{327680, hex(kShaB)};
  fd.chunks = {FileChunk{1, 65536, hex("d81ee5557da8839bd0fd55f8184d70c30792e3ccc6f6ce6f47f9897d504b5fe2"),
                         {{parse_xftp_server(kServerLocal), str("recipient-id-002"), ed_key(0x40)}}}};
  return fd;
}

std::string inflate_fragment_yaml(const std::string& fragment) {
  return encode_file_description(decode_web_fragment(fragment));
}

}  // namespace

TEST_CASE("XFTP server address strings", "[xftp-files]") {
  const auto s = parse_xftp_server(kServer2);
  CHECK(base64url_encode(s.key_hash) == "NZ2p7PD0ncjjvhTBfx_VTLYADSRjeW5qhF9KKdFQ2o0=");
  CHECK(s.hosts == std::vector<std::string>{"xftp2.example.com"});
  CHECK(s.port == 5223);
  CHECK_FALSE(s.basic_auth);
  CHECK(format_xftp_server(s) == kServer2);

  const auto m = parse_xftp_server("xftp://abc=:s3cret-pass@example.com,abcdef.onion:443");
  CHECK(m.key_hash == str("i\xb7"));
  CHECK(m.basic_auth == "s3cret-pass");
  CHECK(m.hosts == std::vector<std::string>{"example.com", "abcdef.onion"});
  CHECK(format_xftp_server(m) == "xftp://abc=:s3cret-pass@example.com,abcdef.onion:443");
  // No port: none is written back (the reference keeps the port as given).
  CHECK(format_xftp_server(parse_xftp_server("xftp://abc=@example1.com")) == "xftp://abc=@example1.com");
  CHECK(parse_xftp_servers(std::string(kServer2) + ";" + kServerLocal).size() == 2);

  const auto err = [](std::string_view t) {
    try {
      parse_xftp_server(t);
    } catch (const DescriptionError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(err("smp://abc=@host"), Catch::Contains("expected xftp://"));
  CHECK_THAT(err("xftp://abc=host"), Catch::Contains("no '@'"));
  CHECK_THAT(err("xftp://a!c@host"), Catch::Contains("bad key hash"));
  CHECK_THAT(err("xftp://abc=@"), Catch::Contains("empty host"));
  CHECK_THAT(err("xftp://abc=@host:99999"), Catch::Contains("bad port"));
  CHECK_THAT(err("xftp://abc=@host:1x"), Catch::Contains("bad port"));
  CHECK_THAT(err("xftp://abc=:p/w@host"), Catch::Contains("bad password"));
}

TEST_CASE("file sizes", "[xftp-files]") {
  CHECK(encode_file_size(65536) == "64kb");
  CHECK(encode_file_size(327680) == "320kb");
  CHECK(encode_file_size(8 << 20) == "8mb");
  CHECK(encode_file_size(1LL << 30) == "1gb");
  CHECK(encode_file_size(1000) == "1000");
  CHECK(encode_file_size(0) == "0gb");  // as the reference's divMod chain writes it
  CHECK(parse_file_size("26mb") == 26 << 20);
  CHECK(parse_file_size("2gb") == 2LL << 30);
  CHECK(parse_file_size("65537") == 65537);
  CHECK_FALSE(parse_file_size("kb"));
  CHECK_FALSE(parse_file_size("1.5mb"));
  CHECK_FALSE(parse_file_size("-1"));
  CHECK_FALSE(parse_file_size("12tb"));
}

TEST_CASE("V9 descriptions encode byte for byte and parse back", "[xftp-files]") {
  CHECK(encode_file_description(desc_a()) == kYamlA);
  CHECK(encode_file_description(desc_b()) == kYamlB);
  CHECK(encode_file_description(desc_redirect()) == kYamlRedirect);
  CHECK(decode_file_description(kYamlA) == desc_a());
  CHECK(decode_file_description(kYamlB, FileParty::Sender) == desc_b());
  CHECK(decode_file_description(kYamlRedirect, FileParty::Recipient) == desc_redirect());
  CHECK_THROWS_WITH(decode_file_description(kYamlB, FileParty::Recipient), "incorrect XFTP party");
}

TEST_CASE("V9 web fragments", "[xftp-files]") {
  // xftp-web's fragment inflates to description A.
  CHECK(inflate_fragment_yaml(kFragmentA) == kYamlA);
  CHECK(decode_web_fragment(kFragmentA) == desc_a());
  // With zlib our fragments are pako's byte for byte (V9 gives A whole, B and the redirect as SHA-256); other
  // deflate builds (zlib-ng) may compress differently, so this is not a failure.
  CHECK_NOFAIL(encode_web_fragment(desc_a()) == kFragmentA);
  CHECK_NOFAIL(to_hex(crypto::sha256(as_bytes(encode_web_fragment(desc_b())))) ==
               "0ffa0f5679bad13c472356207553d6161c57217df90618bd500d161db8df3c48");
  CHECK_NOFAIL(to_hex(crypto::sha256(as_bytes(encode_web_fragment(desc_redirect())))) ==
               "21ebad617fecc6cc332dcd1f2f14cc1c55597d2f8245d266d600eeceb8e5a23e");
  CHECK_NOFAIL(encode_web_fragment(desc_b()).substr(0, 64) == "rZLbrmtgFIXvPYUXkIX-RSWS7VQERZ3KjaCo5dT86vj0y17X-3JfzGRmXox8Y8yR");
  // Our own fragments round trip (the deflate bytes may differ from pako's, the YAML may not).
  CHECK(decode_web_fragment(encode_web_fragment(desc_a())) == desc_a());
  CHECK(decode_web_fragment(encode_web_fragment(desc_redirect())) == desc_redirect());
  // A sender description is no web link.
  CHECK_THROWS_WITH(decode_web_fragment(encode_web_fragment(desc_b())), "incorrect XFTP party");
  // The link: origin of the first chunk's first replica, port unless 443.
  const auto link = web_link(desc_a());
  REQUIRE(link);
  CHECK(link->rfind("https://xftp2.example.com:5223/#", 0) == 0);
  CHECK(decode_web_link(*link) == desc_a());
  CHECK(decode_web_link("https://xftp2.example.com:5223/#" + kFragmentA) == desc_a());
  CHECK(is_web_link(*link));
  CHECK_FALSE(is_web_link("rcv1.xftp"));

  CHECK_THROWS_WITH(decode_web_link("https://example.com/"), "Invalid URL: no fragment");
  CHECK_THROWS_WITH(decode_web_fragment("!!!"), Catch::Contains("base64url"));
  CHECK_THROWS_WITH(decode_web_fragment(base64url_encode(str("not deflate data at all"))), Catch::Contains("compressed"));
  // Cut fragment: the deflate stream does not end.
  CHECK_THROWS_AS(decode_web_fragment(kFragmentA.substr(0, 400)), DescriptionError);
}

TEST_CASE("redirect: the inner description encrypted as a file", "[xftp-files]") {
  // V9: the recipient description of file B is uploaded with an empty name under the redirect key and nonce;
  // its single 64 KiB chunk has the digest the outer description names.
  const FileHeader hdr{"", std::nullopt};
  CHECK(to_hex(encode_file_header(hdr)) == "0030");
  const std::string inner = encode_file_description(desc_b(FileParty::Recipient));
  const FilePlan plan = plan_file(hdr, static_cast<int64_t>(inner.size()));
  CHECK(plan.chunk_sizes == std::vector<uint32_t>{65536});
  const Bytes enc = encrypt_stream(plan, to_arr<32>(seq(0x50, 32)), to_arr<24>(seq(0x68, 24)), str(inner), 4096);
  // Whether our inner YAML is the one xftp-web uploaded depends on its replica IDs (not given); only the
  // outer description's file digest and size relation is checked here.
  CHECK(enc.size() == 65536);
  const auto dec = decrypt_stream(enc, to_arr<32>(seq(0x50, 32)), to_arr<24>(seq(0x68, 24)), 65536);
  CHECK(dec.header.file_name.empty());
  CHECK(decode_file_description(std::string(dec.content.begin(), dec.content.end())) == desc_b(FileParty::Recipient));
}

TEST_CASE("reference fixture file_description.yaml", "[xftp-files]") {
  // tests/fixtures/file_description.yaml of simplexmq: four servers without ports, replicas spread over them.
  const std::string yaml =
      "chunkSize: 8mb\n"
      "digest: YWJj\n"
      "key: 00n8p1tJq5E-SGnHcYTOrS4A9I07gTA_WFD6MTFFFOY=\n"
      "nonce: dPSF-wrQpDiK_K6sYv0BDBZ9S4dg-jmu\n"
      "party: recipient\n"
      "replicas:\n"
      "- chunks:\n"
      "  - 1:YWJj:MC4CAQAwBQYDK2VwBCIEIDfEfevydXXfKajz3sRkcQ7RPvfWUPoq6pu1TYHV1DEe:Z2hp\n"
      "  - 3:YWJj:MC4CAQAwBQYDK2VwBCIEIDfEfevydXXfKajz3sRkcQ7RPvfWUPoq6pu1TYHV1DEe:Z2hp\n"
      "  server: xftp://abc=@example1.com\n"
      "- chunks:\n"
      "  - 2:YWJj:MC4CAQAwBQYDK2VwBCIEIDfEfevydXXfKajz3sRkcQ7RPvfWUPoq6pu1TYHV1DEe:Z2hp\n"
      "  - 4:YWJj:MC4CAQAwBQYDK2VwBCIEIDfEfevydXXfKajz3sRkcQ7RPvfWUPoq6pu1TYHV1DEe:Z2hp:2mb\n"
      "  server: xftp://abc=@example2.com\n"
      "- chunks:\n"
      "  - 1:YWJj:MC4CAQAwBQYDK2VwBCIEIDfEfevydXXfKajz3sRkcQ7RPvfWUPoq6pu1TYHV1DEe\n"
      "  - 4:YWJj:MC4CAQAwBQYDK2VwBCIEIDfEfevydXXfKajz3sRkcQ7RPvfWUPoq6pu1TYHV1DEe\n"
      "  server: xftp://abc=@example3.com\n"
      "- chunks:\n"
      "  - 2:YWJj:MC4CAQAwBQYDK2VwBCIEIDfEfevydXXfKajz3sRkcQ7RPvfWUPoq6pu1TYHV1DEe\n"
      "  - 3:YWJj:MC4CAQAwBQYDK2VwBCIEIDfEfevydXXfKajz3sRkcQ7RPvfWUPoq6pu1TYHV1DEe\n"
      "  server: xftp://abc=@example4.com\n"
      "size: 26mb\n";
  const FileDescription fd = decode_file_description(yaml);
  CHECK(fd.size == 26LL << 20);
  CHECK(fd.chunk_size == 8u << 20);
  REQUIRE(fd.chunks.size() == 4);
  CHECK(fd.chunks[3].chunk_size == 2u << 20);
  CHECK(fd.chunks[0].digest == str("ghi"));
  REQUIRE(fd.chunks[0].replicas.size() == 2);
  CHECK(fd.chunks[0].replicas[0].server.hosts[0] == "example1.com");
  CHECK(fd.chunks[0].replicas[1].server.hosts[0] == "example3.com");
  CHECK(fd.chunks[2].replicas[1].server.hosts[0] == "example4.com");
  CHECK(fd.chunks[0].replicas[0].replica_id == str("abc"));
  CHECK(encode_file_description(fd) == yaml);

  // `xftp info` sums per server.
  const auto groups = group_replicas_by_server(fd);
  REQUIRE(groups.size() == 4);
  CHECK(groups[1].replicas[1].chunk_size == 2u << 20);
  CHECK_FALSE(groups[2].replicas[1].chunk_size);
}

TEST_CASE("description parser tolerance", "[xftp-files]") {
  // Another key order, quoted scalars, comments, a document marker, CRLF, an indented sequence, a flow list and
  // unknown keys.
  const std::string yaml =
      "---\r\n"
      "# written by hand\r\n"
      "party: 'recipient'\r\n"
      "size: \"64kb\"   # one chunk\r\n"
      "replicas:\r\n"
      "  - server: \"xftp://PyEfd4DGGIBNsmZYxAag1S_Y0OkKUeyHLSk2Wb7SQmU=@localhost:8443\"\r\n"
      "    chunks: ['1:cmVjaXBpZW50LWlkLTAwMQ==:MC4CAQAwBQYDK2VwBCIEICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4_']\r\n"
      "  - chunks:\r\n"
      "      - \"1:cmVjaXBpZW50LWlkLTAwMg==:MC4CAQAwBQYDK2VwBCIEIEBBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f:-CmZS2tFATs2EB61OsEIDeDs8jNNd2Tr35DLYhWwJn8=\"\r\n"
      "    server: xftp://NZ2p7PD0ncjjvhTBfx_VTLYADSRjeW5qhF9KKdFQ2o0=@xftp2.example.com:5223\r\n"
      "digest: GKBxjKVfTh6lnhpUxn_jc58OddzJokWhWeC-2iAiKMIJNkcnWDVOXlVPsAQb9-uGHnL-3OAPlsM0Kn97_yPn6A\r\n"
      "nonce: MDEyMzQ1Njc4OTo7PD0-P0BBQkNERUZH\r\n"
      "key: '__79_Pv6-fj39vX08_Lx8O_u7ezr6uno5-bl5OPi4eA='\r\n"
      "chunkSize: 64kb\r\n"
      "redirect: null\r\n"
      "future: {ignored: true}\r\n"
      "...\r\n";
  // (flow mappings are not supported even in ignored keys)
  CHECK_THROWS_WITH(parse_file_description(yaml), Catch::Contains("line 16"));
  std::string ok = yaml;
  ok.replace(ok.find("future: {ignored: true}"), 23, "future: ignored");
  const FileDescription fd = decode_file_description(ok);
  // Replicas come in file order: the localhost replica first, so it has no digest and the second has it.
  REQUIRE(fd.chunks.size() == 1);
  CHECK(fd.chunks[0].replicas.size() == 2);
  CHECK(fd.chunks[0].replicas[0].replica_id == str("recipient-id-001"));
  CHECK(fd.digest == desc_a().digest);
  CHECK_FALSE(fd.redirect);
}

TEST_CASE("description errors name the problem", "[xftp-files]") {
  const auto err = [](const std::string& yaml) {
    try {
      decode_file_description(yaml);
    } catch (const DescriptionError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const auto replace = [](std::string s, const std::string& from, const std::string& to) {
    const size_t p = s.find(from);
    REQUIRE(p != std::string::npos);
    return s.replace(p, from.size(), to);
  };
  CHECK(err("") == "empty file description");
  CHECK(err(replace(kYamlA, "party: recipient\n", "")) == "line 1: missing key 'party'");
  CHECK(err(replace(kYamlA, "party: recipient", "party: reader")) ==
        "line 5: party: expected recipient or sender, got 'reader'");
  CHECK(err(replace(kYamlA, "key: __79_Pv6-fj39vX08_Lx8O_u7ezr6uno5-bl5OPi4eA=", "key: AAAA")) ==
        "line 3: key: expected 32 bytes, got 3");
  CHECK(err(replace(kYamlA, "nonce: MDEy", "nonce: !!!")) == "line 4: unsupported YAML value starting with '!'");
  CHECK(err(replace(kYamlA, "size: 64kb\n", "size: 64xb\n")) == "line 13: size: bad size '64xb'");
  CHECK(err(replace(kYamlA, "size: 64kb\n", "size: 128kb\n")) == "chunks total size is different than file size");
  CHECK(err(replace(kYamlB, "  - 2:", "  - 3:")) == "chunk numbers are not sequential");
  CHECK_THAT(err(replace(kYamlA, ":MC4CAQAwBQYDK2VwBCIEIEBB", ":AAAA")),
             Catch::StartsWith("line 8: chunk replica") && Catch::Contains("replica key is not an Ed25519"));
  CHECK_THAT(err(replace(kYamlA, ":-CmZS2tFATs2EB61OsEIDeDs8jNNd2Tr35DLYhWwJn8=", "")),
             Catch::Contains("no digest for chunk 1"));
  CHECK_THAT(err(replace(kYamlA, "@localhost:8443", "@localhost:8443:1")), Catch::Contains("line 12") && Catch::Contains("bad port"));
  CHECK_THAT(err(replace(kYamlA, "@localhost", ":pw@localhost")), Catch::Contains("password is not allowed"));
  CHECK(err(replace(kYamlA, "replicas:\n", "replicas: x\n")) == "line 7: unexpected list item");
  CHECK(err(replace(kYamlA, "replicas:\n", "replicas: x\nfoo:\n")) == "line 6: replicas: expected a list");
  CHECK(err(replace(kYamlA, "party: recipient\n", "party: recipient\n  extra: 1\n")) ==
        "line 6: unexpected indentation (multi-line values are not supported)");
  CHECK(err(replace(kYamlA, "party: recipient\n", "party: recipient\nparty: sender\n")) == "line 6: duplicate key 'party'");
  CHECK(err(replace(kYamlA, "party: recipient\n", "party recipient\n")) == "line 5: expected 'key: value'");
  CHECK(err(replace(kYamlA, "key: __", "key: '__")) == "line 3: unterminated quoted string");
  // Two replicas of one chunk disagreeing on the digest.
  CHECK(err(replace(kYamlA, "Ojs8PT4_\n", "Ojs8PT4_:AAAA\n")) == "line 11: different size or digest in chunk replicas");
}

TEST_CASE("native file description URI", "[xftp-files]") {
  FileDescriptionURI uri;
  uri.description = desc_a();
  const std::string s = encode_file_description_uri(uri);
  CHECK(s.rfind("simplex:/file#/?desc=chunkSize%3A%2064kb%0Adigest%3A%20GKBx", 0) == 0);
  CHECK(parse_file_description_uri(s) == uri);

  uri.scheme = "https://simplex.chat";
  uri.client_data = R"({"something":"extra","more":true})";
  const std::string s2 = encode_file_description_uri(uri);
  CHECK(s2.find("&data=%7B%22something%22%3A%22extra%22%2C%22more%22%3Atrue%7D") != std::string::npos);
  CHECK(parse_file_description_uri(s2) == uri);
  // "/file/" and '+' for spaces are read as well.
  std::string alt = s;
  alt.replace(alt.find("/file#"), 6, "/file/#");
  for (size_t p; (p = alt.find("%20")) != std::string::npos;) alt.replace(p, 3, "+");
  CHECK(parse_file_description_uri(alt).description == desc_a());

  CHECK_THROWS_WITH(parse_file_description_uri("simplex:/file#/?data=x"), "no qs param desc");
  CHECK_THROWS_WITH(parse_file_description_uri("simplex:/chat#/?desc=x"), Catch::Contains("expected /file"));
  CHECK_THROWS_WITH(parse_file_description_uri("ftp://x/file#/?desc=x"), Catch::Contains("simplex:"));
  FileDescriptionURI snd;
  snd.description = desc_b();
  CHECK_THROWS_WITH(parse_file_description_uri(encode_file_description_uri(snd)), "incorrect XFTP party");
}

TEST_CASE("send -n N: recipient and sender descriptions", "[xftp-files]") {
  FileDescription base = desc_b(FileParty::Recipient);
  base.chunks.clear();
  const auto srv = parse_xftp_server(kServerLocal);
  const auto srv2 = parse_xftp_server(kServer2);
  std::vector<SentChunk> sent = {
      {1, str("sender-id-000001"), ed_key(0), 262144, desc_b().chunks[0].digest,
       {{srv, {{str("r1-c1"), ed_key(0x20)}, {str("r2-c1"), ed_key(0x40)}}}}},
      {2, str("sender-id-000002"), ed_key(0), 65536, desc_b().chunks[1].digest,
       {{srv2, {{str("r1-c2"), ed_key(0x20)}, {str("r2-c2"), ed_key(0x40)}}}}},
  };
  const auto rcv = recipient_descriptions(base, sent);
  REQUIRE(rcv.size() == 2);
  for (size_t n = 0; n < 2; ++n) {
    INFO("recipient " << n + 1);
    CHECK(rcv[n].party == FileParty::Recipient);
    REQUIRE(rcv[n].chunks.size() == 2);
    CHECK(rcv[n].chunks[0].replicas[0].replica_id == str("r" + std::to_string(n + 1) + "-c1"));
    CHECK(rcv[n].chunks[1].replicas[0].server == srv2);
    CHECK(rcv[n].chunks[1].chunk_size == 65536);
    CHECK_NOTHROW(validate_file_description(rcv[n]));
    CHECK(decode_file_description(encode_file_description(rcv[n])) == rcv[n]);
  }
  const auto snd = sender_description(base, sent);
  CHECK(snd.party == FileParty::Sender);
  FileDescription expect_snd = desc_b();
  expect_snd.chunks[1].replicas[0].server = srv2;
  CHECK(snd == expect_snd);

  TempDir dir;
  const auto p = description_paths(dir.path, "test-300000.bin", 2);
  CHECK(p.dir == dir / "test-300000.bin.xftp");
  CHECK(p.recipients == std::vector<std::filesystem::path>{p.dir / "rcv1.xftp", p.dir / "rcv2.xftp"});
  CHECK(p.sender == p.dir / "snd.xftp.private");
  std::filesystem::create_directory(p.dir);
  CHECK(description_paths(dir.path, "test-300000.bin", 1).dir == dir / "test-300000_1.bin.xftp");
}
