// XFTP file descriptions (xftp-protocol.md §14, vectors V9): the YAML document the reference's
// Simplex.FileTransfer.Description writes, server address strings, the web link fragment
// (base64url(deflateRaw(YAML))), the native `simplex:/file#/?desc=…` URI, and the per-recipient split the
// reference CLI's `send -n N` does. Pure library code (zlib for the web fragment).
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "core/server_address.hpp"

namespace sr::xftp {

// Every parse/validation failure; what() names the problem (and the YAML line when there is one).
class DescriptionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- Server addresses: xftp://<keyHash b64url>[:<password>]@<host>[,<host2>…][:<port>] ----
// basic_auth is never written inside a file description.
using XFTPServer = ServerAddress;
std::string format_xftp_server(const XFTPServer& s);
// Throws DescriptionError.
XFTPServer parse_xftp_server(std::string_view text);
// The -s option form: servers separated by ';'.
std::vector<XFTPServer> parse_xftp_servers(std::string_view text);

// ---- FileSize: "64kb", "320kb", "8mb", "1gb" or plain bytes when not a whole kb ----
std::string encode_file_size(int64_t bytes);
std::optional<int64_t> parse_file_size(std::string_view text);

// ---- The description ----
enum class FileParty : uint8_t { Recipient, Sender };

struct FileChunkReplica {
  XFTPServer server;
  Bytes replica_id;              // recipient or sender ID on that server
  crypto::PrivateKey replica_key;  // Ed25519 / Ed448 / X25519, written as PKCS#8
  bool operator==(const FileChunkReplica&) const = default;
};
struct FileChunk {
  int64_t chunk_no = 0;  // 1-based
  uint32_t chunk_size = 0;
  Bytes digest;          // SHA-256 of the encrypted chunk
  std::vector<FileChunkReplica> replicas;
  bool operator==(const FileChunk&) const = default;
};
struct RedirectFileInfo {
  int64_t size = 0;  // of the file the redirect leads to
  Bytes digest;
  bool operator==(const RedirectFileInfo&) const = default;
};
struct FileDescription {
  FileParty party = FileParty::Recipient;
  int64_t size = 0;  // encrypted size = sum of chunk sizes
  Bytes digest;      // SHA-512 of the encrypted file
  crypto::Key32 key{};
  crypto::Nonce nonce{};
  uint32_t chunk_size = 0;  // default chunk size (the first chunk's)
  std::vector<FileChunk> chunks;
  std::optional<RedirectFileInfo> redirect;
  bool operator==(const FileDescription&) const = default;
};

// YAML exactly as the reference / xftp-web write it: keys in alphabetical order, replicas grouped by server and
// the groups sorted by the server string, the digest on a chunk's first replica only, `:size` only there and only
// when it differs from chunkSize.
std::string encode_file_description(const FileDescription& fd);
// Parses without validating: any key order, unknown keys ignored, plain / single- / double-quoted scalars,
// comments, `---`. Throws DescriptionError ("line N: …").
FileDescription parse_file_description(std::string_view yaml);
// validateFileDescription: chunk numbers 1..n in order, chunk sizes add up to size. Throws DescriptionError.
void validate_file_description(const FileDescription& fd);
// parse + validate (+ the party when given: "incorrect XFTP party").
FileDescription decode_file_description(std::string_view yaml, std::optional<FileParty> party = std::nullopt);

// The replica lines of one server, in file order (what encode writes and `xftp info` sums).
struct ServerReplica {
  int64_t chunk_no = 0;
  Bytes replica_id;
  crypto::PrivateKey replica_key;
  std::optional<Bytes> digest;
  std::optional<uint32_t> chunk_size;
};
struct ServerReplicas {
  XFTPServer server;
  std::vector<ServerReplica> replicas;
};
std::vector<ServerReplicas> group_replicas_by_server(const FileDescription& fd);

// ---- Links ----
// Web fragment: base64url(deflateRaw(YAML)), padded, no '#'.
std::string encode_web_fragment(const FileDescription& fd);
// Inflates, parses, validates, requires a recipient description. Throws DescriptionError.
FileDescription decode_web_fragment(std::string_view fragment);
// https://<first host of the first chunk's first replica>[:port unless 443]/#<fragment> (xftp-web's link);
// nullopt without chunks.
std::optional<std::string> web_link(const FileDescription& fd);
// Takes the fragment after '#' of an http(s) link. Throws DescriptionError ("Invalid URL: no fragment", …).
FileDescription decode_web_link(std::string_view link);
bool is_web_link(std::string_view text);  // starts with http:// or https://

// Native URI (FileDescriptionURI): <scheme>/file#/?desc=<url-encoded YAML>[&data=<url-encoded client data>],
// scheme "simplex:" or "https://host[:port]".
struct FileDescriptionURI {
  std::string scheme = "simplex:";
  FileDescription description;  // recipient, valid
  std::optional<std::string> client_data;
  bool operator==(const FileDescriptionURI&) const = default;
};
std::string encode_file_description_uri(const FileDescriptionURI& uri);
FileDescriptionURI parse_file_description_uri(std::string_view text);  // throws DescriptionError

// ---- `xftp send -n N`: what the upload produced, and the descriptions made from it ----
struct SentChunkReplica {
  XFTPServer server;
  std::vector<std::pair<Bytes, crypto::PrivateKey>> recipients;  // (recipient ID, recipient key), N of them
};
struct SentChunk {
  int64_t chunk_no = 0;
  Bytes snd_id;
  crypto::PrivateKey snd_key;
  uint32_t chunk_size = 0;
  Bytes digest;
  std::vector<SentChunkReplica> replicas;
};
// One description per recipient number (1..N): `base` (party, size, digest, key, nonce, chunkSize) with the
// chunks carrying that recipient's replicas.
std::vector<FileDescription> recipient_descriptions(const FileDescription& base, const std::vector<SentChunk>& sent);
// The sender description: one replica per chunk (the first replica's server, the sender ID and key).
FileDescription sender_description(const FileDescription& base, const std::vector<SentChunk>& sent);

// uniqueCombine: dir/name, or dir/<stem>_1<exts>, _2 … when the path exists (extensions = everything from the
// first '.' of the file name, as splitExtensions).
std::filesystem::path unique_combine(const std::filesystem::path& dir, const std::string& name);
// Where `send` writes: <unique out_dir/<file_name>.xftp>/rcv1.xftp … rcvN.xftp and snd.xftp.private.
struct DescriptionPaths {
  std::filesystem::path dir;
  std::vector<std::filesystem::path> recipients;
  std::filesystem::path sender;
};
DescriptionPaths description_paths(const std::filesystem::path& out_dir, const std::string& file_name,
                                   size_t recipients);

}  // namespace sr::xftp
