// fetch::download against real HTTP and HTTPS servers on 127.0.0.1 started by the tests: content
// and checksums, redirects, resume after a cut connection, servers that ignore Range, corrupt
// downloads, HTTP errors, refused connections, untrusted certificates, timeouts and a full disk.
// Nothing sleeps: retries use a zero delay and timeouts are short only where a test waits for one.
#include "fetch/download.hpp"
#include "fetch/local_server.hpp"
#include "fetch/sha256.hpp"
#include "fetch/test_certificate.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace rwkv;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// Test defaults: no pauses between attempts, deadlines that never trigger unless a test wants one.
fetch::download_options quick_options() {
  fetch::download_options o;
  o.retry_delay = std::chrono::milliseconds(0);
  o.connection.connect_timeout = std::chrono::seconds(10);
  o.connection.io_timeout = std::chrono::seconds(10);
  return o;
}

fetch::error download_error(const std::string& url, const std::string& dest, const fetch::download_options& o) {
  try {
    fetch::download(url, dest, o);
  } catch (const fetch::error& e) {
    return e;
  }
  FAIL("the download of " << url << " succeeded");
  return fetch::error(fetch::errc::io, "unreachable");
}

std::string quoted(const std::string& s) {
  std::string q(1, '"');
  return q.append(s).append(1, '"');
}

struct folder {
  std::string path = test::temp_dir("fetch");
  ~folder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (fs::path(path) / name).string(); }
};

}  // namespace

