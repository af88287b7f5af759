// rwkv-lsp-fake-server driven over real pipes: the whole stack as an editor runs it.
#include "lsp/framing.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace lsp = rwkv::lsp;

namespace {

const std::string uri = "file:///w/app.js";

// One fake server process with its stdin and stdout on pipes.
class child_server {
 public:
  explicit child_server(const std::vector<std::string>& args) {
    // Writing to a child that has exited must fail with EPIPE, not kill the test.
    std::signal(SIGPIPE, SIG_IGN);
    int in[2], out[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    std::vector<std::string> all = {RWKV_LSP_FAKE_SERVER};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
    REQUIRE(rc == 0);
  }

  ~child_server() {
    close_stdin();
    close_stdout();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void send(const json& message) { write_bytes(lsp::frame_message(message.dump())); }

  void write_bytes(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(to_child_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) return;  // the child is gone; the test checks how it ended
      done += static_cast<std::size_t>(n);
    }
  }

  // The next message from the server that answers `id` (skipping notifications), or nullopt.
  std::optional<json> response(const json& id, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (auto event = reader_.next()) {
        if (event->what != lsp::framing_event::kind::message) continue;
        json m = json::parse(event->text);
        if (!m.contains("method") && m.value("id", json()) == id) return m;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{from_child_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buf[4096];
      ssize_t n = ::read(from_child_, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }

  void close_stdin() {
    if (to_child_ >= 0) ::close(to_child_);
    to_child_ = -1;
  }
  void close_stdout() {
    if (from_child_ >= 0) ::close(from_child_);
    from_child_ = -1;
  }

  // Waits for the child; its exit code, or -1 when it hung (then it is killed) or was killed by a signal.
  int wait(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        FAIL_CHECK("the server did not exit in time");
        return -1;
      }
      std::this_thread::sleep_for(2ms);
    }
    pid_ = -1;
    if (WIFSIGNALED(status)) {
      FAIL_CHECK("the server was killed by signal " << WTERMSIG(status));
      return -1;
    }
    return WEXITSTATUS(status);
  }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  lsp::message_reader reader_;
};

json request(json id, const std::string& method, json params = nullptr) {
  json m{{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

json notification(const std::string& method, json params = nullptr) {
  json m{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

void start_session(child_server& server) {
  server.send(request(1, "initialize", {{"processId", nullptr}, {"capabilities", {{"general", {{"positionEncodings", {"utf-16"}}}}}}}));
  auto init = server.response(1);
  REQUIRE(init);
  REQUIRE(init->contains("result"));
  CHECK((*init)["result"]["serverInfo"]["name"] == "rwkv-lsp-fake-server");
  server.send(notification("initialized", json::object()));
  server.send(notification("textDocument/didOpen",
                           {{"textDocument", {{"uri", uri}, {"languageId", "javascript"}, {"version", 1}, {"text", "log('hel"}}}}));
}

json inline_request(json id) {
  return request(std::move(id), "textDocument/inlineCompletion",
                 {{"textDocument", {{"uri", uri}}}, {"position", {{"line", 0}, {"character", 8}}}, {"context", {{"triggerKind", 1}}}});
}

}  // namespace

TEST_CASE("over pipes: initialize, didOpen, inlineCompletion, shutdown, exit -> 0", "[lsp][subprocess]") {
  child_server server({});
  start_session(server);
  server.send(inline_request(2));
  auto completion = server.response(2);
  REQUIRE(completion);
  CHECK((*completion)["result"]["items"].size() == 3);
  CHECK((*completion)["result"]["items"][0]["insertText"] == "lo world");
  server.send(request(3, "shutdown"));
  REQUIRE(server.response(3));
  server.send(notification("exit"));
  CHECK(server.wait() == 0);
}

TEST_CASE("over pipes: exit without shutdown -> 1", "[lsp][subprocess]") {
  child_server server({});
  start_session(server);
  server.send(notification("exit"));
  CHECK(server.wait() == 1);
}

TEST_CASE("over pipes: the client closes stdin -> clean exit", "[lsp][subprocess]") {
  SECTION("between messages") {
    child_server server({});
    start_session(server);
    server.close_stdin();
    CHECK(server.wait() == 1);
  }
  SECTION("in the middle of a message") {
    child_server server({});
    start_session(server);
    server.write_bytes("Content-Length: 100\r\n\r\n{\"jsonrpc\":");
    server.close_stdin();
    CHECK(server.wait() == 1);
  }
  SECTION("after a huge Content-Length") {
    child_server server({});
    server.write_bytes("Content-Length: 99999999999999\r\n\r\n");
    server.write_bytes(std::string(1 << 20, '{'));
    server.close_stdin();
    CHECK(server.wait() == 1);
  }
}

TEST_CASE("over pipes: a client that disappears mid-request", "[lsp][subprocess]") {
  child_server server({"--fake-mode", "held"});
  start_session(server);
  server.send(inline_request(2));
  server.send(request(3, "rwkv/status"));
  REQUIRE(server.response(3));  // the server is past the completion request, which is held
  server.close_stdout();        // the server's answer to it will hit EPIPE
  server.close_stdin();
  CHECK(server.wait() == 1);
}

TEST_CASE("over pipes: cancellation answers -32800", "[lsp][subprocess]") {
  child_server server({"--fake-mode", "threaded"});
  start_session(server);
  server.send(inline_request("slow"));  // threaded fake with no delay: held until cancelled
  server.send(notification("$/cancelRequest", {{"id", "slow"}}));
  auto r = server.response("slow");
  REQUIRE(r);
  CHECK((*r)["error"]["code"] == -32800);
  server.send(request(3, "shutdown"));
  REQUIRE(server.response(3));
  server.send(notification("exit"));
  CHECK(server.wait() == 0);
}
