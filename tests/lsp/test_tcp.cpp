// The TCP transport: a server on an ephemeral port of 127.0.0.1 and a client using Asio.
#include "lsp/support/server_fixture.hpp"

#include "lsp/serve.hpp"
#include "lsp/tcp_transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <future>

using namespace rwkv::test;
using namespace std::chrono_literals;
namespace lsp = rwkv::lsp;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

const std::string uri = "file:///t.rs";

// A blocking client with timeouts: reads run on its own io_context for a bounded time.
class tcp_client {
 public:
  explicit tcp_client(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void send(const json& message) { asio::write(socket_, asio::buffer(lsp::frame_message(message.dump()))); }
  void send_bytes(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  std::optional<json> response(const json& id, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (auto event = reader_.next()) {
        if (event->what != lsp::framing_event::kind::message) continue;
        json m = json::parse(event->text);
        if (!m.contains("method") && m.value("id", json()) == id) return m;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      bool done = false;
      boost::system::error_code error;
      std::size_t n = 0;
      socket_.async_read_some(asio::buffer(buffer_), [&](const boost::system::error_code& ec, std::size_t bytes) {
        done = true;
        error = ec;
        n = bytes;
      });
      io_.restart();
      io_.run_for(deadline - std::chrono::steady_clock::now());
      if (!done) {
        socket_.cancel();
        io_.restart();
        io_.run();
        return std::nullopt;
      }
      if (error) return std::nullopt;
      reader_.feed(std::string_view(buffer_.data(), n));
    }
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  std::array<char, 4096> buffer_{};
  lsp::message_reader reader_;
};

json inline_request(json id) {
  return make_request(std::move(id), "textDocument/inlineCompletion",
                      {{"textDocument", {{"uri", uri}}}, {"position", position_json(0, 6)}, {"context", {{"triggerKind", 2}}}});
}

void start_session(tcp_client& client) {
  client.send(make_request(1, "initialize", {{"capabilities", json::object()}}));
  REQUIRE(client.response(1));
  client.send(make_notification("initialized", json::object()));
  client.send(make_notification("textDocument/didOpen",
                                {{"textDocument", {{"uri", uri}, {"languageId", "rust"}, {"version", 1}, {"text", "hello "}}}}));
}

}  // namespace

TEST_CASE("over TCP: a session on an ephemeral port of 127.0.0.1", "[lsp][tcp]") {
  lsp::tcp_transport transport("127.0.0.1", 0);
  REQUIRE(transport.port() != 0);
  fake_service service;
  auto done = std::async(std::launch::async, [&] { return lsp::run_server(transport, service, quiet_options()); });
  tcp_client client(transport.port());

  SECTION("complete, shutdown, exit -> 0") {
    start_session(client);
    client.send(inline_request(2));
    auto r = client.response(2);
    REQUIRE(r);
    CHECK((*r)["result"]["items"][0]["insertText"] == "world");
    // Framing split across writes works over TCP too.
    std::string framed = lsp::frame_message(make_request(3, "shutdown").dump());
    client.send_bytes(framed.substr(0, 7));
    client.send_bytes(framed.substr(7));
    REQUIRE(client.response(3));
    client.send(make_notification("exit"));
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK(done.get() == 0);
  }
  SECTION("only one client is served") {
    start_session(client);
    asio::io_context io;
    tcp::socket second(io);
    boost::system::error_code ec;
    second.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), transport.port()), ec);
    CHECK(ec);
    client.close();
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK(done.get() == 1);
  }
  SECTION("a client that disappears mid-request") {
    service.set_mode(fake_service::mode::held);
    start_session(client);
    client.send(inline_request(2));
    client.send(make_request(3, "rwkv/status"));
    REQUIRE(client.response(3));
    client.close();
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK(done.get() == 1);
  }
}

TEST_CASE("over TCP: stop() before any client connects ends the server", "[lsp][tcp]") {
  lsp::tcp_transport transport("127.0.0.1", 0);
  fake_service service;
  auto done = std::async(std::launch::async, [&] { return lsp::run_server(transport, service, quiet_options()); });
  transport.stop();
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  CHECK(done.get() == 1);
}

TEST_CASE("over TCP: stop() while a client is connected ends the server", "[lsp][tcp]") {
  lsp::tcp_transport transport("127.0.0.1", 0);
  fake_service service;
  auto done = std::async(std::launch::async, [&] { return lsp::run_server(transport, service, quiet_options()); });
  tcp_client client(transport.port());
  start_session(client);
  transport.stop();
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  CHECK(done.get() == 1);
}
