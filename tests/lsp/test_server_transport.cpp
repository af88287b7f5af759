// run_server over real transports in-process: the memory transport with hostile framing, a
// threaded stress of completions and cancellations, and the fd transport over pipes.
#include "lsp/support/server_fixture.hpp"

#include "lsp/fd_transport.hpp"
#include "lsp/serve.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <future>
#include <map>
#include <set>
#include <random>
#include <thread>

using namespace rwkv::test;
using namespace std::chrono_literals;
namespace lsp = rwkv::lsp;

namespace {

const std::string uri = "file:///a.py";

json inline_request(json id, int line, int character, int trigger = 1) {
  return make_request(std::move(id), "textDocument/inlineCompletion",
                      {{"textDocument", {{"uri", uri}}},
                       {"position", position_json(line, character)},
                       {"context", {{"triggerKind", trigger}}}});
}

std::vector<std::string> session_bodies(bool with_exit = true) {
  std::vector<std::string> bodies = {
      make_request(1, "initialize", {{"capabilities", json::object()}}).dump(),
      make_notification("initialized", json::object()).dump(),
      make_notification("textDocument/didOpen",
                        {{"textDocument", {{"uri", uri}, {"languageId", "python"}, {"version", 1}, {"text", "print(\"hel"}}}})
          .dump(),
      inline_request(2, 0, 10).dump(),
      make_request(3, "shutdown").dump(),
  };
  if (with_exit) bodies.push_back(make_notification("exit").dump());
  return bodies;
}

std::string framed(const std::vector<std::string>& bodies) {
  std::string out;
  for (const auto& b : bodies) out += lsp::frame_message(b);
  return out;
}

std::vector<json> parsed(const std::vector<std::string>& bodies) {
  std::vector<json> out;
  for (const auto& b : bodies) out.push_back(json::parse(b));
  return out;
}

std::optional<json> find_response(const std::vector<json>& sent, const json& id) {
  for (const auto& m : sent)
    if (!m.contains("method") && m.value("id", json()) == id) return m;
  return std::nullopt;
}

// Runs the server until the session ends; returns the exit code.
int run_session(lsp::transport& transport, fake_service& service) {
  return lsp::run_server(transport, service, quiet_options());
}

// Runs `action` when the scope ends: ends the input of a server running on another thread so
// that a failed assertion cannot leave the test waiting for it forever.
template <class F>
struct at_scope_exit {
  F action;
  ~at_scope_exit() { action(); }
};
template <class F>
at_scope_exit(F) -> at_scope_exit<F>;

}  // namespace

TEST_CASE("a whole session split at every byte boundary gives the same answers", "[lsp][server][framing]") {
  std::string stream = framed(session_bodies());
  std::vector<std::string> reference;
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    lsp::memory_transport transport;
    fake_service service;
    transport.push_bytes(stream.substr(0, cut));
    transport.push_bytes(stream.substr(cut));
    transport.close_input();
    REQUIRE(run_session(transport, service) == 0);
    if (cut == 0) {
      reference = transport.sent();
      auto r = find_response(parsed(reference), 2);
      REQUIRE(r);
      CHECK((*r)["result"]["items"][0]["insertText"] == "lo world");
    } else {
      REQUIRE(transport.sent() == reference);
    }
  }
}

TEST_CASE("malformed framing is survived and reported", "[lsp][server][framing]") {
  auto bodies = session_bodies();
  lsp::memory_transport transport;
  fake_service service;
  std::string stream = lsp::frame_message(bodies[0]) + "garbage line\r\n" + lsp::frame_message(bodies[1]) +
                       "Content-Length: nope\r\n\r\n{}" + lsp::frame_message(bodies[2]) +
                       lsp::frame_message("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"x\",\"params\":{\"t\":\"\xFF\"}}") +
                       framed({bodies.begin() + 3, bodies.end()});
  transport.push_bytes(stream);
  transport.close_input();
  CHECK(run_session(transport, service) == 0);
  auto sent = parsed(transport.sent());
  CHECK(find_response(sent, 2)->contains("result"));
  int framing_warnings = 0, parse_errors = 0;
  for (auto& m : sent) {
    if (m.value("method", "") == "window/logMessage" &&
        m["params"]["message"].get<std::string>().rfind("transport:", 0) == 0)
      ++framing_warnings;
    if (m.contains("error") && m["error"]["code"] == -32700) ++parse_errors;
  }
  CHECK(framing_warnings == 2);  // the garbage line, the bad Content-Length
  CHECK(parse_errors == 1);      // the invalid UTF-8 body
}

