// Shared by the SMP wire tests: a started relay (StartDirs + `smp-server start`) with our blocking SMP client
// connected to it, and small response assertions.
#pragma once
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string_view>

#include "smp/client.hpp"
#include "smp_fixture.hpp"

namespace sr::test {

// A started relay with one test's INI edits applied.
struct Relay {
  StartDirs d;
  std::unique_ptr<Process> proc;
  explicit Relay(std::function<void(StartDirs&)> edit = {}) {
    if (edit) edit(d);
    proc = d.start_ready();
  }
  ~Relay() {
    if (proc && proc->running()) {
      proc->signal(SIGTERM);
      proc->wait(std::chrono::seconds(10));
    }
  }
  std::unique_ptr<smp::SyncSmpClient> connect(smp::ClientOptions o = {}) const {
    auto c = std::make_unique<smp::SyncSmpClient>();
    c->connect("127.0.0.1", d.p1, d.key_hash_bytes(), o);
    return c;
  }
  std::unique_ptr<smp::SyncSmpClient> connect_v(uint16_t max) const {
    smp::ClientOptions o;
    o.versions = VersionRange{6, max};
    return connect(o);
  }
};

inline Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

template <class T>
T expect(const smp::Response& r) {
  INFO("response: " << smp::describe(r));
  REQUIRE(std::holds_alternative<T>(r));
  return std::get<T>(r);
}

inline smp::ErrorType expect_err(const smp::Response& r) { return expect<smp::resp::ERR>(r).err; }

inline smp::resp::MSG expect_msg_event(smp::SyncSmpClient& c, const Bytes& rid) {
  auto ev = c.next_event(std::chrono::seconds(5));
  REQUIRE(ev);
  CHECK(ev->corr_id.empty());
  CHECK(ev->entity_id == rid);
  REQUIRE(ev->response);
  return expect<smp::resp::MSG>(*ev->response);
}

}  // namespace sr::test
