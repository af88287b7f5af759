#include "args.hpp"

#include <charconv>
#include <cmath>

namespace rwkv::cli {

args::args(int argc, char** argv, int first, std::set<std::string> options, std::set<std::string> flags) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() < 3 || a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    std::string name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    if (flags.count(name)) {
      if (has_value) throw usage_error(name + " takes no value");
      flags_set_.insert(name);
    } else if (options.count(name)) {
      if (!has_value) {
        if (i + 1 >= argc) throw usage_error(name + " needs a value");
        value = argv[++i];
      }
      values_[name] = value;
    } else {
      throw usage_error("unknown option " + name);
    }
  }
}

std::optional<std::string> args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string args::require(const std::string& name) const {
  auto v = get(name);
  if (!v) throw usage_error("missing " + name);
  return *v;
}

std::string args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

std::int64_t args::get_int(const std::string& name, std::int64_t fallback, std::int64_t lo, std::int64_t hi) const {
  auto v = get(name);
  if (!v) return fallback;
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) throw usage_error(name + " expects an integer, got '" + *v + "'");
  if (out < lo || out > hi)
    throw usage_error(name + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return out;
}

double args::get_double(const std::string& name, double fallback, double lo, double hi) const {
  auto v = get(name);
  if (!v) return fallback;
  std::size_t used = 0;
  double out = 0;
  try {
    out = std::stod(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v->size() || !std::isfinite(out)) throw usage_error(name + " expects a number, got '" + *v + "'");
  if (out < lo || out > hi)
    throw usage_error(name + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return out;
}

std::vector<std::int32_t> parse_token_list(const std::string& text) {
  std::vector<std::int32_t> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    std::int32_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size())
      throw usage_error("--tokens expects comma-separated integers, got '" + item + "'");
    out.push_back(v);
    pos = comma + 1;
  }
  return out;
}

}  // namespace rwkv::cli
