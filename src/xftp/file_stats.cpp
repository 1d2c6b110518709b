#include "xftp/file_stats.hpp"

#include "build_info.hpp"
#include "core/encoding.hpp"
#include "core/fsutil.hpp"
#include "core/stats_csv.hpp"

namespace sr::xftp {

using S = FileServerStatsData;

void FileServerStatsData::note_download(std::span<const uint8_t> sender_id) {
  ++fileDownloads;
  const int64_t h = stats::hash_entity_id(sender_id);
  filesDownloaded.day.insert(h);
  filesDownloaded.week.insert(h);
  filesDownloaded.month.insert(h);
}

void FileServerStatsData::note_deleted(bool had_chunk, int64_t size, bool blocked) {
  if (had_chunk) {
    --filesCount;
    filesSize -= size;
  }
  ++(blocked ? filesBlocked : filesDeleted);
}

FileStatsPeriod roll_file_stats(FileServerStatsData& s, int64_t now) {
  using namespace std::chrono;
  const sys_days date{days{now >= 0 ? now / 86400 : (now - 86399) / 86400}};
  FileStatsPeriod r;
  r.week_ended = weekday(date).iso_encoding() == 1;
  r.month_ended = year_month_day(date).day() == day{1};
  r.data = s;
  FileServerStatsData next;
  next.fromTime = now;
  next.filesBlocked = s.filesBlocked;
  next.filesCount = s.filesCount;
  next.filesSize = s.filesSize;
  next.filesDownloaded = std::move(s.filesDownloaded);
  next.filesDownloaded.day.clear();
  if (r.week_ended) next.filesDownloaded.week.clear();
  if (r.month_ended) next.filesDownloaded.month.clear();
  s = std::move(next);
  return r;
}

std::string file_stats_csv_row(const FileStatsPeriod& p) {
  const S& d = p.data;
  auto n = [](int64_t v) { return std::to_string(v); };
  std::string row = stats::csv_date(d.fromTime);
  for (const std::string& f :
       {n(d.filesCreated), n(d.fileRecipients), n(d.filesUploaded), n(d.filesDeleted),
        n(static_cast<int64_t>(d.filesDownloaded.day.size())), stats::period_field(d.filesDownloaded.week, p.week_ended),
        stats::period_field(d.filesDownloaded.month, p.month_ended), n(d.fileDownloads), n(d.fileDownloadAcks),
        n(d.filesCount), n(d.filesSize), n(d.filesExpired)}) {
    row += ',';
    row += f;
  }
  return row;
}

namespace {

void put_set(std::string& o, const std::set<int64_t>& s) {
  bool first = true;
  for (int64_t v : s) {
    if (!first) o += ',';
    o += std::to_string(v);
    first = false;
  }
}

// A line cursor over the file: each line must end with '\n' (or "\r\n").
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool at_end() const { return pos_ >= in_.size(); }
  size_t line_no() const { return line_; }
  // The next line without its end, or nullopt at the end of the text or when the line end is missing.
  std::optional<std::string_view> peek() const {
    if (at_end()) return std::nullopt;
    const size_t nl = in_.find('\n', pos_);
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view l = in_.substr(pos_, nl - pos_);
    if (l.ends_with('\r')) l.remove_suffix(1);
    return l;
  }
  void next() {
    pos_ = in_.find('\n', pos_) + 1;
    ++line_;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

std::optional<int64_t> signed_int(std::string_view t) {
  if (t.size() >= 2 && t[0] == '+') t.remove_prefix(1);
  return parse_decimal(t);
}

}  // namespace

std::string encode_file_stats(const S& d) {
  std::string o = "fromTime=" + iso8601_show(std::chrono::system_clock::time_point(std::chrono::seconds(d.fromTime)));
  auto line = [&](const char* k, int64_t v) {
    o += '\n';
    o += k;
    o += std::to_string(v);
  };
  line("filesCreated=", d.filesCreated);
  line("fileRecipients=", d.fileRecipients);
  line("filesUploaded=", d.filesUploaded);
  line("filesExpired=", d.filesExpired);
  line("filesDeleted=", d.filesDeleted);
  line("filesBlocked=", d.filesBlocked);
  line("filesCount=", d.filesCount);
  line("filesSize=", d.filesSize);
  o += "\nfilesDownloaded:\ndayHashes=";
  put_set(o, d.filesDownloaded.day);
  o += "\nweekHashes=";
  put_set(o, d.filesDownloaded.week);
  o += "\nmonthHashes=";
  put_set(o, d.filesDownloaded.month);
  line("fileDownloads=", d.fileDownloads);
  line("fileDownloadAcks=", d.fileDownloadAcks);
  o += '\n';
  return o;
}

std::variant<S, std::string> parse_file_stats(std::string_view text) {
  Reader r(text);
  auto fail = [&](std::string_view expected) -> std::string {
    auto l = r.peek();
    return "line " + std::to_string(r.line_no()) + " " + (l ? "\"" + std::string(*l) + "\"" : "end of file") +
           ": expected " + std::string(expected);
  };
  auto value = [&](std::string_view key) -> std::optional<std::string_view> {
    auto l = r.peek();
    if (!l || !l->starts_with(key)) return std::nullopt;
    return l->substr(key.size());
  };
  S d;
  std::string err;
  auto required = [&](std::string_view key, int64_t& out) {
    auto v = value(key);
    auto i = v ? signed_int(*v) : std::nullopt;
    if (!i) {
      if (err.empty()) err = fail(key);
      return false;
    }
    out = *i;
    r.next();
    return true;
  };
  auto optional = [&](std::string_view key, int64_t& out) {
    auto v = value(key);
    auto i = v ? signed_int(*v) : std::nullopt;
    if (i) {
      out = *i;
      r.next();
    }
  };
  auto hash_set = [&](std::string_view name, std::set<int64_t>& out) {
    const std::string key = std::string(name) + "Hashes=", legacy = std::string(name) + "=";
    const bool ids = !value(key) && value(legacy);
    auto v = ids ? value(legacy) : value(key);
    if (!v) {
      err = fail(key);
      return false;
    }
    std::string_view rest = *v;
    while (!rest.empty()) {
      const size_t comma = std::min(rest.find(','), rest.size());
      std::string_view item = rest.substr(0, comma);
      if (ids) {
        auto b = base64url_decode(item);
        if (item.empty() || !b) return (err = fail("base64url ids"), false);
        out.insert(stats::hash_entity_id(*b));
      } else {
        auto i = signed_int(item);
        if (!i) return (err = fail("integers"), false);
        out.insert(*i);
      }
      rest = comma < rest.size() ? rest.substr(comma + 1) : std::string_view();
    }
    r.next();
    return true;
  };

  auto t = value("fromTime=");
  auto tp = t ? iso8601_parse(*t) : std::nullopt;
  if (!tp) return fail("fromTime=");
  d.fromTime = std::chrono::floor<std::chrono::seconds>(tp->time_since_epoch()).count();
  r.next();
  if (!(required("filesCreated=", d.filesCreated) && required("fileRecipients=", d.fileRecipients) &&
        required("filesUploaded=", d.filesUploaded)))
    return err;
  optional("filesExpired=", d.filesExpired);
  if (!required("filesDeleted=", d.filesDeleted)) return err;
  optional("filesBlocked=", d.filesBlocked);
  optional("filesCount=", d.filesCount);
  optional("filesSize=", d.filesSize);
  if (r.peek() != std::optional<std::string_view>("filesDownloaded:")) return fail("filesDownloaded:");
  r.next();
  if (!(hash_set("day", d.filesDownloaded.day) && hash_set("week", d.filesDownloaded.week) &&
        hash_set("month", d.filesDownloaded.month)))
    return err;
  if (!(required("fileDownloads=", d.fileDownloads) && required("fileDownloadAcks=", d.fileDownloadAcks))) return err;
  if (!r.at_end()) return fail("end of file");
  return d;
}

void save_file_stats(const std::filesystem::path& f, const S& d) { fs::write_file(f, encode_file_stats(d)); }

std::variant<S, std::string> load_file_stats(const std::filesystem::path& f) {
  return parse_file_stats(fs::read_file(f));
}

std::string xftp_prometheus_metrics(const S& d, std::string_view rts_options,
                                    std::chrono::system_clock::time_point now) {
  const std::string ts = " " + std::to_string(stats::epoch_ms(now)) + "\n";
  std::string o = stats::metrics_header(now, d.fromTime);
  o += "# Files\n# -----\n\n";
  auto one = [&](std::string_view name, std::string_view help, std::string_view type, int64_t v,
                 std::string_view comment) {
    o += "# HELP " + std::string(name) + " " + std::string(help) + "\n# TYPE " + std::string(name) + " " +
         std::string(type) + "\n" + std::string(name) + " " + std::to_string(v) + ts + "# " + std::string(comment) +
         "\n\n";
  };
  one("simplex_xftp_files_created", "Created files", "counter", d.filesCreated, "filesCreated");
  one("simplex_xftp_files_recipients", "Files recipients", "counter", d.fileRecipients, "fileRecipients");
  one("simplex_xftp_files_uploaded", "Uploaded files", "counter", d.filesUploaded, "filesUploaded");
  one("simplex_xftp_files_expired", "Expired files", "counter", d.filesExpired, "filesExpired");
  one("simplex_xftp_files_deleted", "Deleted files", "counter", d.filesDeleted, "filesDeleted");
  one("simplex_xftp_files_blocked", "Blocked files", "counter", d.filesBlocked, "filesBlocked");
  one("simplex_xftp_file_downloads", "File downloads", "counter", d.fileDownloads, "fileDownloads");
  one("simplex_xftp_file_download_acks", "File download ACKs", "counter", d.fileDownloadAcks, "fileDownloadAcks");
  one("simplex_xftp_files_count_total", "Total files count ", "gauge", d.filesCount, "filesCount");
  one("simplex_xftp_files_size", "Size of files ", "gauge", d.filesSize, "filesSize ");
  const auto& fd = d.filesDownloaded;
  one("simplex_xftp_files_count_daily", "Daily files count", "gauge", static_cast<int64_t>(fd.day.size()),
      "filesDownloaded.dayCount");
  one("simplex_xftp_files_count_weekly", "Weekly files count", "gauge", static_cast<int64_t>(fd.week.size()),
      "filesDownloaded.weekCount");
  one("simplex_xftp_files_count_monthly", "Monthly files count", "gauge", static_cast<int64_t>(fd.month.size()),
      "filesDownloaded.monthCount");
  o += "# Info\n# ----\n\n"
       "# HELP simplex_xftp_info Server information. RTS options have to be passed via XFTP_RTS_OPTIONS env var\n"
       "# TYPE simplex_xftp_info gauge\n"
       "simplex_xftp_info{version=\"" SR_COMPAT_VERSION "\",rts_options=\"";
  o += rts_options;
  o += "\"} 1\n\n";
  return o;
}

}  // namespace sr::xftp
