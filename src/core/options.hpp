// cxxopts, included once for every command-line parser of the tree.
#pragma once
// cxxopts pulls in <regex>, whose inlined internals trip GCC 12's -Wmaybe-uninitialized under sanitizers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <cxxopts.hpp>
#pragma GCC diagnostic pop
