// Command-line pieces the load generators share: which server to drive and its key hash.
#pragma once
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

#include <cxxopts.hpp>

#include "core/encoding.hpp"

namespace sr::bench {

// --host, --port, --fingerprint, --cfg.
inline void add_server_options(cxxopts::Options& opts, uint16_t default_port) {
  opts.add_options()("host", "server host", cxxopts::value<std::string>()->default_value("127.0.0.1"))(
      "port", "server port", cxxopts::value<uint16_t>()->default_value(std::to_string(default_port)))(
      "fingerprint", "server key hash (base64url, the fingerprint file's content)", cxxopts::value<std::string>())(
      "cfg", "server config dir: read its fingerprint file", cxxopts::value<std::string>());
}

// The key hash of --<fp_opt>, else of the fingerprint file in --<cfg_opt>; nullopt unless it is 32 bytes.
inline std::optional<Bytes> server_key_hash(const cxxopts::ParseResult& r, const char* fp_opt = "fingerprint",
                                            const char* cfg_opt = "cfg") {
  std::string fp;
  if (r.count(fp_opt)) {
    fp = r[fp_opt].as<std::string>();
  } else if (r.count(cfg_opt)) {
    std::ifstream in(r[cfg_opt].as<std::string>() + "/fingerprint");
    std::getline(in, fp);
  }
  fp.erase(fp.find_last_not_of(" \r\n\t") + 1);
  auto kh = base64url_decode(fp);
  if (!kh || kh->size() != 32) return std::nullopt;
  return kh;
}

}  // namespace sr::bench
