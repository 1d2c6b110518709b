#include "core/log.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace sr::log {
namespace {

std::atomic<Level> g_level{Level::Info};
// One lock for both streams: lines from several threads never interleave, and stdout/stderr keep their order.
std::mutex g_mutex;

struct LevelInfo {
  std::string_view name;
  std::string_view colour;  // SGR start code, used only when stderr is a terminal
};

constexpr std::array<LevelInfo, 6> kLevels = {{
    {"TRACE", "\x1b[90m"},  // grey
    {"DEBUG", "\x1b[32m"},  // green
    {"INFO", "\x1b[36m"},   // cyan
    {"NOTE", "\x1b[96m"},   // bright cyan
    {"WARN", "\x1b[33m"},   // yellow
    {"ERROR", "\x1b[91m"},  // bright red
}};

const LevelInfo& info(Level level) { return kLevels[static_cast<size_t>(level)]; }

// DECISIONS.md: colours only on a terminal, so redirected logs stay plain text for parsers.
bool colour_stderr() {
  static const bool tty = isatty(STDERR_FILENO) == 1;
  return tty;
}

std::string_view basename(const char* file) {
  std::string_view f(file ? file : "");
  auto slash = f.find_last_of('/');
  return slash == std::string_view::npos ? f : f.substr(slash + 1);
}

// "YYYY-MM-DD HH:MM:SS +ZZZZ" in the local time zone, as the reference's logger prints it.
std::string timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z", &tm);
  return std::string(buf, n);
}

}  // namespace

void set_level(Level l) { g_level.store(l, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }
bool enabled(Level l) { return l >= level(); }

bool parse_level(std::string_view word, Level& out) {
  static constexpr std::array<std::pair<std::string_view, Level>, 6> kWords = {{
      {"trace", Level::Trace},
      {"debug", Level::Debug},
      {"info", Level::Info},
      {"note", Level::Note},
      {"warn", Level::Warn},
      {"error", Level::Error},
  }};
  for (const auto& [w, l] : kWords) {
    if (w == word) {
      out = l;
      return true;
    }
  }
  return false;
}

std::string_view level_name(Level l) { return info(l).name; }

void write(Level l, const char* file, int line, std::string_view message) {
  const LevelInfo& li = info(l);
  const bool colour = colour_stderr();
  // Built first and written with one call, so a line is never split by another thread's output.
  std::string out = fmt::format("{}[{} {} {}:{}] {}{}\n", colour ? li.colour : "", li.name, timestamp(),
                                basename(file), line, message, colour ? "\x1b[0m" : "");
  std::lock_guard lock(g_mutex);
  std::fflush(stdout);
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

void out_line(std::string_view line) {
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace sr::log
