#include "smp/msg_log.hpp"

#include <fstream>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "core/encoding.hpp"
#include "core/log.hpp"
#include "core/store_log.hpp"

namespace sr::smp {

namespace fsys = std::filesystem;

namespace {

std::string b64(ByteView b) { return base64url_encode(b); }

// Space-separated fields of a line.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= line.size()) {
    size_t sp = line.find(' ', pos);
    if (sp == std::string_view::npos) sp = line.size();
    out.push_back(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return out;
}

std::optional<Id> id_field(std::string_view s) {
  if (s.empty()) return std::nullopt;
  auto b = base64url_decode(s);
  return b ? to_id(*b) : std::nullopt;
}

void write_file(const fsys::path& f, const std::function<void(storelog::Writer&)>& body) {
  std::error_code ec;
  fsys::remove(f, ec);  // truncated first, as the reference opens it for writing
  storelog::Writer w(f);
  body(w);
  w.sync();
}

}  // namespace

std::string encode_msg_fields(const Message& m) {
  std::string s = fmt::format("{} {}", b64(view(m.msg_id)), m.ts);
  if (m.quota) return s + " quota";
  return s + (m.notification ? " flags=T " : " flags=F ") + b64(m.body);
}

std::variant<Message, std::string> parse_msg_fields(std::string_view text) {
  auto f = fields(text);
  if (f.size() < 3) return std::string("expected <msg id> <time> ...");
  Message out;
  auto mid = id_field(f[0]);
  auto ts = parse_decimal(f[1]);
  if (!mid) return std::string("bad message id");
  if (!ts) return std::string("bad time");
  out.msg_id = *mid;
  out.ts = *ts;
  if (f.size() == 3 && f[2] == "quota") {
    out.quota = true;
    return out;
  }
  // [flags=<T|F>[anything up to the space]] <body>
  size_t body_field = 2;
  if (f[2].rfind("flags=", 0) == 0) {
    if (f[2].size() < 7 || (f[2][6] != 'T' && f[2][6] != 'F')) return std::string("bad flags");
    out.notification = f[2][6] == 'T';
    body_field = 3;
  }
  if (f.size() != body_field + 1) return std::string("unexpected fields");
  auto body = base64url_decode(f[body_field]);
  if (!body) return std::string("bad message body");
  out.body = std::move(*body);
  return out;
}

std::string encode_msg_log_line(const Id& rid, const Message& m) {
  return fmt::format("v3 {} {}", b64(view(rid)), encode_msg_fields(m));
}

std::variant<MsgLogLine, std::string> parse_msg_log_line(std::string_view line) {
  // `v3 <rid> ` then the message fields, or the old form without the prefix.
  MsgLogLine out;
  out.v1 = line.substr(0, 3) != "v3 ";
  const size_t rid_start = out.v1 ? 0 : 3;
  const size_t rid_end = line.find(' ', rid_start);
  if (rid_end == std::string_view::npos) return std::string("expected v3 <rid> <msg id> <time> ...");
  auto rid = id_field(line.substr(rid_start, rid_end - rid_start));
  if (!rid) return std::string("bad recipient id");
  auto msg = parse_msg_fields(line.substr(rid_end + 1));
  if (auto* e = std::get_if<std::string>(&msg)) return std::move(*e);
  out.recipient_id = *rid;
  out.msg = std::move(std::get<Message>(msg));
  if (out.v1 && out.msg.quota) return std::string("expected v3 <rid> <msg id> <time> ...");  // no v1 markers
  return out;
}

std::string encode_ntf_log_line(const Id& nid, const Notification& n) {
  return fmt::format("v1 {} {} {} {} {}", b64(view(nid)), b64(view(n.msg_id)), n.ts, b64(n.nonce), b64(n.enc_meta));
}

std::variant<NtfLogLine, std::string> parse_ntf_log_line(std::string_view line) {
  auto f = fields(line);
  if (f.size() != 6 || f[0] != "v1") return std::string("expected v1 <notifier id> <msg id> <time> <nonce> <meta>");
  NtfLogLine out;
  auto nid = id_field(f[1]);
  auto mid = id_field(f[2]);
  auto ts = parse_decimal(f[3]);
  auto nonce = base64url_decode(f[4]);
  auto meta = base64url_decode(f[5]);
  if (!nid || !mid || !ts || !nonce || nonce->size() != out.ntf.nonce.size() || !meta || meta->empty())
    return std::string("bad field");
  out.notifier_id = *nid;
  out.ntf.msg_id = *mid;
  out.ntf.ts = *ts;
  std::copy(nonce->begin(), nonce->end(), out.ntf.nonce.begin());
  out.ntf.enc_meta = std::move(*meta);
  return out;
}

size_t save_messages(const fsys::path& f, const MsgStore& msgs) {
  size_t n = 0;
  write_file(f, [&](storelog::Writer& w) {
    for (const Id& rid : msgs.queue_ids())
      msgs.for_each_message(rid, [&](const Message& m) {
        w.append(encode_msg_log_line(rid, m));
        ++n;
      });
  });
  return n;
}

size_t save_notifications(const fsys::path& f, const NtfStore& ntfs) {
  size_t n = 0;
  write_file(f, [&](storelog::Writer& w) {
    for (const Id& nid : ntfs.ids())
      for (const auto& ntf : *ntfs.pending(nid)) {
        w.append(encode_ntf_log_line(nid, ntf));
        ++n;
      }
  });
  return n;
}

RestoreResult restore_messages(const fsys::path& f, QueueStore& queues, MsgStore& msgs, int64_t expire_before,
                               bool skip_warnings) {
  RestoreResult r;
  std::vector<std::string> lines;
  storelog::read_lines(f, [&](std::string_view l) { lines.emplace_back(l); });
  r.lines = lines.size();
  auto warn_or_exit = [&](const std::string& e) {
    if (skip_warnings) {
      LOG_WARN("{}", e);
    } else {
      LOG_WARN("{}, start with --skip-warnings option to ignore this error", e);
      r.fatal = e;
    }
  };
  for (size_t i = 0; i < lines.size() && r.fatal.empty(); ++i) {
    auto parsed = parse_msg_log_line(lines[i]);
    if (auto* e = std::get_if<std::string>(&parsed)) {
      const std::string text = fmt::format("parsing error ({}): {}", *e, lines[i].substr(0, 100));
      if (i + 1 == lines.size()) {
        warn_or_exit(text);
      } else {
        LOG_ERROR("error restoring messages: {}", text);
        r.fatal = text;
      }
      continue;
    }
    auto& m = std::get<MsgLogLine>(parsed);
    const QueueRec* q = queues.by_recipient(m.recipient_id);
    if (!q) {
      warn_or_exit(fmt::format("queue {} does not exist", base64url_encode(view(m.recipient_id))));
      continue;
    }
    if (m.v1) {
      // The old body was the recipient's box with the message id as nonce: the stored form is what is inside.
      crypto::Nonce nonce;
      std::copy(m.msg.msg_id.begin(), m.msg.msg_id.end(), nonce.begin());
      auto plain = crypto::box_open_padded(q->rcv_dh_secret, nonce, m.msg.body);
      if (!plain) {
        r.fatal = fmt::format("v1 message decryption error (CryptoError): {}", lines[i].substr(0, 100));
        LOG_ERROR("error restoring messages: {}", r.fatal);
        continue;
      }
      m.msg.body = std::move(*plain);
    }
    if (!m.msg.quota && m.msg.ts < expire_before) {
      ++r.expired;
      continue;
    }
    const bool quota = m.msg.quota;
    const Id msg_id = m.msg.msg_id;
    if (msgs.restore(m.recipient_id, std::move(m.msg))) {
      if (!quota) ++r.stored;
    } else {
      LOG_ERROR("message queue {} is full, message not restored: {}", b64(view(m.recipient_id)), b64(view(msg_id)));
    }
  }
  return r;
}

RestoreResult restore_notifications(const fsys::path& f, NtfStore& ntfs, int64_t expire_before) {
  RestoreResult r;
  storelog::read_lines(f, [&](std::string_view l) {
    ++r.lines;
    if (!r.fatal.empty()) return;
    auto parsed = parse_ntf_log_line(l);
    if (auto* e = std::get_if<std::string>(&parsed)) {
      r.fatal = fmt::format("parsing error ({}): {}", *e, l.substr(0, 100));
      LOG_ERROR("error restoring notifications: {}", r.fatal);
      return;
    }
    auto& n = std::get<NtfLogLine>(parsed);
    if (n.ntf.ts < expire_before) {
      ++r.expired;
      return;
    }
    ntfs.add(n.notifier_id, std::move(n.ntf));
    ++r.stored;
  });
  return r;
}

}  // namespace sr::smp
