// `simplex-relay xftp-cli` against real `xftp-server` relays: files go up with `send`, come back byte for byte
// with `recv` (description file, simplex:/file link, web link), `del` removes them, `info` summarises a
// description, and failures say what went wrong (the line of a bad description, the unreachable server, AUTH).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "xftp_fixture.hpp"

using namespace sr::test;
namespace fsys = std::filesystem;

namespace {

std::string address(const XftpRelay& r) {
  return "xftp://" + key_hash(first_cert_der(r.cfg / "ca.crt")) + "@127.0.0.1:" + std::to_string(r.port);
}

std::string pattern(size_t size, unsigned seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 131 + (i >> 11));
  return s;
}

// A client workspace: HOME (so ~/Downloads is ours), files to send, descriptions, downloads.
struct Workspace {
  TempDir dir;
  fsys::path in = dir / "in";
  fsys::path descr = dir / "descr";
  fsys::path down = dir / "down";
  Workspace() {
    fsys::create_directories(in);
    fsys::create_directories(descr);
    fsys::create_directories(down);
  }
  RunResult cli(std::vector<std::string> args, const std::string& input = "") const {
    args.insert(args.begin(), {relay_binary().string(), "xftp-cli"});
    return run(args, {{"HOME", dir.path.string()}}, input, std::chrono::seconds(120));
  }
  fsys::path file(const std::string& name, const std::string& content) const {
    write_text(in / name, content);
    return in / name;
  }
};

// The value on the line after `header` in the output.
std::string line_after(const std::string& out, const std::string& header) {
  const auto lines = lines_of(out);
  for (size_t i = 0; i + 1 < lines.size(); ++i)
    if (lines[i] == header) return lines[i + 1];
  return "";
}

}  // namespace

TEST_CASE("xftp-cli: send then recv gives back the same bytes, for one and several chunks", "[xftp-cli-client]") {
  XftpRelay relay;
  auto proc = relay.start();
  Workspace ws;
  const auto size = GENERATE(size_t{1}, size_t{300000}, size_t{5000000});
  const std::string content = pattern(size, static_cast<unsigned>(size));
  const auto src = ws.file("data.bin", content);

  const auto tmp = ws.dir / "tmp";
  fsys::create_directories(tmp);
  auto sent = ws.cli({"send", src.string(), ws.descr.string(), "-s", address(relay), "--tmp", tmp.string()});
  INFO(sent.out << sent.err);
  REQUIRE(sent.exit_code == 0);
  CHECK(fsys::is_empty(tmp));  // the encrypted file is removed
  const auto dir = ws.descr / "data.bin.xftp";
  CHECK(contains(sent.out, "Sender file description: " + (dir / "snd.xftp.private").string() + "\n"));
  CHECK(line_after(sent.out, "Pass file descriptions to the recipient(s):") == (dir / "rcv1.xftp").string());
  CHECK(fsys::exists(dir / "snd.xftp.private"));

  auto got = ws.cli({"recv", (dir / "rcv1.xftp").string(), ws.down.string(), "-y", "--tmp", tmp.string()});
  INFO(got.out << got.err);
  REQUIRE(got.exit_code == 0);
  CHECK(fsys::is_empty(tmp));  // the downloaded chunks are removed
  CHECK(contains(got.out, "File downloaded: " + (ws.down / "data.bin").string() + "\n"));
  CHECK(contains(got.out, "File description " + (dir / "rcv1.xftp").string() + " is deleted."));
  CHECK_FALSE(fsys::exists(dir / "rcv1.xftp"));
  CHECK(read_text(ws.down / "data.bin") == content);
}

