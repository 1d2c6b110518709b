// `xftp-server start` as a working XFTP relay (xftp-protocol.md §3–§12, server-operations.md §4.6, §6.1–6.2),
// driven over real TLS and HTTP/2 on 127.0.0.1 by our XFTP client (whose request bytes are checked against the
// xftp-vectors in the unit tests). Chunk files and store-log lines are read from disk as the reference writes them.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "xftp/client.hpp"
#include "xftp/protocol.hpp"
#include "xftp_fixture.hpp"

using namespace sr;
using namespace sr::test;
using namespace sr::xftp;
using namespace std::chrono_literals;
namespace fsys = std::filesystem;

namespace {

crypto::PrivateKey new_key() { return crypto::PrivateKey{crypto::KeyAlg::Ed25519, crypto::random_bytes(32)}; }

Bytes chunk_bytes(uint32_t size, uint8_t seed) {
  Bytes b(size);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(seed + i * 131 + (i >> 11));
  return b;
}
Bytes sha256_of(const Bytes& b) {
  const auto d = crypto::sha256(b);
  return Bytes(d.begin(), d.end());
}
std::string b64(const Bytes& b) { return base64url_encode(b); }

template <class T>
std::string describe_error(const Result<T>& r) {
  return r.ok() ? std::string("ok") : error_text(r.error());
}
template <class T>
std::optional<Error::Kind> error_kind(const Result<T>& r) {
  return r.ok() ? std::nullopt : std::optional(r.error().kind);
}

// One file (chunk) as a sender creates it: keys, content, the server's ids.
struct File {
  crypto::PrivateKey snd = new_key();
  std::vector<crypto::PrivateKey> rcv;
  Bytes data;
  Bytes sender_id;
  std::vector<Bytes> recipient_ids;

  explicit File(uint32_t size, uint8_t seed = 1, size_t recipients = 1) : data(chunk_bytes(size, seed)) {
    for (size_t i = 0; i < recipients; ++i) rcv.push_back(new_key());
  }
  FileInfo info() const { return FileInfo{crypto::public_key(snd), static_cast<uint32_t>(data.size()), sha256_of(data)}; }
  std::vector<AuthKey> rcv_keys() const {
    std::vector<AuthKey> keys;
    for (const auto& k : rcv) keys.push_back(crypto::public_key(k));
    return keys;
  }
  Result<FRSndIds> create(SyncXftpClient& c, std::optional<std::string> auth = std::nullopt) {
    auto r = c.fnew(info(), rcv_keys(), auth, snd);
    if (r.ok()) {
      sender_id = r.value().sender_id;
      recipient_ids = r.value().recipient_ids;
    }
    return r;
  }
  Result<FROk> upload(SyncXftpClient& c) { return c.fput(sender_id, snd, ChunkSource::of(data)); }
  Result<Download> download(SyncXftpClient& c, Bytes& out, size_t i = 0) {
    out.clear();
    return c.fget(recipient_ids.at(i), rcv.at(i), data.size(), sha256_of(data), out);
  }
};

struct Running {
  XftpRelay& relay;
  std::unique_ptr<Process> proc;
  explicit Running(XftpRelay& r) : relay(r), proc(r.start()) {
    INFO(proc->out() << proc->err());
    REQUIRE(proc->running());
  }
  void connect(SyncXftpClient& c, ClientOptions o = {}) { c.connect("127.0.0.1", relay.port, relay.key_hash_bytes(), o); }
  void stop() {
    proc->signal(SIGINT);
    REQUIRE(proc->wait(30s) == 0);
  }
};

std::vector<std::string> log_lines(const XftpRelay& r) { return lines_of(read_text(r.store_log())); }

}  // namespace

TEST_CASE("xftp start: the reference's start-up lines, no 'Processed:' line, storage and expiry notes",
          "[xftp-server]") {
  XftpRelay relay("1gb");
  Running s(relay);
  const std::string out = s.proc->out(), err = s.proc->err();
  CHECK(contains(out, "Store log: " + relay.store_log().string() + "\n"));
  CHECK(contains(out, "Listening on port " + std::to_string(relay.port) + "...\n"));
  CHECK_FALSE(contains(out, "Processed:"));
  CHECK(contains(err, "Total / available storage: 1073741824 / 1073741824"));
  CHECK(contains(err, "Expiration check: 0 files"));
  CHECK(contains(err, "Used 0mb -> 0mb, 0mb reclaimed."));
  s.stop();
  CHECK(contains(s.proc->err(), "Server stopped"));
}