TEST_CASE("a huge Content-Length then EOF ends cleanly without allocating", "[lsp][server][framing]") {
  lsp::memory_transport transport;
  fake_service service;
  transport.push_message(session_bodies()[0]);
  transport.push_bytes("Content-Length: 9999999999999\r\n\r\n{\"jsonrpc\":\"2.0\"");
  transport.push_bytes(std::string(1 << 20, ' '));
  transport.close_input();
  CHECK(run_session(transport, service) == 1);  // no shutdown
  CHECK(service.shutdown_calls() == 1);
}

TEST_CASE("a short body then EOF ends with exit code 1", "[lsp][server][framing]") {
  lsp::memory_transport transport;
  fake_service service;
  auto bodies = session_bodies();
  transport.push_bytes(framed({bodies[0], bodies[1], bodies[2]}));
  std::string last = lsp::frame_message(bodies[3]);
  transport.push_bytes(last.substr(0, last.size() - 5));
  transport.close_input();
  CHECK(run_session(transport, service) == 1);
  CHECK(service.requests().empty());
}

TEST_CASE("EOF after shutdown without exit still ends with exit code 0", "[lsp][server][lifecycle]") {
  lsp::memory_transport transport;
  fake_service service;
  transport.push_bytes(framed(session_bodies(false)));
  transport.close_input();
  CHECK(run_session(transport, service) == 0);
}

TEST_CASE("a client that disappears mid-request: the request is answered, the server exits", "[lsp][server][cancel]") {
  lsp::memory_transport transport;
  fake_service service(fake_service::mode::held);
  auto bodies = session_bodies();
  transport.push_bytes(framed({bodies[0], bodies[1], bodies[2], bodies[3]}));
  transport.close_input();
  CHECK(run_session(transport, service) == 1);
  auto r = find_response(parsed(transport.sent()), 2);
  REQUIRE(r);
  CHECK((*r)["error"]["code"] == -32800);
}

TEST_CASE("concurrent completions and cancellations are each answered exactly once", "[lsp][server][threads]") {
  lsp::memory_transport transport;
  fake_service service(fake_service::mode::threaded);
  service.set_delay(2ms);
  auto done = std::async(std::launch::async, [&] { return run_session(transport, service); });
  at_scope_exit guard{[&] { transport.close_input(); }};

  transport.push_message(make_request("init", "initialize", {{"capabilities", json::object()}}).dump());
  transport.push_message(make_notification("textDocument/didOpen",
                                           {{"textDocument", {{"uri", uri}, {"languageId", "python"}, {"version", 1}, {"text", "x = 1\n"}}}})
                             .dump());
  std::mt19937 rng(5);
  constexpr int n = 200;
  for (int i = 0; i < n; ++i) {
    transport.push_message(inline_request(i, 0, static_cast<int>(rng() % 6), 1 + static_cast<int>(rng() % 2)).dump());
    if (rng() % 2) transport.push_message(make_notification("$/cancelRequest", {{"id", static_cast<int>(rng() % (i + 1))}}).dump());
    if (rng() % 10 == 0)  // edits race with completions
      transport.push_message(make_notification("textDocument/didChange",
                                               {{"textDocument", {{"uri", uri}, {"version", i + 2}}},
                                                {"contentChanges", {{{"range", range_json(0, 0, 0, 0)}, {"text", "#"}}}}})
                                 .dump());
  }
  // Wait until every request is answered, then shut down.
  auto answered = [&] {
    std::set<int> ids;
    for (auto& m : parsed(transport.sent()))
      if (!m.contains("method") && m["id"].is_number_integer()) ids.insert(m["id"].get<int>());
    return ids.size();
  };
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (answered() < static_cast<std::size_t>(n) && std::chrono::steady_clock::now() < deadline)
    transport.wait_for_sent(transport.sent_count() + 1, 100ms);
  transport.push_message(make_request("bye", "shutdown").dump());
  transport.push_message(make_notification("exit").dump());
  REQUIRE(done.wait_for(20s) == std::future_status::ready);
  CHECK(done.get() == 0);

  std::map<int, int> answers;
  int cancelled = 0;
  for (auto& m : parsed(transport.sent())) {
    if (m.contains("method") || !m["id"].is_number_integer()) continue;
    ++answers[m["id"].get<int>()];
    if (m.contains("error")) {
      CHECK(m["error"]["code"] == -32800);
      ++cancelled;
    }
  }
  CHECK(answers.size() == static_cast<std::size_t>(n));
  for (auto& [id, count] : answers) CHECK(count == 1);
  CHECK(service.edits_valid());
}