TEST_CASE("xftp-cli: -n 2 writes two recipient descriptions, each downloads once", "[xftp-cli-client]") {
  XftpRelay relay;
  auto proc = relay.start();
  Workspace ws;
  const std::string content = pattern(300000, 7);
  const auto src = ws.file("report.tar.gz", content);

  auto sent = ws.cli({"send", src.string(), ws.descr.string(), "-n", "2", "-s", address(relay)});
  INFO(sent.out << sent.err);
  REQUIRE(sent.exit_code == 0);
  const auto dir = ws.descr / "report.tar.gz.xftp";
  CHECK(contains(sent.out, "Pass file descriptions to the recipient(s):\n" + (dir / "rcv1.xftp").string() + "\n" +
                               (dir / "rcv2.xftp").string() + "\n"));
  const auto kept = ws.dir / "rcv1-copy.xftp";
  fsys::copy_file(dir / "rcv1.xftp", kept);

  // An existing file is not overwritten; the description stays usable.
  write_text(ws.down / "taken.bin", "mine");
  auto taken = ws.cli({"recv", (dir / "rcv1.xftp").string(), (ws.down / "taken.bin").string(), "-y"});
  CHECK(taken.exit_code == 1);
  CHECK(taken.err == "File already exists: " + (ws.down / "taken.bin").string() + "\n");
  CHECK(read_text(ws.down / "taken.bin") == "mine");
  fsys::remove(ws.down / "taken.bin");

  // Both into the same directory: the second gets the reference's unique name.
  for (const auto* name : {"rcv1.xftp", "rcv2.xftp"}) {
    auto got = ws.cli({"recv", (dir / name).string(), ws.down.string(), "-y"});
    INFO(got.out << got.err);
    REQUIRE(got.exit_code == 0);
  }
  CHECK(read_text(ws.down / "report.tar.gz") == content);
  CHECK(read_text(ws.down / "report_1.tar.gz") == content);

  // Received once (FACK): the same description cannot be used again.
  auto again = ws.cli({"recv", kept.string(), ws.down.string(), "-y"});
  CHECK(again.exit_code == 1);
  CHECK(contains(again.err, "Error downloading chunk 1 from server " + address(relay) + ": AUTH"));
  CHECK(contains(again.err, "already used"));
}

TEST_CASE("xftp-cli: recv from the simplex:/file link and from the web link", "[xftp-cli-client]") {
  XftpRelay relay;
  auto proc = relay.start();
  Workspace ws;
  const std::string content = pattern(5000000, 3);
  const auto src = ws.file("movie.mp4", content);
  auto sent = ws.cli({"send", src.string(), ws.descr.string(), "-s", address(relay)});
  INFO(sent.out << sent.err);
  REQUIRE(sent.exit_code == 0);
  const std::string native = line_after(sent.out, "File link (recipient 1):");
  const std::string web = line_after(sent.out, "Web link:");
  CHECK(native.rfind("simplex:/file#/?desc=", 0) == 0);
  CHECK(web.rfind("https://127.0.0.1:" + std::to_string(relay.port) + "/#", 0) == 0);

  SECTION("simplex:/file link; the description file is left alone") {
    auto got = ws.cli({"recv", native, ws.down.string()});
    INFO(got.out << got.err);
    REQUIRE(got.exit_code == 0);
    CHECK(read_text(ws.down / "movie.mp4") == content);
    CHECK_FALSE(contains(got.out, "can't be used again"));
    CHECK(fsys::exists(ws.descr / "movie.mp4.xftp" / "rcv1.xftp"));
  }
  SECTION("web link, to an explicit file path") {
    auto got = ws.cli({"recv", web, (ws.down / "copy.mp4").string()});
    INFO(got.out << got.err);
    REQUIRE(got.exit_code == 0);
    CHECK(read_text(ws.down / "copy.mp4") == content);
  }
  SECTION("without DIR the file goes to ~/Downloads") {
    fsys::create_directories(ws.dir / "Downloads");
    auto got = ws.cli({"recv", native});
    INFO(got.out << got.err);
    REQUIRE(got.exit_code == 0);
    CHECK(read_text(ws.dir / "Downloads" / "movie.mp4") == content);
  }
}

