#pragma once
namespace sr::xftp {
// `xftp-server …` / `simplex-relay xftp …`
int xftp_server_main(int argc, char** argv);
}
