// Runs a program to completion and captures what it printed (for command-line tests).
#pragma once

#include <string>
#include <vector>

namespace rwkv::test {

// A child process with its stdin, stdout and (optionally) stderr on pipes; the parent's ends are
// close-on-exec. `err_fd` is -1 when stderr is inherited.
struct spawned_process {
  int pid = -1;
  int in_fd = -1, out_fd = -1, err_fd = -1;
};
// Throws std::runtime_error when the program cannot be started. SIGPIPE is ignored from then on, so
// writing to a child that has exited fails with EPIPE instead of killing the caller.
spawned_process spawn_with_pipes(const std::string& program, const std::vector<std::string>& args,
                                 bool capture_stderr);

struct process_result {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out, err;
};

// Runs `program` with `args`; `input` goes to its stdin. Kills it after `timeout_s` seconds.
process_result run_process(const std::string& program, const std::vector<std::string>& args,
                           const std::string& input = "", int timeout_s = 120);

}  // namespace rwkv::test
