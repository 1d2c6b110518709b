// The records of the XFTP file store log `file-server-store.log` (xftp-protocol.md §12, server-operations.md
// §4.1, §4.6; simplexmq FileTransfer/Server/StoreLog.hs): their exact text, their effect on a FileStore when the
// log is loaded, and the compacted form written at start. Pure: no I/O; the file protocol is core/store_log.hpp.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "xftp/file_store.hpp"

namespace sr::xftp {

// FNEW <sId> <sndKey> <size> <digest> <createdAt> <status>   (status absent in old logs → active)
struct AddFileRecord {
  SenderId sender_id;
  FileInfo info;
  int64_t created_at = 0;
  EntityStatus status;
  bool operator==(const AddFileRecord&) const = default;
};
// FPUT <sId> <b64u(path)>   The path's bytes are encoded as they are (UTF-8; 8.Q19).
struct PutFileRecord {
  SenderId sender_id;
  std::string path;
  bool operator==(const PutFileRecord&) const = default;
};
// FADD <sId> <rId>:<rKey>[,<rId>:<rKey>…]
struct AddRecipientsRecord {
  SenderId sender_id;
  std::vector<FileRecipient> recipients;  // non-empty
  bool operator==(const AddRecipientsRecord&) const = default;
};
// FDEL <sId>
struct DeleteFileRecord {
  SenderId sender_id;
  bool operator==(const DeleteFileRecord&) const = default;
};
// FBLK <sId> <blocking info>
struct BlockFileRecord {
  SenderId sender_id;
  BlockingInfo info;
  bool operator==(const BlockFileRecord&) const = default;
};
// FACK <rId>
struct AckFileRecord {
  RecipientId recipient_id;
  bool operator==(const AckFileRecord&) const = default;
};

struct StoreLogRecord {
  std::variant<AddFileRecord, PutFileRecord, AddRecipientsRecord, DeleteFileRecord, BlockFileRecord, AckFileRecord> rec;
  bool operator==(const StoreLogRecord&) const = default;
};

// One line without its '\n', as the reference's strEncode writes it.
std::string encode_store_log_record(const StoreLogRecord& r);
// The whole line must be consumed. base64url is accepted with or without padding; empty values are refused;
// keys must be Ed25519, Ed448 or X25519 SPKI. On failure: a description of the error.
std::variant<StoreLogRecord, std::string> parse_store_log_record(std::string_view line);

// Applies a record while loading, with the reference's checks: FNEW of size 0 → SIZE, a known sender id →
// DUPLICATE_; FADD adds recipients in order and stops at the first error (those before it stay); FPUT on a file
// with a path or not active → AUTH (so a blocked file loses its path, 8.Q17); unknown ids → AUTH.
std::optional<StoreError> apply_store_log_record(FileStore& store, const StoreLogRecord& r);

// One line of the log on load: nullopt when applied, else the text the reference prints to stdout and skips the
// line with: "Log parsing error (<err>): <first 100 bytes>" or "Log processing error (<AUTH|SIZE|DUPLICATE_>):
// <first 100 bytes>".
std::optional<std::string> load_store_log_line(FileStore& store, std::string_view line);

// The compacted log (writeFileStore): per file, ascending sender id, FNEW with its current status, one FADD with
// its recipients in ascending id order (none if it has none), FPUT if a path is recorded (also when blocked).
// Each call of `line` gets one line without '\n'.
void write_compacted(const FileStore& store, const std::function<void(std::string_view)>& line);

}  // namespace sr::xftp
