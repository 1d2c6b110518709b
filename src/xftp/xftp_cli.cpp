// `xftp-cli` (the reference's `xftp` client program, Simplex.FileTransfer.Client.Main): send encrypts a file,
// uploads its chunks to the -s servers and writes one description per recipient plus the sender's; recv takes a
// description file or a link, downloads, checks, decrypts and acknowledges; del deletes the chunks with the
// sender description; info summarises a description. Chunks go one at a time over one connection per server.
#include "xftp/xftp_cli.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/options.hpp"

#include "core/cli.hpp"
#include "core/fsutil.hpp"
#include "core/crypto.hpp"
#include "xftp/client.hpp"
#include "xftp/file_crypto.hpp"
#include "xftp/file_description.hpp"
#include "xftp/protocol.hpp"

namespace sr::xftp {

namespace {

namespace stdfs = std::filesystem;

constexpr const char* kVersionLine = "SimpleX XFTP client v1.0.1";  // the reference client's version
constexpr int kDefaultRetries = 3;
// One timeout for connect + handshake and for each command, FPUT/FGET of a whole chunk (4 MB) included.
constexpr auto kTimeout = std::chrono::seconds(30);
constexpr size_t kMaxKeysPerCommand = 64;  // recipient keys per FNEW / FADD (the block has room for ~300)
constexpr size_t kMaxRecipients = 1000;
// The simplex:/file link carries the whole (URL-encoded) YAML; above this it is not worth pasting.
constexpr size_t kMaxLinkLength = 8192;

// A failure the user is told about: the text goes to stderr and the program exits with 1.
struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void out(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

bool g_verbose = false;
void debug(const std::string& line) {
  if (g_verbose) std::fprintf(stderr, "%s\n", line.c_str());
}

// "Uploaded 42%" on stderr, rewritten in place; only for a terminal and only for transfers worth watching.
class Progress {
 public:
  Progress(const char* label, int64_t total)
      : label_(label), total_(total), on_(total >= (1 << 20) && ::isatty(STDERR_FILENO) == 1) {}
  ~Progress() { clear(); }
  void add(int64_t n) {
    done_ += n;
    if (!on_ || total_ <= 0) return;
    const int pct = static_cast<int>(std::min<int64_t>(100, done_ * 100 / total_));
    if (pct == shown_) return;
    shown_ = pct;
    std::fprintf(stderr, "\r%s %3d%% [%-40s]", label_, pct, std::string(static_cast<size_t>(pct * 40 / 100), '#').c_str());
    std::fflush(stderr);
  }
  void clear() {
    if (on_ && shown_ >= 0) std::fprintf(stderr, "\r%60s\r", "");
    shown_ = -1;
  }

 private:
  const char* label_;
  int64_t total_;
  int64_t done_ = 0;
  bool on_;
  int shown_ = -1;
};

// Removes a temporary file or directory when the command ends, however it ends.
struct TempPath {
  stdfs::path path;
  ~TempPath() {
    if (path.empty()) return;
    std::error_code ec;
    stdfs::remove_all(path, ec);
  }
};

std::string server_text(const XFTPServer& s) { return format_xftp_server(s); }

// The server part a description keeps: no password.
XFTPServer without_auth(XFTPServer s) {
  s.basic_auth.reset();
  return s;
}

crypto::PrivateKey new_auth_key() { return crypto::PrivateKey{crypto::KeyAlg::Ed25519, crypto::random_bytes(32)}; }

// What an XFTP error means to someone running the CLI.
enum class Step : uint8_t { Create, Download, Delete };
std::string explain(const Error& e, Step step) {
  const std::string code = error_text(e);
  switch (e.kind) {
    case Error::Kind::AUTH:
      if (step == Step::Create)
        return code + " (the server requires a password to upload: -s xftp://KEY_HASH:PASSWORD@HOST)";
      return step == Step::Download
                 ? code + " (file expired or deleted by the sender, or this description was already used)"
                 : code + " (file expired or already deleted)";
    case Error::Kind::NO_FILE:
      return code + " (the chunk was never uploaded, or it expired)";
    case Error::Kind::BLOCKED:
      return code + " (the file was blocked by the server operator)";
    case Error::Kind::QUOTA:
      return code + " (the server's storage quota is exhausted)";
    case Error::Kind::SIZE:
      return code + " (the server does not accept this chunk size)";
    case Error::Kind::DIGEST:
      return code + " (chunk digest mismatch: the data is corrupted)";
    default:
      return code;
  }
}

// ---- Connections: one client per server, connected on first use, reconnected on a network failure ----------

class Connections {
 public:
  explicit Connections(int retries) : retries_(std::max(1, retries)) {}
  ~Connections() {
    for (auto& [_, c] : clients_) c->close();
    for (auto& c : dead_) c->close();
    io_.restart();
    io_.run_for(std::chrono::seconds(2));  // returns as soon as the closed connections released everything
    clients_.clear();
    dead_.clear();
  }

  // Runs op(client) against the server; a transport failure (unreachable, timeout, closed) closes the connection
  // and tries again, up to the retry count, then throws CliError naming the server and the reason. XFTP errors
  // are returned (op's Result), never retried here (the client retries SESSION/HANDSHAKE itself).
  template <class Op>
  auto with_retry(const XFTPServer& server, const std::string& what, Op op) {
    std::string reason;
    for (int attempt = 1; attempt <= retries_; ++attempt) {
      try {
        XftpClient& c = client(server);
        return run(op(c));
      } catch (const ClientError& e) {
        reason = e.what();
        drop(server);
        if (attempt < retries_) {
          debug(fmt::format("retrying {} on {}: {}", what, server_text(server), reason));
          std::this_thread::sleep_for(std::chrono::seconds(1));  // a restarting server gets a moment
        }
      }
    }
    throw CliError(fmt::format("Error {} on server {}: {}", what, server_text(server), reason));
  }

 private:
  template <class T>
  T run(asio::awaitable<T> op) {
    std::optional<T> result;
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(io_, std::move(op), [&](std::exception_ptr e, T value) {
      error = e;
      if (!e) result.emplace(std::move(value));
      done = true;
    });
    io_.restart();
    while (!done)  // every operation carries its own timeout
      if (io_.run_one() == 0 && !done) throw ClientError("internal: the operation stopped without a result");
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }

  static std::string key(const XFTPServer& s) { return server_text(without_auth(s)); }

  XftpClient& client(const XFTPServer& server) {
    auto it = clients_.find(key(server));
    if (it != clients_.end() && it->second->connected()) return *it->second;
    if (it != clients_.end()) drop(server);
    // Onion addresses need a SOCKS proxy, which the reference CLI does not offer either: dial the first other one.
    std::string host;
    for (const auto& h : server.hosts) {
      if (h.size() < 6 || h.substr(h.size() - 6) != ".onion") {
        host = h;
        break;
      }
    }
    if (host.empty()) throw CliError(fmt::format("Server {} has only .onion hosts (not supported)", server_text(server)));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto c = std::make_unique<XftpClient>(io_.get_executor());
    ClientOptions o;
    o.timeout = kTimeout;
    o.attempts = retries_;
    debug(fmt::format("connecting to {}", server_text(server)));
    auto op = [](XftpClient& cl, std::string h, uint16_t p, Bytes k, ClientOptions opts) -> asio::awaitable<bool> {
      co_await cl.connect(std::move(h), p, std::move(k), std::move(opts));
      co_return true;
    };
    try {
      run(op(*c, host, server.port.value_or(443), server.key_hash, o));
    } catch (...) {
      dead_.push_back(std::move(c));
      throw;
    }
    auto& slot = clients_[key(server)];
    slot = std::move(c);
    return *slot;
  }

  void drop(const XFTPServer& server) {
    auto it = clients_.find(key(server));
    if (it == clients_.end()) return;
    it->second->close();
    dead_.push_back(std::move(it->second));  // pending handlers may still refer to it until the loop drains
    clients_.erase(it);
  }

  asio::io_context io_;
  int retries_;
  std::map<std::string, std::unique_ptr<XftpClient>> clients_;
  std::vector<std::unique_ptr<XftpClient>> dead_;
};

// ---- Files ---------------------------------------------------------------------------------------------------

std::string read_text_file(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw CliError(fmt::format("Cannot read file description {}: {}", p.string(), std::strerror(errno)));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text_file(const stdfs::path& p, const std::string& text, bool private_file) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, private_file ? 0600 : 0644);
  if (fd < 0) throw CliError(fmt::format("Cannot write {}: {}", p.string(), std::strerror(errno)));
  if (const int err = fs::write_all(fd, text.data(), text.size())) {
    ::close(fd);
    throw CliError(fmt::format("Cannot write {}: {}", p.string(), std::strerror(err)));
  }
  if (::close(fd) != 0) throw CliError(fmt::format("Cannot write {}: {}", p.string(), std::strerror(errno)));
}

stdfs::path temp_dir(const std::optional<std::string>& tmp) {
  if (tmp) return *tmp;
  std::error_code ec;
  auto p = stdfs::temp_directory_path(ec);
  return ec ? stdfs::path("/tmp") : p;
}

// The reference's removeFD: -y removes the used description; otherwise it asks (Y/n, empty = yes). End of input
// keeps the file.
void remove_description(bool yes, const std::string& path) {
  if (!yes) {
    for (;;) {
      std::fputs(fmt::format("\nFile description {} can't be used again. Delete it (Y/n): ", path).c_str(), stdout);
      std::fflush(stdout);
      std::string answer;
      if (!std::getline(std::cin, answer)) {
        std::fputc('\n', stdout);
        return;
      }
      if (answer == "n" || answer == "N") return;
      if (answer.empty() || answer == "y" || answer == "Y") break;
    }
  }
  std::error_code ec;
  stdfs::remove(path, ec);
  if (ec) throw CliError(fmt::format("Cannot delete file description {}: {}", path, ec.message()));
  if (yes) out(fmt::format("\nFile description {} is deleted.", path));
}

// ---- Descriptions from the command line ----------------------------------------------------------------------

const char* party_name(FileParty p) { return p == FileParty::Recipient ? "recipient" : "sender"; }

// A description file path, a simplex:/file#/?desc=… (or https://…/file#/?desc=…) link, or an xftp-web link.
struct Input {
  FileDescription fd;
  bool is_link = false;
};

Input read_description(const std::string& arg, std::optional<FileParty> party) {
  Input in;
  const bool native = arg.rfind("simplex:", 0) == 0 ||
                      (is_web_link(arg) && arg.find("#/?") != std::string::npos);
  try {
    if (native) {
      in.is_link = true;
      in.fd = parse_file_description_uri(arg).description;
    } else if (is_web_link(arg)) {
      in.is_link = true;
      const auto hash = arg.find('#');
      if (hash == std::string::npos || hash + 1 == arg.size()) throw CliError("Invalid URL: no fragment");
      in.fd = decode_web_link(arg);
    } else {
      std::error_code ec;
      if (!stdfs::exists(arg, ec)) throw CliError(fmt::format("File description not found: {}", arg));
      in.fd = decode_file_description(read_text_file(arg));
    }
  } catch (const DescriptionError& e) {
    if (in.is_link) throw CliError(fmt::format("Invalid {} link: {}", native ? "file" : "web", e.what()));
    throw CliError(fmt::format("Failed to parse file description {}: {}", arg, e.what()));
  }
  if (party && in.fd.party != *party) {
    throw CliError(fmt::format(
        "{} is a {} file description; this command needs a {} description ({})", arg, party_name(in.fd.party),
        party_name(*party), *party == FileParty::Recipient ? "rcvN.xftp" : "snd.xftp.private"));
  }
  return in;
}

// ---- send ----------------------------------------------------------------------------------------------------

struct SendOptions {
  std::string file;
  std::optional<std::string> out_dir;
  size_t recipients = 1;
  std::vector<XFTPServer> servers;
  int retries = kDefaultRetries;
  std::optional<std::string> tmp;
};

int cmd_send(const SendOptions& o) {
  std::error_code ec;
  const stdfs::path src(o.file);
  if (!stdfs::exists(src, ec)) throw CliError(fmt::format("File not found: {}", o.file));
  if (!stdfs::is_regular_file(src, ec)) throw CliError(fmt::format("Not a regular file: {}", o.file));
  const auto size = stdfs::file_size(src, ec);
  if (ec) throw CliError(fmt::format("Cannot read {}: {}", o.file, ec.message()));
  if (static_cast<int64_t>(size) > kMaxFileSize) throw CliError("Files bigger than 1gb are not supported");
  const std::string file_name = src.filename().string();
  if (file_name.size() > 255) throw CliError("File name is too long (more than 255 bytes)");

  out("Encrypting file...");
  crypto::Key32 key{};
  crypto::random_bytes(key);
  const crypto::Nonce nonce = crypto::random_nonce();
  TempPath enc{unique_combine(temp_dir(o.tmp), "xftp.encrypted")};
  EncryptedFile ef;
  try {
    ef = encrypt_file(src, file_name, key, nonce, enc.path);
  } catch (const FileCryptoError& e) {
    throw CliError(e.what());
  }
  debug(fmt::format("encrypted file to {}", enc.path.string()));

  out("Uploading file...");
  const int fd = ::open(enc.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw CliError(fmt::format("File IO error: {}: {}", enc.path.string(), std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  Connections conns(o.retries);
  std::vector<SentChunk> sent;
  Progress progress("Uploaded", ef.plan.enc_size);
  // Round robin from a random server: every server is used once there are as many chunks as servers.
  uint8_t start_byte = 0;
  crypto::random_bytes(std::span<uint8_t>(&start_byte, 1));
  const size_t start = start_byte % o.servers.size();
  try {
    for (size_t i = 0; i < ef.plan.chunk_sizes.size(); ++i) {
      const XFTPServer& server = o.servers[(start + i) % o.servers.size()];
      const int64_t chunk_no = static_cast<int64_t>(i) + 1;
      const uint32_t chunk_size = ef.plan.chunk_sizes[i];
      SentChunk sc;
      sc.chunk_no = chunk_no;
      sc.snd_key = new_auth_key();
      sc.chunk_size = chunk_size;
      sc.digest = Bytes(ef.chunk_digests[i].begin(), ef.chunk_digests[i].end());
      std::vector<crypto::PrivateKey> rcv_keys;
      std::vector<AuthKey> rcv_pub;
      for (size_t r = 0; r < o.recipients; ++r) {
        rcv_keys.push_back(new_auth_key());
        rcv_pub.push_back(crypto::public_key(rcv_keys.back()));
      }
      debug(fmt::format("uploading chunk {} to {}...", chunk_no, server_text(server)));
      const FileInfo info{crypto::public_key(sc.snd_key), chunk_size, sc.digest};
      const size_t first = std::min(o.recipients, kMaxKeysPerCommand);
      const std::vector<AuthKey> first_keys(rcv_pub.begin(), rcv_pub.begin() + static_cast<std::ptrdiff_t>(first));
      auto ids = conns.with_retry(server, fmt::format("creating chunk {}", chunk_no), [&](XftpClient& c) {
        return c.fnew(info, first_keys, server.basic_auth, sc.snd_key);
      });
      if (!ids) throw CliError(fmt::format("Error creating chunk {} on server {}: {}", chunk_no, server_text(server),
                                           explain(ids.error(), Step::Create)));
      sc.snd_id = ids.value().sender_id;
      std::vector<Bytes> rcv_ids = ids.value().recipient_ids;
      for (size_t r = first; r < o.recipients; r += kMaxKeysPerCommand) {
        const size_t end = std::min(o.recipients, r + kMaxKeysPerCommand);
        const std::vector<AuthKey> more(rcv_pub.begin() + static_cast<std::ptrdiff_t>(r),
                                        rcv_pub.begin() + static_cast<std::ptrdiff_t>(end));
        auto added = conns.with_retry(server, fmt::format("adding recipients to chunk {}", chunk_no),
                                      [&](XftpClient& c) { return c.fadd(sc.snd_id, more, sc.snd_key); });
        if (!added) throw CliError(fmt::format("Error adding recipients to chunk {} on server {}: {}", chunk_no,
                                               server_text(server), explain(added.error(), Step::Create)));
        rcv_ids.insert(rcv_ids.end(), added.value().recipient_ids.begin(), added.value().recipient_ids.end());
      }
      if (rcv_ids.size() != o.recipients)
        throw CliError(fmt::format("Server {} returned {} recipient IDs for {} keys", server_text(server),
                                   rcv_ids.size(), o.recipients));
      auto put = conns.with_retry(server, fmt::format("uploading chunk {}", chunk_no), [&](XftpClient& c) {
        return c.fput(sc.snd_id, sc.snd_key,
                      ChunkSource::file(fd, static_cast<uint64_t>(ef.chunk_offsets[i]), chunk_size));
      });
      if (!put) {
        sent.push_back(std::move(sc));  // created: deleted below with the others
        throw CliError(fmt::format("Error uploading chunk {} to server {}: {}", chunk_no, server_text(server),
                                   explain(put.error(), Step::Create)));
      }
      SentChunkReplica replica;
      replica.server = without_auth(server);
      for (size_t r = 0; r < o.recipients; ++r) replica.recipients.emplace_back(rcv_ids[r], rcv_keys[r]);
      sc.replicas.push_back(std::move(replica));
      sent.push_back(std::move(sc));
      progress.add(chunk_size);
      debug(fmt::format("uploaded chunk {}", chunk_no));
    }
  } catch (const CliError&) {
    progress.clear();
    // Best effort: what was created is useless without the descriptions, which are never written now.
    for (size_t i = 0; i < sent.size(); ++i) {
      const XFTPServer& server = o.servers[(start + i) % o.servers.size()];
      try {
        conns.with_retry(server, "deleting a partial upload",
                         [&](XftpClient& c) { return c.fdel(sent[i].snd_id, sent[i].snd_key); });
      } catch (const CliError&) {
      }
    }
    throw;
  }
  progress.clear();

  FileDescription base;
  base.party = FileParty::Recipient;
  base.size = ef.plan.enc_size;
  base.digest = Bytes(ef.digest.begin(), ef.digest.end());
  base.key = key;
  base.nonce = nonce;
  base.chunk_size = ef.plan.chunk_sizes.front();
  const auto rcv = recipient_descriptions(base, sent);
  FileDescription snd_base = base;
  snd_base.party = FileParty::Sender;
  const auto snd = sender_description(snd_base, sent);

  const auto paths = description_paths(o.out_dir ? stdfs::path(*o.out_dir) : stdfs::path("."), file_name, o.recipients);
  stdfs::create_directories(paths.dir, ec);
  if (ec) throw CliError(fmt::format("Cannot create directory {}: {}", paths.dir.string(), ec.message()));
  for (size_t i = 0; i < rcv.size(); ++i) write_text_file(paths.recipients[i], encode_file_description(rcv[i]), false);
  write_text_file(paths.sender, encode_file_description(snd), true);

  out("File uploaded!");
  out("Sender file description: " + paths.sender.string());
  out("Pass file descriptions to the recipient(s):");
  for (const auto& p : paths.recipients) out(p.string());
  if (!rcv.empty()) {
    if (auto link = web_link(rcv.front())) out("\nWeb link:\n" + *link);
    FileDescriptionURI uri;
    uri.description = rcv.front();
    const std::string native = encode_file_description_uri(uri);
    if (native.size() <= kMaxLinkLength)
      out("\nFile link (recipient 1):\n" + native);
    else
      out(fmt::format("\nFile link (recipient 1): not shown ({} characters), pass {} instead", native.size(),
                      paths.recipients.front().string()));
  }
  return 0;
}

// ---- recv ----------------------------------------------------------------------------------------------------

struct RecvOptions {
  std::string description;
  std::optional<std::string> out;
  int retries = kDefaultRetries;
  std::optional<std::string> tmp;
  bool yes = false;
};

// The name from the file header as a plain file name: the sender chooses it, so no directories and no "..".
std::string safe_file_name(const std::string& name) {
  std::string base = name.substr(name.find_last_of('/') == std::string::npos ? 0 : name.find_last_of('/') + 1);
  if (base.empty() || base == "." || base == "..") base = "file";
  return base;
}

// The reference's getFilePath: an existing directory gets a unique name inside it, an existing file is an error,
// anything else is the file to write; the default is ~/Downloads (here: the current directory when it is missing).
stdfs::path output_path(const std::optional<std::string>& out_arg, const std::string& header_name) {
  const std::string name = safe_file_name(header_name);
  std::error_code ec;
  if (out_arg) {
    const stdfs::path p(*out_arg);
    if (stdfs::is_directory(p, ec)) return unique_combine(p, name);
    if (stdfs::exists(p, ec)) throw FileCryptoError(FileCryptoError::Kind::FileIO, "File already exists: " + p.string());
    return p;
  }
  const char* home = std::getenv("HOME");
  if (home && *home && stdfs::is_directory(stdfs::path(home) / "Downloads", ec))
    return unique_combine(stdfs::path(home) / "Downloads", name);
  return unique_combine(".", name);
}

// Downloads every chunk into dir (files "1", "2", …), checks the whole file's size and digest. Returns the paths.
std::vector<stdfs::path> download_chunks(Connections& conns, const FileDescription& fd, const stdfs::path& dir) {
  std::vector<stdfs::path> paths;
  Progress progress("Downloaded", fd.size);
  for (const auto& ch : fd.chunks) {
    if (ch.replicas.empty()) throw CliError(fmt::format("Chunk {} has no replicas", ch.chunk_no));
    const auto& rep = ch.replicas.front();
    const auto path = unique_combine(dir, std::to_string(ch.chunk_no));
    debug(fmt::format("downloading chunk {} from {}...", ch.chunk_no, server_text(rep.server)));
    std::ofstream file;
    auto r = conns.with_retry(rep.server, fmt::format("downloading chunk {}", ch.chunk_no), [&](XftpClient& c) {
      file.close();
      file.open(path, std::ios::binary | std::ios::trunc);
      if (!file) throw CliError(fmt::format("File IO error: cannot create {}", path.string()));
      auto sink = [&file, &progress](std::span<const uint8_t> part) {
        file.write(reinterpret_cast<const char*>(part.data()), static_cast<std::streamsize>(part.size()));
        progress.add(static_cast<int64_t>(part.size()));
      };
      return c.fget(rep.replica_id, rep.replica_key, ch.chunk_size, ch.digest, sink);
    });
    file.close();
    if (!file) throw CliError(fmt::format("File IO error: writing {}", path.string()));
    if (!r) throw CliError(fmt::format("Error downloading chunk {} from server {}: {}", ch.chunk_no,
                                       server_text(rep.server), explain(r.error(), Step::Download)));
    paths.push_back(path);
  }
  progress.clear();

  crypto::Sha512Stream digest;
  int64_t total = 0;
  Bytes buf(65536);
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    while (in) {
      in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
      const auto n = static_cast<size_t>(in.gcount());
      digest.update(ByteView(buf).first(n));
      total += static_cast<int64_t>(n);
    }
  }
  const auto d = digest.finish();
  if (!std::equal(d.begin(), d.end(), fd.digest.begin(), fd.digest.end())) throw CliError("File digest mismatch");
  if (total != fd.size) throw CliError("File size mismatch");
  return paths;
}

// FACK after the file is safely written: the server may delete the chunk for this recipient now.
void acknowledge(Connections& conns, const FileDescription& fd) {
  for (const auto& ch : fd.chunks) {
    const auto& rep = ch.replicas.front();
    try {
      auto r = conns.with_retry(rep.server, fmt::format("acknowledging chunk {}", ch.chunk_no),
                                [&](XftpClient& c) { return c.fack(rep.replica_id, rep.replica_key); });
      if (!r)
        std::fprintf(stderr, "Warning: chunk %lld not acknowledged by %s: %s\n", static_cast<long long>(ch.chunk_no),
                     server_text(rep.server).c_str(), error_text(r.error()).c_str());
    } catch (const CliError& e) {
      std::fprintf(stderr, "Warning: %s\n", e.what());
    }
  }
}

int cmd_recv(const RecvOptions& o) {
  Input in = read_description(o.description, FileParty::Recipient);
  if (o.out) {  // known before anything is downloaded (the reference finds out after)
    std::error_code ec;
    if (stdfs::exists(*o.out, ec) && !stdfs::is_directory(*o.out, ec))
      throw CliError("File already exists: " + *o.out);
  }
  Connections conns(o.retries);
  FileDescription fd = std::move(in.fd);
  for (int depth = 1;; --depth) {
    TempPath dir{unique_combine(temp_dir(o.tmp), "xftp.encrypted")};
    std::error_code ec;
    stdfs::create_directories(dir.path, ec);
    if (ec) throw CliError(fmt::format("Cannot create {}: {}", dir.path.string(), ec.message()));
    out("Downloading file...");
    const auto chunks = download_chunks(conns, fd, dir.path);
    if (fd.redirect) {
      // The description of the real file, uploaded as a file itself.
      if (depth <= 0) throw CliError("Redirect chain too long");
      const auto yaml_path = unique_combine(dir.path, "redirect.yaml");
      try {
        decrypt_chunk_files(chunks, fd.size, fd.key, fd.nonce, [&](const FileHeader&) { return yaml_path; });
      } catch (const FileCryptoError& e) {
        throw CliError(e.what());
      }
      acknowledge(conns, fd);
      try {
        fd = decode_file_description(read_text_file(yaml_path), FileParty::Recipient);
      } catch (const DescriptionError& e) {
        throw CliError(std::string("Redirect: invalid file description: ") + e.what());
      }
      continue;
    }
    out("Decrypting file...");
    stdfs::path written;
    try {
      decrypt_chunk_files(chunks, fd.size, fd.key, fd.nonce, [&](const FileHeader& h) {
        written = output_path(o.out, h.file_name);
        return written;
      });
    } catch (const FileCryptoError& e) {
      throw CliError(e.what());
    }
    acknowledge(conns, fd);
    out("File downloaded: " + written.string());
    break;
  }
  if (!in.is_link) remove_description(o.yes, o.description);
  return 0;
}

// ---- del / info ----------------------------------------------------------------------------------------------

int cmd_del(const std::string& description, int retries, bool yes) {
  const Input in = read_description(description, FileParty::Sender);
  Connections conns(retries);
  for (const auto& ch : in.fd.chunks) {
    if (ch.replicas.empty()) throw CliError(fmt::format("Chunk {} has no replicas", ch.chunk_no));
    const auto& rep = ch.replicas.front();
    auto r = conns.with_retry(rep.server, fmt::format("deleting chunk {}", ch.chunk_no),
                              [&](XftpClient& c) { return c.fdel(rep.replica_id, rep.replica_key); });
    if (!r) throw CliError(fmt::format("Error deleting chunk {} from server {}: {}", ch.chunk_no,
                                       server_text(rep.server), explain(r.error(), Step::Delete)));
    debug(fmt::format("deleted chunk {} from {}", ch.chunk_no, server_text(rep.server)));
  }
  out("File deleted!");
  if (!in.is_link) remove_description(yes, description);
  return 0;
}

int cmd_info(const std::string& description) {
  const Input in = read_description(description, std::nullopt);
  out(in.fd.party == FileParty::Recipient ? "Recipient file description" : "Sender file description");
  out("File download size: " + encode_file_size(in.fd.size));
  out("File server(s):");
  for (const auto& g : group_replicas_by_server(in.fd)) {
    int64_t total = 0;
    for (const auto& r : g.replicas) total += r.chunk_size.value_or(in.fd.chunk_size);
    out(server_text(g.server) + ": " + encode_file_size(total));
  }
  return 0;
}

int cmd_rand(const std::string& path, const std::string& size_text) {
  const auto size = parse_file_size(size_text);
  if (!size || *size < 0) throw CliError(fmt::format("Invalid file size: {}", size_text));
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw CliError(fmt::format("Cannot create {}", path));
  for (int64_t left = *size; left > 0;) {
    const auto n = static_cast<size_t>(std::min<int64_t>(left, 1 << 20));
    const Bytes b = crypto::random_bytes(n);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(n));
    left -= static_cast<int64_t>(n);
  }
  f.close();
  if (!f) throw CliError(fmt::format("Cannot write {}", path));
  out("File created: " + path);
  return 0;
}

// ---- Command line --------------------------------------------------------------------------------------------

struct Opt {
  std::string cxx;      // cxxopts name
  std::string left;     // help column
  std::string help;
  std::string usage;    // usage item
  bool flag = false;
};
struct Sub {
  std::string name;
  std::string desc;
  std::vector<std::pair<std::string, std::string>> args;  // positional: metavar (with [] when optional), help
  std::vector<Opt> opts;
};

const Opt kRetry{"r,retry", "-r,--retry RETRY", "Number of network retries (default: 3)", "[-r|--retry RETRY]"};
const Opt kTmp{"tmp", "--tmp TMP", "Directory for the temporary encrypted file(s) (default: system temp directory)",
               "[--tmp TMP]"};
const Opt kVerbose{"v,verbose", "-v,--verbose", "Verbose output (on stderr)", "[-v|--verbose]", true};
const Opt kYes{"y,yes", "-y,--yes", "Yes to questions (delete the used description without asking)",
               "[-y|--yes]", true};

std::vector<Sub> subs() {
  return {
      {"send",
       "Send file",
       {{"FILE", "File to send"}, {"[DIR]", "Directory to save file descriptions (default: current directory)"}},
       {{"n", "-n COUNT", "Number of recipients (default: 1)", "[-n COUNT]"},
        {"s,servers", "-s,--servers SERVER",
         "Semicolon-separated list of XFTP servers to use, xftp://KEY_HASH@HOST[:PORT] (required)",
         "(-s|--servers SERVER)"},
        kRetry, kTmp, kVerbose}},
      {"recv",
       "Receive file",
       {{"FILE", "File description file, or a simplex:/file#… or https://…#… link"},
        {"[DIR]", "Directory (or file path) to save the file (default: ~/Downloads)"}},
       {kRetry, kTmp, kVerbose, kYes}},
      {"del", "Delete file from server(s)", {{"FILE", "Sender file description (snd.xftp.private)"}},
       {kRetry, kVerbose, kYes}},
      {"info", "Show file description", {{"FILE", "File description file"}}, {}},
  };
}
const Sub kRand{"rand", "Generate a random file of a given size", {{"FILE", "Path to save file"}, {"SIZE", "File size (bytes/kb/mb/gb)"}}, {}};

std::string usage_of(const std::string& prog, const Sub* s) {
  if (!s) return cli::format_usage(prog, {"[-v|--version]", "COMMAND"});
  std::vector<std::string> items;
  for (const auto& [m, _] : s->args) items.push_back(m);
  for (const auto& o : s->opts) items.push_back(o.usage);
  return cli::format_usage(prog + " " + s->name, items);
}

std::string help_of(const std::string& prog, const Sub* s) {
  std::string h;
  if (!s) h += std::string(kVersionLine) + "\n\n";
  h += usage_of(prog, s) + "\n";
  if (s) h += "\n" + cli::format_paragraph(s->desc, 2) + "\n";
  std::vector<cli::HelpRow> rows;
  if (s) {
    for (const auto& [m, help] : s->args) {
      std::string name = m;
      if (name.front() == '[') name = name.substr(1, name.size() - 2);
      rows.push_back({name, help});
    }
    for (const auto& o : s->opts) rows.push_back({o.left, o.help});
  }
  rows.push_back({"-h,--help", "Show this help text"});
  if (!s) rows.push_back({"-v,--version", "Show version"});
  h += "\nAvailable options:\n" + cli::format_rows(rows) + "\n";
  if (!s) {
    std::vector<cli::HelpRow> cmds;
    for (const auto& sub : subs()) cmds.push_back({sub.name, sub.desc});
    h += "\nAvailable commands:\n" + cli::format_rows(cmds) + "\n";
  }
  return h;
}

struct Parsed {
  std::vector<std::string> args;
  std::map<std::string, std::string> values;
  std::map<std::string, bool> flags;
  std::optional<std::string> value(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? std::nullopt : std::optional(it->second);
  }
  bool flag(const std::string& name) const { return flags.count(name) && flags.at(name); }
};

[[noreturn]] void usage_error(const std::string& prog, const Sub& s, const std::string& message) {
  throw cli::Exit{cli::usage_error(message, usage_of(prog, &s))};
}

Parsed parse_sub(const std::string& prog, const Sub& s, const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--") break;
    if (a == "-h" || a == "--help") {
      std::fputs(help_of(prog, &s).c_str(), stdout);
      throw cli::Exit{0};
    }
  }
  cxxopts::Options options(prog + " " + s.name);
  options.allow_unrecognised_options();
  auto adder = options.add_options();
  for (const auto& o : s.opts) {
    if (o.flag)
      adder(o.cxx, o.help);
    else
      adder(o.cxx, o.help, cxxopts::value<std::string>());
  }
  adder("positional", "", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"positional"});
  std::vector<const char*> argv{s.name.c_str()};
  for (const auto& a : args) argv.push_back(a.c_str());
  Parsed p;
  try {
    auto r = options.parse(static_cast<int>(argv.size()), argv.data());
    if (!r.unmatched().empty()) usage_error(prog, s, fmt::format("Invalid option `{}'", r.unmatched().front()));
    if (r.count("positional")) p.args = r["positional"].as<std::vector<std::string>>();
    for (const auto& o : s.opts) {
      const std::string name = o.cxx.find(',') == std::string::npos ? o.cxx : o.cxx.substr(o.cxx.find(',') + 1);
      if (!r.count(name)) continue;
      if (o.flag)
        p.flags[name] = true;
      else
        p.values[name] = r[name].as<std::string>();
    }
  } catch (const cxxopts::exceptions::exception& e) {
    usage_error(prog, s, e.what());
  }
  size_t required = 0;
  for (const auto& [m, _] : s.args)
    if (m.front() != '[') ++required;
  if (p.args.size() < required) usage_error(prog, s, "Missing: " + s.args[p.args.size()].first);
  if (p.args.size() > s.args.size()) usage_error(prog, s, fmt::format("Invalid argument `{}'", p.args[s.args.size()]));
  return p;
}

int parse_count(const std::string& prog, const Sub& s, const std::optional<std::string>& v, const char* opt, int dflt,
                int max) {
  if (!v) return dflt;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno != 0 || n < 1 || n > max)
    usage_error(prog, s, fmt::format("option {}: cannot parse value `{}' (expected 1..{})", opt, *v, max));
  return static_cast<int>(n);
}

