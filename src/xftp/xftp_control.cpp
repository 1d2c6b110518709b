#include "xftp/xftp_control.hpp"


namespace sr::xftp {

namespace {

std::string reply(const std::optional<Error>& e) { return e ? "error: " + error_text(*e) + "\n" : "ok\n"; }


}  // namespace

std::string control_delete(XftpState& state, const Bytes& recipient_id) {
  return reply(state.delete_by_recipient(recipient_id));
}

std::string control_block(XftpState& state, const Bytes& recipient_id, const BlockingInfo& info) {
  return reply(state.block_by_recipient(recipient_id, info));
}

std::shared_ptr<const control::Commands> xftp_commands(XftpState& state) {
  using control::Args;
  using control::Need;
  using control::Request;
  auto cmds = std::make_shared<control::Commands>();
  cmds->greeting = "XFTP server control port";
  // As the reference's: `block` is not listed (quirk 8.Q13).
  cmds->help = "commands: stats-rts, delete, help, quit";
  XftpState* st = &state;
  cmds->table["stats-rts"] = {Args::None, Need::Any, [](const Request&) { return control::runtime_stats(); }};
  cmds->table["delete"] = {Args::Id, Need::User, [st](const Request& r) { return control_delete(*st, r.id); }};
  cmds->table["block"] = {Args::IdInfo, Need::User,
                          [st](const Request& r) { return control_block(*st, r.id, r.info); }};
  return cmds;
}

}  // namespace sr::xftp
