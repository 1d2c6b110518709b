// Service certificates over the wire (smp-transport.md §3.8, §4.5; smp-commands.md §12): a notifier service
// presents a TLS client certificate, gets a service id in the third handshake block, associates queues with NSUB
// and takes them all back after a reconnect with one NSUBS.
#include <catch2/catch.hpp>

#include "core/certs.hpp"
#include "smp_client_fixture.hpp"

using namespace sr;
using namespace sr::smp;
using namespace sr::test;
using namespace std::chrono_literals;

namespace {

// A service identity as `init` makes one for a server: ca.crt (identity) and server.crt/server.key (leaf).
struct ServiceCerts {
  TempDir dir;
  ServiceCerts() { certs::create_ca_and_online(dir.path, certs::KeyAlg::Ed25519, "notifications"); }
  ClientOptions options(char role) const {
    ClientOptions o;
    o.service = ClientOptions::Service{role, (dir.path / "server.crt").string(), (dir.path / "ca.crt").string(),
                                       (dir.path / "server.key").string()};
    return o;
  }
};

}  // namespace

TEST_CASE("SMP notifier service: NSUB associates, NSUBS after reconnect takes the queues back", "[smp-wire]") {
  Relay relay;
  ServiceCerts svc_certs;
  auto rcp = relay.connect(), snd = relay.connect();
  auto q = rcp->create_queue(crypto::KeyAlg::Ed25519, false);
  auto nkey = generate_auth_key(crypto::KeyAlg::Ed25519);
  auto ndh = generate_dh_key();
  auto nid = expect<resp::NID>(rcp->recipient_request(q, cmd::NKEY{nkey.pub, ndh.pub}));

  Bytes service_id;
  {
    auto svc = relay.connect(svc_certs.options('N'));
    service_id = svc->client().service_id();
    REQUIRE(service_id.size() == 24);
    // Without the service signature the server refuses NSUB in a service session.
    ClientAuth plain;
    plain.key = nkey.priv;
    CHECK(expect_err(svc->request(nid.notifier_id, cmd::NSUB{}, plain)).kind == ErrorType::Kind::SERVICE);
    auto sok = expect<resp::SOK>(svc->request(nid.notifier_id, cmd::NSUB{}, svc->client().service_auth(nkey.priv)));
    CHECK(sok.service_id == service_id);
    // A notifier service may not send messaging commands.
    CHECK(expect_err(svc->send(q.snd_id, std::nullopt, text("x"))) == ErrorType::command(CmdError::PROHIBITED));
  }

  auto svc = relay.connect(svc_certs.options('N'));
  CHECK(svc->client().service_id() == service_id);  // same certificate, same service
  auto soks = expect<resp::SOKS>(svc->request(service_id, cmd::NSUBS{}, svc->client().service_auth(std::nullopt)));
  CHECK(soks.count == 1);
  expect<resp::OK>(snd->send(q.snd_id, std::nullopt, text("notify"), true));
  auto ev = svc->next_event(5s);
  REQUIRE(ev);
  CHECK(ev->entity_id == nid.notifier_id);
  CHECK(std::holds_alternative<resp::NMSG>(*ev->response));

  // The same certificate with another role is refused in the handshake.
  SyncSmpClient other;
  CHECK_THROWS_WITH(other.connect("127.0.0.1", relay.d.p1, relay.d.key_hash_bytes(), svc_certs.options('M')),
                    Catch::Contains("HANDSHAKE BAD_SERVICE"));
}

TEST_CASE("SMP service block without a TLS client certificate is refused", "[smp-wire]") {
  Relay relay([](StartDirs& d) { d.add_to_section("TRANSPORT", "accept_service_credentials = off\n"); });
  ServiceCerts svc_certs;
  SyncSmpClient c;
  // With client certificates not requested, the TLS chain is empty and cannot match the hello's chain.
  CHECK_THROWS_WITH(c.connect("127.0.0.1", relay.d.p1, relay.d.key_hash_bytes(), svc_certs.options('N')),
                    Catch::Contains("HANDSHAKE BAD_AUTH"));
}
