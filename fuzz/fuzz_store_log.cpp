// libFuzzer target for the SMP persistence readers (server-operations.md §4.2, §4.4): each input line goes
// through the smp-server-store.log record parser (and, when it parses, is applied to a store and must re-encode
// to a line that parses to the same record), and through the saved-message and saved-notification parsers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>
#include <vector>

#include "smp/msg_log.hpp"
#include "smp/store_log_records.hpp"

using namespace sr::smp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  QueueStore store;
  std::vector<ServiceRec> services;
  std::set<Id> deleted;
  size_t pos = 0;
  while (pos <= input.size()) {
    size_t nl = input.find('\n', pos);
    if (nl == std::string_view::npos) nl = input.size();
    const std::string_view line = input.substr(pos, nl - pos);
    pos = nl + 1;

    auto r = parse_store_log_record(line);
    if (auto* rec = std::get_if<StoreLogRecord>(&r)) {
      // What we write must read back as the same record.
      auto again = parse_store_log_record(encode_store_log_record(*rec));
      if (!std::holds_alternative<StoreLogRecord>(again) || !(std::get<StoreLogRecord>(again) == *rec)) std::abort();
      (void)apply_store_log_record(store, services, *rec, &deleted);
    }
    auto m = parse_msg_log_line(line);
    if (auto* ml = std::get_if<MsgLogLine>(&m)) {
      auto again = parse_msg_log_line(encode_msg_log_line(ml->recipient_id, ml->msg));
      if (!std::holds_alternative<MsgLogLine>(again)) std::abort();
    }
    auto n = parse_ntf_log_line(line);
    if (auto* nl2 = std::get_if<NtfLogLine>(&n)) {
      auto again = parse_ntf_log_line(encode_ntf_log_line(nl2->notifier_id, nl2->ntf));
      if (!std::holds_alternative<NtfLogLine>(again)) std::abort();
    }
  }
  // The compacted form of whatever was loaded must parse line by line.
  write_compacted(store, services, [](std::string_view l) {
    if (!std::holds_alternative<StoreLogRecord>(parse_store_log_record(l))) std::abort();
  });
  return 0;
}
