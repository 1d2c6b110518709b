#pragma once
namespace sr::smp {
// `smp-server …` / `simplex-relay smp …`: argv[0] is the program name shown in usage.
int smp_server_main(int argc, char** argv);
}
