// libFuzzer target: the INI reader, the TOML loader and the typed SMP/XFTP readers on arbitrary bytes.
// Any exception other than ConfigError, any sanitizer report or a broken invariant below is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/config.hpp"
#include "core/ini.hpp"
#include "smp/smp_config.hpp"
#include "xftp/xftp_config.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void load_both(const sr::config::Source& src) {
  try {
    sr::smp::load_smp_config(src);
  } catch (const sr::config::ConfigError&) {
  }
  try {
    sr::xftp::load_xftp_config(src);
  } catch (const sr::config::ConfigError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto doc = sr::ini::parse(text);
  int lines = 1;
  for (char c : text) lines += c == '\n';
  for (const auto& w : doc.warnings) check(w.line >= 1 && w.line <= lines);
  for (const auto& [name, section] : doc.sections) {
    check(section.line >= 1 && section.line <= lines);
    for (const auto& [key, value] : section.values) {
      check(!key.empty() && value.line >= section.line && value.line <= lines);
      check(value.text.find('\n') == std::string::npos && value.text.find('\r') == std::string::npos);
    }
  }

  load_both(sr::config::Source::from_ini("fuzz.ini", text));
  try {
    load_both(sr::config::Source::from_toml("fuzz.toml", text));
  } catch (const sr::config::ConfigError&) {
  }

  // Value syntax: what is accepted re-reads to the same value.
  if (auto bytes = sr::config::parse_size(text)) check(sr::config::parse_size(sr::config::format_size(*bytes)) == bytes);
  if (auto proxy = sr::config::parse_socks_proxy(text)) check(sr::config::parse_socks_proxy(*proxy) == proxy);
  if (auto country = sr::config::parse_country(text)) check(sr::config::parse_country(*country) == country);
  if (auto ports = sr::config::parse_ports(text)) check(!ports->empty());
  return 0;
}
