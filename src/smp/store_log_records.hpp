// The records of the SMP queue store log `smp-server-store.log` (server-operations.md §4.1, §4.2): their exact
// text form, their effect on a QueueStore when the log is loaded, and the compacted form written at start.
// Pure: no I/O; the file protocol is core/store_log.hpp.
//
// Records keep the reference's value types (ids of any non-empty length, dates in seconds), so every line the
// reference writes parses and re-encodes byte-exactly; the conversion to the store's fixed-size types happens
// when a record is applied.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "smp/protocol.hpp"
#include "smp/queue_store.hpp"
#include "smp/server_state.hpp"

namespace sr::smp {

// "notifier=" / NOTIFIER payload: `<notifier id> <notifier key> <rcv ntf DH secret>[ nsrv=<service id>]`.
struct NtfCredsRecord {
  Bytes notifier_id;
  crypto::PublicKey notifier_key;
  crypto::Key32 rcv_ntf_dh_secret{};
  std::optional<Bytes> service_id;
  bool operator==(const NtfCredsRecord&) const = default;
};

// CREATE rid=<rid> <queue record>; also the compacted form of a queue.
struct CreateRecord {
  Bytes recipient_id;
  std::vector<crypto::PublicKey> rcv_keys;  // non-empty
  crypto::Key32 rcv_dh_secret{};
  Bytes sender_id;
  std::optional<crypto::PublicKey> sender_key;
  std::optional<QueueMode> queue_mode;  // legacy "sndSecure=T/F" reads as M/C; always written as queue_mode=
  struct Link {
    Bytes link_id, fixed_data, user_data;
    bool operator==(const Link&) const = default;
  };
  std::optional<Link> link;
  std::optional<NtfCredsRecord> notifier;
  std::optional<int64_t> updated_at;  // seconds (a multiple of 86400 when the server wrote it)
  QueueStatus status = QueueStatus::Active;
  BlockingInfo blocking;  // when status == Blocked
  std::optional<Bytes> rcv_service_id;
  bool operator==(const CreateRecord&) const = default;
};

struct LinkRecord {  // LINK <rid> <link id> <fixed data> <user data>
  Bytes recipient_id, link_id, fixed_data, user_data;
  bool operator==(const LinkRecord&) const = default;
};
struct SecureRecord {  // SECURE <rid> <sender key>
  Bytes recipient_id;
  crypto::PublicKey sender_key;
  bool operator==(const SecureRecord&) const = default;
};
struct KeysRecord {  // KEYS <rid> <key>[,<key>…]
  Bytes recipient_id;
  std::vector<crypto::PublicKey> rcv_keys;  // non-empty
  bool operator==(const KeysRecord&) const = default;
};
struct NotifierRecord {  // NOTIFIER <rid> <ntf creds>
  Bytes recipient_id;
  NtfCredsRecord creds;
  bool operator==(const NotifierRecord&) const = default;
};
struct BlockRecord {  // BLOCK <rid> <blocking info>
  Bytes recipient_id;
  BlockingInfo info;
  bool operator==(const BlockRecord&) const = default;
};
struct TimeRecord {  // TIME <rid> <date>
  Bytes recipient_id;
  int64_t date = 0;
  bool operator==(const TimeRecord&) const = default;
};
// Records that carry only the recipient id, one type per tag.
template <int Tag>
struct RidRecord {
  Bytes recipient_id;
  bool operator==(const RidRecord&) const = default;
};
using LDeleteRecord = RidRecord<0>;
using SuspendRecord = RidRecord<1>;
using UnblockRecord = RidRecord<2>;
using DeleteRecord = RidRecord<3>;
using NDeleteRecord = RidRecord<4>;

// NEW_SERVICE service_id=<id> role=<M|N|P> cert=<der>[,<der>…] cert_hash=<hash> created_at=<date>
struct NewServiceRecord {
  Bytes service_id;
  char role = 'M';
  std::vector<Bytes> cert_chain;  // DER blobs, not validated here
  Bytes cert_hash;
  int64_t created_at = 0;
  bool operator==(const NewServiceRecord&) const = default;
};
// QUEUE_SERVICE <rid> <R|N> <service id or empty>
struct QueueServiceRecord {
  Bytes recipient_id;
  char party = 'R';  // 'R' recipient service, 'N' notifier service
  std::optional<Bytes> service_id;
  bool operator==(const QueueServiceRecord&) const = default;
};

struct StoreLogRecord {
  std::variant<CreateRecord, LinkRecord, LDeleteRecord, SecureRecord, KeysRecord, NotifierRecord, SuspendRecord,
               BlockRecord, UnblockRecord, DeleteRecord, NDeleteRecord, TimeRecord, NewServiceRecord,
               QueueServiceRecord>
      rec;
  bool operator==(const StoreLogRecord&) const = default;
};

// One line without its '\n', as the reference's strEncode writes it.
std::string encode_store_log_record(const StoreLogRecord& r);
// The whole line must be consumed. base64url is accepted with or without padding; empty values are refused.
// On failure: a description of the error (the caller prints "Error parsing log: <it> - <line>").
std::variant<StoreLogRecord, std::string> parse_store_log_record(std::string_view line);

// The compacted CREATE of a queue's current state.
StoreLogRecord create_record(const QueueRec& q);
// nullopt when the record does not fit the store's types (ids not 24 bytes, negative or too large date).
std::optional<QueueRec> to_queue_rec(const CreateRecord& c);
std::optional<ServiceRec> to_service_rec(const NewServiceRecord& s);
NewServiceRecord new_service_record(const ServiceRec& s);

// Applies a record while loading (no re-logging, §4.2 load semantics). Returns "" on success, else the
// reference's log text: ERROR "STORE: <Op>, stored queue <rid>, AUTH" (Op = the reference's internal record
// name, e.g. SecureQueue), "… DUPLICATE_", "STORE: getCreateService, stored service <id>, …", or the WARN
// "STORE: <Op>, stored queue <rid>, already deleted" (see store_log_warning). `deleted` collects the recipient
// ids removed during the load: the reference keeps them (so later records warn and a re-CREATE is a duplicate);
// without it such records give AUTH.
std::string apply_store_log_record(QueueStore& store, std::vector<ServiceRec>& services, const StoreLogRecord& r,
                                   std::set<Id>* deleted = nullptr);
// True for the texts the reference logs as WARN rather than ERROR.
inline bool store_log_warning(std::string_view text) {
  constexpr std::string_view kSuffix = ", already deleted";
  return text.size() >= kSuffix.size() && text.substr(text.size() - kSuffix.size()) == kSuffix;
}

// The compacted log: NEW_SERVICE lines (ascending service id bytes), then one CREATE per live queue (ascending
// recipient id bytes). Each call of `line` gets one line without '\n'.
void write_compacted(const QueueStore& store, const std::vector<ServiceRec>& services,
                     const std::function<void(std::string_view)>& line);

}  // namespace sr::smp
