// Runs a program to completion and captures what it printed (for command-line tests).
#pragma once

#include <string>
#include <vector>

namespace rwkv::test {

struct process_result {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out, err;
};

// Runs `program` with `args`; `input` goes to its stdin. Kills it after `timeout_s` seconds.
process_result run_process(const std::string& program, const std::vector<std::string>& args,
                           const std::string& input = "", int timeout_s = 120);

}  // namespace rwkv::test
