// The serve command line: transports, settings and errors.
#include "lsp/support/fake_service.hpp"

#include "lsp/serve.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace rwkv::lsp;
using json = nlohmann::json;
using kind = serve_options::transport_kind;

TEST_CASE("serve defaults to stdio with no settings", "[lsp][serve]") {
  auto o = parse_serve_args({});
  CHECK(o.transport == kind::stdio);
  CHECK(o.settings == json::object());
  CHECK(!o.help);
  CHECK(parse_serve_args({"--stdio"}).transport == kind::stdio);
  CHECK(parse_serve_args({"--help"}).help);
}

TEST_CASE("the tcp option takes HOST:PORT and defaults the host to 127.0.0.1", "[lsp][serve]") {
  auto a = parse_serve_args({"--tcp", "0.0.0.0:7000"});
  CHECK(a.transport == kind::tcp);
  CHECK(a.host == "0.0.0.0");
  CHECK(a.port == 7000);
  auto b = parse_serve_args({"--tcp=9000"});
  CHECK(b.host == "127.0.0.1");
  CHECK(b.port == 9000);
  auto c = parse_serve_args({"--tcp", ":0"});
  CHECK(c.host == "127.0.0.1");
  CHECK(c.port == 0);
  auto d = parse_serve_args({"--tcp", "[::1]:5"});
  CHECK(d.host == "::1");
  CHECK(d.port == 5);
  CHECK_THROWS_AS(parse_serve_args({"--tcp", "localhost:99999"}), std::invalid_argument);
  CHECK_THROWS_AS(parse_serve_args({"--tcp", "localhost:http"}), std::invalid_argument);
  CHECK_THROWS_AS(parse_serve_args({"--tcp"}), std::invalid_argument);
}

TEST_CASE("model, vocab, threads and other options become default settings", "[lsp][serve]") {
  auto o = parse_serve_args({"--model", "m.pth", "--vocab=v.txt", "--threads", "4", "--max-tokens", "64",
                             "--temperature=0.2", "--multi-line", "--backend", "cpu", "--stop", "null"});
  CHECK(o.settings == json{{"model", "m.pth"},  {"vocab", "v.txt"},   {"threads", 4},
                           {"maxTokens", 64},   {"temperature", 0.2}, {"multiLine", true},
                           {"backend", "cpu"},  {"stop", nullptr}});
  CHECK_THROWS_AS(parse_serve_args({"--threads", "many"}), std::invalid_argument);
  CHECK_THROWS_AS(parse_serve_args({"--threads", "-2"}), std::invalid_argument);
  CHECK_THROWS_AS(parse_serve_args({"--model"}), std::invalid_argument);
  CHECK_THROWS_AS(parse_serve_args({"--model", "--vocab", "v"}), std::invalid_argument);
  CHECK_THROWS_AS(parse_serve_args({"model.pth"}), std::invalid_argument);
  CHECK_THROWS_AS(parse_serve_args({"--stdio=yes"}), std::invalid_argument);
  CHECK(serve_usage().find("--tcp HOST:PORT") != std::string::npos);
}

TEST_CASE("serve reports an address it cannot listen on and returns 1", "[lsp][serve]") {
  rwkv::test::fake_service service;
  serve_options o;
  o.transport = kind::tcp;
  o.host = "203.0.113.1";  // TEST-NET-3: not an address of this machine
  o.port = 1;
  server_options base;
  base.stderr_log_level = 0;
  CHECK(serve(o, service, base) == 1);
}