TEST_CASE("xftp relay: upload and download each chunk size; chunk files and store log as the reference's",
          "[xftp-server]") {
  XftpRelay relay;
  Running s(relay);
  SyncXftpClient c;
  s.connect(c);
  CHECK(c.session().version == 3);
  CHECK(c.ping().ok());

  uint8_t seed = 1;
  for (uint32_t size : kChunkSizes) {
    DYNAMIC_SECTION("chunk of " << size << " bytes") {
      File f(size, seed++);
      auto created = f.create(c);
      REQUIRE(created.ok());
      CHECK(f.sender_id.size() == 16);
      REQUIRE(f.recipient_ids.size() == 1);
      auto up = f.upload(c);
      INFO(describe_error(up));
      REQUIRE(up.ok());
      // The chunk is stored whole at <path>/<b64u(senderId)>, exactly as uploaded.
      const auto path = relay.files / b64(f.sender_id);
      REQUIRE(fsys::exists(path));
      CHECK(read_text(path) == std::string(f.data.begin(), f.data.end()));

      Bytes got;
      auto down = f.download(c, got);
      INFO(describe_error(down));
      REQUIRE(down.ok());
      CHECK(got == f.data);
      // A second download works too, until the recipient acknowledges.
      REQUIRE(f.download(c, got).ok());
      CHECK(c.fack(f.recipient_ids[0], f.rcv[0]).ok());
      CHECK(error_kind(f.download(c, got)) == Error::Kind::AUTH);

      CHECK(c.fdel(f.sender_id, f.snd).ok());
      CHECK_FALSE(fsys::exists(path));
      CHECK(error_kind(c.fdel(f.sender_id, f.snd)) == Error::Kind::AUTH);

      const auto lines = log_lines(relay);
      const std::string sid = b64(f.sender_id), rid = b64(f.recipient_ids[0]);
      std::vector<std::string> mine;
      for (const auto& l : lines)
        if (contains(l, sid) || contains(l, rid)) mine.push_back(l.substr(0, 4));
      CHECK(mine == std::vector<std::string>{"FNEW", "FADD", "FPUT", "FACK", "FDEL"});
      const auto fput = std::find_if(lines.begin(), lines.end(), [&](auto& l) { return l.rfind("FPUT " + sid, 0) == 0; });
      REQUIRE(fput != lines.end());
      const std::string path_text = path.string();
      CHECK(*fput == "FPUT " + sid + " " + b64(Bytes(path_text.begin(), path_text.end())));
    }
  }
}

TEST_CASE("xftp relay: FADD recipients each download; error paths answer as the reference", "[xftp-server]") {
  XftpRelay relay;
  Running s(relay);
  SyncXftpClient c;
  s.connect(c);

  File f(65536, 7, 1);
  REQUIRE(f.create(c).ok());
  const auto extra = new_key();
  auto added = c.fadd(f.sender_id, {crypto::public_key(extra)}, f.snd);
  REQUIRE(added.ok());
  REQUIRE(added.value().recipient_ids.size() == 1);
  f.rcv.push_back(extra);
  f.recipient_ids.push_back(added.value().recipient_ids[0]);

  Bytes got;
  // Before the upload: NO_FILE.
  CHECK(error_kind(f.download(c, got, 1)) == Error::Kind::NO_FILE);

  // A wrong digest and a short body are refused and leave nothing stored.
  File bad(65536, 9);
  bad.data[100] ^= 1;
  auto wrong = c.fnew(FileInfo{crypto::public_key(f.snd), 65536, sha256_of(chunk_bytes(65536, 9))}, f.rcv_keys(),
                      std::nullopt, f.snd);
  REQUIRE(wrong.ok());
  CHECK(error_kind(c.fput(wrong.value().sender_id, f.snd, ChunkSource::of(bad.data))) == Error::Kind::DIGEST);
  CHECK_FALSE(fsys::exists(relay.files / b64(wrong.value().sender_id)));
  Bytes shorter(f.data.begin(), f.data.begin() + 1000);
  CHECK(error_kind(c.fput(f.sender_id, f.snd, ChunkSource::of(shorter))) == Error::Kind::SIZE);
  Bytes longer = f.data;
  longer.push_back(0);
  CHECK(error_kind(c.fput(f.sender_id, f.snd, ChunkSource::of(longer))) == Error::Kind::SIZE);

  REQUIRE(f.upload(c).ok());
  // Committed chunks are immutable: a second FPUT is answered OK and changes nothing.
  CHECK(c.fput(f.sender_id, f.snd, ChunkSource::of(chunk_bytes(65536, 99))).ok());
  for (size_t i = 0; i < 2; ++i) {
    auto d = f.download(c, got, i);
    INFO(describe_error(d));
    REQUIRE(d.ok());
    CHECK(got == f.data);
  }

  // Wrong keys, unknown ids, the other party's ids: AUTH.
  CHECK(error_kind(c.fdel(f.sender_id, new_key())) == Error::Kind::AUTH);
  CHECK(error_kind(c.fdel(Bytes(16, 1), f.snd)) == Error::Kind::AUTH);
  CHECK(error_kind(c.fdel(f.recipient_ids[0], f.snd)) == Error::Kind::AUTH);
  CHECK(error_kind(c.fack(f.recipient_ids[0], f.rcv[1])) == Error::Kind::AUTH);
  // A chunk size that is not one of the four: SIZE.
  CHECK(error_kind(c.fnew(FileInfo{crypto::public_key(f.snd), 100000, Bytes(32, 0)}, f.rcv_keys(), std::nullopt,
                          f.snd)) == Error::Kind::SIZE);
  // The connection lives on after every error.
  CHECK(c.ping().ok());
}

