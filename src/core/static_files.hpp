// Static pages of the embedded web site (server-operations.md §5.5; simplexmq Server/Web.hs resolveStaticFile):
// a request path resolved under the site root with the index.html fallback, /.well-known/ served from
// well-known/, and nothing outside the root (symlinks included).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace sr::web {

struct StaticFile {
  std::filesystem::path path;  // canonical
  std::string mime;
};

// `url_path` is the request's :path (query string ignored). nullopt: no such file, or outside the root.
std::optional<StaticFile> resolve_static_file(const std::filesystem::path& root, std::string_view url_path);

// The reference's MIME table by file suffix; application/octet-stream otherwise.
std::string mime_type(const std::filesystem::path& file);

}  // namespace sr::web
