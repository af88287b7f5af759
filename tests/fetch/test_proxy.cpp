// Downloads through an HTTP proxy: parsing proxy URLs, choosing one from the environment as curl
// does, a CONNECT tunnel for https (the host's certificate still checked), absolute-form requests
// for http, Basic credentials, and the errors a proxy can cause.
#include "fetch/download.hpp"
#include "fetch/error.hpp"
#include "fetch/local_proxy.hpp"
#include "fetch/local_server.hpp"
#include "fetch/proxy.hpp"
#include "fetch/test_certificate.hpp"
#include "support/run_process.hpp"
#include "support/test_data.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

using namespace rwkv;
using Catch::Matchers::Contains;

namespace {

fetch::error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const fetch::error& e) {
    return e;
  }
  FAIL("no error");
  return fetch::error(fetch::errc::io, "unreachable");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fetch::download_options through(const std::string& proxy) {
  fetch::download_options o;
  o.retry_delay = std::chrono::milliseconds(0);
  o.max_attempts = 1;
  o.connection.connect_timeout = std::chrono::seconds(10);
  o.connection.io_timeout = std::chrono::seconds(10);
  o.connection.proxy = proxy;
  return o;
}

test::local_server file_server(const std::string& body, std::optional<test::test_certificate> tls = std::nullopt) {
  return test::local_server(
      [body](const test::seen_request&) {
        test::server_reply r;
        r.body = body;
        return r;
      },
      std::move(tls));
}

}  // namespace

TEST_CASE("proxy URLs: host and port, curl's default port, credentials, unsupported kinds", "[fetch][proxy]") {
  auto p = fetch::parse_proxy("http://proxy.corp:3128");
  CHECK(p.address.host == "proxy.corp");
  CHECK(p.address.port == 3128);
  CHECK(p.authorization.empty());
  CHECK(p.where() == "proxy.corp:3128");
  CHECK(fetch::parse_proxy("proxy.corp").address.port == 1080);   // no scheme, no port
  CHECK(fetch::parse_proxy("http://[::1]:8080/").address.host == "::1");
  // Percent-encoded credentials: "us@er" / "p:ss" -> Basic base64("us@er:p:ss").
  CHECK(fetch::parse_proxy("http://us%40er:p%3Ass@proxy:8080").authorization == "Basic dXNAZXI6cDpzcw==");
  CHECK(fetch::parse_proxy("http://user@proxy:8080").authorization == "Basic dXNlcjo=");
  for (const char* bad : {"https://proxy:443", "socks5://proxy:1080", "http://::1:3128", "http://:3128", "http://secret:secret@proxy:99999"}) {
    INFO(bad);
    const auto e = error_of([&] { fetch::parse_proxy(bad); });
    CHECK(e.code() == fetch::errc::bad_url);
    CHECK_THAT(e.what(), !Contains("secret"));  // a password never shows in a message
  }
}