TEST_CASE("xftp relay: malformed requests get the spec's errors and the connection lives on", "[xftp-server]") {
  XftpRelay relay;
  Running s(relay);
  SyncXftpClient c;
  s.connect(c);
  const auto& sid = c.session().session_id;

  auto reply_of = [&](Bytes body) {
    RawRequest r;
    r.body = std::move(body);
    auto resp = c.raw(r);
    CHECK(resp.status == 200);
    return read_reply(sid, resp.body);
  };
  // read_reply gives ERR replies and framing failures alike as the error.
  auto err_of = [&](const std::variant<Response, Error>& r) -> std::string {
    if (auto* e = std::get_if<Error>(&r)) return error_text(*e);
    if (auto* e = std::get_if<FRErr>(&std::get<Response>(r))) return error_text(e->err);
    return describe(r);
  };
  CHECK(err_of(reply_of(Bytes(100, 0))) == "BLOCK");        // shorter than a block
  CHECK(err_of(reply_of(Bytes(kBlockSize, 0xff))) == "BLOCK");  // bad padding
  const Bytes other_session(32, 1);
  CHECK(err_of(reply_of(encode_command_block(other_session, {}, {}, PING{}))) == "SESSION");
  // An unknown command tag and a bad parameter: CMD errors with the corrId echoed.
  const Bytes unknown = encode_transmission_block({}, authorized_bytes(sid, {}, {}, Bytes{'N', 'O', 'P', 'E'}));
  CHECK(err_of(reply_of(unknown)) == "CMD UNKNOWN");
  const Bytes ping_space = encode_transmission_block({}, authorized_bytes(sid, {}, {}, Bytes{'P', 'I', 'N', 'G', ' '}));
  CHECK(err_of(reply_of(ping_space)) == "CMD SYNTAX");
  // PING must not carry an entity; FDEL needs a signature.
  CHECK(err_of(reply_of(encode_command_block(sid, {}, Bytes(16, 2), PING{}))) == "CMD HAS_AUTH");
  CHECK(err_of(reply_of(encode_command_block(sid, {}, Bytes(16, 2), FDEL{}))) == "CMD NO_AUTH");
  CHECK(c.ping().ok());
}

TEST_CASE("xftp relay: handshake states over the wire; legacy no-ALPN clients get version 1", "[xftp-server]") {
  XftpRelay relay;
  Running s(relay);
  SyncXftpClient c;
  s.connect(c);
  // Native, accepted: a repeated empty hello is not a hello any more but a too-short block.
  RawRequest empty;
  auto r = c.raw(empty);
  CHECK(r.status == 200);
  const auto block = parse_response_block(c.session().session_id, r.body);
  REQUIRE(std::holds_alternative<ResponseTransmission>(block));
  const auto& reply = std::get<ResponseTransmission>(block).response;
  REQUIRE(std::holds_alternative<Response>(reply));
  REQUIRE(std::holds_alternative<FRErr>(std::get<Response>(reply)));
  CHECK(std::get<FRErr>(std::get<Response>(reply)).err.kind == Error::Kind::BLOCK);

  // A client handshake with an unsupported version gets the bare HANDSHAKE string and may retry.
  SyncXftpClient bad;
  ClientOptions o;
  o.handshake_version = 4;
  CHECK_THROWS_WITH(s.connect(bad, o), Catch::Contains("HANDSHAKE"));

  // h2 without SNI (no web certificate): not XFTP, an empty 200.
  SyncXftpClient h2only;
  ClientOptions h2o;
  h2o.alpn = std::vector<std::string>{"h2"};
  CHECK_THROWS(s.connect(h2only, h2o));

  // http/1.1 (the preset-domain web port) still carries HTTP/2 and the native handshake.
  SyncXftpClient http11;
  ClientOptions ho;
  ho.alpn = std::vector<std::string>{"http/1.1"};
  s.connect(http11, ho);
  CHECK(http11.ping().ok());
}

