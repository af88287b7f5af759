#include "lsp/support/child_server.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

extern char** environ;

namespace rwkv::test {

using json = nlohmann::json;

child_server::child_server(const std::string& program, const std::vector<std::string>& args) {
  // Writing to a child that has exited must fail with EPIPE, not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
  int in[2], out[2];
  REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::vector<std::string> all = {program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  pid_ = pid;
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  to_child_ = in[1];
  from_child_ = out[0];
  REQUIRE(rc == 0);
}

child_server::~child_server() {
  close_stdin();
  close_stdout();
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void child_server::send(const json& message) { write_bytes(lsp::frame_message(message.dump())); }

void child_server::write_bytes(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(to_child_, bytes.data() + done, bytes.size() - done);
    if (n <= 0) return;  // the child is gone; the test checks how it ended
    done += static_cast<std::size_t>(n);
  }
}

std::optional<json> child_server::response(const json& id, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (auto event = reader_.next()) {
      if (event->what != lsp::framing_event::kind::message) continue;
      json m = json::parse(event->text);
      if (!m.contains("method") && m.value("id", json()) == id) return m;
      received_.push_back(std::move(m));
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

void child_server::close_stdin() {
  if (to_child_ >= 0) ::close(to_child_);
  to_child_ = -1;
}

void child_server::close_stdout() {
  if (from_child_ >= 0) ::close(from_child_);
  from_child_ = -1;
}

int child_server::wait(std::chrono::milliseconds timeout) {
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

json rpc_request(json id, const std::string& method, json params) {
  json m{{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

json rpc_notification(const std::string& method, json params) {
  json m{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

}  // namespace rwkv::test
