// XFTP protocol layer against the official vectors (shared/spec/xftp-vectors.md V2, V4, V5, V6, V7) and the
// error rules of xftp-protocol.md §6–§8.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "core/server_address.hpp"
#include "hex.hpp"
#include "xftp_vectors.hpp"
#include "xftp/protocol.hpp"

using namespace sr;
using namespace sr::test;
using namespace sr::xftp;
using crypto::KeyAlg;
using namespace sr::test::xftpv;

namespace {

Bytes view(ByteView v) { return Bytes(v.begin(), v.end()); }

// ---- V1 inputs ----
const crypto::Key32 kSrvEphSk = key32(seq(0x80, 32));
const crypto::Key32 kSrvHsSk = key32(seq(0xa0, 32));
const crypto::PrivateKey kCaSk{KeyAlg::Ed25519, seq(0xc0, 32)};
const crypto::PrivateKey kLeafSk{KeyAlg::Ed25519, seq(0xe0, 32)};
const crypto::Key32 kEntityX25519Sk = key32(Bytes(32, 0x77));
const crypto::PrivateKey kEd448CaSk{KeyAlg::Ed448, seq(0x10, 57)};
const crypto::PrivateKey kEd448LeafSk{KeyAlg::Ed448, seq(0x90, 57)};
const Bytes kCorrId = str("corr-0001");
const Bytes kSenderId = str("sender-id-000001");
const Bytes kRcpId1 = str("recipient-id-001");
const Bytes kRcpId2 = str("recipient-id-002");
const crypto::Nonce kFileNonce = nonce24(seq(0x01, 24));
const Bytes kKeyHash = hex("3f211f7780c618804db26658c406a0d52fd8d0e90a51ec872d293659bed24265");
const Bytes kEd448KeyHash = hex("359da9ecf0f49dc8e3be14c17f1fd54cb6000d2463796e6a845f4a29d150da8d");

Bytes chunk64k() {
  Bytes c(65536);
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(i);
  return c;
}
crypto::PublicKey x25519_pub(const crypto::Key32& sk) {
  const auto pk = crypto::x25519_public(sk);
  return {KeyAlg::X25519, Bytes(pk.begin(), pk.end())};
}

// ---- Vectors (hex copied from xftp-vectors.md) ----
const Bytes kEd448CaSpki = hex(
    "3043300506032b6571033a00ea4e6ed9a1f1ad32bbe54dd466ffab49eeab28666f614eacce335c9737e87cf8ccb7102529388d565c5b8e6941079741"
    "3f0a9b67d986abe480"
);
const Bytes kEd448LeafSpki = hex(
    "3043300506032b6571033a0091cdad5c618e28eb96ff3502044423c572c50216b0e8797cb7178f138466db431f6eba55ba0300920c3c5ee0ce1381a7"
    "8df7c4d00749c31b00"
);
const Bytes kEd25519CaCert = hex(
    "3082012f3081e2a003020102020101300506032b6570302e31153013060355040a0c0c786674702d766563746f72733115301306035504030c0c5846"
    "545020746573742043413020170d3235303130313030303030305a180f39393939313233313233353935395a302e31153013060355040a0c0c786674"
    "702d766563746f72733115301306035504030c0c584654502074657374204341302a300506032b6570032100dde3bccec7f3a66a1115f45d720f4dc1"
    "35c3ae7c4e22dca38fdb1efd6a495ff8a3233021300f0603551d130101ff040530030101ff300e0603551d0f0101ff040403020106300506032b6570"
    "0341009aeedc95b4a2cce81f81a2c034f67967981f9f687762ca4643cd6c0435335cf57aac8344edb44bd5caa28e6c1e565f3f20c4925e33a9047784"
    "1ad4a7da3f710d"
);
const Bytes kEd25519LeafCert = hex(
    "3082013b3081eea003020102020102300506032b6570302e31153013060355040a0c0c786674702d766563746f72733115301306035504030c0c5846"
    "545020746573742043413020170d3235303130313030303030305a180f39393939313233313233353935395a302b31153013060355040a0c0c786674"
    "702d766563746f72733112301006035504030c096c6f63616c686f7374302a300506032b657003210013d9908a70925992ed546007d27f50da68ba72"
    "17ef62ac3cca784529ff10471ca332303030090603551d1304023000300e0603551d0f0101ff0404030203c830130603551d25040c300a06082b0601"
    "0505070301300506032b6570034100312a3179b4541a34a2e74dcd01031874ce7263a9ee587d49d49f08156a2185edd5950e4b678a8453f75d7d3746"
    "2fbc32b9d323a8eaafb2e9f002fb542d651e01"
);
const Bytes kEd448CaCert = hex(
    "3082017a3081fba003020102020101300506032b6571302e31153013060355040a0c0c786674702d766563746f72733115301306035504030c0c5846"
    "545020746573742043413020170d3235303130313030303030305a180f39393939313233313233353935395a302e31153013060355040a0c0c786674"
    "702d766563746f72733115301306035504030c0c5846545020746573742043413043300506032b6571033a00ea4e6ed9a1f1ad32bbe54dd466ffab49"
    "eeab28666f614eacce335c9737e87cf8ccb7102529388d565c5b8e69410797413f0a9b67d986abe480a3233021300f0603551d130101ff0405300301"
    "01ff300e0603551d0f0101ff040403020106300506032b657103730066aac3bdd8d09e6a2e1312e7e544be9271cbaf6a5f72192b72c505e9bbd6bffc"
    "537055221862d829f4f76fe2f290874cf940c5d67058edc3809fdb3b59843e77a8e25d70576370fd2887e8a18c8c53322becee410ceab232c759c308"
    "ce3e7f86986a13e8d5bc2994b853e5177c2a96531200"
);
const Bytes kEd448LeafCert = hex(
    "3082018730820107a003020102020102300506032b6571302e31153013060355040a0c0c786674702d766563746f72733115301306035504030c0c58"
    "46545020746573742043413020170d3235303130313030303030305a180f39393939313233313233353935395a302b31153013060355040a0c0c7866"
    "74702d766563746f72733112301006035504030c096c6f63616c686f73743043300506032b6571033a0091cdad5c618e28eb96ff3502044423c572c5"
    "0216b0e8797cb7178f138466db431f6eba55ba0300920c3c5ee0ce1381a78df7c4d00749c31b00a332303030090603551d1304023000300e0603551d"
    "0f0101ff0404030203c830130603551d25040c300a06082b06010505070301300506032b6571037300451fe8ee3961c8d50ff155be1bb0cb90d3edf1"
    "852148d334dd7b7bdf347bbf49b876a18c355d9349befbc3618ef2a7333aa0ac5aff8dcf66803c72e1bf0034a423939dd5537758878f63df25f328ce"
    "0a8fc46f68ffe74e011a7c0bcae02f2a746abcc3269373d19c0bc923c2a32880e50900"
);
const Bytes kClientHelloMsg = hex(
    "31206368616c6c656e67652d33322d62797465732d666f722d7765622d68656c6c6f"
);
const Bytes kSignedDhEd25519 = hex(
    "3078302c302a300506032b656e032100605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805d23c300506032b657003410016b9"
    "e501c878c98f0d718d100bd4a2dd30dd2173fa8ca4422b0fc1f524aa86d8a61b73964421528541a1728d5efb13346dfb42e485ab5512184c4787eac3"
    "6f0c"
);
const Bytes kSignedDhEd448 = hex(
    "3081aa302c302a300506032b656e032100605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805d23c300506032b65710373003f"
    "bb16c82e2bab1c1fce4e048139f90b1d32eeea0ff8a5d7612755a28a2e7435b1a8ef950b705d882232eb57a55ef4bc7a35868ae40fc37600b8f24db5"
    "9228db0d11a883d51d6fa35f056bfcb3b69cd28e042c163c67bd4bf5a0f5bd8194dfcf52e61e5c4c2b2fe7a8440c7758617fb70e00"
);
const Bytes kProofEd25519 = hex(
    "9c021db792e8434d15a3050deb8026c2c0cf8c1843a5e1762b789d94c6a0844013077180d734d7ed39613e544d11fca7a8744e9d85e1bb88275c6131"
    "6e1eef07"
);
const Bytes kServerHelloMsg = hex(
    "000100032073657373696f6e2d69642d666f722d786674702d746573742d766563746f727302013f3082013b3081eea003020102020102300506032b"
    "6570302e31153013060355040a0c0c786674702d766563746f72733115301306035504030c0c5846545020746573742043413020170d323530313031"
    "3030303030305a180f39393939313233313233353935395a302b31153013060355040a0c0c786674702d766563746f72733112301006035504030c09"
    "6c6f63616c686f7374302a300506032b657003210013d9908a70925992ed546007d27f50da68ba7217ef62ac3cca784529ff10471ca3323030300906"
    "03551d1304023000300e0603551d0f0101ff0404030203c830130603551d25040c300a06082b06010505070301300506032b6570034100312a3179b4"
    "541a34a2e74dcd01031874ce7263a9ee587d49d49f08156a2185edd5950e4b678a8453f75d7d37462fbc32b9d323a8eaafb2e9f002fb542d651e0101"
    "333082012f3081e2a003020102020101300506032b6570302e31153013060355040a0c0c786674702d766563746f72733115301306035504030c0c58"
    "46545020746573742043413020170d3235303130313030303030305a180f39393939313233313233353935395a302e31153013060355040a0c0c7866"
    "74702d766563746f72733115301306035504030c0c584654502074657374204341302a300506032b6570032100dde3bccec7f3a66a1115f45d720f4d"
    "c135c3ae7c4e22dca38fdb1efd6a495ff8a3233021300f0603551d130101ff040530030101ff300e0603551d0f0101ff040403020106300506032b65"
    "700341009aeedc95b4a2cce81f81a2c034f67967981f9f687762ca4643cd6c0435335cf57aac8344edb44bd5caa28e6c1e565f3f20c4925e33a90477"
    "841ad4a7da3f710d007a3078302c302a300506032b656e032100605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805d23c3005"
    "06032b657003410016b9e501c878c98f0d718d100bd4a2dd30dd2173fa8ca4422b0fc1f524aa86d8a61b73964421528541a1728d5efb13346dfb42e4"
    "85ab5512184c4787eac36f0c409c021db792e8434d15a3050deb8026c2c0cf8c1843a5e1762b789d94c6a0844013077180d734d7ed39613e544d11fc"
    "a7a8744e9d85e1bb88275c61316e1eef07"
);
const Bytes kProofEd448 = hex(
    "8acf608bc921ab98bc4075d050aa16b33ebf013516f7907ce206c86f49af838e975d4625a45ba051744e5b866827bd9d81c715dfa5fe7a920091468d"
    "47f75ae106ee21f4d79655e62645803c3a43ac2375e5b0327af1839740f68bc7baffb53ad2dde1a9988bfd11115fc750ef300b0e2800"
);
const Bytes kClientHandshakeMsg = hex(
    "0003203f211f7780c618804db26658c406a0d52fd8d0e90a51ec872d293659bed24265"
);
const Bytes kFNEW1Authorized = hex(
    "2073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730000464e4557202c302a300506032b657003210003a107bff3ce10"
    "be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b800010000207daca2095d0438260fa849183dfc67faa459fdf4936e1bc91eec6b281b27"
    "e4c2012c302a300506032b657003210029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd730"
);
const Bytes kFNEW1Sig = hex(
    "14f7c245483bc34d2502930e18c15547c8473e8176c2ccd8ba846aa8d8a74d7ea0d17ea246e073f52e5142ac4561bc7ac3d4ea1d3743195657edeaf3"
    "69a8f10b"
);
const Bytes kFNEW1Msg = hex(
    "0100ea4014f7c245483bc34d2502930e18c15547c8473e8176c2ccd8ba846aa8d8a74d7ea0d17ea246e073f52e5142ac4561bc7ac3d4ea1d37431956"
    "57edeaf369a8f10b2073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730000464e4557202c302a300506032b65700321"
    "0003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b800010000207daca2095d0438260fa849183dfc67faa459fdf4936e"
    "1bc91eec6b281b27e4c2012c302a300506032b657003210029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd730"
);
const std::string kFNEW1BlockSha = "d7d3d2e41a50b7f4ed33704f0e4057d8ab7f469e725f7594a0526b57f567909b";
const Bytes kFNEW2Authorized = hex(
    "2073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730000464e4557202c302a300506032b657003210003a107bff3ce10"
    "be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b800010000207daca2095d0438260fa849183dfc67faa459fdf4936e1bc91eec6b281b27"
    "e4c2022c302a300506032b657003210029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd72c302a300506032b65700321"
    "002543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d310b7333637265742d70617373"
);
const Bytes kFNEW2Sig = hex(
    "adff1859ad52d2268e7c7cd73b4a7fd2d4e056761a75d041f372d84e0a3787eeb9e0ac8559082a907effa881c1271b3a6b2a6000fa7770d2f8d847e6"
    "279b7c05"
);
const Bytes kFNEW2Msg = hex(
    "01012340adff1859ad52d2268e7c7cd73b4a7fd2d4e056761a75d041f372d84e0a3787eeb9e0ac8559082a907effa881c1271b3a6b2a6000fa7770d2"
    "f8d847e6279b7c052073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730000464e4557202c302a300506032b65700321"
    "0003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b800010000207daca2095d0438260fa849183dfc67faa459fdf4936e"
    "1bc91eec6b281b27e4c2022c302a300506032b657003210029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd72c302a30"
    "0506032b65700321002543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d310b7333637265742d70617373"
);
const std::string kFNEW2BlockSha = "62d69be89fa0fc3579b001b3f886a27066dcf72e54654ea57da9231bc8016dec";
const Bytes kFPUTAuthorized = hex(
    "2073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273001073656e6465722d69642d30303030303146505554"
);
const Bytes kFPUTSig = hex(
    "339e04c8b38bceca6a39102bd9f131b9495000725340870e45e5b1b35c4dc5b18c72c3f0476b1adb58fc5a5b1c20ca964456641c5890003b3c91c69b"
    "2f865805"
);
const Bytes kFPUTMsg = hex(
    "01007840339e04c8b38bceca6a39102bd9f131b9495000725340870e45e5b1b35c4dc5b18c72c3f0476b1adb58fc5a5b1c20ca964456641c5890003b"
    "3c91c69b2f8658052073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273001073656e6465722d69642d30303030303146"
    "505554"
);
const std::string kFPUTBlockSha = "79815d23edca6a7d54247de3d4ceba85b6bb5251b2c4413d22b0bc7dca302a66";
const Bytes kFGETAuthorized = hex(
    "2073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730010726563697069656e742d69642d30303146474554202c302a30"
    "0506032b656e032100675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f"
);
const Bytes kFGETSig = hex(
    "f2fdd09a31dc5ec43d9ba67b02e06c5b151fa3ccd340b3ae9bdbe3c4b1e9a44026b710159bde9546ab7362e0c84ed208fa859455b9924093140854f8"
    "5b199607"
);
const Bytes kFGETMsg = hex(
    "0100a640f2fdd09a31dc5ec43d9ba67b02e06c5b151fa3ccd340b3ae9bdbe3c4b1e9a44026b710159bde9546ab7362e0c84ed208fa859455b9924093"
    "140854f85b1996072073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730010726563697069656e742d69642d30303146"
    "474554202c302a300506032b656e032100675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f"
);
const std::string kFGETBlockSha = "9ca3a8f12a99346145b91339974230b4cc927a262b92a3954ad65320a031aa1d";
const Bytes kFACKAuthorized = hex(
    "2073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730010726563697069656e742d69642d3030314641434b"
);
const Bytes kFACKSig = hex(
    "6b66f4af27cd9fad4e03967b0569c6450e75e96b34fe4d49d7331b3b74fea2840db9b68df4d2eb7de378e8c506ba4c82f7ec6b09ad2355595c64345b"
    "9774c50e"
);
const Bytes kFACKMsg = hex(
    "010078406b66f4af27cd9fad4e03967b0569c6450e75e96b34fe4d49d7331b3b74fea2840db9b68df4d2eb7de378e8c506ba4c82f7ec6b09ad235559"
    "5c64345b9774c50e2073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730010726563697069656e742d69642d30303146"
    "41434b"
);
const std::string kFACKBlockSha = "c05b7203971d8f7480d16f07004d6deb0bbdc699031ca22efe869c93f547bb6a";
const Bytes kFDELAuthorized = hex(
    "2073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273001073656e6465722d69642d3030303030314644454c"
);
const Bytes kFDELSig = hex(
    "a277d9db4388cdc95f5473b1e4f1d41cd3d3b014b7449a3deb2cce446a1194ebbfab630fb8e667dd3823553a0532e35eb71d1de2c785784689c2148f"
    "af48fd0a"
);
const Bytes kFDELMsg = hex(
    "01007840a277d9db4388cdc95f5473b1e4f1d41cd3d3b014b7449a3deb2cce446a1194ebbfab630fb8e667dd3823553a0532e35eb71d1de2c7857846"
    "89c2148faf48fd0a2073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273001073656e6465722d69642d30303030303146"
    "44454c"
);
const std::string kFDELBlockSha = "5444c3f8d912902ba5efc52e3a7f4fd4c85cd227e08b2f7ba37f4a6ba88e7eb8";
const Bytes kFADDAuthorized = hex(
    "2073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273001073656e6465722d69642d3030303030314641444420012c302a"
    "300506032b65700321002543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d"
);
const Bytes kFADDSig = hex(
    "5ec353660eeccfbf8cba975f6981277a3b9651db9649b8f5cfa732b3a661fd0f0df98c1dcb76c396fac0c6400a42268605ddead0d95610e7a1c409ec"
    "83074607"
);
const Bytes kFADDMsg = hex(
    "0100a7405ec353660eeccfbf8cba975f6981277a3b9651db9649b8f5cfa732b3a661fd0f0df98c1dcb76c396fac0c6400a42268605ddead0d95610e7"
    "a1c409ec830746072073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273001073656e6465722d69642d30303030303146"
    "41444420012c302a300506032b65700321002543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d"
);
const std::string kFADDBlockSha = "99b27e08764ecb554e364778238daaa983ac2d9988fcec953829dd3f72b5bc1f";
const Bytes kFDELCorrAuthorized = hex(
    "2073657373696f6e2d69642d666f722d786674702d746573742d766563746f727309636f72722d303030311073656e6465722d69642d303030303031"
    "4644454c"
);
const Bytes kFDELCorrSig = hex(
    "e0aac396ca4f3d706a562a2c0490df135f433ce0839b2c1bd42a281163d971a59e7b6267b1815f662a3dcf7412cc4bd50d0449ebe3ffae584808c480"
    "c8ef5203"
);
const Bytes kFDELCorrMsg = hex(
    "01008140e0aac396ca4f3d706a562a2c0490df135f433ce0839b2c1bd42a281163d971a59e7b6267b1815f662a3dcf7412cc4bd50d0449ebe3ffae58"
    "4808c480c8ef52032073657373696f6e2d69642d666f722d786674702d746573742d766563746f727309636f72722d303030311073656e6465722d69"
    "642d3030303030314644454c"
);
const std::string kFDELCorrBlockSha = "feb528349c751e79ea36e332eb53da2e4e548cdd23fa47e6d1f3e1a9d4e40886";
const Bytes kPINGMsg = hex(
    "010028002073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273000050494e47"
);
const std::string kPINGBlockSha = "ec5c959d0f36e85272a25678a88a7c91f0efc11066321ff2167799a54f7a9ce3";
const Bytes kPINGCorrMsg = hex(
    "010031002073657373696f6e2d69642d666f722d786674702d746573742d766563746f727309636f72722d303030310050494e47"
);
const std::string kPINGCorrBlockSha = "bbd518e8cdbbabf9fbbbb42f323b0f20d54829f4306489e64abb645941295019";
const Bytes kX25519AuthNonce = hex(
    "636f72722d30303031000000000000000000000000000000"
);
const Bytes kX25519Authenticator = hex(
    "1bc9d332e9844822fb240cb5c5629256be084acea76837a20880796029ccc8529fb950fb05787cf8ac26ffa875fe4d771cc7804adf64b83fb2b4c709"
    "45fac5a2b1e23e9fc2e311bb8059d0904e90f446"
);
const Bytes kX25519AuthMsg = hex(
    "010091501bc9d332e9844822fb240cb5c5629256be084acea76837a20880796029ccc8529fb950fb05787cf8ac26ffa875fe4d771cc7804adf64b83f"
    "b2b4c70945fac5a2b1e23e9fc2e311bb8059d0904e90f4462073657373696f6e2d69642d666f722d786674702d746573742d766563746f727309636f"
    "72722d303030311073656e6465722d69642d3030303030314644454c"
);
const Bytes kSIDS1Msg = hex(
    "01004c002073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273000053494453201073656e6465722d69642d3030303030"
    "310110726563697069656e742d69642d303031"
);
const std::string kSIDS1BlockSha = "1a8f802a3d6fdf9153b689f7a6dc68b7ad674aba2b9227fe345c08aaf62c7677";
const Bytes kSIDS2Msg = hex(
    "01005d002073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273000053494453201073656e6465722d69642d3030303030"
    "310210726563697069656e742d69642d30303110726563697069656e742d69642d303032"
);
const std::string kSIDS2BlockSha = "55641c4ae0dc75a1b836b54e177f3101e6fe6e8e658e92e0327194458a282f6d";
const Bytes kRIDSMsg = hex(
    "01004b002073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273001073656e6465722d69642d3030303030315249445320"
    "0110726563697069656e742d69642d303032"
);
const std::string kRIDSBlockSha = "ca8c1713d9d72a0ffbcefccaa4c693dc87e43b5a230764e0c3bf6d827758bf0b";
const Bytes kFILEMsg = hex(
    "01007e002073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730010726563697069656e742d69642d30303146494c4520"
    "2c302a300506032b656e032100493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d0102030405060708090a0b0c0d0e0f"
    "101112131415161718"
);
const std::string kFILEBlockSha = "121284e750654e6b87edb69ce571813e56c2e8e7f953037c385f746064c934e6";
const Bytes kOKMsg = hex(
    "010036002073657373696f6e2d69642d666f722d786674702d746573742d766563746f7273001073656e6465722d69642d3030303030314f4b"
);
const std::string kOKBlockSha = "cb146fa1d7ecab99a859e4c7897b71406ca645703c9b1c5729356858019e7dc7";
const Bytes kPONGMsg = hex(
    "010028002073657373696f6e2d69642d666f722d786674702d746573742d766563746f72730000504f4e47"
);
const std::string kPONGBlockSha = "4a544274f4976d8a9f382f2ff52b91804c88a26791cb2c0e58c79ce66274c687";
const Bytes kOKCorrMsg = hex(
    "01003f002073657373696f6e2d69642d666f722d786674702d746573742d766563746f727309636f72722d303030311073656e6465722d69642d3030"
    "303030314f4b"
);
const std::string kOKCorrBlockSha = "459cd91739892b3477a3b4909f466471fdddf3a92f1793ea11d640279fb53036";
const Bytes kV7Body = hex(
    "98dc174fff5948be4dd114c2103356f3027af51cfe7896f8df31327e4fd935015ec9a6d974f2d7bc01cc5f04f8d811c5f432343d6616870b8760128d"
    "acb1d4a940e2541f313d1951fcf18c8c87564ebbb149b585e38d37d54a1e619e46eb65a4ab222f27ed4dac94c1042d2f5f437d41015a593bdff35c71"
    "8579e03bafc2f33cf6c7d2728bd439f0b8880ee7263b7b16f78bbbd6daba10f9000da1aa3b60daa3878fc3069a0de367bbc03be2d6d654ae598fdadd"
    "dad3dec7a4b9b5175450990273386a569dc2cb0e4164e61646c0dc41d057ccd7108d1b6899d678c66f66c796645ce8110c99f2fda39ce7968dc80834"
    "de42c54d24b0223a1e874bcffa6b4476d9633af52990bf3f6d20c5f23abaa913"
);
struct ErrRow { const char* name; const char* corr_entity; const char* cmd; const char* sha8; };
const ErrRow kErrRows[] = {
    {R"(BLOCK)", "0000", "45525220424c4f434b", "72a70f96eb1d0041"},
    {R"(SESSION)", "0000", "4552522053455353494f4e", "ed9ccd7cbebebb5a"},
    {R"(HANDSHAKE)", "0000", "4552522048414e445348414b45", "061462206db6e819"},
    {R"(CMD UNKNOWN)", "0000", "45525220434d4420554e4b4e4f574e", "cc3cbdf22c3ef62e"},
    {R"(CMD SYNTAX)", "0000", "45525220434d442053594e544158", "7c480377ead5b96d"},
    {R"(CMD PROHIBITED)", "0000", "45525220434d442050524f48494249544544", "adff9950bf1bab38"},
    {R"(CMD NO_AUTH)", "0000", "45525220434d44204e4f5f41555448", "2fdd72704e0a931d"},
    {R"(CMD HAS_AUTH)", "0000", "45525220434d44204841535f41555448", "8b6ab9c43e544a84"},
    {R"(CMD NO_ENTITY)", "0000", "45525220434d44204e4f5f454e54495459", "7dce5255a181ba57"},
    {R"(CMD NO_QUEUE)", "0000", "45525220434d44204e4f5f5155455545", "4f76288aeaa366d1"},
    {R"(AUTH)", "001073656e6465722d69642d303030303031", "4552522041555448", "22392d5e0cff21e8"},
    {R"(BLOCKED reason=spam)", "001073656e6465722d69642d303030303031", "45525220424c4f434b454420726561736f6e3d7370616d", "1f8058911182d94f"},
    {R"(BLOCKED reason=content,notice={"ttl":86400})", "001073656e6465722d69642d303030303031", "45525220424c4f434b454420726561736f6e3d636f6e74656e742c6e6f746963653d7b2274746c223a38363430307d", "3a8f8ee1ddb789e5"},
    {R"(SIZE)", "001073656e6465722d69642d303030303031", "4552522053495a45", "d8b5506e5a9b24d9"},
    {R"(QUOTA)", "001073656e6465722d69642d303030303031", "4552522051554f5441", "f9c7536c3ade5112"},
    {R"(DIGEST)", "001073656e6465722d69642d303030303031", "45525220444947455354", "8f378ac3f7820b56"},
    {R"(CRYPTO)", "001073656e6465722d69642d303030303031", "4552522043525950544f", "317aca9d86c41185"},
    {R"(NO_FILE)", "001073656e6465722d69642d303030303031", "455252204e4f5f46494c45", "89e254370ed0ce66"},
    {R"(HAS_FILE)", "001073656e6465722d69642d303030303031", "455252204841535f46494c45", "d0e7b458070531c3"},
    {R"(FILE_IO)", "001073656e6465722d69642d303030303031", "4552522046494c455f494f", "7727f53b81cd6ad8"},
    {R"(TIMEOUT)", "001073656e6465722d69642d303030303031", "4552522054494d454f5554", "733fd84352123ed0"},
    {R"(INTERNAL)", "001073656e6465722d69642d303030303031", "45525220494e5445524e414c", "b19426c31f806063"},
    {R"(DUPLICATE_)", "001073656e6465722d69642d303030303031", "455252204455504c49434154455f", "008ce3a66b709694"},
};

RawTransmission parse_ok(const Bytes& block) {
  auto r = parse_transmission(kSessionId, block);
  REQUIRE(std::holds_alternative<RawTransmission>(r));
  return std::get<RawTransmission>(r);
}
TransmissionError parse_err(const Bytes& block) {
  auto r = parse_transmission(kSessionId, block);
  REQUIRE(std::holds_alternative<TransmissionError>(r));
  return std::get<TransmissionError>(r);
}
Command command_of(ByteView bytes) {
  auto r = parse_command(bytes);
  REQUIRE(std::holds_alternative<Command>(r));
  return std::get<Command>(r);
}
CmdError cmd_error_of(const Bytes& bytes) {
  auto r = parse_command(bytes);
  REQUIRE(std::holds_alternative<CmdError>(r));
  return std::get<CmdError>(r);
}
Response response_of(ByteView bytes) {
  auto r = parse_response(bytes);
  REQUIRE(std::holds_alternative<Response>(r));
  return std::get<Response>(r);
}

}  // namespace

