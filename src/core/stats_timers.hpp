// Repeating statistics tasks on the server's io_context (daily CSV rows, metrics file, backups). Apart from
// stats_csv so the pure formatting code builds without Asio (fuzzers).
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include <asio.hpp>

namespace sr::stats {

// Repeating tasks on the server's io_context (statistics rows, metrics file, backups). Each task's timer lives
// in its coroutine, so none outlives the io_context; stop() cancels them all.
class Timers {
 public:
  void every(asio::io_context& io, std::chrono::seconds first, std::chrono::seconds period,
             std::function<void()> work);
  void stop();

 private:
  std::vector<std::weak_ptr<asio::steady_timer>> timers_;
  std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
};

}  // namespace sr::stats