int run(const std::string& prog, const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(help_of(prog, nullptr).c_str(), stderr);
    return 1;
  }
  const std::string& cmd = args[0];
  if (cmd == "-h" || cmd == "--help") {
    std::fputs(help_of(prog, nullptr).c_str(), stdout);
    return 0;
  }
  if (cmd == "-v" || cmd == "--version") {
    out(kVersionLine);
    return 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  const auto all = subs();
  const Sub* s = nullptr;
  for (const auto& sub : all)
    if (sub.name == cmd) s = &sub;
  if (cmd == kRand.name) s = &kRand;
  if (!s) return cli::usage_error(fmt::format("Invalid argument `{}'", cmd), usage_of(prog, nullptr));
  const Parsed p = parse_sub(prog, *s, rest);
  g_verbose = p.flag("verbose");
  const int retries = parse_count(prog, *s, p.value("retry"), "--retry", kDefaultRetries, 100);
  if (cmd == "send") {
    SendOptions o;
    o.file = p.args[0];
    if (p.args.size() > 1) o.out_dir = p.args[1];
    o.recipients = static_cast<size_t>(parse_count(prog, *s, p.value("n"), "-n", 1, kMaxRecipients));
    const auto servers = p.value("servers");
    if (!servers)
      usage_error(prog, *s, "Missing: (-s|--servers SERVER) - this client has no preset servers");
    try {
      o.servers = parse_xftp_servers(*servers);
    } catch (const DescriptionError& e) {
      usage_error(prog, *s, fmt::format("option -s: {}", e.what()));
    }
    if (o.servers.empty()) usage_error(prog, *s, "option -s: no servers");
    o.retries = retries;
    o.tmp = p.value("tmp");
    return cmd_send(o);
  }
  if (cmd == "recv") {
    RecvOptions o;
    o.description = p.args[0];
    if (p.args.size() > 1) o.out = p.args[1];
    o.retries = retries;
    o.tmp = p.value("tmp");
    o.yes = p.flag("yes");
    return cmd_recv(o);
  }
  if (cmd == "del") return cmd_del(p.args[0], retries, p.flag("yes"));
  if (cmd == "info") return cmd_info(p.args[0]);
  return cmd_rand(p.args[0], p.args[1]);
}

}  // namespace

int xftp_cli_main(int argc, char** argv) {
  const std::string prog = argc > 0 ? stdfs::path(argv[0]).filename().string() : "xftp-cli";
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  try {
    return run(prog, args);
  } catch (const cli::Exit& e) {
    return e.code;
  } catch (const CliError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "Error: %s\n", e.what());
    return 1;
  }
}

}  // namespace sr::xftp
