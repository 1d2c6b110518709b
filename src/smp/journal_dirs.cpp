#include "smp/journal_dirs.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "core/encoding.hpp"
#include "core/fsutil.hpp"
#include "smp/msg_log.hpp"

namespace sr::smp {

namespace fsys = std::filesystem;

namespace {

constexpr size_t kStateTailSize = 512;  // the reference reads only this much of a state file
constexpr size_t kPathParts = 5;        // journalMsgStoreDepth: four 2-character segments + the rest
const std::string kStatePrefix = "queue_state.";
const std::string kLogExt = ".log";

// One side of a state line: `<jid>,<msgPos>,<msgCount>,<bytePos>,<byteCount>`.
struct JournalState {
  std::string jid;
  uint64_t msg_pos = 0, msg_count = 0, byte_pos = 0, byte_count = 0;
};

// `write=<journal state> read=<journal state> canWrite=<T|F> size=<n>`.
struct QueueState {
  JournalState write, read;
  bool can_write = true;
  int64_t size = 0;
};

// A small cursor over one state line; every step fails the whole parse, as the reference's parser does.
struct Cursor {
  std::string_view s;
  bool lit(std::string_view p) {
    if (s.substr(0, p.size()) != p) return false;
    s.remove_prefix(p.size());
    return true;
  }
  // Unsigned decimal (attoparsec `decimal`).
  std::optional<uint64_t> decimal() {
    size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + n, v);
    if (n == 0 || ec != std::errc{} || end != s.data() + n) return std::nullopt;
    s.remove_prefix(n);
    return v;
  }
};

std::optional<JournalState> parse_journal_state(Cursor& c) {
  JournalState j;
  const size_t comma = c.s.find(',');  // the id is everything up to the first comma
  if (comma == std::string_view::npos) return std::nullopt;
  j.jid = std::string(c.s.substr(0, comma));
  c.s.remove_prefix(comma);
  for (uint64_t* v : {&j.msg_pos, &j.msg_count, &j.byte_pos, &j.byte_count}) {
    if (!c.lit(",")) return std::nullopt;
    auto n = c.decimal();
    if (!n) return std::nullopt;
    *v = *n;
  }
  return j;
}

std::optional<QueueState> parse_state_line(std::string_view line) {
  Cursor c{line};
  QueueState st;
  if (!c.lit("write=")) return std::nullopt;
  auto w = parse_journal_state(c);
  if (!w || !c.lit(" read=")) return std::nullopt;
  auto r = parse_journal_state(c);
  if (!r || !c.lit(" canWrite=") || c.s.empty() || (c.s[0] != 'T' && c.s[0] != 'F')) return std::nullopt;
  st.can_write = c.s[0] == 'T';
  c.s.remove_prefix(1);
  if (!c.lit(" size=")) return std::nullopt;
  // Int: optional sign (attoparsec `signed decimal`), then nothing may follow.
  bool neg = false;
  if (!c.s.empty() && (c.s[0] == '-' || c.s[0] == '+')) {
    neg = c.s[0] == '-';
    c.s.remove_prefix(1);
  }
  auto n = c.decimal();
  if (!n || !c.s.empty() || *n > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  st.size = neg ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
  st.write = std::move(*w);
  st.read = std::move(*r);
  return st;
}

// The reference's validQueueState; it refuses to open a queue whose state breaks these.
bool valid_state(const QueueState& st) {
  const auto& r = st.read;
  const auto& w = st.write;
  const bool always = r.msg_pos <= r.msg_count && r.byte_pos <= r.byte_count && w.msg_pos == w.msg_count &&
                      w.byte_pos == w.byte_count;
  if (!always) return false;
  if (r.jid == w.jid)
    return r.msg_pos <= w.msg_pos && r.msg_count == w.msg_count && r.byte_pos <= w.byte_pos &&
           r.byte_count == w.byte_count && st.size == static_cast<int64_t>(r.msg_count - r.msg_pos);
  return st.size == static_cast<int64_t>(w.msg_count + r.msg_count - r.msg_pos);
}

std::string encode_journal_state(const JournalState& j) {
  return fmt::format("{},{},{},{},{}", j.jid, j.msg_pos, j.msg_count, j.byte_pos, j.byte_count);
}

std::string encode_state_line(const QueueState& st) {
  return fmt::format("write={} read={} canWrite={} size={}\n", encode_journal_state(st.write),
                     encode_journal_state(st.read), st.can_write ? 'T' : 'F', st.size);
}

// B.lines: split on '\n', no empty line after a final '\n'.
std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const size_t nl = s.find('\n');
    out.push_back(s.substr(0, nl));
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
}

std::optional<std::string> read_tail(const fsys::path& f, size_t max) {
  std::ifstream in(f, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  const auto end = in.tellg();
  if (end < 0) return std::nullopt;
  const auto size = static_cast<size_t>(end);
  const size_t n = std::min(size, max);
  std::string s(n, '\0');
  in.seekg(static_cast<std::streamoff>(size - n));
  if (!in.read(s.data(), static_cast<std::streamsize>(n))) return std::nullopt;
  return s;
}

// One queue's import, collecting warnings.
class QueueReader {
 public:
  QueueReader(const fsys::path& dir, std::vector<std::string>& warnings) : dir_(dir), warnings_(warnings) {}

  // The reference's readQueueState: last line of the tail, or the previous one if the last is invalid.
  std::optional<QueueState> read_state(const fsys::path& state_file) {
    auto tail = read_tail(state_file, kStateTailSize);
    if (!tail) return warn(state_file, "cannot read the queue state"), std::nullopt;
    auto lines = split_lines(*tail);
    if (lines.empty()) return warn(state_file, "empty queue state, queue skipped"), std::nullopt;
    auto st = parse_state_line(lines.back());
    if (!st) {
      if (lines.size() == 1)
        return warn(state_file, "invalid single-line queue state, queue skipped"), std::nullopt;
      warn(state_file, "invalid last line in queue state, using the previous line");
      st = parse_state_line(lines[lines.size() - 2]);
      if (!st) return warn(state_file, "invalid previous line in queue state, queue skipped"), std::nullopt;
    }
    if (!valid_state(*st)) return warn(state_file, "inconsistent queue state, queue skipped"), std::nullopt;
    return st;
  }

  // The reference's openJournals recovery rules, then the range reads of getJournalQueueMessages.
  std::vector<Message> read_messages(const QueueState& st) {
    std::vector<Message> msgs;
    if (st.size <= 0) return msgs;  // the reference deletes the journals of an empty queue
    const auto& r = st.read;
    const auto& w = st.write;
    auto rf = open_journal(r.jid);
    if (r.jid == w.jid) {
      if (!rf) return warn(path_of(r.jid), "journal file missing, queue messages lost"), msgs;
      check_size(*rf, w.byte_pos);
      read_range(*rf, r.byte_pos, r.byte_count, r.msg_count - r.msg_pos, msgs);
      return msgs;
    }
    auto wf = open_journal(w.jid);
    if (!rf) {
      warn(path_of(r.jid), "read journal file missing, reading the write journal only");
      if (!wf) return warn(path_of(w.jid), "write journal file missing too, queue messages lost"), msgs;
      check_size(*wf, w.byte_pos);
      read_range(*wf, 0, w.byte_pos, w.msg_count, msgs);
      return msgs;
    }
    check_size(*rf, r.byte_count);
    read_range(*rf, r.byte_pos, r.byte_count, r.msg_count - r.msg_pos, msgs);
    if (!wf) return warn(path_of(w.jid), "write journal file missing, its messages lost"), msgs;
    check_size(*wf, w.byte_pos);
    read_range(*wf, 0, w.byte_pos, w.msg_count, msgs);
    return msgs;
  }

 private:
  struct Journal {
    fsys::path path;
    std::string data;
  };

  void warn(const fsys::path& f, std::string_view what) { warnings_.push_back(fmt::format("{}: {}", f.string(), what)); }

  fsys::path path_of(const std::string& jid) const { return dir_ / ("messages." + jid + kLogExt); }

  std::optional<Journal> open_journal(const std::string& jid) {
    // The id names a file in the queue directory; anything that could leave it is not a journal.
    if (jid.empty() || jid.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
      warn(dir_, fmt::format("invalid journal id '{}'", jid));
      return std::nullopt;
    }
    Journal j{path_of(jid), {}};
    std::error_code ec;
    if (!fsys::is_regular_file(j.path, ec)) return std::nullopt;
    try {
      j.data = sr::fs::read_file(j.path);
    } catch (const std::exception& e) {
      warn(j.path, e.what());
      return std::nullopt;
    }
    return j;
  }

  // The reference truncates a longer file to the recorded position and refuses to open a shorter one.
  void check_size(const Journal& j, uint64_t pos) {
    if (j.data.size() > pos)
      warn(j.path, fmt::format("size {} > recorded position {}, bytes after it ignored", j.data.size(), pos));
    else if (j.data.size() < pos)
      warn(j.path, fmt::format("size {} < recorded position {}, reading what is there", j.data.size(), pos));
  }

  void read_range(const Journal& j, uint64_t from, uint64_t to, uint64_t expected, std::vector<Message>& out) {
    to = std::min<uint64_t>(to, j.data.size());
    if (from >= to) {
      if (expected > 0) warn(j.path, fmt::format("no data for {} messages from byte {}", expected, from));
      return;
    }
    std::string_view range(j.data.data() + from, to - from);
    uint64_t lines = 0;
    uint64_t off = from;
    while (!range.empty()) {
      const size_t nl = range.find('\n');
      ++lines;
      if (nl == std::string_view::npos) {
        // A cut line could still decode as a shorter message: never import it.
        warnings_.push_back(fmt::format("{} at byte {}: unterminated message line skipped", j.path.string(), off));
        break;
      }
      auto m = parse_msg_fields(range.substr(0, nl));
      if (auto* e = std::get_if<std::string>(&m))
        warnings_.push_back(fmt::format("{} at byte {}: bad message line skipped ({})", j.path.string(), off, *e));
      else
        out.push_back(std::move(std::get<Message>(m)));
      range.remove_prefix(nl + 1);
      off += nl + 1;
    }
    if (lines != expected)
      warn(j.path, fmt::format("state expects {} messages from byte {}, found {} lines", expected, from, lines));
  }

  fsys::path dir_;
  std::vector<std::string>& warnings_;
};

// `queue_state.<rid>.log` (or the temporary `.log.bak`) → the base64url rid.
std::optional<std::string> state_file_rid(const std::string& name, bool& temp_backup) {
  if (name.rfind(kStatePrefix, 0) != 0) return std::nullopt;
  std::string_view rest(name);
  rest.remove_prefix(kStatePrefix.size());
  temp_backup = false;
  if (rest.size() > 8 && rest.substr(rest.size() - 8) == ".log.bak") {
    temp_backup = true;
    rest.remove_suffix(4);
  }
  if (rest.size() <= kLogExt.size() || rest.substr(rest.size() - kLogExt.size()) != kLogExt) return std::nullopt;
  rest.remove_suffix(kLogExt.size());
  if (rest.find('.') != std::string_view::npos) return std::nullopt;  // timestamped backups
  return std::string(rest);
}

}  // namespace

fsys::path journal_queue_dir(const Id& rid) {
  const std::string s = base64url_encode(view(rid));
  fsys::path p;
  size_t pos = 0;
  for (size_t part = 1; part < kPathParts && pos < s.size(); ++part, pos += 2) p /= s.substr(pos, 2);
  if (pos < s.size()) p /= s.substr(pos);
  return p;
}

JournalDirsReport read_journal_dirs(const fsys::path& messages_dir,
                                    const std::function<void(JournalQueueMsgs&&)>& on_queue) {
  JournalDirsReport report;
  auto warn = [&](const fsys::path& f, std::string_view what) {
    report.warnings.push_back(fmt::format("{}: {}", f.string(), what));
  };
  std::error_code ec;
  if (!fsys::is_directory(messages_dir, ec)) {
    warn(messages_dir, "journal directory not found");
    return report;
  }
  // rid → state file to read (the temporary backup wins: the reference restores it over the state file first).
  std::map<Id, fsys::path> states;
  fsys::recursive_directory_iterator it(messages_dir, fsys::directory_options::skip_permission_denied, ec), end;
  if (ec) warn(messages_dir, ec.message());
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    const fsys::path& f = it->path();
    bool temp_backup = false;
    auto rid_str = state_file_rid(f.filename().string(), temp_backup);
    if (!rid_str) continue;
    auto bytes = base64url_decode(*rid_str);
    auto rid = bytes ? to_id(*bytes) : std::nullopt;
    if (!rid || base64url_encode(view(*rid)) != *rid_str) {
      warn(f, "state file name is not a recipient id, skipped");
      continue;
    }
    if (f.parent_path() != messages_dir / journal_queue_dir(*rid)) {
      warn(f, "state file outside its queue directory (the reference never reads it), skipped");
      continue;
    }
    auto [pos, inserted] = states.emplace(*rid, f);
    if (!inserted && temp_backup) pos->second = f;
  }
  if (ec) warn(messages_dir, ec.message());

