// libFuzzer target: the XFTP relay's pre-auth request path (xftp-protocol.md §6, §7): a request body head is
// parsed as a transmission, its command parsed and credential-checked, and the authorization verified against a
// key, exactly as the server will do before any lookup. Whatever parses must re-encode to the same command bytes,
// and every error must be encodable as the reply the server sends. Also: the handshake messages and the client-side
// response parser on the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "xftp/protocol.hpp"

using namespace sr;
using namespace sr::xftp;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

const Bytes kSession(32, 0x5a);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView in(data, size);
  // Server side: body head → transmission → command → credentials → authorization.
  auto t = parse_transmission(kSession, in);
  if (auto* e = std::get_if<TransmissionError>(&t)) {
    (void)encode_response_block(kSession, e->corr_id, {}, FRErr{e->err});
  } else {
    const auto& raw = std::get<RawTransmission>(t);
    auto c = parse_command(raw.command);
    if (auto* cmd = std::get_if<Command>(&c)) {
      const Bytes again = encode_command(*cmd);
      check(std::get<Command>(parse_command(again)) == *cmd);
      if (auto ce = check_credentials(*cmd, !raw.auth.empty(), !raw.entity_id.empty())) {
        (void)encode_response_block(kSession, raw.corr_id, raw.entity_id, FRErr{Error::command(*ce)});
      } else {
        check(!dummy_verify_transmission(raw, std::nullopt));
        if (auto* fnew = std::get_if<FNEW>(cmd)) (void)verify_transmission(fnew->file.snd_key, raw, std::nullopt);
      }
    } else {
      (void)encode_response_block(kSession, raw.corr_id, raw.entity_id,
                                  FRErr{Error::command(std::get<CmdError>(c))});
    }
  }
  // Handshake messages and the client's view of responses must never crash on arbitrary bytes.
  (void)parse_client_hello(in);
  (void)parse_client_handshake(in);
  (void)parse_server_handshake(in);
  (void)parse_response_block(kSession, in);
  return 0;
}