TEST_CASE("a plain download writes the file, verifies the announced SHA-256 and leaves no .part", "[fetch][download]") {
  const std::string body = random_bytes(300'000, 1);
  const std::string sha = fetch::sha256_hex(body);
  test::local_server server([&](const test::seen_request&) {
    test::server_reply r;
    r.body = body;
    r.headers = {{"X-Linked-Etag", quoted(sha)}};
    return r;
  });
  folder dir;
  auto o = quick_options();
  std::uint64_t last_done = 0, last_total = 0;
  int calls = 0;
  o.on_progress = [&](std::uint64_t done, std::uint64_t total) {
    CHECK(done >= last_done);
    last_done = done;
    last_total = total;
    ++calls;
  };
  auto r = fetch::download(server.url("/models/m.pth"), dir.file("m.pth"), o);
  CHECK(read_file(dir.file("m.pth")) == body);
  CHECK(r.bytes == body.size());
  CHECK(r.sha256 == sha);
  CHECK(r.checksum_source == "x-linked-etag");
  CHECK_FALSE(r.resumed);
  CHECK_FALSE(r.already_present);
  CHECK_FALSE(fs::exists(dir.file("m.pth.part")));
  CHECK(read_file(dir.file("m.pth.sha256")) == sha + "  m.pth\n");
  CHECK(last_done == body.size());
  CHECK(last_total == body.size());
  CHECK(calls >= 2);
  REQUIRE(server.requests().size() == 1);
  CHECK(server.requests()[0].range.empty());
  CHECK(server.requests()[0].host == "127.0.0.1:" + std::to_string(server.port()));

  SECTION("an existing file is not downloaded again unless forced") {
    auto again = fetch::download(server.url("/models/m.pth"), dir.file("m.pth"), o);
    CHECK(again.already_present);
    CHECK(again.sha256 == sha);
    CHECK(server.requests().size() == 1);
    o.force = true;
    last_done = 0;  // a forced download starts from nothing
    auto forced = fetch::download(server.url("/models/m.pth"), dir.file("m.pth"), o);
    CHECK_FALSE(forced.already_present);
    CHECK(server.requests().size() == 2);
  }
}

TEST_CASE("HTTPS with a trusted certificate, by address and by host name", "[fetch][download][tls]") {
  auto cert = test::make_self_signed({"DNS:localhost", "IP:127.0.0.1"});
  const std::string body = random_bytes(200'000, 2);
  const std::string sha = fetch::sha256_hex(body);
  test::local_server server(
      [&](const test::seen_request&) {
        test::server_reply r;
        r.body = body;
        r.headers = {{"Digest", "md5=AAAA, sha-256=" + std::string("placeholder")}, {"X-Checksum-Sha256", sha}};
        return r;
      },
      cert);
  folder dir;
  auto o = quick_options();
  o.connection.ca_file = test::write_text_file(dir.path, "ca.pem", cert.cert_pem);

  auto by_ip = fetch::download(server.url("/a.bin"), dir.file("a.bin"), o);
  CHECK(read_file(dir.file("a.bin")) == body);
  CHECK(by_ip.checksum_source == "x-checksum-sha256");

  auto by_name = fetch::download(server.url("/b.bin", "localhost"), dir.file("b.bin"), o);
  CHECK(read_file(dir.file("b.bin")) == body);
  CHECK(by_name.sha256 == sha);
}

TEST_CASE("redirects: relative and absolute Locations, checksum from the redirecting answer", "[fetch][download]") {
  const std::string body = random_bytes(50'000, 3);
  const std::string sha = fetch::sha256_hex(body);
  // The second server plays the CDN: it sends the bytes and an ETag that is not a SHA-256.
  test::local_server cdn([&](const test::seen_request& q) {
    test::server_reply r;
    if (q.target != "/blobs/xyz?signature=1") {
      r.status = 404;
      return r;
    }
    r.body = body;
    r.headers = {{"ETag", quoted(std::string(64, 'c'))}};
    return r;
  });
  // The first plays the hub: /resolve -> (relative) /files/ -> (relative path) ../lfs/m.pth -> (absolute) CDN.
  test::local_server hub([&](const test::seen_request& q) {
    test::server_reply r;
    if (q.target == "/repo/resolve/main/m.pth") {
      r.status = 307;
      r.headers = {{"Location", "/repo/files/main/m.pth"}};
    } else if (q.target == "/repo/files/main/m.pth") {
      r.status = 301;
      r.headers = {{"Location", "../lfs/m.pth"}};
    } else if (q.target == "/repo/files/lfs/m.pth") {
      r.status = 302;
      r.headers = {{"Location", cdn.url("/blobs/xyz?signature=1")},
                   {"X-Repo-Commit", "abc"},
                   {"X-Linked-Etag", quoted(sha)},
                   {"X-Linked-Size", std::to_string(body.size())}};
    } else {
      r.status = 404;
    }
    return r;
  });
  folder dir;
  auto r = fetch::download(hub.url("/repo/resolve/main/m.pth"), dir.file("m.pth"), quick_options());
  CHECK(read_file(dir.file("m.pth")) == body);
  CHECK(r.redirects == 3);
  CHECK(r.final_url == cdn.url("/blobs/xyz?signature=1"));
  CHECK(r.checksum_source == "x-linked-etag");
  CHECK(hub.requests().size() == 3);
  CHECK(cdn.requests().size() == 1);
}

TEST_CASE("a redirect loop stops at the limit", "[fetch][download]") {
  test::local_server server([&](const test::seen_request&) {
    test::server_reply r;
    r.status = 302;
    r.headers = {{"Location", "/again"}};
    return r;
  });
  folder dir;
  auto o = quick_options();
  o.max_redirects = 4;
  auto e = download_error(server.url("/start"), dir.file("x"), o);
  CHECK(e.code() == fetch::errc::too_many_redirects);
  CHECK(server.requests().size() == 5);
  CHECK_FALSE(fs::exists(dir.file("x.part")));
}

TEST_CASE("an interrupted download keeps its .part and the next run resumes it with Range", "[fetch][download]") {
  auto cert = test::make_self_signed({"IP:127.0.0.1"});
  const bool tls = GENERATE(false, true);
  INFO((tls ? "https" : "http"));
  const std::string body = random_bytes(400'000, 4);
  const std::string sha = fetch::sha256_hex(body);
  int served = 0;
  test::local_server server(
      [&](const test::seen_request&) {
        test::server_reply r;
        r.body = body;
        r.headers = {{"X-Linked-Etag", quoted(sha)}};
        if (served++ == 0) r.cut_after = 123'456;
        return r;
      },
      tls ? std::optional<test::test_certificate>(cert) : std::nullopt);
  folder dir;
  auto o = quick_options();
  if (tls) o.connection.ca_file = test::write_text_file(dir.path, "ca.pem", cert.cert_pem);
  o.max_attempts = 1;

  auto e = download_error(server.url("/m.pth"), dir.file("m.pth"), o);
  CHECK(e.code() == fetch::errc::interrupted);
  CHECK_THAT(e.what(), Contains("m.pth.part"));
  CHECK_THAT(e.what(), Contains("again"));
  CHECK_FALSE(fs::exists(dir.file("m.pth")));
  REQUIRE(fs::exists(dir.file("m.pth.part")));
  CHECK(fs::file_size(dir.file("m.pth.part")) == 123'456);
  CHECK(read_file(dir.file("m.pth.part")) == body.substr(0, 123'456));

  std::vector<std::string> notes;
  o.on_message = [&](const std::string& m) { notes.push_back(m); };
  auto r = fetch::download(server.url("/m.pth"), dir.file("m.pth"), o);
  CHECK(r.resumed);
  CHECK(r.resumed_from == 123'456);
  CHECK(r.sha256 == sha);  // the hash covers the bytes from the first run too
  CHECK(r.checksum_source == "x-linked-etag");
  CHECK(read_file(dir.file("m.pth")) == body);
  CHECK_FALSE(fs::exists(dir.file("m.pth.part")));
  auto seen = server.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].range.empty());
  CHECK(seen[1].range == "bytes=123456-");
  REQUIRE_FALSE(notes.empty());
  CHECK_THAT(notes[0], Contains("continuing"));
}

TEST_CASE("within one run a cut connection is retried from where it stopped", "[fetch][download]") {
  const std::string body = random_bytes(300'000, 5);
  int served = 0;
  test::local_server server([&](const test::seen_request&) {
    test::server_reply r;
    r.body = body;
    if (served < 2) r.cut_after = 100'000;  // each cut answer still moves the file forward
    ++served;
    return r;
  });
  folder dir;
  auto o = quick_options();
  o.max_attempts = 3;
  int notes = 0;
  o.on_message = [&](const std::string&) { ++notes; };
  auto r = fetch::download(server.url("/m"), dir.file("m"), o);
  CHECK(read_file(dir.file("m")) == body);
  CHECK(r.resumed);
  auto seen = server.requests();
  REQUIRE(seen.size() == 3);
  CHECK(seen[1].range == "bytes=100000-");
  CHECK(seen[2].range == "bytes=200000-");
  CHECK(notes >= 2);
}

TEST_CASE("a server that ignores Range makes the download start over", "[fetch][download]") {
  const std::string body = random_bytes(100'000, 6);
  test::local_server server([&](const test::seen_request&) {
    test::server_reply r;
    r.body = body;
    r.honour_range = false;
    r.headers = {{"X-Linked-Etag", quoted(fetch::sha256_hex(body))}};
    return r;
  });
  folder dir;
  write_file(dir.file("m.part"), std::string(5'000, 'z'));  // stale bytes that must not survive
  std::vector<std::string> notes;
  auto o = quick_options();
  o.on_message = [&](const std::string& m) { notes.push_back(m); };
  auto r = fetch::download(server.url("/m"), dir.file("m"), o);
  CHECK(read_file(dir.file("m")) == body);
  CHECK_FALSE(r.resumed);
  CHECK(r.checksum_source == "x-linked-etag");
  CHECK(server.requests().at(0).range == "bytes=5000-");
  bool told = false;
  for (const auto& n : notes) told = told || n.find("ignored") != std::string::npos;
  CHECK(told);
}

TEST_CASE("a .part that is already complete is finished on 416 without downloading again", "[fetch][download]") {
  const std::string body = random_bytes(70'000, 7);
  test::local_server server([&](const test::seen_request&) {
    test::server_reply r;
    r.body = body;
    r.headers = {{"X-Linked-Etag", quoted(fetch::sha256_hex(body))}};
    return r;
  });
  folder dir;
  write_file(dir.file("m.part"), body);
  auto r = fetch::download(server.url("/m"), dir.file("m"), quick_options());
  CHECK(read_file(dir.file("m")) == body);
  CHECK(r.checksum_source == "x-linked-etag");
  CHECK(server.requests().at(0).range == "bytes=70000-");
}

TEST_CASE("a 416 for a .part longer than the file starts over", "[fetch][download]") {
  const std::string body = random_bytes(10'000, 8);
  test::local_server server([&](const test::seen_request&) {
    test::server_reply r;
    r.body = body;
    return r;
  });
  folder dir;
  write_file(dir.file("m.part"), random_bytes(20'000, 9));
  auto r = fetch::download(server.url("/m"), dir.file("m"), quick_options());
  CHECK(read_file(dir.file("m")) == body);
  CHECK(server.requests().size() == 2);
  CHECK(server.requests()[1].range.empty());
}

TEST_CASE("a checksum mismatch deletes the download and says so", "[fetch][download]") {
  const std::string body = random_bytes(60'000, 10);
  const std::string wrong = fetch::sha256_hex("something else");
  test::local_server server([&](const test::seen_request&) {
    test::server_reply r;
    r.body = body;
    r.headers = {{"X-Linked-Etag", quoted(wrong)}};
    return r;
  });
  folder dir;
  auto e = download_error(server.url("/m.pth"), dir.file("m.pth"), quick_options());
  CHECK(e.code() == fetch::errc::checksum);
  CHECK_THAT(e.what(), Contains("SHA-256"));
  CHECK_THAT(e.what(), Contains(wrong));
  CHECK_THAT(e.what(), Contains(fetch::sha256_hex(body)));
  CHECK_FALSE(fs::exists(dir.file("m.pth")));
  CHECK_FALSE(fs::exists(dir.file("m.pth.part")));

  SECTION("a pinned checksum wins over the server's and is checked the same way") {
    auto o = quick_options();
    o.expected_sha256 = fetch::sha256_hex(body);
    auto r = fetch::download(server.url("/m.pth"), dir.file("m.pth"), o);
    CHECK(r.checksum_source == "pinned");
    o.expected_sha256 = wrong;
    o.force = true;
    auto pinned = download_error(server.url("/m.pth"), dir.file("m.pth"), o);
    CHECK(pinned.code() == fetch::errc::checksum);
    CHECK_THAT(pinned.what(), Contains("rwkv-lsp expects"));
    CHECK(read_file(dir.file("m.pth")) == body);  // the earlier good file is untouched
  }
}

TEST_CASE("HTTP errors are clear and leave nothing behind", "[fetch][download]") {
  const int status = GENERATE(404, 500);
  int served = 0;
  test::local_server server([&](const test::seen_request&) {
    ++served;
    test::server_reply r;
    r.status = status;
    r.body = "no";
    return r;
  });
  folder dir;
  auto o = quick_options();
  o.max_attempts = 2;
  auto e = download_error(server.url("/missing.pth"), dir.file("missing.pth"), o);
  CHECK(e.code() == fetch::errc::http_status);
  CHECK(e.http_status() == status);
  CHECK_THAT(e.what(), Contains(std::to_string(status)));
  CHECK_THAT(e.what(), Contains(server.url("/missing.pth")));
  CHECK(served == (status == 500 ? 2 : 1));  // server errors are retried, 404 is not
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("a refused connection is reported as such", "[fetch][download]") {
  folder dir;
  auto e = download_error("http://127.0.0.1:" + std::to_string(test::unused_port()) + "/m", dir.file("m"), quick_options());
  CHECK(e.code() == fetch::errc::refused);
  CHECK_THAT(e.what(), Contains("refused"));
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("TLS: untrusted certificates and wrong names are refused", "[fetch][download][tls]") {
  auto cert = test::make_self_signed({"DNS:localhost", "IP:127.0.0.1"});
  test::local_server server(
      [&](const test::seen_request&) {
        test::server_reply r;
        r.body = "secret";
        return r;
      },
      cert);
  folder dir;
  auto o = quick_options();

  SECTION("the system store does not know a self-signed certificate") {
    auto e = download_error(server.url("/m"), dir.file("m"), o);
    CHECK(e.code() == fetch::errc::tls);
    CHECK_THAT(e.what(), Contains("not trusted"));
    CHECK_THAT(e.what(), Contains("--ca-file"));
  }
  SECTION("a CA file with another certificate") {
    auto other = test::make_self_signed({"DNS:localhost", "IP:127.0.0.1"});
    o.connection.ca_file = test::write_text_file(dir.path, "other.pem", other.cert_pem);
    auto e = download_error(server.url("/m"), dir.file("m"), o);
    CHECK(e.code() == fetch::errc::tls);
  }
  SECTION("a trusted certificate for another name") {
    auto named = test::make_self_signed({"DNS:models.example"});
    test::local_server wrong_name(
        [&](const test::seen_request&) {
          test::server_reply r;
          r.body = std::string(1, 'x');
          return r;
        },
        named);
    o.connection.ca_file = test::write_text_file(dir.path, "named.pem", named.cert_pem);
    auto by_ip = download_error(wrong_name.url("/m"), dir.file("m"), o);
    CHECK(by_ip.code() == fetch::errc::tls);
    CHECK_THAT(by_ip.what(), Contains("mismatch"));
    auto by_name = download_error(wrong_name.url("/m", "localhost"), dir.file("m"), o);
    CHECK(by_name.code() == fetch::errc::tls);
    CHECK_THAT(by_name.what(), Contains("mismatch"));
  }
  SECTION("an unreadable CA file") {
    o.connection.ca_file = dir.file("missing.pem");
    auto e = download_error(server.url("/m"), dir.file("m"), o);
    CHECK(e.code() == fetch::errc::tls);
    CHECK_THAT(e.what(), Contains("missing.pem"));
  }
  CHECK_FALSE(fs::exists(dir.file("m")));
  CHECK_FALSE(fs::exists(dir.file("m.part")));
}

TEST_CASE("an HTTPS download does not follow a redirect to plain HTTP", "[fetch][download][tls]") {
  auto cert = test::make_self_signed({"IP:127.0.0.1"});
  test::local_server plain([&](const test::seen_request&) { return test::server_reply{}; });
  test::local_server server(
      [&](const test::seen_request&) {
        test::server_reply r;
        r.status = 302;
        r.headers = {{"Location", plain.url("/m")}};
        return r;
      },
      cert);
  folder dir;
  auto o = quick_options();
  o.connection.ca_file = test::write_text_file(dir.path, "ca.pem", cert.cert_pem);
  auto e = download_error(server.url("/m"), dir.file("m"), o);
  CHECK(e.code() == fetch::errc::protocol);
  CHECK_THAT(e.what(), Contains("plain HTTP"));
  CHECK(plain.requests().empty());
}

TEST_CASE("a server that stops answering times out", "[fetch][download]") {
  test::local_server server([&](const test::seen_request&) {
    test::server_reply r;
    r.hang = true;
    return r;
  });
  folder dir;
  auto o = quick_options();
  o.connection.io_timeout = std::chrono::milliseconds(300);
  o.max_attempts = 1;
  auto e = download_error(server.url("/m"), dir.file("m"), o);
  CHECK(e.code() == fetch::errc::timeout);
  CHECK_THAT(e.what(), Contains("300 ms"));
}

TEST_CASE("a full disk is reported with the file's path and the .part can be resumed later", "[fetch][download]") {
  if (!fs::exists("/dev/full")) {
    WARN("skipped: /dev/full is not available");
    return;
  }
  const std::string body = random_bytes(100'000, 11);
  test::local_server server([&](const test::seen_request&) {
    test::server_reply r;
    r.body = body;
    return r;
  });
  folder dir;
  // The part file is a link to /dev/full, where every write fails with ENOSPC.
  fs::create_symlink("/dev/full", dir.file("m.part"));
  auto o = quick_options();
  auto e = download_error(server.url("/m"), dir.file("m"), o);
  CHECK(e.code() == fetch::errc::disk);
  CHECK_THAT(e.what(), Contains("no space left"));
  CHECK_THAT(e.what(), Contains(dir.file("m.part")));
  CHECK_FALSE(fs::exists(dir.file("m")));
}

TEST_CASE("cancelling stops between chunks and keeps the bytes so far", "[fetch][download]") {
  const std::string body = random_bytes(1'000'000, 12);
  test::local_server server([&](const test::seen_request&) {
    test::server_reply r;
    r.body = body;
    return r;
  });
  folder dir;
  std::atomic<bool> cancel{false};
  auto o = quick_options();
  o.cancel = &cancel;
  o.on_progress = [&](std::uint64_t done, std::uint64_t) {
    if (done >= 100'000) cancel = true;
  };
  auto e = download_error(server.url("/m"), dir.file("m"), o);
  CHECK(e.code() == fetch::errc::cancelled);
  CHECK(fs::file_size(dir.file("m.part")) >= 100'000);
  o.cancel = nullptr;
  o.on_progress = nullptr;
  auto r = fetch::download(server.url("/m"), dir.file("m"), o);
  CHECK(r.resumed);
  CHECK(read_file(dir.file("m")) == body);
}
