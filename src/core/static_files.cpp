#include "core/static_files.hpp"

#include <system_error>

namespace sr::web {

namespace fsys = std::filesystem;

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::optional<StaticFile> try_file(const fsys::path& canon_root, const fsys::path& candidate) {
  std::error_code ec;
  if (!fsys::is_regular_file(candidate, ec)) return std::nullopt;
  const fsys::path canon = fsys::canonical(candidate, ec);
  if (ec) return std::nullopt;
  // Inside the root after resolving symlinks and "..": a path traversal attempt is simply not found.
  const std::string root = canon_root.string(), file = canon.string();
  if (file != root && file.rfind(root + "/", 0) != 0) return std::nullopt;
  return StaticFile{canon, mime_type(canon)};
}

}  // namespace

std::string mime_type(const fsys::path& file) {
  const std::string f = file.string();
  static const std::pair<std::string_view, std::string_view> kTable[] = {
      {".html", "text/html"},        {".css", "text/css"},   {".js", "application/javascript"},
      {".svg", "image/svg+xml"},     {".png", "image/png"},  {".ico", "image/x-icon"},
      {".json", "application/json"}, {"apple-app-site-association", "application/json"},
      {".woff", "font/woff"},        {".woff2", "font/woff2"}, {".ttf", "font/ttf"},
  };
  for (const auto& [suffix, mime] : kTable)
    if (ends_with(f, suffix)) return std::string(mime);
  return "application/octet-stream";
}

std::optional<StaticFile> resolve_static_file(const fsys::path& root, std::string_view url_path) {
  std::error_code ec;
  const fsys::path canon_root = fsys::canonical(root, ec);
  if (ec) return std::nullopt;
  std::string p(url_path.substr(0, url_path.find('?')));
  if (p.rfind("/.well-known/", 0) == 0)
    p = "/well-known/" + p.substr(13);
  else if (p == "/.well-known")
    p = "/well-known";
  size_t i = 0;
  while (i < p.size() && p[i] == '/') ++i;
  const std::string rel = p.substr(i);
  const fsys::path requested = rel.empty() ? canon_root / "index.html" : canon_root / rel;
  if (auto f = try_file(canon_root, requested)) return f;
  return try_file(canon_root, requested / "index.html");
}

}  // namespace sr::web
