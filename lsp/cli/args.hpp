// Command-line parsing for the rwkv-lsp subcommands: `--name value`, `--name=value` and flags.
//
// Every command declares the options it knows; anything else is an error naming the option, so
// typos never pass silently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace rwkv::cli {

// A usage error: printed with the command's usage, exit code 2.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class args {
 public:
  // Parses argv[first..argc). `flags` take no value; `options` take one.
  args(int argc, char** argv, int first, std::set<std::string> options, std::set<std::string> flags);

  bool has(const std::string& name) const { return values_.count(name) || flags_set_.count(name); }
  bool flag(const std::string& name) const { return flags_set_.count(name) > 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string require(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  std::int64_t get_int(const std::string& name, std::int64_t fallback, std::int64_t lo, std::int64_t hi) const;
  double get_double(const std::string& name, double fallback, double lo, double hi) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_set_;
  std::vector<std::string> positional_;
};

// "1,2,3" -> {1,2,3}; throws usage_error on anything else.
std::vector<std::int32_t> parse_token_list(const std::string& text);

}  // namespace rwkv::cli