  for (auto& [rid, state_file] : states) {
    QueueReader reader(state_file.parent_path(), report.warnings);
    auto st = reader.read_state(state_file);
    if (!st) continue;
    JournalQueueMsgs q{rid, reader.read_messages(*st)};
    if (q.msgs.empty()) continue;
    ++report.queues;
    report.messages += q.msgs.size();
    on_queue(std::move(q));
  }
  return report;
}

void write_journal_queue(const fsys::path& messages_dir, const Id& rid, const std::vector<Message>& msgs) {
  if (msgs.empty()) return;
  const std::string rid_str = base64url_encode(view(rid));
  const fsys::path dir = messages_dir / journal_queue_dir(rid);
  const fsys::path state_file = dir / (kStatePrefix + rid_str + kLogExt);
  std::error_code ec;
  if (fsys::exists(state_file, ec)) throw std::runtime_error(state_file.string() + ": queue state already exists");
  fsys::create_directories(dir, ec);
  if (ec) throw sr::fs::FileError(dir.string() + ": " + ec.message());

  std::string journal;
  bool can_write = true;  // a stored quota marker keeps the queue closed until it is emptied
  for (const Message& m : msgs) {
    journal += encode_msg_fields(m);
    journal += '\n';
    if (m.quota) can_write = false;
  }
  const std::string jid = base64url_encode(crypto::random_bytes(12));
  const uint64_t n = msgs.size(), bytes = journal.size();
  QueueState st;
  st.write = JournalState{jid, n, n, bytes, bytes};
  st.read = JournalState{jid, 0, n, 0, bytes};
  st.can_write = can_write;
  st.size = static_cast<int64_t>(n);
  // Journal first: a state line never points at a journal that is not there.
  sr::fs::write_file(dir / ("messages." + jid + kLogExt), journal);
  sr::fs::write_file(state_file, encode_state_line(st));
}

}  // namespace sr::smp
