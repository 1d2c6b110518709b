// Logger with the reference's line layout: "[LEVEL YYYY-MM-DD HH:MM:SS +ZZZZ file:line] message" on stderr.
// Plain operator-facing lines (banner, policy lines) go to stdout through out_line().
#pragma once
#include <fmt/format.h>
#include <string_view>

namespace sr::log {

enum class Level { Trace, Debug, Info, Note, Warn, Error };

void set_level(Level level);
Level level();
bool enabled(Level level);
// Parses the reference's --log-level words: trace | debug | info | note | warn | error.
bool parse_level(std::string_view word, Level& out);
std::string_view level_name(Level level); // "TRACE" ... "ERROR"
void write(Level level, const char* file, int line, std::string_view message);

// One stdout line, flushed, so operators' log parsers see stdout and stderr in order.
void out_line(std::string_view line);

}  // namespace sr::log

#define SR_LOG(lvl, ...)                                                                 \
  do {                                                                                   \
    if (::sr::log::enabled(lvl)) ::sr::log::write(lvl, __FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)
#define LOG_TRACE(...) SR_LOG(::sr::log::Level::Trace, __VA_ARGS__)
#define LOG_DEBUG(...) SR_LOG(::sr::log::Level::Debug, __VA_ARGS__)
#define LOG_INFO(...) SR_LOG(::sr::log::Level::Info, __VA_ARGS__)
#define LOG_NOTE(...) SR_LOG(::sr::log::Level::Note, __VA_ARGS__)
#define LOG_WARN(...) SR_LOG(::sr::log::Level::Warn, __VA_ARGS__)
#define LOG_ERROR(...) SR_LOG(::sr::log::Level::Error, __VA_ARGS__)
