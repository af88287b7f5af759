// URLs, redirect resolution, SHA-256 and the checksum headers servers announce.
#include "fetch/checksum.hpp"
#include "fetch/error.hpp"
#include "fetch/sha256.hpp"
#include "fetch/url.hpp"

#include <catch2/catch.hpp>

using namespace rwkv::fetch;

TEST_CASE("parse_url splits scheme, host, port and target", "[fetch][url]") {
  auto u = parse_url("https://huggingface.co/BlinkDL/rwkv7-g1/resolve/main/a.pth?download=true#frag");
  CHECK(u.scheme == "https");
  CHECK(u.host == "huggingface.co");
  CHECK(u.port == 443);
  CHECK(u.target == "/BlinkDL/rwkv7-g1/resolve/main/a.pth?download=true");
  CHECK(u.authority() == "huggingface.co");

  auto local = parse_url("HTTP://127.0.0.1:8080");
  CHECK(local.scheme == "http");
  CHECK(local.port == 8080);
  CHECK(local.target == "/");
  CHECK(local.to_string() == "http://127.0.0.1:8080/");

  auto v6 = parse_url("http://[::1]:9000/x");
  CHECK(v6.host == "::1");
  CHECK(v6.authority() == "[::1]:9000");
  CHECK(parse_url("http://example.com?q=1").target == "/?q=1");
}

TEST_CASE("parse_url rejects what it cannot download from", "[fetch][url]") {
  for (const char* bad : {"ftp://example.com/x", "example.com/x", "http:///x", "http://user:pw@host/x",
                          "http://host:99999/x", "http://host:abc/", "http://ho st/x"}) {
    INFO(bad);
    try {
      parse_url(bad);
      FAIL("accepted");
    } catch (const error& e) {
      CHECK(e.code() == errc::bad_url);
    }
  }
}

TEST_CASE("resolve_location follows absolute and relative redirects", "[fetch][url]") {
  auto base = parse_url("https://huggingface.co/BlinkDL/rwkv7-g1/resolve/main/model.pth?x=1");
  CHECK(resolve_location(base, "https://cdn-lfs.hf.co/repos/ab/cd?sig=1").to_string() == "https://cdn-lfs.hf.co/repos/ab/cd?sig=1");
  CHECK(resolve_location(base, "//other.example/y").to_string() == "https://other.example/y");
  CHECK(resolve_location(base, "/api/resolve-cache/models/x").target == "/api/resolve-cache/models/x");
  CHECK(resolve_location(base, "other.pth").target == "/BlinkDL/rwkv7-g1/resolve/main/other.pth");
  CHECK(resolve_location(base, "../../blob/main/a.pth").target == "/BlinkDL/rwkv7-g1/blob/main/a.pth");
  CHECK(resolve_location(base, "./dir/").target == "/BlinkDL/rwkv7-g1/resolve/main/dir/");
  CHECK(resolve_location(base, "?y=2").target == "/BlinkDL/rwkv7-g1/resolve/main/model.pth?y=2");
  CHECK(resolve_location(base, "/a/b/../../../c").target == "/c");
  CHECK(resolve_location(base, "/a/./b/..").target == "/a/");
}

TEST_CASE("file_name_from_url takes the decoded last segment and refuses unsafe names", "[fetch][url]") {
  CHECK(file_name_from_url(parse_url("https://h/a/rwkv7-g1-0.4b-20250324-ctx4096.pth?download=true")) ==
        "rwkv7-g1-0.4b-20250324-ctx4096.pth");
  CHECK(file_name_from_url(parse_url("http://h/a/my%20model.pth")) == "my model.pth");
  CHECK(file_name_from_url(parse_url("http://h/a/")).empty());
  CHECK(file_name_from_url(parse_url("http://h/")).empty());
  CHECK(file_name_from_url(parse_url("http://h/a/..")).empty());
  CHECK(file_name_from_url(parse_url("http://h/a/x%2Fy")).empty());
}

TEST_CASE("sha256 matches the FIPS 180-2 test vectors, in pieces too", "[fetch][sha256]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  sha256 h;
  std::string text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  h.update(text.data(), 10);
  h.update(text.data() + 10, text.size() - 10);
  CHECK(h.hex_digest() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(h.hex_digest() == sha256_hex(""));  // hex_digest starts over
}

TEST_CASE("checksum headers: Digest forms, X-Checksum-Sha256, X-Linked-Etag and Hugging Face ETags", "[fetch][checksum]") {
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const std::string abc_b64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
  CHECK(sha256_from_digest_field("SHA-256=" + abc_b64) == abc);
  CHECK(sha256_from_digest_field("md5=HUXZLQLMuI/KZ5KDcJPcOA==, sha-256=" + abc_b64) == abc);
  CHECK(sha256_from_digest_field("sha-256=:" + abc_b64 + ":") == abc);  // RFC 9530
  CHECK_FALSE(sha256_from_digest_field("sha-512=" + abc_b64));
  CHECK_FALSE(sha256_from_digest_field("sha-256=bm90IDMyIGJ5dGVz"));
  CHECK(sha256_from_etag_field("\"" + abc + "\"") == abc);
  CHECK(sha256_from_etag_field("\"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\"") == abc);
  CHECK_FALSE(sha256_from_etag_field("W/\"" + abc + "\""));
  CHECK_FALSE(sha256_from_etag_field("\"a9993e364706816aba3e25717850c26c9cd0d89d\""));  // a git blob id

  response_head hf_redirect;
  hf_redirect.status = 302;
  hf_redirect.fields = {{"X-Repo-Commit", "0123"}, {"ETag", "\"" + abc + "\""}, {"X-Linked-Etag", "\"" + abc + "\""}};
  checksum_collector c;
  c.add(hf_redirect);
  CHECK(c.best().sha256 == abc);
  CHECK(c.best().source == "x-linked-etag");

  // The CDN's own ETag (not Hugging Face: no X-Repo-Commit) is never taken for a hash.
  response_head cdn;
  cdn.fields = {{"ETag", "\"" + std::string(64, 'e') + "\""}};
  checksum_collector only_cdn;
  only_cdn.add(cdn);
  CHECK(only_cdn.best().sha256.empty());

  // An explicit digest outranks the linked ETag.
  response_head digest;
  digest.fields = {{"Digest", "sha-256=" + abc_b64}};
  checksum_collector both;
  response_head other = hf_redirect;
  other.fields[2].value = "\"" + std::string(64, 'f') + "\"";
  both.add(other);
  both.add(digest);
  CHECK(both.best().sha256 == abc);
  CHECK(both.best().source == "digest");

  response_head artifactory;
  artifactory.fields = {{"x-checksum-sha256", abc}};
  checksum_collector a;
  a.add(artifactory);
  CHECK(a.best().source == "x-checksum-sha256");
}