TEST_CASE("the proxy comes from the environment as curl reads it", "[fetch][proxy]") {
  std::map<std::string, std::string> vars;
  const fetch::environment env = [&vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  const auto https = fetch::parse_url("https://huggingface.co/x"), http = fetch::parse_url("http://mirror.example.com/x");
  auto chosen = [&](const fetch::url& u) {
    auto p = fetch::proxy_from_environment(u, env);
    return p ? p->where() : std::string("direct");
  };
  CHECK(chosen(https) == "direct");
  vars["HTTPS_PROXY"] = "http://upper:1";
  CHECK(chosen(https) == "upper:1");
  vars["https_proxy"] = "http://lower:2";
  CHECK(chosen(https) == "lower:2");
  CHECK(chosen(http) == "direct");  // https_proxy is for https
  vars["HTTP_PROXY"] = "http://cgi:3";
  CHECK(chosen(http) == "direct");  // never the upper-case one (a CGI request header can set it)
  vars["ALL_PROXY"] = "http://all:4";
  CHECK(chosen(http) == "all:4");
  vars["http_proxy"] = "http://plain:5";
  CHECK(chosen(http) == "plain:5");
  // no_proxy: a domain covers its subdomains, with or without a leading dot; "*" covers all.
  vars["no_proxy"] = "localhost, example.com";
  CHECK(chosen(http) == "direct");
  CHECK(chosen(fetch::parse_url("http://badexample.com/x")) == "plain:5");
  vars["no_proxy"] = "mirror.example.com:80";  // a port in an entry is ignored
  CHECK(chosen(http) == "direct");
  vars["no_proxy"] = ".co";
  CHECK(chosen(https) == "direct");
  vars["no_proxy"] = "";
  vars["NO_PROXY"] = "*";
  CHECK(chosen(https) == "direct");
  vars.erase("NO_PROXY");
  // Loopback never goes through a proxy.
  for (const char* local : {"https://localhost:8443/x", "https://127.0.0.1/x", "https://127.9.9.9/x", "https://[::1]/x"})
    CHECK(chosen(fetch::parse_url(local)) == "direct");
  // A value that is not a proxy is an error naming the variable.
  vars["https_proxy"] = "socks5://proxy:1080";
  const auto e = error_of([&] { fetch::proxy_from_environment(https, env); });
  CHECK(e.code() == fetch::errc::bad_url);
  CHECK_THAT(e.what(), Contains("$https_proxy"));
}

TEST_CASE("https through a proxy: a CONNECT tunnel, the host's certificate still checked", "[fetch][proxy][tls]") {
  auto cert = test::make_self_signed({"DNS:localhost", "IP:127.0.0.1"});
  const std::string body(150'000, 'w');
  auto server = file_server(body, cert);
  test::local_proxy proxy;
  const std::string dir = test::temp_dir("fetch-proxy-tls");
  auto o = through(proxy.url());
  o.connection.ca_file = test::write_text_file(dir, "ca.pem", cert.cert_pem);
  auto r = fetch::download(server.url("/m.bin"), dir + "/m.bin", o);
  CHECK(read_file(dir + "/m.bin") == body);
  REQUIRE(proxy.requests().size() == 1);
  CHECK(proxy.requests()[0].method == "CONNECT");
  CHECK(proxy.requests()[0].target == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(proxy.requests()[0].authorization.empty());
  REQUIRE(server.requests().size() == 1);
  CHECK(server.requests()[0].target == "/m.bin");  // the host sees an ordinary request

  // Through the tunnel a certificate the client does not trust is still refused.
  auto untrusted = test::make_self_signed({"IP:127.0.0.1"});
  auto other = file_server(body, untrusted);
  const auto e = error_of([&] { fetch::download(other.url("/m.bin"), dir + "/n.bin", o); });
  CHECK(e.code() == fetch::errc::tls);
}

TEST_CASE("http through a proxy: the request in absolute form", "[fetch][proxy]") {
  auto server = file_server("plain bytes");
  test::local_proxy proxy;
  const std::string dir = test::temp_dir("fetch-proxy-http");
  fetch::download(server.url("/v.txt"), dir + "/v.txt", through(proxy.url()));
  CHECK(read_file(dir + "/v.txt") == "plain bytes");
  REQUIRE(proxy.requests().size() == 1);
  CHECK(proxy.requests()[0].method == "GET");
  CHECK(proxy.requests()[0].target == server.url("/v.txt"));
  REQUIRE(server.requests().size() == 1);
  CHECK(server.requests()[0].target == "/v.txt");
}

TEST_CASE("proxy credentials: sent as Basic; a 407 says what to do", "[fetch][proxy]") {
  auto server = file_server("secret model");
  test::local_proxy proxy("Basic dXNlcjpwQHNz");  // user:p@ss
  const std::string dir = test::temp_dir("fetch-proxy-auth");
  const std::string port = std::to_string(proxy.port());
  fetch::download(server.url("/a.bin"), dir + "/a.bin", through("http://user:p%40ss@127.0.0.1:" + port));
  CHECK(read_file(dir + "/a.bin") == "secret model");

  auto cert = test::make_self_signed({"IP:127.0.0.1"});
  auto tls_server = file_server("secret model", cert);
  auto o = through("http://127.0.0.1:" + port);
  o.connection.ca_file = test::write_text_file(dir, "ca.pem", cert.cert_pem);
  auto e = error_of([&] { fetch::download(tls_server.url("/b.bin"), dir + "/b.bin", o); });
  CHECK(e.code() == fetch::errc::proxy);
  CHECK(e.http_status() == 407);
  CHECK_THAT(e.what(), Contains("the proxy 127.0.0.1:" + port) && Contains("407") && Contains("credentials"));
  CHECK_FALSE(std::filesystem::exists(dir + "/b.bin"));

  o.connection.proxy = "http://user:wrong@127.0.0.1:" + port;
  e = error_of([&] { fetch::download(tls_server.url("/b.bin"), dir + "/b.bin", o); });
  CHECK(e.http_status() == 407);
  CHECK_THAT(e.what(), Contains("did not accept the credentials") && !Contains("wrong"));
}

TEST_CASE("a proxy that is not there, and redirects that pass through the proxy", "[fetch][proxy]") {
  const std::string dir = test::temp_dir("fetch-proxy-errors");
  auto server = file_server("x");
  const std::string nowhere = "127.0.0.1:" + std::to_string(test::unused_port());
  auto e = error_of([&] { fetch::download(server.url("/x"), dir + "/x", through("http://" + nowhere)); });
  CHECK(e.code() == fetch::errc::refused);
  CHECK_THAT(e.what(), Contains("the proxy " + nowhere));

  // A redirect to another host: each connection asks the proxy.
  auto target = file_server("moved here");
  test::local_server redirecting([&](const test::seen_request&) {
    test::server_reply r;
    r.status = 302;
    r.headers = {{"Location", target.url("/final.bin")}};
    return r;
  });
  test::local_proxy proxy;
  fetch::download(redirecting.url("/start"), dir + "/final.bin", through(proxy.url()));
  CHECK(read_file(dir + "/final.bin") == "moved here");
  REQUIRE(proxy.requests().size() == 2);
  CHECK(proxy.requests()[0].target == redirecting.url("/start"));
  CHECK(proxy.requests()[1].target == target.url("/final.bin"));
}

TEST_CASE("rwkv-lsp pull goes through --proxy, and past the environment's proxy for loopback", "[fetch][proxy][cli]") {
  const std::string body = "not really a model, but bytes to download";
  auto server = file_server(body);
  test::local_proxy proxy;
  const std::string dir = test::temp_dir("fetch-proxy-cli");
  auto pull = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"pull", server.url("/m.bin"), "--cache", dir, "--force", "--retries", "0", "--timeout", "10"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_process(RWKV_LSP_SERVER, args);
  };
  auto r = pull({"--proxy", proxy.url()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(dir + "/m.bin") == body);
  REQUIRE(proxy.requests().size() == 1);
  CHECK(proxy.requests()[0].target == server.url("/m.bin"));

  // The environment names a proxy that refuses everything: a loopback host goes direct anyway,
  // and so does everything with --proxy none.
  ::setenv("http_proxy", ("http://127.0.0.1:" + std::to_string(test::unused_port())).c_str(), 1);
  r = pull({});
  CHECK(r.exit_code == 0);
  r = pull({"--proxy", "none"});
  CHECK(r.exit_code == 0);
  ::unsetenv("http_proxy");
  CHECK(proxy.requests().size() == 1);

  r = pull({"--proxy", "socks5://127.0.0.1:1080"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("HTTPS and SOCKS proxies are not supported"));
}

TEST_CASE("any text is a proxy or a bad_url error, never a crash", "[fetch][proxy]") {
  std::mt19937 rng(7);
  const std::string alphabet = "hp:/@[]%.0123456789abcdefxyz-_ \t";
  const char* seeds[] = {"http://u:p@h:1", "http://[::1]:3128", "h:80", "http://%zz@h", "http://@:1", "[", "]:", "@@@"};
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[i % 8];
    for (int k = static_cast<int>(rng() % 6); k > 0; --k) {  // insert, delete or replace characters
      const std::size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        case 1: if (at < text.size()) text.erase(at, 1); break;
        default: if (at < text.size()) text[at] = c; break;
      }
    }
    INFO(text);
    try {
      const auto p = fetch::parse_proxy(text);
      CHECK(!p.address.host.empty());
      CHECK(p.address.port > 0);
    } catch (const fetch::error& e) {
      CHECK(e.code() == fetch::errc::bad_url);
    }
  }
}