TEST_CASE("xftp-cli: del removes the file; recv then fails with a clear message", "[xftp-cli-client]") {
  XftpRelay relay;
  auto proc = relay.start();
  Workspace ws;
  const auto src = ws.file("note.txt", pattern(300000, 9));
  auto sent = ws.cli({"send", src.string(), ws.descr.string(), "-s", address(relay)});
  REQUIRE(sent.exit_code == 0);
  const auto dir = ws.descr / "note.txt.xftp";

  // A recipient description is refused by del, and the sender's by recv.
  auto wrong = ws.cli({"del", (dir / "rcv1.xftp").string(), "-y"});
  CHECK(wrong.exit_code == 1);
  CHECK(contains(wrong.err, "is a recipient file description"));
  auto wrong2 = ws.cli({"recv", (dir / "snd.xftp.private").string(), ws.down.string(), "-y"});
  CHECK(wrong2.exit_code == 1);
  CHECK(contains(wrong2.err, "is a sender file description"));

  // Without -y the question is asked; "n" keeps the description.
  auto del = ws.cli({"del", (dir / "snd.xftp.private").string()}, "n\n");
  INFO(del.out << del.err);
  REQUIRE(del.exit_code == 0);
  CHECK(contains(del.out, "File deleted!"));
  CHECK(contains(del.out, "File description " + (dir / "snd.xftp.private").string() +
                              " can't be used again. Delete it (Y/n): "));
  CHECK(fsys::exists(dir / "snd.xftp.private"));

  auto got = ws.cli({"recv", (dir / "rcv1.xftp").string(), ws.down.string(), "-y"});
  CHECK(got.exit_code == 1);
  CHECK(contains(got.err, "Error downloading chunk 1 from server " + address(relay) +
                              ": AUTH (file expired or deleted by the sender"));
  CHECK_FALSE(fsys::exists(ws.down / "note.txt"));
  CHECK(fsys::exists(dir / "rcv1.xftp"));  // kept: nothing was received

  auto again = ws.cli({"del", (dir / "snd.xftp.private").string(), "-y"});
  CHECK(again.exit_code == 1);
  CHECK(contains(again.err, "Error deleting chunk 1 from server " + address(relay) + ": AUTH"));
}

TEST_CASE("xftp-cli: info prints the party, the download size and the size per server", "[xftp-cli-client]") {
  XftpRelay relay;
  auto proc = relay.start();
  Workspace ws;
  const auto src = ws.file("big.bin", pattern(5000000, 1));
  auto sent = ws.cli({"send", src.string(), ws.descr.string(), "-s", address(relay)});
  REQUIRE(sent.exit_code == 0);
  const auto dir = ws.descr / "big.bin.xftp";

  auto rcv = ws.cli({"info", (dir / "rcv1.xftp").string()});
  INFO(rcv.out << rcv.err);
  REQUIRE(rcv.exit_code == 0);
  // 5000000 bytes + header + length + tag: one 4mb and one 1mb chunk.
  CHECK(rcv.out == "Recipient file description\nFile download size: 5mb\nFile server(s):\n" + address(relay) +
                       ": 5mb\n");
  auto snd = ws.cli({"info", (dir / "snd.xftp.private").string()});
  CHECK(snd.exit_code == 0);
  CHECK(snd.out == "Sender file description\nFile download size: 5mb\nFile server(s):\n" + address(relay) +
                       ": 5mb\n");
}

TEST_CASE("xftp-cli: two servers in -s share the chunks; recv fetches from both", "[xftp-cli-client]") {
  XftpRelay a, b;
  auto pa = a.start();
  auto pb = b.start();
  Workspace ws;
  const std::string content = pattern(5000000, 5);
  const auto src = ws.file("two.bin", content);
  auto sent = ws.cli({"send", src.string(), ws.descr.string(), "-s", address(a) + ";" + address(b)});
  INFO(sent.out << sent.err);
  REQUIRE(sent.exit_code == 0);
  const auto dir = ws.descr / "two.bin.xftp";

  auto info = ws.cli({"info", (dir / "rcv1.xftp").string()});
  INFO(info.out);
  CHECK(contains(info.out, address(a) + ": "));
  CHECK(contains(info.out, address(b) + ": "));

  auto got = ws.cli({"recv", (dir / "rcv1.xftp").string(), ws.down.string(), "-y"});
  INFO(got.out << got.err);
  REQUIRE(got.exit_code == 0);
  CHECK(read_text(ws.down / "two.bin") == content);
}

