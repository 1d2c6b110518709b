// The embedded web site (server-operations.md §5.5, §5.6): the server information page rendered from a template,
// the connection-link pages (SMP) and the file page (XFTP), written under [WEB] static_path at every start.
//
// The directory layout, the template language and the substitution names follow the reference (simplexmq:
// Server/Web.hs generateSite, render; apps/smp-server/SMPWeb.hs; apps/xftp-server/XFTPWeb.hs); the pages, style
// and script themselves are our own (web_site_content.cpp), written for this project. We do not ship the
// reference's browser XFTP client (xftp-web-bundle/): the file page explains how to receive a file with the app
// or `xftp-cli recv` instead.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"

namespace sr::web {

// (name, value) in the order they are applied; nullopt removes the name's <x-name> sections.
using Substs = std::vector<std::pair<std::string, std::optional<std::string>>>;

// <x-label>…</x-label> sections: kept without the markers when content is set (and ${label} inside replaced),
// removed entirely otherwise; then every ${label} in the rest is replaced by content (empty when unset).
// A start marker without its end marker throws std::runtime_error ("missing section end: </x-label>").
std::string section(std::string_view label, const std::optional<std::string>& content, std::string_view src);
// Every ${label} replaced by content.
std::string item(std::string_view label, std::string_view content, std::string_view src);
// section() for each substitution in order.
std::string render(std::string_view src, const Substs& substs);

// The reference's timedTTLText: months of 30 days, days, hours, min, sec joined by spaces; "1 day", "1 week",
// "2 weeks", "1 hour", "1 month" special-cased; 0 → "0 sec". 1814400 → "21 days", 172800 → "2 days".
std::string timed_ttl_text(int64_t seconds);

// HTML text escaping for values put into our pages (& < > " ').
std::string html_escape(std::string_view s);

// The first `.onion` host of a [TRANSPORT] host list (comma separated), if any.
std::optional<std::string> onion_host(const std::optional<std::string>& hosts);

// What the information page says about the configuration (simplexmq: ServerPublicConfig).
struct SmpPublicConfig {
  std::string persistence;                  // "In-memory only" / "Queues" / "Queues and messages"
  std::optional<int64_t> message_expiration;  // seconds; nullopt: "Never"
  bool stats_enabled = false, new_queues_allowed = true, basic_auth_enabled = false;
};
struct XftpPublicConfig {
  std::optional<int64_t> file_expiration;  // seconds
  bool stats_enabled = false, new_uploads_allowed = true, basic_auth_enabled = false;
};

// Substitutions shared by both roles (simplexmq: Server/Web.hs serverInfoSubsts), values HTML-escaped.
Substs server_info_substs(const config::ServerInformation& info);
Substs smp_substs(const SmpPublicConfig& cfg, const config::ServerInformation& info,
                  const std::optional<std::string>& onion);
Substs xftp_substs(const XftpPublicConfig& cfg, const config::ServerInformation& info,
                   const std::optional<std::string>& onion);

// The pages and assets embedded in the binary (web_site_content.cpp).
struct Content {
  std::string_view index_html;  // template
  std::string_view link_html;   // SMP connection-link page (no substitutions)
  std::string_view file_html;   // XFTP file page (template)
  std::vector<std::pair<std::string_view, std::string_view>> media;       // file name → content
  std::vector<std::pair<std::string_view, std::string_view>> well_known;  // stored under well-known/
};
const Content& content();

// The SMP paths that get the connection-link page (simplexmq: SMPWeb.hs smpLinkPages).
inline constexpr std::string_view kSmpLinkPages[] = {"contact", "invitation", "a", "c", "g", "r", "i"};

enum class Role { smp, xftp };

// Writes the site under root (created with parents; existing files overwritten, others left) and logs INFO
// "Generated static site contents at <root>". Throws std::system_error / std::runtime_error naming the file.
void generate_site(const std::filesystem::path& root, Role role, const Substs& substs);

}  // namespace sr::web