// ---- The fd transport over pipes, in-process ---------------------------------------------------

namespace {

struct pipe_pair {
  int fds[2] = {-1, -1};
  pipe_pair() { REQUIRE(::pipe2(fds, O_CLOEXEC) == 0); }
  ~pipe_pair() {
    close_read();
    close_write();
  }
  int read_end() const { return fds[0]; }
  int write_end() const { return fds[1]; }
  void close_read() {
    if (fds[0] >= 0) ::close(fds[0]);
    fds[0] = -1;
  }
  void close_write() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
};

void write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    REQUIRE(n > 0);
    done += static_cast<std::size_t>(n);
  }
}

// Reads messages from `fd` until one has `id`, or the timeout.
std::optional<json> read_until_response(int fd, lsp::message_reader& reader, const json& id,
                                        std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (auto event = reader.next()) {
      if (event->what != lsp::framing_event::kind::message) continue;
      json m = json::parse(event->text);
      if (!m.contains("method") && m.value("id", json()) == id) return m;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

}  // namespace

TEST_CASE("the fd transport serves a session over pipes", "[lsp][fd_transport]") {
  pipe_pair to_server, from_server;
  fake_service service;
  lsp::fd_transport transport(to_server.read_end(), from_server.write_end());
  auto done = std::async(std::launch::async, [&] { return run_session(transport, service); });
  at_scope_exit guard{[&] { to_server.close_write(); }};
  lsp::message_reader reader;
  auto bodies = session_bodies();
  write_all(to_server.write_end(), framed({bodies[0], bodies[1], bodies[2], bodies[3]}));
  auto r = read_until_response(from_server.read_end(), reader, 2);
  REQUIRE(r);
  CHECK((*r)["result"]["items"][0]["insertText"] == "lo world");

  SECTION("shutdown and exit: code 0") {
    write_all(to_server.write_end(), framed({bodies[4], bodies[5]}));
    REQUIRE(read_until_response(from_server.read_end(), reader, 3));
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK(done.get() == 0);
  }
  SECTION("the client closes its end: code 1") {
    to_server.close_write();
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK(done.get() == 1);
  }
  SECTION("stop() from another thread ends the read") {
    transport.stop();
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK(done.get() == 1);
  }
}

TEST_CASE("the fd transport survives a client that stopped reading (EPIPE, no SIGPIPE)", "[lsp][fd_transport]") {
  pipe_pair to_server, from_server;
  fake_service service(fake_service::mode::threaded);
  service.set_delay(1ms);
  lsp::fd_transport transport(to_server.read_end(), from_server.write_end());
  auto done = std::async(std::launch::async, [&] { return run_session(transport, service); });
  at_scope_exit guard{[&] { to_server.close_write(); }};
  from_server.close_read();  // every write now fails with EPIPE
  auto bodies = session_bodies();
  write_all(to_server.write_end(), framed({bodies[0], bodies[1], bodies[2], bodies[3]}));
  to_server.close_write();
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  CHECK(done.get() == 1);
}
