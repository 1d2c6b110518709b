// `xftp-cli`: the XFTP command-line client (the reference's `xftp` program): send / recv / del / info (and the
// hidden `rand`), with the reference's description files (<name>.xftp/rcvN.xftp, snd.xftp.private) and links.
#pragma once

namespace sr::xftp {

int xftp_cli_main(int argc, char** argv);

}  // namespace sr::xftp
