#include "smp/server_stats.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/encoding.hpp"
#include "core/fsutil.hpp"

namespace sr::smp {

namespace {

using S = ServerStatsData;

// The plain counters before the blocks, in file order (written and read in this order). The reader's
// special cases hang off two entries: the qDeleted* trio (legacy single `qDeleted=`) and `qSubNoMsg=` after
// `qSub=`.
struct Counter {
  std::string_view key;
  int64_t S::*field;
  bool required;
};
constexpr Counter kCounters[] = {
    {"qCreated=", &S::qCreated, true},
    {"qSecured=", &S::qSecured, true},
    {"qDeletedAll=", &S::qDeletedAll, true},
    {"qDeletedNew=", &S::qDeletedNew, true},
    {"qDeletedSecured=", &S::qDeletedSecured, true},
    {"qDeletedAllB=", &S::qDeletedAllB, false},
    {"qBlocked=", &S::qBlocked, false},
    {"qCount=", &S::qCount, false},
    {"qSub=", &S::qSub, false},
    {"qSubAllB=", &S::qSubAllB, false},
    {"qSubAuth=", &S::qSubAuth, false},
    {"qSubDuplicate=", &S::qSubDuplicate, false},
    {"qSubProhibited=", &S::qSubProhibited, false},
    {"qSubEnd=", &S::qSubEnd, false},
    {"qSubEndB=", &S::qSubEndB, false},
    {"ntfCreated=", &S::ntfCreated, false},
    {"ntfNewCreated=", &S::ntfNewCreated, false},
    {"ntfDeleted=", &S::ntfDeleted, false},
    {"ntfDeletedB=", &S::ntfDeletedB, false},
    {"ntfSub=", &S::ntfSub, false},
    {"ntfSubB=", &S::ntfSubB, false},
    {"ntfSubAuth=", &S::ntfSubAuth, false},
    {"ntfSubDuplicate=", &S::ntfSubDuplicate, false},
    {"msgSent=", &S::msgSent, true},
    {"msgSentAuth=", &S::msgSentAuth, false},
    {"msgSentQuota=", &S::msgSentQuota, false},
    {"msgSentLarge=", &S::msgSentLarge, false},
    {"msgSentBlock=", &S::msgSentBlock, false},
    {"msgRecv=", &S::msgRecv, true},
    {"msgRecvGet=", &S::msgRecvGet, false},
    {"msgGet=", &S::msgGet, false},
    {"msgGetNoMsg=", &S::msgGetNoMsg, false},
    {"msgGetAuth=", &S::msgGetAuth, false},
    {"msgGetDuplicate=", &S::msgGetDuplicate, false},
    {"msgGetProhibited=", &S::msgGetProhibited, false},
    {"msgExpired=", &S::msgExpired, false},
    {"msgSentNtf=", &S::msgSentNtf, false},
    {"msgRecvNtf=", &S::msgRecvNtf, false},
    {"msgNtfs=", &S::msgNtfs, false},
    {"msgNtfsB=", &S::msgNtfsB, false},
    {"msgNtfNoSub=", &S::msgNtfNoSub, false},
    {"msgNtfLost=", &S::msgNtfLost, false},
    {"msgNtfExpired=", &S::msgNtfExpired, false},
};

template <class T>
struct Field {
  std::string_view key;
  int64_t T::*field;
};
// Inside a block every line is required; the last one has no line end of its own.
constexpr Field<ProxyStats> kProxyFields[] = {
    {"requests=", &ProxyStats::requests},       {"successes=", &ProxyStats::successes},
    {"errorsConnect=", &ProxyStats::errorsConnect}, {"errorsCompat=", &ProxyStats::errorsCompat},
    {"errorsOther=", &ProxyStats::errorsOther},
};
constexpr Field<ServiceStats> kServiceFields[] = {
    {"assocNew=", &ServiceStats::assocNew},
    {"assocDuplicate=", &ServiceStats::assocDuplicate},
    {"assocUpdatedt=", &ServiceStats::assocUpdated},  // sic: the reference's spelling is the format
    {"assocRemoved=", &ServiceStats::assocRemoved},
    {"subCount=", &ServiceStats::subCount},
    {"subDuplicate=", &ServiceStats::subDuplicate},
    {"subQueues=", &ServiceStats::subQueues},
    {"subEnd=", &ServiceStats::subEnd},
};
constexpr std::pair<std::string_view, ProxyStats S::*> kProxyBlocks[] = {
    {"pRelays:", &S::pRelays},
    {"pRelaysOwn:", &S::pRelaysOwn},
    {"pMsgFwds:", &S::pMsgFwds},
    {"pMsgFwdsOwn:", &S::pMsgFwdsOwn},
};
constexpr std::pair<std::string_view, ServiceStats S::*> kServiceBlocks[] = {
    {"rcvServices:", &S::rcvServices},
    {"ntfServices:", &S::ntfServices},
};

// ---- encoding

void put_set(std::string& o, const std::set<int64_t>& s) {
  bool first = true;
  for (int64_t v : s) {  // std::set iterates in ascending order, as IntSet.toList
    if (!first) o += ',';
    o += std::to_string(v);
    first = false;
  }
}

void put_period(std::string& o, const PeriodStats& p) {
  o += "dayHashes=";
  put_set(o, p.day);
  o += "\nweekHashes=";
  put_set(o, p.week);
  o += "\nmonthHashes=";
  put_set(o, p.month);
  o += '\n';
}

template <class T, size_t N>
void put_fields(std::string& o, const T& v, const Field<T> (&fields)[N]) {
  for (const auto& f : fields) {
    o += f.key;
    o += std::to_string(v.*f.field);
    o += '\n';
  }
}

// ---- parsing: a cursor over the whole file mirroring the reference's attoparsec grammar, including where it
// backtracks (optional lines and blocks) and where it does not (a block whose header matched must parse).

// [+-]digits, the whole text (attoparsec `signed decimal`); out-of-range values fail instead of wrapping.
std::optional<int64_t> signed_decimal(std::string_view t) {
  if (t.size() >= 2 && t[0] == '+' && t[1] >= '0' && t[1] <= '9') t.remove_prefix(1);
  return parse_decimal(t);
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  std::variant<ServerStatsData, std::string> run() {
    ServerStatsData d;
    if (!parse(d)) return error();
    if (pos_ != in_.size()) {
      const bool line_start = pos_ == 0 || in_[pos_ - 1] == '\n';
      fail(pos_, !line_start               ? "unexpected text"
                 : rest_of_line().empty() ? "unexpected empty line"
                                          : "unexpected line");
      return error();
    }
    return d;
  }

 private:
  bool parse(S& d) {
    if (!(lit("fromTime=") && time(d.fromTime) && eol())) return false;
    for (size_t i = 0; i < std::size(kCounters); ++i) {
      const Counter& c = kCounters[i];
      if (c.field == &S::qDeletedAll) {
        if (auto v = opt_line("qDeleted=")) {
          d.qDeletedAll = *v;
          d.qDeletedNew = d.qDeletedSecured = 0;
          i += 2;
          continue;
        }
      }
      if (c.required) {
        if (!line(c.key, d.*c.field)) return false;
      } else {
        d.*c.field = opt_line(c.key).value_or(0);
      }
      if (c.field == &S::qSub)  // removed counter, still in older files
        opt_line("qSubNoMsg=");
    }

    // activeQueues is required: the block, or the legacy lines.
    if (header("activeQueues:")) {
      if (!period(d.activeQueues)) return false;
      opt_eol();
    } else {
      PeriodStats& p = d.activeQueues;
      if (!(lit("dayMsgQueues=", "expected activeQueues: (or the older dayMsgQueues=)") && int_set(p.day) && eol() &&
            lit("weekMsgQueues=") && int_set(p.week) && eol() && lit("monthMsgQueues=") && int_set(p.month)))
        return false;
      opt_eol();
    }
    if (header("subscribedQueues:")) {  // removed stat: read and dropped
      PeriodStats dropped;
      if (!period(dropped)) return false;
      opt_eol();
    }
    if (header("activeQueuesNtf:")) {
      if (!period(d.activeQueuesNtf)) return false;
      opt_eol();
    }
    for (const auto& [key, member] : kProxyBlocks)
      if (!block(key, d.*member, kProxyFields)) return false;
    d.pMsgFwdsRecv = opt_line("pMsgFwdsRecv=").value_or(0);
    for (const auto& [key, member] : kServiceBlocks)
      if (!block(key, d.*member, kServiceFields)) return false;
    return true;
  }

  // An optional block: absent → zeros; header present → its lines must parse.
  template <class T, size_t N>
  bool block(std::string_view key, T& out, const Field<T> (&fields)[N]) {
    if (!header(key)) return true;
    for (size_t i = 0; i < N; ++i) {
      if (!(lit(fields[i].key) && integer(out.*fields[i].field))) return false;
      if (i + 1 < N && !eol()) return false;
    }
    opt_eol();
    return true;
  }

  // dayHashes=/weekHashes=/monthHashes= (or legacy day=/week=/month= with base64url ids); no line end after the
  // last one.
  bool period(PeriodStats& p) {
    return period_line("day", p.day) && eol() && period_line("week", p.week) && eol() &&
           period_line("month", p.month);
  }
  bool period_line(std::string_view name, std::set<int64_t>& out) {
    const std::string legacy = std::string(name) + "=", key = std::string(name) + "Hashes=";
    if (try_lit(legacy)) return id_set(out);
    return lit(key) && int_set(out);
  }

  // `name:` then a line end, tried without consuming anything if it does not match.
  bool header(std::string_view key) {
    const size_t start = pos_;
    if (lit(key) && eol()) return true;
    pos_ = start;
    return false;
  }

  // A required `key=<int>` line.
  bool line(std::string_view key, int64_t& out) { return lit(key) && integer(out) && eol(); }
  // An optional one: on any failure nothing is consumed (attoparsec's backtracking `<|>`).
  std::optional<int64_t> opt_line(std::string_view key) {
    const size_t start = pos_;
    int64_t v = 0;
    if (line(key, v)) return v;
    pos_ = start;
    return std::nullopt;
  }

  bool try_lit(std::string_view s) {
    if (in_.substr(pos_).starts_with(s)) {
      pos_ += s.size();
      return true;
    }
    return false;
  }
  bool lit(std::string_view s, std::string_view msg = {}) {
    if (try_lit(s)) return true;
    return fail(pos_, msg.empty() ? "expected " + std::string(s) : std::string(msg));
  }
  bool eol() {
    if (try_lit("\n") || try_lit("\r\n")) return true;
    return fail(pos_, "expected end of line");
  }
  void opt_eol() {
    if (!try_lit("\n")) try_lit("\r\n");
  }

  bool integer(int64_t& out) {
    size_t end = pos_;
    if (end < in_.size() && (in_[end] == '-' || in_[end] == '+')) ++end;
    while (end < in_.size() && in_[end] >= '0' && in_[end] <= '9') ++end;
    auto v = signed_decimal(in_.substr(pos_, end - pos_));
    if (!v) return fail(pos_, "expected an integer");
    out = *v;
    pos_ = end;
    return true;
  }

  bool time(int64_t& out) {
    const size_t end = std::min(in_.find_first_of(" \n,;", pos_), in_.size());
    auto t = iso8601_parse(in_.substr(pos_, end - pos_));
    if (!t) return fail(pos_, "expected an ISO-8601 UTC time");
    out = std::chrono::floor<std::chrono::seconds>(t->time_since_epoch()).count();
    pos_ = end;
    return true;
  }

  // Comma-separated items, each the text up to ',', ' ' or '\n' parsed whole; possibly empty. A bad item ends
  // the list before its comma (attoparsec `sepBy'`), leaving the line end check to fail.
  template <class Item>
  bool list(Item&& item) {
    auto chunk = [&](size_t from) {
      const size_t end = std::min(in_.find_first_of(",\n ", from), in_.size());
      return in_.substr(from, end - from);
    };
    auto c = chunk(pos_);
    if (!item(c)) {
      if (!c.empty()) fail(pos_, "bad list item");  // an empty list is fine
      return true;
    }
    pos_ += c.size();
    while (pos_ < in_.size() && in_[pos_] == ',') {
      c = chunk(pos_ + 1);
      if (!item(c)) {
        fail(pos_ + 1, "bad list item");
        break;
      }
      pos_ += 1 + c.size();
    }
    return true;
  }
  bool int_set(std::set<int64_t>& out) {
    return list([&](std::string_view c) {
      auto v = signed_decimal(c);
      if (v) out.insert(*v);
      return v.has_value();
    });
  }
  // Legacy sets of base64url ids (non-empty, padding optional), stored as their hashes.
  bool id_set(std::set<int64_t>& out) {
    return list([&](std::string_view c) {
      if (c.empty() || c[0] == '=') return false;
      auto b = base64url_decode(c);
      if (!b) return false;
      out.insert(hash_queue_id(*b));
      return true;
    });
  }

  // Keeps the failure that got furthest into the file (the latest one on a tie): a malformed optional line is
  // reported as itself rather than as the required field the parser looked for next.
  bool fail(size_t at, std::string msg) {
    if (!err_ || at >= err_at_) {
      err_ = true;
      err_at_ = at;
      err_msg_ = std::move(msg);
    }
    return false;
  }
  std::string rest_of_line() const {
    std::string_view l = in_.substr(pos_, std::min(in_.find('\n', pos_), in_.size()) - pos_);
    if (l.ends_with('\r')) l.remove_suffix(1);
    return std::string(l);
  }
  std::string error() const {
    const size_t at = std::min(err_at_, in_.size());
    const size_t line_no = 1 + static_cast<size_t>(std::count(in_.begin(), in_.begin() + at, '\n'));
    const size_t prev_nl = at == 0 ? std::string_view::npos : in_.rfind('\n', at - 1);
    const size_t line_start = prev_nl == std::string_view::npos ? 0 : prev_nl + 1;
    std::string_view line = in_.substr(line_start, std::min(in_.find('\n', line_start), in_.size()) - line_start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > 80) line = line.substr(0, 80);
    const std::string shown = at == in_.size() && line.empty() ? "end of file" : "\"" + std::string(line) + "\"";
    return "line " + std::to_string(line_no) + " " + shown + ": " + err_msg_;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool err_ = false;
  size_t err_at_ = 0;
  std::string err_msg_;
};

}  // namespace

std::string encode_stats(const ServerStatsData& d) {
  std::string o;
  o += "fromTime=";
  o += iso8601_show(std::chrono::system_clock::time_point(std::chrono::seconds(d.fromTime)));
  o += '\n';
  for (const Counter& c : kCounters) {
    o += c.key;
    o += std::to_string(d.*c.field);
    o += '\n';
  }
  o += "activeQueues:\n";
  put_period(o, d.activeQueues);
  o += "activeQueuesNtf:\n";
  put_period(o, d.activeQueuesNtf);
  for (const auto& [key, member] : kProxyBlocks) {
    o += key;
    o += '\n';
    put_fields(o, d.*member, kProxyFields);
  }
  o += "pMsgFwdsRecv=" + std::to_string(d.pMsgFwdsRecv) + "\n";
  for (const auto& [key, member] : kServiceBlocks) {
    o += key;
    o += '\n';
    put_fields(o, d.*member, kServiceFields);
  }
  return o;
}

std::variant<ServerStatsData, std::string> parse_stats(std::string_view text) { return Parser(text).run(); }

void save_stats(const std::filesystem::path& f, const ServerStatsData& d) { fs::write_file(f, encode_stats(d)); }

std::variant<ServerStatsData, std::string> load_stats(const std::filesystem::path& f) {
  return parse_stats(fs::read_file(f));
}

}  // namespace sr::smp