TEST_CASE("xftp-cli: clear errors for bad input and unreachable servers", "[xftp-cli-client]") {
  Workspace ws;
  XftpRelay relay;
  const std::string dead = "xftp://" + key_hash(first_cert_der(relay.cfg / "ca.crt")) + "@127.0.0.1:" +
                           std::to_string(free_port());

  SECTION("missing file") {
    auto r = ws.cli({"send", (ws.in / "nope.bin").string(), "-s", dead});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "File not found: " + (ws.in / "nope.bin").string() + "\n");
  }
  SECTION("no servers") {
    auto r = ws.cli({"send", ws.file("a.txt", "a").string()});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "Missing: (-s|--servers SERVER)"));
    CHECK(contains(r.err, "Usage: xftp-cli send FILE [DIR]"));
  }
  SECTION("bad server address") {
    auto r = ws.cli({"send", ws.file("a.txt", "a").string(), "-s", "xftp://nohash"});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "option -s:"));
  }
  SECTION("unreachable server: named with the reason; nothing written") {
    auto r = ws.cli({"send", ws.file("a.txt", "a").string(), ws.descr.string(), "-s", dead, "-r", "1"});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "Error creating chunk 1 on server " + dead + ": NETWORK"));
    CHECK(fsys::is_empty(ws.descr));
  }
  SECTION("a description that does not parse: the line is named") {
    const auto bad = ws.dir.write("bad.xftp", "party: recipient\nsize: 64kb\ndigest: \"unterminated\nkey: x\n");
    auto r = ws.cli({"recv", bad.string(), "-y"});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "Failed to parse file description " + bad.string() + ": line 3:"));
    auto i = ws.cli({"info", bad.string()});
    CHECK(i.exit_code == 1);
    CHECK(contains(i.err, "line 3:"));
    CHECK(fsys::exists(bad));
  }
  SECTION("a description file that does not exist") {
    auto r = ws.cli({"recv", (ws.dir / "none.xftp").string()});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "File description not found: " + (ws.dir / "none.xftp").string() + "\n");
  }
  SECTION("a web link without a fragment") {
    auto r = ws.cli({"recv", "https://example.com/"});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "Invalid URL: no fragment"));
  }
}

TEST_CASE("xftp-cli: recv names the server that cannot be reached", "[xftp-cli-client]") {
  XftpRelay relay;
  Workspace ws;
  {
    auto proc = relay.start();
    const auto src = ws.file("gone.txt", "some text");
    auto sent = ws.cli({"send", src.string(), ws.descr.string(), "-s", address(relay)});
    REQUIRE(sent.exit_code == 0);
  }  // the relay is killed
  auto r = ws.cli({"recv", (ws.descr / "gone.txt.xftp" / "rcv1.xftp").string(), ws.down.string(), "-y", "-r", "1"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "Error downloading chunk 1 on server " + address(relay) + ": NETWORK"));
  CHECK(fsys::exists(ws.descr / "gone.txt.xftp" / "rcv1.xftp"));
}

TEST_CASE("xftp-cli: help and version", "[xftp-cli-client]") {
  Workspace ws;
  auto h = ws.cli({"--help"});
  CHECK(h.exit_code == 0);
  CHECK(contains(h.out, "Usage: xftp-cli [-v|--version] COMMAND"));
  for (const auto* cmd : {"send", "recv", "del", "info"}) CHECK(contains(h.out, std::string("\n  ") + cmd + " "));
  auto v = ws.cli({"--version"});
  CHECK(v.out == "SimpleX XFTP client v1.0.1\n");
  auto s = ws.cli({"send", "--help"});
  CHECK(s.exit_code == 0);
  CHECK(contains(s.out, "-n COUNT"));
}

TEST_CASE("xftp-cli: a server password goes into FNEW, never into a description", "[xftp-cli-client]") {
  XftpRelay relay;
  relay.add_to_section("AUTH", "create_password = s3cret\n");
  auto proc = relay.start();
  Workspace ws;
  const std::string content = pattern(1000, 2);
  const auto src = ws.file("p.txt", content);
  const std::string with_password = "xftp://" + key_hash(first_cert_der(relay.cfg / "ca.crt")) + ":s3cret@127.0.0.1:" +
                                    std::to_string(relay.port);

  auto refused = ws.cli({"send", src.string(), ws.descr.string(), "-s", address(relay)});
  CHECK(refused.exit_code == 1);
  CHECK(contains(refused.err, "Error creating chunk 1 on server " + address(relay) + ": AUTH (the server requires a password"));

  auto sent = ws.cli({"send", src.string(), ws.descr.string(), "-s", with_password});
  INFO(sent.out << sent.err);
  REQUIRE(sent.exit_code == 0);
  const auto dir = ws.descr / "p.txt.xftp";
  CHECK_FALSE(contains(read_text(dir / "rcv1.xftp"), "s3cret"));
  CHECK_FALSE(contains(read_text(dir / "snd.xftp.private"), "s3cret"));
  CHECK_FALSE(contains(sent.out, "s3cret"));
  auto got = ws.cli({"recv", (dir / "rcv1.xftp").string(), ws.down.string(), "-y"});
  INFO(got.out << got.err);
  REQUIRE(got.exit_code == 0);
  CHECK(read_text(ws.down / "p.txt") == content);
}
