#include "lsp/support/child_server.hpp"

#include "support/run_process.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace rwkv::test {

using json = nlohmann::json;

child_server::child_server(const std::string& program, const std::vector<std::string>& args) {
  auto child = spawn_with_pipes(program, args, false);  // stderr inherited: the server's log shows in test output
  pid_ = child.pid;
  to_child_ = child.in_fd;
  from_child_ = child.out_fd;
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
