// Runs one coroutine of a client to completion on the calling thread: the blocking wrappers the tests use
// (SyncSmpClient, SyncXftpClient). The operations carry their own timeouts; `guard` only catches a bug that would
// hang a test: then `abort` closes the client and TimeoutError("TIMEOUT") is thrown.
#pragma once
#include <cstddef>

#include <asio.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>

namespace sr {

template <class TimeoutError, class T>
T run_blocking(asio::io_context& io, asio::awaitable<T> op, std::chrono::steady_clock::duration guard,
               const std::function<void()>& abort) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
    done = true;
  });
  const auto hard_deadline = std::chrono::steady_clock::now() + guard;
  io.restart();
  while (!done && std::chrono::steady_clock::now() < hard_deadline) io.run_one_for(std::chrono::milliseconds(100));
  if (!done) {
    abort();
    while (!done) io.run_one_for(std::chrono::milliseconds(100));
    if (!error) throw TimeoutError("TIMEOUT");
  }
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

}  // namespace sr