TEST_CASE("xftp relay: storage quota refuses uploads, or evicts the oldest files when enabled", "[xftp-server]") {
  const bool evict = GENERATE(false, true);
  XftpRelay relay("128kb");  // two 64 KiB chunks
  if (evict) relay.add_to_section("FILES", "evict_oldest = on\n");
  Running s(relay);
  SyncXftpClient c;
  s.connect(c);
  File a(65536, 1), b(65536, 2), d(65536, 3);
  for (File* f : {&a, &b, &d}) REQUIRE(f->create(c).ok());
  REQUIRE(a.upload(c).ok());
  REQUIRE(b.upload(c).ok());
  Bytes got;
  if (!evict) {
    CHECK(error_kind(d.upload(c)) == Error::Kind::QUOTA);
    CHECK_FALSE(fsys::exists(relay.files / b64(d.sender_id)));
    // Freeing space makes room again.
    REQUIRE(c.fdel(a.sender_id, a.snd).ok());
    CHECK(d.upload(c).ok());
  } else {
    REQUIRE(d.upload(c).ok());
    // The oldest file went, as after FDEL: its chunk, its record, an FDEL line.
    CHECK(error_kind(a.download(c, got)) == Error::Kind::AUTH);
    CHECK_FALSE(fsys::exists(relay.files / b64(a.sender_id)));
    const auto lines = log_lines(relay);
    CHECK(std::find(lines.begin(), lines.end(), "FDEL " + b64(a.sender_id)) != lines.end());
    CHECK(b.download(c, got).ok());
  }
  CHECK(d.download(c, got).ok());
  CHECK(got == d.data);
}

TEST_CASE("xftp relay: a restart keeps files, recipients and quota accounting", "[xftp-server]") {
  XftpRelay relay("192kb");  // three 64 KiB chunks
  File a(65536, 1, 2), b(65536, 2), pending(65536, 3);
  {
    Running s(relay);
    SyncXftpClient c;
    s.connect(c);
    REQUIRE(a.create(c).ok());
    REQUIRE(a.upload(c).ok());
    REQUIRE(b.create(c).ok());
    REQUIRE(b.upload(c).ok());
    REQUIRE(pending.create(c).ok());  // created, never uploaded
    c.close();
    s.stop();
  }
  Running s(relay);
  CHECK(contains(s.proc->err(), "Total / available storage: 196608 / 65536"));
  SyncXftpClient c;
  s.connect(c);
  Bytes got;
  for (size_t i = 0; i < 2; ++i) {
    REQUIRE(a.download(c, got, i).ok());
    CHECK(got == a.data);
  }
  REQUIRE(pending.upload(c).ok());
  File more(65536, 4);
  REQUIRE(more.create(c).ok());
  CHECK(error_kind(more.upload(c)) == Error::Kind::QUOTA);
}

