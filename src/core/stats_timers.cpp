#include "core/stats_timers.hpp"

namespace sr::stats {

void Timers::every(asio::io_context& io, std::chrono::seconds first, std::chrono::seconds period,
                   std::function<void()> work) {
  auto timer = std::make_shared<asio::steady_timer>(io);
  timers_.push_back(timer);
  asio::co_spawn(
      io,
      [timer, first, period, work = std::move(work), stopped = stopped_]() -> asio::awaitable<void> {
        auto next = std::chrono::steady_clock::now() + first;
        for (;;) {
          timer->expires_at(next);
          asio::error_code ec;
          co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (*stopped) co_return;
          work();
          next = std::chrono::steady_clock::now() + period;  // a fixed sleep after the work, as the reference's
        }
      },
      asio::detached);
}

void Timers::stop() {
  *stopped_ = true;
  for (auto& weak : timers_)
    if (auto t = weak.lock()) t->cancel();
}

}  // namespace sr::stats