TEST_CASE("XFTP constants", "[xftp-protocol]") {
  CHECK(kBlockSize == 16384);
  CHECK(kServerVersions == VersionRange{1, 3});
  CHECK(allowed_chunk_size(65536));
  CHECK(allowed_chunk_size(4194304));
  CHECK_FALSE(allowed_chunk_size(65535));
  CHECK_FALSE(allowed_chunk_size(8388608));
}

TEST_CASE("V2 key encodings", "[xftp-protocol]") {
  const auto spki = [](const crypto::PrivateKey& k) { return to_hex(crypto::encode_spki(crypto::public_key(k))); };
  CHECK(spki(kSndSk) == "302a300506032b657003210003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  CHECK(spki(kRcv1Sk) == "302a300506032b657003210029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7");
  CHECK(spki(kRcv2Sk) == "302a300506032b65700321002543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d");
  CHECK(spki(kCaSk) == "302a300506032b6570032100dde3bccec7f3a66a1115f45d720f4dc135c3ae7c4e22dca38fdb1efd6a495ff8");
  CHECK(spki(kLeafSk) == "302a300506032b657003210013d9908a70925992ed546007d27f50da68ba7217ef62ac3cca784529ff10471c");
  const auto xspki = [](const crypto::Key32& k) { return to_hex(crypto::encode_spki(x25519_pub(k))); };
  CHECK(xspki(kRcvDhSk) == "302a300506032b656e032100675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f");
  CHECK(xspki(kSrvEphSk) == "302a300506032b656e032100493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d");
  CHECK(xspki(kSrvHsSk) == "302a300506032b656e032100605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805d23c");
  CHECK(xspki(kEntityX25519Sk) ==
        "302a300506032b656e0321001cf579aba45a10ba1d1ef06d91fca2aa9ed0a1150515653155405d0b18cb9a67");
  CHECK(to_hex(crypto::encode_pkcs8(kSndSk)) ==
        "302e020100300506032b657004220420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  // Ed448 public keys decode from the vectors in every build; deriving them needs OpenSSL.
  REQUIRE(crypto::decode_spki(kEd448CaSpki));
  CHECK(crypto::decode_spki(kEd448CaSpki)->alg == KeyAlg::Ed448);
  if (crypto::ed448_supported()) {
    CHECK(crypto::encode_spki(crypto::public_key(kEd448CaSk)) == kEd448CaSpki);
    CHECK(crypto::encode_spki(crypto::public_key(kEd448LeafSk)) == kEd448LeafSpki);
  }
  // keyHash of the V3 chains.
  CHECK(to_hex(crypto::sha256(kEd25519CaCert)) == to_hex(kKeyHash));
  CHECK(to_hex(crypto::sha256(kEd448CaCert)) == to_hex(kEd448KeyHash));
}

TEST_CASE("V4.1 web client hello", "[xftp-protocol]") {
  const Bytes block = encode_client_hello(ClientHello{kChallenge});
  CHECK(block == block_of(kClientHelloMsg));
  CHECK(sha_hex(block) == "7d2a6f406533b4bec7e49b4b89ae58ffc13c58703a675222fb02acc1a4d92d32");
  CHECK(parse_client_hello(block) == ClientHello{kChallenge});
  // Empty body = native hello; '0' = no challenge too.
  CHECK(parse_client_hello({}) == ClientHello{});
  CHECK(parse_client_hello(block_of(str("0"))) == ClientHello{});
  // Trailing bytes (future fields) are ignored.
  Bytes longer = kClientHelloMsg;
  longer.push_back('x');
  CHECK(parse_client_hello(block_of(longer)) == ClientHello{kChallenge});
  // Challenge length other than 32, bad maybe tag, bad padding → HANDSHAKE (nullopt).
  CHECK_FALSE(parse_client_hello(block_of(hex("3120"))));  // length 32, no bytes
  Bytes short_challenge = hex("311f");
  short_challenge.insert(short_challenge.end(), kChallenge.begin(), kChallenge.end() - 1);
  CHECK_FALSE(parse_client_hello(block_of(short_challenge)));
  CHECK_FALSE(parse_client_hello(block_of(str("2"))));
  CHECK_FALSE(parse_client_hello(hex("ffff00")));
}

TEST_CASE("V4.2 signed DH key", "[xftp-protocol]") {
  const auto hs_pub = x25519_pub(kSrvHsSk);
  CHECK(crypto::sign_signed_key(kLeafSk, hs_pub) == kSignedDhEd25519);
  CHECK(crypto::verify_signed_key(crypto::public_key(kLeafSk), kSignedDhEd25519) == hs_pub);
  if (crypto::ed448_supported()) {
    CHECK(crypto::sign_signed_key(kEd448LeafSk, hs_pub) == kSignedDhEd448);
    CHECK(crypto::verify_signed_key(*crypto::decode_spki(kEd448LeafSpki), kSignedDhEd448) == hs_pub);
  }
}

TEST_CASE("V4.3 server hello, Ed25519 chain", "[xftp-protocol]") {
  CHECK(make_identity_proof(kLeafSk, kChallenge, kSessionId) == kProofEd25519);
  ServerHandshake h{kServerVersions, kSessionId, {kEd25519LeafCert, kEd25519CaCert}, kSignedDhEd25519, kProofEd25519};
  const Bytes block = encode_server_handshake(h);
  CHECK(to_hex(block) == to_hex(block_of(kServerHelloMsg)));
  CHECK(sha_hex(block) == "9df735e2e9a314104a5d4f0b7177153ca7e78b7e5625cf8853a141fbcc4a95a1");
  const auto parsed = parse_server_handshake(block);
  REQUIRE(parsed);
  CHECK(*parsed == h);
  // Client-side verification gives the handshake DH key; another keyHash or challenge fails.
  CHECK(verify_server_handshake(*parsed, kKeyHash, kChallenge) == x25519_pub(kSrvHsSk));
  CHECK_FALSE(verify_server_handshake(*parsed, kEd448KeyHash, kChallenge));
  CHECK_FALSE(verify_server_handshake(*parsed, kKeyHash, str("challenge-32-bytes-for-web-hellX")));
  ServerHandshake three = h;
  three.cert_chain.push_back(kEd25519CaCert);
  CHECK_FALSE(verify_server_handshake(three, kKeyHash, kChallenge));
}

TEST_CASE("V4.4 server hello, Ed448 chain", "[xftp-protocol]") {
  ServerHandshake h{kServerVersions, kSessionId, {kEd448LeafCert, kEd448CaCert}, kSignedDhEd448, kProofEd448};
  const Bytes block = encode_server_handshake(h);
  CHECK(sha_hex(block) == "2bcd57bf2c6a5476fca54f05a4b952c117f3565e4e637ac043433b75783a1903");
  CHECK(block[0] == 0x04);
  CHECK(block[1] == 0x55);
  if (crypto::ed448_supported()) {
    CHECK(make_identity_proof(kEd448LeafSk, kChallenge, kSessionId) == kProofEd448);
    CHECK(verify_server_handshake(*parse_server_handshake(block), kEd448KeyHash, kChallenge) ==
          x25519_pub(kSrvHsSk));
  }
}

TEST_CASE("V4.5 native server hello and handshake errors", "[xftp-protocol]") {
  ServerHandshake h{kServerVersions, kSessionId, {kEd25519LeafCert, kEd25519CaCert}, kSignedDhEd25519, {}};
  const Bytes block = encode_server_handshake(h);
  CHECK(sha_hex(block) == "38414bae20f0abd7c687a94333b778fe764c79f1410a4c7354d99cc7ff14a44d");
  const auto parsed = parse_server_handshake(block);
  REQUIRE(parsed);
  CHECK(parsed->web_identity_proof.empty());
  CHECK(verify_server_handshake(*parsed, kKeyHash, std::nullopt) == x25519_pub(kSrvHsSk));

  const Bytes hs_err = encode_handshake_error(Error::Kind::HANDSHAKE);
  CHECK(hs_err == block_of(hex("48414e445348414b45")));
  CHECK(sha_hex(hs_err) == "38c696e4bfbd850f9c45a6d803a687c16d643399d6b04ad19b47ab3fd5eb9ae5");
  CHECK(sha_hex(encode_handshake_error(Error::Kind::SESSION)) ==
        "b22d0666952b24c413d98cdce7b99fdb5e22c855732c1b0aa6a3b7c59ab1a151");
  CHECK(parse_bare_error(hs_err) == std::string("HANDSHAKE"));
  CHECK_FALSE(parse_bare_error(block));
  CHECK_FALSE(parse_bare_error(block_of(str("lower"))));
}

TEST_CASE("V4.6 client handshake", "[xftp-protocol]") {
  const Bytes block = encode_client_handshake(ClientHandshake{3, kKeyHash});
  CHECK(block == block_of(kClientHandshakeMsg));
  CHECK(sha_hex(block) == "7c1d6f40e88c69fe5613216dccfee12c68da92d6063d5262d405714493d88d55");
  const auto h = parse_client_handshake(block);
  REQUIRE(h);
  CHECK(*h == ClientHandshake{3, kKeyHash});
  CHECK(accept_client_handshake(*h, kKeyHash));
  CHECK_FALSE(accept_client_handshake(*h, kEd448KeyHash));
  CHECK_FALSE(accept_client_handshake(ClientHandshake{0, kKeyHash}, kKeyHash));
  CHECK_FALSE(accept_client_handshake(ClientHandshake{4, kKeyHash}, kKeyHash));
  CHECK(accept_client_handshake(ClientHandshake{1, kKeyHash}, kKeyHash));
  // Shorter than a block → HANDSHAKE; a longer body is read up to the block.
  CHECK_FALSE(parse_client_handshake(Bytes(block.begin(), block.end() - 1)));
  Bytes longer = block;
  longer.push_back(0);
  CHECK(parse_client_handshake(longer) == h);
}

namespace {

struct CmdVector {
  const char* name;
  const Bytes* authorized;
  const Bytes* sig;
  const Bytes* msg;
  const std::string* sha;
  Bytes corr;
  Bytes entity;
  Command cmd;
  const crypto::PrivateKey* key;
};

std::vector<CmdVector> command_vectors() {
  const auto snd_pub = crypto::public_key(kSndSk);
  const auto r1 = crypto::public_key(kRcv1Sk);
  const auto r2 = crypto::public_key(kRcv2Sk);
  const FileInfo file{snd_pub, 65536, hex("7daca2095d0438260fa849183dfc67faa459fdf4936e1bc91eec6b281b27e4c2")};
  return {
      {"FNEW-1", &kFNEW1Authorized, &kFNEW1Sig, &kFNEW1Msg, &kFNEW1BlockSha, {}, {}, FNEW{file, {r1}, std::nullopt}, &kSndSk},
      {"FNEW-2", &kFNEW2Authorized, &kFNEW2Sig, &kFNEW2Msg, &kFNEW2BlockSha, {}, {}, FNEW{file, {r1, r2}, "s3cret-pass"}, &kSndSk},
      {"FPUT", &kFPUTAuthorized, &kFPUTSig, &kFPUTMsg, &kFPUTBlockSha, {}, kSenderId, FPUT{}, &kSndSk},
      {"FGET", &kFGETAuthorized, &kFGETSig, &kFGETMsg, &kFGETBlockSha, {}, kRcpId1, FGET{x25519_pub(kRcvDhSk)}, &kRcv1Sk},
      {"FACK", &kFACKAuthorized, &kFACKSig, &kFACKMsg, &kFACKBlockSha, {}, kRcpId1, FACK{}, &kRcv1Sk},
      {"FDEL", &kFDELAuthorized, &kFDELSig, &kFDELMsg, &kFDELBlockSha, {}, kSenderId, FDEL{}, &kSndSk},
      {"FADD", &kFADDAuthorized, &kFADDSig, &kFADDMsg, &kFADDBlockSha, {}, kSenderId, FADD{{r2}}, &kSndSk},
      {"FDEL-corr", &kFDELCorrAuthorized, &kFDELCorrSig, &kFDELCorrMsg, &kFDELCorrBlockSha, kCorrId, kSenderId, FDEL{}, &kSndSk},
  };
}

}  // namespace

TEST_CASE("V5 signed command transmissions", "[xftp-protocol]") {
  for (const auto& v : command_vectors()) {
    INFO(v.name);
    const auto pub = crypto::public_key(*v.key);
    // Client side: encode.
    CHECK(to_hex(authorized_bytes(kSessionId, v.corr, v.entity, encode_command(v.cmd))) == to_hex(*v.authorized));
    CHECK(crypto::sign(*v.key, *v.authorized) == *v.sig);
    const Bytes block = encode_command_block(kSessionId, v.corr, v.entity, v.cmd, ClientAuth{*v.key, std::nullopt});
    CHECK(to_hex(block) == to_hex(block_of(*v.msg)));
    CHECK(sha_hex(block) == *v.sha);
    // Server side: parse, credentials, verify.
    const auto t = parse_ok(block);
    CHECK(view(t.auth) == *v.sig);
    CHECK(view(t.corr_id) == v.corr);
    CHECK(view(t.entity_id) == v.entity);
    CHECK(view(t.authorized) == *v.authorized);
    const auto cmd = command_of(t.command);
    CHECK(cmd == v.cmd);
    CHECK_FALSE(check_credentials(cmd, true, !t.entity_id.empty()));
    CHECK(verify_transmission(pub, t, kSrvHsSk));
    CHECK(verify_transmission(pub, t, std::nullopt));  // signatures need no handshake key
    CHECK_FALSE(verify_transmission(crypto::public_key(kRcv2Sk), t, kSrvHsSk));
  }
}

TEST_CASE("V5 FPUT request body", "[xftp-protocol]") {
  Bytes body = block_of(kFPUTMsg);
  const Bytes chunk = chunk64k();
  CHECK(to_hex(crypto::sha256(chunk)) == "7daca2095d0438260fa849183dfc67faa459fdf4936e1bc91eec6b281b27e4c2");
  body.insert(body.end(), chunk.begin(), chunk.end());
  CHECK(sha_hex(body) == "ba8e724372ef9bb8c9438dd4ef674292cc3729a6ad6f35e090cfc7d0f609ee8b");
  // Only the first block is the transmission; the chunk follows unframed.
  const auto t = parse_ok(body);
  CHECK(command_of(t.command) == Command(FPUT{}));
}

TEST_CASE("V5 PING transmissions", "[xftp-protocol]") {
  const Bytes ping = encode_command_block(kSessionId, {}, {}, PING{});
  CHECK(ping == block_of(kPINGMsg));
  CHECK(sha_hex(ping) == kPINGBlockSha);
  const Bytes ping_corr = encode_command_block(kSessionId, kCorrId, {}, PING{});
  CHECK(ping_corr == block_of(kPINGCorrMsg));
  CHECK(sha_hex(ping_corr) == kPINGCorrBlockSha);
  const auto t = parse_ok(ping_corr);
  CHECK(t.auth.empty());
  CHECK(view(t.corr_id) == kCorrId);
  CHECK_FALSE(check_credentials(command_of(t.command), false, false));
}

TEST_CASE("V5 X25519 authenticator", "[xftp-protocol]") {
  // Vector assembled by the vectors' authors (xftp-web has no encoder for it): "ours".
  CHECK(crypto::cb_nonce(kCorrId) == nonce24(kX25519AuthNonce));
  const crypto::PrivateKey entity{KeyAlg::X25519, Bytes(kEntityX25519Sk.begin(), kEntityX25519Sk.end())};
  const auto hs_pub = crypto::x25519_public(kSrvHsSk);
  const Bytes block = encode_command_block(kSessionId, kCorrId, kSenderId, FDEL{}, ClientAuth{entity, hs_pub});
  CHECK(to_hex(block) == to_hex(block_of(kX25519AuthMsg)));
  CHECK(sha_hex(block) == "330845656771f9b79276fa9ec73d277ac20411a0e9a590758a80337a903bf6ee");
  const auto t = parse_ok(block);
  CHECK(view(t.auth) == kX25519Authenticator);
  CHECK(view(t.authorized) == kFDELCorrAuthorized);
  const auto entity_pub = x25519_pub(kEntityX25519Sk);
  DhCache cache;
  CHECK(verify_transmission(entity_pub, t, kSrvHsSk, &cache));
  CHECK(cache.size() == 1);
  // Without an accepted handshake (legacy v1) an authenticator cannot verify; a wrong key fails.
  CHECK_FALSE(verify_transmission(entity_pub, t, std::nullopt));
  CHECK_FALSE(verify_transmission(x25519_pub(kRcvDhSk), t, kSrvHsSk));
  // A signature key with an authenticator fails after a dummy verification.
  const auto before = dummy_verify_count();
  CHECK_FALSE(verify_transmission(crypto::public_key(kSndSk), t, kSrvHsSk));
  CHECK(dummy_verify_count() == before + 1);
  CHECK_FALSE(dummy_verify_transmission(t, kSrvHsSk));
  CHECK(dummy_verify_count() == before + 2);
  CHECK_THROWS_AS(encode_command_block(kSessionId, kCorrId, kSenderId, FDEL{}, ClientAuth{entity, std::nullopt}),
                  std::runtime_error);
}

TEST_CASE("V6 server responses", "[xftp-protocol]") {
  struct RespVector {
    const char* name;
    const Bytes* msg;
    const std::string* sha;
    Bytes corr;
    Bytes entity;
    Response resp;
  };
  const std::vector<RespVector> vs = {
      {"SIDS-1", &kSIDS1Msg, &kSIDS1BlockSha, {}, {}, FRSndIds{kSenderId, {kRcpId1}}},
      {"SIDS-2", &kSIDS2Msg, &kSIDS2BlockSha, {}, {}, FRSndIds{kSenderId, {kRcpId1, kRcpId2}}},
      {"RIDS", &kRIDSMsg, &kRIDSBlockSha, {}, kSenderId, FRRcvIds{{kRcpId2}}},
      {"FILE", &kFILEMsg, &kFILEBlockSha, {}, kRcpId1, FRFile{x25519_pub(kSrvEphSk), kFileNonce}},
      {"OK", &kOKMsg, &kOKBlockSha, {}, kSenderId, FROk{}},
      {"PONG", &kPONGMsg, &kPONGBlockSha, {}, {}, FRPong{}},
      {"OK-corr", &kOKCorrMsg, &kOKCorrBlockSha, kCorrId, kSenderId, FROk{}},
  };
  for (const auto& v : vs) {
    INFO(v.name);
    const Bytes block = encode_response_block(kSessionId, v.corr, v.entity, v.resp);
    CHECK(to_hex(block) == to_hex(block_of(*v.msg)));
    CHECK(sha_hex(block) == *v.sha);
    const auto r = parse_response_block(kSessionId, block);
    REQUIRE(std::holds_alternative<ResponseTransmission>(r));
    const auto& rt = std::get<ResponseTransmission>(r);
    CHECK(rt.corr_id == v.corr);
    CHECK(rt.entity_id == v.entity);
    REQUIRE(std::holds_alternative<Response>(rt.response));
    CHECK(std::get<Response>(rt.response) == v.resp);
  }
}

TEST_CASE("V6 ERR responses, every §8 error", "[xftp-protocol]") {
  for (const auto& row : kErrRows) {
    const std::string name = row.name;
    INFO(name);
    const Bytes corr_entity = hex(row.corr_entity);
    const Bytes cmd = hex(row.cmd);
    Bytes m = {0x01, 0x00, 0x00, 0x00, 0x20};
    m.insert(m.end(), kSessionId.begin(), kSessionId.end());
    m.insert(m.end(), corr_entity.begin(), corr_entity.end());
    m.insert(m.end(), cmd.begin(), cmd.end());
    m[2] = static_cast<uint8_t>(m.size() - 3);
    const Bytes block = block_of(m);
    CHECK(sha_hex(block).substr(0, 16) == row.sha8);
    const auto err = parse_error(name);
    REQUIRE(err);
    const Bytes entity = corr_entity.size() > 2 ? kSenderId : Bytes{};
    if (name == "CMD NO_QUEUE") {
      // Accepted as an alias; we always write NO_ENTITY.
      CHECK(*err == Error::command(CmdError::NO_ENTITY));
      CHECK(error_text(*err) == "CMD NO_ENTITY");
    } else {
      CHECK(error_text(*err) == name);
      CHECK(encode_response_block(kSessionId, {}, entity, FRErr{*err}) == block);
    }
    const auto r = parse_response_block(kSessionId, block);
    REQUIRE(std::holds_alternative<ResponseTransmission>(r));
    const auto& resp = std::get<ResponseTransmission>(r).response;
    REQUIRE(std::holds_alternative<Response>(resp));
    CHECK(std::get<Response>(resp) == Response(FRErr{*err}));
  }
  // BLOCKED is sent as AUTH to clients below v3.
  const Error blocked = Error::blocked_by(BlockingInfo{BlockingInfo::Reason::spam, false, std::nullopt});
  CHECK(error_text(blocked, 2) == "AUTH");
  CHECK(encode_response(FRErr{blocked}, 2) == str("ERR AUTH"));
  CHECK(encode_response(FRErr{blocked}, 3) == str("ERR BLOCKED reason=spam"));
  CHECK_FALSE(parse_error("CMD"));
  CHECK_FALSE(parse_error("AUTH "));
  CHECK_FALSE(parse_error("BLOCKED reason=eggs"));
  CHECK_FALSE(parse_error("NOPE"));
}

TEST_CASE("V7 download encryption", "[xftp-protocol]") {
  const auto keys = download_keys(x25519_pub(kRcvDhSk), crypto::x25519_keypair(kSrvEphSk), kFileNonce);
  REQUIRE(keys);
  CHECK(to_hex(*crypto::x25519_dh(kSrvEphSk, x25519_pub(kRcvDhSk).raw)) ==
        "fbfb11adeb1d6f71c0571bc1b5dd87519f9a6620b10a5ebc314cbd420c43ba43");
  CHECK(to_hex(keys->k) == "ff8edff959dae4f5f27de31fcc3352b3c3df0dd021b1fea25eec1cf540d65596");
  CHECK(keys->server.pub == crypto::x25519_public(kSrvEphSk));
  Bytes chunk(256);
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<uint8_t>(i);
  CHECK(to_hex(encrypt_chunk(keys->k, kFileNonce, chunk)) == to_hex(kV7Body));

  // Streaming in uneven slices gives the same bytes (what the server does with 16 KiB file slices).
  for (size_t slice : {1u, 7u, 31u, 32u, 33u, 64u, 100u}) {
    INFO(slice);
    Bytes c = chunk;
    ChunkCipher enc(keys->k, kFileNonce, ChunkCipher::Mode::Encrypt);
    for (size_t off = 0; off < c.size(); off += slice)
      enc.update(std::span<uint8_t>(c).subspan(off, std::min(slice, c.size() - off)));
    const auto tag = enc.tag();
    c.insert(c.end(), tag.begin(), tag.end());
    CHECK(c == kV7Body);
  }

  // Recipient side: same DH from the other end, decrypt and verify; a flipped tag bit or the tag first fail.
  const auto rk = crypto::box_beforenm(kRcvDhSk, crypto::x25519_public(kSrvEphSk));
  REQUIRE(rk);
  CHECK(decrypt_chunk(*rk, kFileNonce, kV7Body) == chunk);
  Bytes bad = kV7Body;
  bad.back() ^= 1;
  CHECK_FALSE(decrypt_chunk(*rk, kFileNonce, bad));
  Bytes tag_first(kV7Body.end() - 16, kV7Body.end());
  tag_first.insert(tag_first.end(), kV7Body.begin(), kV7Body.end() - 16);
  CHECK_FALSE(decrypt_chunk(*rk, kFileNonce, tag_first));

  // The 64 KiB chunk, streamed in 16 KiB slices.
  Bytes big = chunk64k();
  ChunkCipher enc(keys->k, kFileNonce, ChunkCipher::Mode::Encrypt);
  for (size_t off = 0; off < big.size(); off += kFileBlockSize)
    enc.update(std::span<uint8_t>(big).subspan(off, kFileBlockSize));
  const auto tag = enc.tag();
  CHECK(to_hex(Bytes(big.begin(), big.begin() + 32)) ==
        "98dc174fff5948be4dd114c2103356f3027af51cfe7896f8df31327e4fd93501");
  CHECK(to_hex(tag) == "ef7bbe69b8d0d5044030c50c5d79777f");
  big.insert(big.end(), tag.begin(), tag.end());
  CHECK(sha_hex(big) == "28c158bbc0f015ec79360f75b28123639bbbf2f638ecfd32086f8c2a653b63e4");
  CHECK(decrypt_chunk(*rk, kFileNonce, big) == chunk64k());

  // Fresh keys each call; a low-order recipient key is refused.
  const auto a = new_download_keys(x25519_pub(kRcvDhSk));
  const auto b = new_download_keys(x25519_pub(kRcvDhSk));
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->server.pub != b->server.pub);
  CHECK(a->nonce != b->nonce);
  CHECK_FALSE(download_keys(crypto::PublicKey{KeyAlg::X25519, Bytes(32, 0)}, a->server, a->nonce));
}

TEST_CASE("Transmission framing errors (§6 steps 1-4)", "[xftp-protocol]") {
  const Bytes good = block_of(kFDELCorrMsg);
  // 1. body shorter than a block.
  CHECK(parse_err(Bytes(good.begin(), good.end() - 1)).err == Error::of(Error::Kind::BLOCK));
  // 2. bad padding length, batch count != 1, item running past the data, trailing bytes after the item.
  Bytes bad_pad = good;
  bad_pad[0] = 0xff;
  CHECK(parse_err(bad_pad).err == Error::of(Error::Kind::BLOCK));
  Bytes m = kFDELCorrMsg;
  m[0] = 2;
  CHECK(parse_err(block_of(m)).err == Error::of(Error::Kind::BLOCK));
  m = kFDELCorrMsg;
  m[0] = 0;
  CHECK(parse_err(block_of(m)).err == Error::of(Error::Kind::BLOCK));
  m = kFDELCorrMsg;
  m[2] = static_cast<uint8_t>(m[2] + 1);
  CHECK(parse_err(block_of(m)).err == Error::of(Error::Kind::BLOCK));
  m = kFDELCorrMsg;
  m.push_back('x');
  const auto trailing = parse_err(block_of(m));
  CHECK(trailing.err == Error::of(Error::Kind::BLOCK));
  CHECK(trailing.corr_id.empty());
  // 3. another session → SESSION with the corrId echoed.
  const auto other = parse_transmission(str("another-session-id-for-the-test!"), good);
  REQUIRE(std::holds_alternative<TransmissionError>(other));
  CHECK(std::get<TransmissionError>(other).err == Error::of(Error::Kind::SESSION));
  CHECK(std::get<TransmissionError>(other).corr_id == kCorrId);
  // 4. authorization of a length other than 0/64/80/114 → BLOCK with the corrId.
  const Bytes authorized = authorized_bytes(kSessionId, kCorrId, kSenderId, str("FDEL"));
  const auto odd = parse_err(encode_transmission_block(Bytes(63, 1), authorized));
  CHECK(odd.err == Error::of(Error::Kind::BLOCK));
  CHECK(odd.corr_id == kCorrId);
  for (size_t n : {0u, 64u, 80u, 114u}) CHECK(parse_ok(encode_transmission_block(Bytes(n, 1), authorized)).auth.size() == n);
  // A response block with another session id → SESSION on the client too.
  const auto r = parse_response_block(str("another-session-id-for-the-test!"), block_of(kOKCorrMsg));
  REQUIRE(std::holds_alternative<ResponseTransmission>(r));
  CHECK(std::get<ResponseTransmission>(r).corr_id == kCorrId);
  CHECK(std::get<Error>(std::get<ResponseTransmission>(r).response) == Error::of(Error::Kind::SESSION));
  CHECK(std::get<Error>(parse_response_block(kSessionId, bad_pad)) == Error::of(Error::Kind::BLOCK));
}

TEST_CASE("Command parse errors and credentials (§6 step 5, §6.2, §7.1)", "[xftp-protocol]") {
  CHECK(cmd_error_of(str("FOO")) == CmdError::UNKNOWN);
  CHECK(cmd_error_of(str("")) == CmdError::UNKNOWN);
  CHECK(cmd_error_of(str("fnew")) == CmdError::UNKNOWN);
  // Trailing bytes, also a trailing space after a parameterless tag.
  CHECK(cmd_error_of(str("PING ")) == CmdError::SYNTAX);
  CHECK(cmd_error_of(str("FDEL x")) == CmdError::SYNTAX);
  const Bytes fnew = Bytes(kFNEW1Authorized.end() - 134, kFNEW1Authorized.end());
  CHECK(command_of(fnew) == command_vectors()[0].cmd);
  Bytes extra = fnew;
  extra.push_back(0);
  CHECK(cmd_error_of(extra) == CmdError::SYNTAX);
  CHECK(cmd_error_of(Bytes(fnew.begin(), fnew.end() - 1)) == CmdError::SYNTAX);
  // Zero recipient keys.
  Bytes zero_keys = encode_command(FADD{{crypto::public_key(kRcv1Sk)}});
  zero_keys[5] = 0;
  zero_keys.resize(6);
  CHECK(cmd_error_of(zero_keys) == CmdError::SYNTAX);
  CHECK_THROWS_AS(encode_command(FADD{}), std::length_error);
  // FGET needs an X25519 key.
  Bytes fget = str("FGET ");
  Encoder(fget).short_string(crypto::encode_spki(crypto::public_key(kRcv1Sk)));
  CHECK(cmd_error_of(fget) == CmdError::SYNTAX);
  // Ed448 and X25519 entity keys are accepted (DECISIONS.md), X448 is not an authorization key.
  const auto x448 = crypto::PublicKey{KeyAlg::X448, Bytes(56, 9)};
  Bytes fadd = str("FADD ");
  Encoder(fadd).list_count(1).short_string(crypto::encode_spki(x448));
  CHECK(cmd_error_of(fadd) == CmdError::SYNTAX);
  const Command with_x = FADD{{x25519_pub(kEntityX25519Sk), *crypto::decode_spki(kEd448CaSpki)}};
  CHECK(command_of(encode_command(with_x)) == with_x);

  // Basic auth characters (§7.1).
  CHECK(valid_basic_auth("s3cret-pass"));
  CHECK(valid_basic_auth(""));
  CHECK(valid_basic_auth("\xa1\xff"));
  for (std::string_view bad : {"a b", "a@b", "a:b", "a/b", "a\x7f", "\xad", "\xa0", "\x80", "a\tb"}) {
    INFO(to_hex(str(bad)));
    CHECK_FALSE(valid_basic_auth(bad));
    FNEW f = std::get<FNEW>(command_vectors()[0].cmd);
    f.basic_auth = std::string(bad);
    CHECK(cmd_error_of(encode_command(f)) == CmdError::SYNTAX);
  }

  // §6.2 credential rules.
  const Command fnew_cmd = command_vectors()[0].cmd;
  CHECK(check_credentials(fnew_cmd, false, false) == CmdError::NO_AUTH);
  CHECK(check_credentials(fnew_cmd, true, true) == CmdError::HAS_AUTH);
  CHECK(check_credentials(fnew_cmd, false, true) == CmdError::NO_AUTH);
  CHECK(check_credentials(PING{}, true, false) == CmdError::HAS_AUTH);
  CHECK(check_credentials(PING{}, false, true) == CmdError::HAS_AUTH);
  for (const Command& c : {Command(FADD{{crypto::public_key(kRcv1Sk)}}), Command(FPUT{}), Command(FDEL{}),
                           Command(FGET{x25519_pub(kRcvDhSk)}), Command(FACK{})}) {
    INFO(command_tag(c));
    CHECK(check_credentials(c, false, true) == CmdError::NO_AUTH);
    CHECK(check_credentials(c, true, false) == CmdError::NO_AUTH);
    CHECK_FALSE(check_credentials(c, true, true));
  }
  CHECK(command_party(fnew_cmd) == Party::Sender);
  CHECK(command_party(FGET{x25519_pub(kRcvDhSk)}) == Party::Recipient);
  CHECK(command_party(FACK{}) == Party::Recipient);
  CHECK(command_party(PING{}) == Party::None);
}

TEST_CASE("Response parse errors and client credential rules", "[xftp-protocol]") {
  CHECK(std::get<Error>(parse_response(str("NOPE"))) == Error::command(CmdError::UNKNOWN));
  CHECK(std::get<Error>(parse_response(str("OK "))) == Error::command(CmdError::SYNTAX));
  CHECK(std::get<Error>(parse_response(str("ERR DUNNO"))) == Error::command(CmdError::SYNTAX));
  CHECK(std::get<Error>(parse_response(str("ERR"))) == Error::command(CmdError::SYNTAX));
  Bytes file = encode_response(FRFile{x25519_pub(kSrvEphSk), kFileNonce});
  CHECK(std::get<Error>(parse_response(Bytes(file.begin(), file.end() - 1))) == Error::command(CmdError::SYNTAX));
  CHECK(response_of(file) == Response(FRFile{x25519_pub(kSrvEphSk), kFileNonce}));
  // SIDS/PONG with an entity, RIDS/FILE/OK without one.
  CHECK(check_response_credentials(FRPong{}, true) == CmdError::HAS_AUTH);
  CHECK(check_response_credentials(FRSndIds{kSenderId, {kRcpId1}}, true) == CmdError::HAS_AUTH);
  CHECK(check_response_credentials(FROk{}, false) == CmdError::NO_ENTITY);
  CHECK_FALSE(check_response_credentials(FRErr{Error::of(Error::Kind::AUTH)}, false));
  const auto r = parse_response_block(kSessionId, encode_response_block(kSessionId, {}, {}, FROk{}));
  CHECK(std::get<Error>(std::get<ResponseTransmission>(r).response) == Error::command(CmdError::NO_ENTITY));
}

TEST_CASE("Round trips of every command and response", "[xftp-protocol]") {
  for (const auto& v : command_vectors()) CHECK(command_of(encode_command(v.cmd)) == v.cmd);
  CHECK(command_of(encode_command(PING{})) == Command(PING{}));
  const std::vector<Response> rs = {
      FRSndIds{kSenderId, {kRcpId1, kRcpId2}}, FRRcvIds{{kRcpId1}}, FRFile{x25519_pub(kSrvEphSk), kFileNonce},
      FROk{}, FRPong{},
      FRErr{Error::blocked_by(BlockingInfo{BlockingInfo::Reason::content, true, 86400})},
      FRErr{Error::command(CmdError::HAS_AUTH)}};
  for (const auto& r : rs) CHECK(response_of(encode_response(r)) == r);
  // 255 Ed25519 recipient keys fit one block (§7.1).
  FNEW big = std::get<FNEW>(command_vectors()[0].cmd);
  big.rcv_keys.assign(255, crypto::public_key(kRcv1Sk));
  const Bytes block = encode_command_block(kSessionId, {}, {}, big, ClientAuth{kSndSk, std::nullopt});
  CHECK(command_of(parse_ok(block).command) == Command(big));
}