TEST_CASE("xftp relay: files older than the expiry are removed at start with their chunks", "[xftp-server]") {
  XftpRelay relay;
  fsys::create_directories(relay.files);
  fsys::create_directories(relay.log);
  // A reference store log: an expired uploaded file and a fresh one (createdAt hour-rounded).
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  const int64_t fresh = now / 3600 * 3600, old = fresh - 72 * 3600;
  File x(65536, 1), y(65536, 2);
  x.sender_id = Bytes(16, 0x41);
  y.sender_id = Bytes(16, 0x42);
  x.recipient_ids = {Bytes(16, 0x51)};
  y.recipient_ids = {Bytes(16, 0x52)};
  std::string text;
  for (auto [f, t] : {std::pair{&x, old}, std::pair{&y, fresh}}) {
    const auto path = (relay.files / b64(f->sender_id)).string();
    write_text(path, std::string(f->data.begin(), f->data.end()));
    text += "FNEW " + b64(f->sender_id) + " " + b64(crypto::encode_spki(crypto::public_key(f->snd))) + " 65536 " +
            b64(sha256_of(f->data)) + " " + std::to_string(t) + " active\n";
    text += "FADD " + b64(f->sender_id) + " " + b64(f->recipient_ids[0]) + ":" +
            b64(crypto::encode_spki(crypto::public_key(f->rcv[0]))) + "\n";
    text += "FPUT " + b64(f->sender_id) + " " + b64(Bytes(path.begin(), path.end())) + "\n";
  }
  write_text(relay.store_log(), text);

  Running s(relay);
  CHECK(contains(s.proc->err(), "Expiration check: 2 files"));
  CHECK_FALSE(fsys::exists(relay.files / b64(x.sender_id)));
  CHECK(fsys::exists(relay.files / b64(y.sender_id)));
  SyncXftpClient c;
  s.connect(c);
  Bytes got;
  CHECK(error_kind(x.download(c, got)) == Error::Kind::AUTH);
  REQUIRE(y.download(c, got).ok());
  CHECK(got == y.data);
  const auto lines = log_lines(relay);
  CHECK(std::find(lines.begin(), lines.end(), "FDEL " + b64(x.sender_id)) != lines.end());
}

TEST_CASE("xftp relay: basic auth and new_files on FNEW", "[xftp-server]") {
  const std::string mode = GENERATE(std::string("password"), std::string("closed"));
  XftpRelay relay;
  if (mode == "password")
    relay.add_to_section("AUTH", "create_password = s3cret\n");
  else relay.set_line("new_files = on", "new_files = off");
  Running s(relay);
  SyncXftpClient c;
  s.connect(c);
  File f(65536);
  CHECK(error_kind(f.create(c)) == Error::Kind::AUTH);
  CHECK(error_kind(f.create(c, "wrong")) == Error::Kind::AUTH);
  if (mode == "password") {
    REQUIRE(f.create(c, "s3cret").ok());
    REQUIRE(f.upload(c).ok());
    Bytes got;
    CHECK(f.download(c, got).ok());  // downloads need no password
    CHECK(contains(s.proc->out(), "Uploading new files requires password."));
  } else {
    CHECK(error_kind(f.create(c, "s3cret")) == Error::Kind::AUTH);
    CHECK(contains(s.proc->out(), "Uploading new files NOT allowed."));
  }
}

namespace {

// A relay with the fixture web certificate (ECDSA P-256, CN localhost) and a static site.
struct WebRelay : XftpRelay {
  WebRelay() {
    const auto web = fixtures_dir() / "web";
    set_line("# cert = " + (cfg / "web.crt").string(), "cert = " + (web / "web.crt").string());
    set_line("# key = " + (cfg / "web.key").string(), "key = " + (web / "web.key").string());
  }
  fsys::path www() const { return log / "www"; }
};

ClientOptions web_options() {
  ClientOptions o;
  o.mode = ClientOptions::Mode::Web;
  o.sni = "localhost";
  return o;
}

}  // namespace

