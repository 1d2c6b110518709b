#include "core/web_site.hpp"

#include <cctype>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "build_info.hpp"
#include "core/log.hpp"

namespace sr::web {

namespace fsys = std::filesystem;

std::string item(std::string_view label, std::string_view content, std::string_view src) {
  const std::string marker = fmt::format("${{{}}}", label);
  std::string out;
  out.reserve(src.size());
  for (;;) {
    const size_t at = src.find(marker);
    if (at == std::string_view::npos) break;
    out.append(src.substr(0, at));
    out.append(content);
    src.remove_prefix(at + marker.size());
  }
  out.append(src);
  return out;
}

std::string section(std::string_view label, const std::optional<std::string>& content, std::string_view src) {
  const std::string start = fmt::format("<x-{}>", label), end = fmt::format("</x-{}>", label);
  std::string out;
  for (;;) {
    const size_t s = src.find(start);
    if (s == std::string_view::npos) break;
    const size_t e = src.find(end, s + start.size());
    if (e == std::string_view::npos) throw std::runtime_error("missing section end: " + end);
    out.append(src.substr(0, s));
    if (content) out += item(label, *content, src.substr(s + start.size(), e - s - start.size()));
    src.remove_prefix(e + end.size());
  }
  // The reference replaces the items of the text after the last section (or of the whole text without sections),
  // not of the text before a section.
  out += item(label, content.value_or(""), src);
  return out;
}

std::string render(std::string_view src, const Substs& substs) {
  std::string text(src);
  for (const auto& [label, value] : substs) text = section(label, value, text);
  return text;
}

std::string timed_ttl_text(int64_t ttl) {
  if (ttl == 0) return "0 sec";
  // Haskell quotRem truncates toward zero, as C++ / and % do.
  const int64_t s = ttl % 60, m_all = ttl / 60;
  const int64_t m = m_all % 60, h_all = m_all / 60;
  const int64_t h = h_all % 24, d_all = h_all / 24;
  const int64_t d = d_all % 30, months = d_all / 30;
  std::vector<std::string> parts;
  if (months != 0) parts.push_back(months == 1 ? "1 month" : fmt::format("{} months", months));
  if (d != 0)
    parts.push_back(d == 1 ? "1 day" : d == 7 ? "1 week" : d == 14 ? "2 weeks" : fmt::format("{} days", d));
  if (h != 0) parts.push_back(h == 1 ? "1 hour" : fmt::format("{} hours", h));
  if (m != 0) parts.push_back(fmt::format("{} min", m));
  if (s != 0) parts.push_back(fmt::format("{} sec", s));
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::optional<std::string> onion_host(const std::optional<std::string>& hosts) {
  if (!hosts) return std::nullopt;
  std::string_view rest = *hosts;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view h = rest.substr(0, comma);
    while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
    while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
    if (h.size() > 6 && h.substr(h.size() - 6) == ".onion") return std::string(h);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

namespace {

std::optional<std::string> esc(const std::optional<std::string>& v) {
  return v ? std::optional<std::string>(html_escape(*v)) : std::nullopt;
}

std::optional<std::string> yes_no(bool b) { return std::string(b ? "Yes" : "No"); }

}  // namespace

Substs server_info_substs(const config::ServerInformation& i) {
  Substs s;
  const std::string sc = i.source_code.value_or("");
  s.emplace_back("sourceCode", sc.empty() ? std::nullopt : esc(sc));
  s.emplace_back("noSourceCode", sc.empty() ? std::optional<std::string>("none") : std::nullopt);
  s.emplace_back("version", SR_COMPAT_VERSION);
  // The reference falls back to its own repository; ours is not that code, so without source_code the commit is
  // shown without a link (the section is removed).
  s.emplace_back("commitSourceCode", esc(i.source_code));
  s.emplace_back("shortCommit", std::string(std::string_view(SR_COMMIT).substr(0, 7)));
  s.emplace_back("commit", SR_COMMIT);
  s.emplace_back("website", esc(i.website));
  if (i.usage_conditions) {
    s.emplace_back("usageConditions", esc(i.usage_conditions));
    s.emplace_back("usageAmendments", esc(i.condition_amendments));
  } else {
    s.emplace_back("usageConditions", std::nullopt);
    s.emplace_back("usageAmendments", std::nullopt);
  }
  if (i.op) {
    s.emplace_back("operator", "");
    s.emplace_back("operatorEntity", esc(i.op));
    s.emplace_back("operatorCountry", esc(i.op_country));
  } else {
    s.emplace_back("operator", std::nullopt);
  }
  // A contact block exists when any of its link, email or PGP key (URI and fingerprint together) is set.
  auto contacts = [&](const std::string& who, const std::optional<std::string>& simplex,
                      const std::optional<std::string>& email, const std::optional<std::string>& pgp,
                      const std::optional<std::string>& fingerprint) {
    if (!simplex && !email && !(pgp && fingerprint)) {
      s.emplace_back(who, std::nullopt);
      return;
    }
    const bool has_pgp = pgp && fingerprint;
    s.emplace_back(who, "");
    s.emplace_back(who + "Simplex", esc(simplex));
    s.emplace_back(who + "Email", esc(email));
    s.emplace_back(who + "PGP", has_pgp ? esc(pgp) : std::nullopt);
    s.emplace_back(who + "PGPFingerprint", has_pgp ? esc(fingerprint) : std::nullopt);
  };
  contacts("admin", i.admin_simplex, i.admin_email, i.admin_pgp, i.admin_pgp_fingerprint);
  contacts("complaints", i.complaints_simplex, i.complaints_email, i.complaints_pgp, i.complaints_pgp_fingerprint);
  if (i.hosting) {
    s.emplace_back("hosting", "");
    s.emplace_back("hostingEntity", esc(i.hosting));
    s.emplace_back("hostingCountry", esc(i.hosting_country));
  } else {
    s.emplace_back("hosting", std::nullopt);
  }
  s.emplace_back("serverCountry", esc(i.server_country));
  std::optional<std::string> type = i.hosting_type;
  if (type && !type->empty()) (*type)[0] = static_cast<char>(std::toupper(static_cast<unsigned char>((*type)[0])));
  s.emplace_back("hostingType", esc(type));
  return s;
}

Substs smp_substs(const SmpPublicConfig& cfg, const config::ServerInformation& info,
                  const std::optional<std::string>& onion) {
  Substs s{{"smpConfig", "y"}, {"xftpConfig", std::nullopt}};
  s.emplace_back("persistence", cfg.persistence);
  s.emplace_back("messageExpiration", cfg.message_expiration ? timed_ttl_text(*cfg.message_expiration) : "Never");
  s.emplace_back("statsEnabled", yes_no(cfg.stats_enabled));
  s.emplace_back("newQueuesAllowed", yes_no(cfg.new_queues_allowed));
  s.emplace_back("basicAuthEnabled", yes_no(cfg.basic_auth_enabled));
  for (auto& e : server_info_substs(info)) s.push_back(std::move(e));
  s.emplace_back("onionHost", esc(onion));
  s.emplace_back("iniFileName", "smp-server.ini");
  return s;
}

Substs xftp_substs(const XftpPublicConfig& cfg, const config::ServerInformation& info,
                   const std::optional<std::string>& onion) {
  Substs s{{"smpConfig", std::nullopt}, {"xftpConfig", "y"}};
  s.emplace_back("fileExpiration", cfg.file_expiration ? timed_ttl_text(*cfg.file_expiration) : "Never");
  s.emplace_back("statsEnabled", yes_no(cfg.stats_enabled));
  s.emplace_back("newUploadsAllowed", yes_no(cfg.new_uploads_allowed));
  s.emplace_back("basicAuthEnabled", yes_no(cfg.basic_auth_enabled));
  for (auto& e : server_info_substs(info)) s.push_back(std::move(e));
  s.emplace_back("onionHost", esc(onion));
  s.emplace_back("iniFileName", "file-server.ini");
  return s;
}

namespace {

void write(const fsys::path& file, std::string_view text) {
  fsys::create_directories(file.parent_path());
  std::ofstream f(file, std::ios::binary | std::ios::trunc);
  if (f) f.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (f) f.close();
  if (!f) throw std::runtime_error(fmt::format("cannot write {}", file.string()));
}

}  // namespace

void generate_site(const fsys::path& root, Role role, const Substs& substs) {
  const Content& c = content();
  fsys::create_directories(root);
  write(root / "index.html", render(c.index_html, substs));
  for (const auto& [name, text] : c.media) write(root / "media" / name, text);
  // Stored without the dot; the server maps /.well-known/ here (static_files.cpp).
  for (const auto& [name, text] : c.well_known) write(root / "well-known" / name, text);
  if (role == Role::smp) {
    for (std::string_view page : kSmpLinkPages) write(root / page / "index.html", c.link_html);
  } else {
    write(root / "file" / "index.html", render(c.file_html, substs));
  }
  LOG_INFO("Generated static site contents at {}", root.string());
}

}  // namespace sr::web
