// World vocabulary file reader: splits lines, checks the numbers, parses each literal.
#include "tokenizer/world_vocab.hpp"

#include "engine/error.hpp"
#include "tokenizer/python_literal.hpp"

#include <charconv>

namespace rwkv::engine::tokenizers {

namespace {

// A decimal number of at most 9 digits (no sign, no spaces); -1 when `text` is not one.
std::int64_t parse_decimal(std::string_view text) noexcept {
  if (text.empty() || text.size() > 9) return -1;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.front() == '-' || text.front() == '+')
    return -1;
  return value;
}

std::string shown(std::string_view text) { return "`" + excerpt(text) + "`"; }

}  // namespace

std::vector<vocab_entry> parse_world_vocab(std::string_view contents, std::string_view source_name) {
  std::vector<vocab_entry> entries;
  entries.reserve(65536);
  std::vector<std::int32_t> line_of_id;  // where each id was defined (0: not yet), for duplicates
  if (contents.starts_with("\xEF\xBB\xBF")) contents.remove_prefix(3);

  std::size_t line_number = 0;
  while (!contents.empty()) {
    const std::size_t eol = contents.find('\n');
    std::string_view line = contents.substr(0, eol);
    contents.remove_prefix(eol == std::string_view::npos ? contents.size() : eol + 1);
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;

    auto fail = [&](const std::string& why) -> error {
      return error(errc::bad_format, std::string(source_name) + ":" + std::to_string(line_number) + ": " + why +
                                         " (expected `id literal byte_len`, e.g. `261 '\\n\\n' 2`)");
    };
    const std::size_t first_space = line.find(' ');
    const std::size_t last_space = line.rfind(' ');
    if (first_space == std::string_view::npos || first_space == last_space)
      throw fail("missing fields in " + shown(line));

    const std::int64_t id = parse_decimal(line.substr(0, first_space));
    if (id < 0) throw fail("the id " + shown(line.substr(0, first_space)) + " is not a number");
    if (id == 0) throw fail("id 0 is reserved for end-of-text and cannot have a literal");
    if (id > max_vocab_id) throw fail("id " + std::to_string(id) + " is too large (at most " +
                                      std::to_string(max_vocab_id) + ")");
    const auto index = static_cast<std::size_t>(id);
    if (index >= line_of_id.size()) line_of_id.resize(std::max(index + 1, 2 * line_of_id.size()), 0);
    if (line_of_id[index] != 0)
      throw fail("duplicate id " + std::to_string(id) + " (first defined on line " +
                 std::to_string(line_of_id[index]) + ")");
    line_of_id[index] = static_cast<std::int32_t>(line_number);

    const std::string_view length_text = line.substr(last_space + 1);
    const std::int64_t byte_len = parse_decimal(length_text);
    if (byte_len < 0) throw fail("byte_len " + shown(length_text) + " is not a number");

    const std::string_view literal = line.substr(first_space + 1, last_space - first_space - 1);
    literal_result parsed = parse_python_literal(literal);
    if (!parsed.error.empty()) throw fail(parsed.error + " in " + shown(literal));
    if (parsed.bytes.empty()) throw fail("empty token " + shown(literal));
    if (static_cast<std::int64_t>(parsed.bytes.size()) != byte_len)
      throw fail("the literal " + shown(literal) + " is " + std::to_string(parsed.bytes.size()) +
                 " bytes but byte_len says " + std::to_string(byte_len));
    entries.push_back({static_cast<std::int32_t>(id), std::move(parsed.bytes)});
  }
  return entries;
}

}  // namespace rwkv::engine::tokenizers