TEST_CASE("xftp relay: web connections get the web certificate by SNI, the web handshake and CORS",
          "[xftp-server][web]") {
  WebRelay relay;
  Running s(relay);
  fsys::create_directories(relay.www());
  write_text(relay.www() / "index.html", "<html>server</html>");

  // TLS: SNI gets the web chain, no SNI the identity chain [server.crt, ca.crt].
  TlsProbeOptions with_sni;
  with_sni.alpn = {"h2"};
  with_sni.sni = "localhost";
  const auto web = tls_probe(relay.port, with_sni);
  REQUIRE(web.handshake_ok);
  CHECK(web.chain_der.at(0) == first_cert_der(fixtures_dir() / "web" / "web.crt"));
  TlsProbeOptions native_probe;
  native_probe.alpn = {"xftp/1"};
  const auto native = tls_probe(relay.port, native_probe);
  REQUIRE(native.handshake_ok);
  REQUIRE(native.chain_der.size() == 2);
  CHECK(native.chain_der[1] == first_cert_der(relay.cfg / "ca.crt"));

  // The xftp-web flow: hello with a challenge (identity proof checked by the client), handshake, commands.
  SyncXftpClient c;
  s.connect(c, web_options());
  CHECK(c.session().version == 3);
  File f(65536, 5);
  REQUIRE(f.create(c).ok());
  REQUIRE(f.upload(c).ok());
  Bytes got;
  REQUIRE(f.download(c, got).ok());
  CHECK(got == f.data);

  // CORS on every POST answer; the preflight; static pages.
  RawRequest ping;
  ping.body = encode_command_block(c.session().session_id, {}, {}, PING{});
  auto pr = c.raw(ping);
  REQUIRE(pr.header("access-control-allow-origin"));
  CHECK(*pr.header("access-control-allow-origin") == "*");
  CHECK(*pr.header("access-control-expose-headers") == "*");
  RawRequest options;
  options.method = "OPTIONS";
  auto po = c.raw(options);
  CHECK(po.status == 200);
  CHECK(po.body.empty());
  REQUIRE(po.header("access-control-allow-methods"));
  CHECK(*po.header("access-control-allow-methods") == "POST, OPTIONS");
  CHECK(*po.header("access-control-allow-headers") == "*");
  CHECK(*po.header("access-control-max-age") == "86400");
  RawRequest page;
  page.method = "GET";
  auto pg = c.raw(page);
  CHECK(pg.status == 200);
  CHECK(std::string(pg.body.begin(), pg.body.end()) == "<html>server</html>");
  CHECK(*pg.header("content-type") == "text/html");
  page.path = "/missing";
  CHECK(c.raw(page).status == 404);

  // A new page on the same connection: hello again (state Sent), where a command is taken as a failed client
  // handshake, then the handshake header makes it accepted again.
  RawRequest hello;
  hello.headers = {{"xftp-web-hello", "1"}};
  hello.body = encode_client_hello({Bytes(32, 9)});
  const auto again = parse_server_handshake(c.raw(hello).body);
  REQUIRE(again);
  CHECK(again->session_id == c.session().session_id);
  CHECK(again->web_identity_proof.size() > 0);
  CHECK(parse_bare_error(c.raw(ping).body) == std::optional<std::string>("HANDSHAKE"));
  RawRequest hs;
  hs.headers = {{"xftp-handshake", "1"}};
  hs.body = encode_client_handshake({3, relay.key_hash_bytes()});
  const auto accepted = c.raw(hs);
  CHECK(accepted.status == 200);
  CHECK(accepted.body.empty());
  CHECK(c.ping().ok());

  // Native clients on the same server see no CORS.
  SyncXftpClient n;
  s.connect(n);
  RawRequest native_ping;
  native_ping.body = encode_command_block(n.session().session_id, {}, {}, PING{});
  auto nr = n.raw(native_ping);
  CHECK(nr.status == 200);
  CHECK(nr.header("access-control-allow-origin") == nullptr);
}

TEST_CASE("xftp relay: SNI without a web certificate gets the identity chain and no web mode", "[xftp-server][web]") {
  XftpRelay relay;
  Running s(relay);
  TlsProbeOptions o;
  o.alpn = {"h2"};
  o.sni = "localhost";
  const auto p = tls_probe(relay.port, o);
  REQUIRE(p.handshake_ok);
  REQUIRE(p.chain_der.size() == 2);
  CHECK(p.chain_der[1] == first_cert_der(relay.cfg / "ca.crt"));
  // A web client cannot handshake: h2 without a web certificate is not XFTP (empty 200, §4.2).
  SyncXftpClient c;
  CHECK_THROWS(s.connect(c, web_options()));
  // A native client that happens to send SNI is served natively.
  SyncXftpClient n;
  ClientOptions no = {};
  no.sni = "localhost";
  s.connect(n, no);
  CHECK(n.ping().ok());
}

TEST_CASE("xftp start: a configured web certificate that is missing stops start with the file and the fix",
          "[xftp-server][web]") {
  XftpRelay relay;
  relay.set_line("# cert = " + (relay.cfg / "web.crt").string(), "cert = " + (relay.cfg / "web.crt").string());
  relay.set_line("# key = " + (relay.cfg / "web.key").string(), "key = " + (relay.cfg / "web.key").string());
  auto r = relay.xftp({"start"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "web certificate file " + (relay.cfg / "web.crt").string() + " ([WEB] cert) does not exist"));
}

TEST_CASE("xftp relay: inactive clients are disconnected when configured", "[xftp-server]") {
  XftpRelay relay;
  relay.set_line("disconnect = off", "disconnect = on");
  relay.set_line("# ttl = 21600", "ttl = 1");
  relay.set_line("# check_interval = 3600", "check_interval = 1");
  Running s(relay);
  SyncXftpClient c;
  s.connect(c);
  CHECK(c.ping().ok());
  std::this_thread::sleep_for(3s);
  CHECK_THROWS(c.ping());
}
