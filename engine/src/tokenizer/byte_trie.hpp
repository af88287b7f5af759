// A static trie over byte strings that answers "the longest entry that is a prefix of this text",
// the one query of greedy longest-match tokenization.
//
// Layout (why it is fast): nodes live in one array, and the children of a node are consecutive
// nodes in byte order, so a node is {token, first child, child count} and the byte leading into
// node i is labels_[i]. Finding a child scans at most a few contiguous labels; nodes with many
// children (the root, common prefixes such as a space) get a 256-entry table instead. Immutable
// after construction; longest_match is safe from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace rwkv::engine::tokenizers {

class byte_trie {
 public:
  struct entry {
    std::string_view bytes;  // non-empty
    std::int32_t id;         // >= 0
  };
  struct match {
    std::size_t length;  // 0 when no entry is a prefix of the text
    std::int32_t id;     // -1 when length is 0
  };

  // Builds the trie. When two entries have the same bytes the later one wins (as in BlinkDL's
  // TRIE_TOKENIZER, whose token -> id map keeps the last id written).
  explicit byte_trie(std::span<const entry> entries);

  // The longest entry that is a prefix of text[0, size), reading at most max_length() bytes.
  match longest_match(const std::uint8_t* text, std::size_t size) const noexcept {
    match best{0, -1};
    std::uint32_t node = 0;
    for (std::size_t i = 0; i < size; ++i) {
      node = child(node, text[i]);
      if (node == 0) break;
      if (const std::int32_t id = nodes_[node].id; id >= 0) best = {i + 1, id};
    }
    return best;
  }
  // The id of exactly these bytes, or -1.
  std::int32_t find(std::string_view bytes) const noexcept;
  // The length of the longest entry.
  std::size_t max_length() const noexcept { return max_length_; }
  std::size_t node_count() const noexcept { return nodes_.size(); }

 private:
  struct trie_node {
    std::int32_t id = -1;              // the entry that ends here, or -1
    std::uint32_t first_child = 0;     // children are nodes [first_child, first_child + child_count)
    std::uint16_t child_count = 0;
    std::uint16_t table = no_table;    // index into tables_ (256 entries each) or no_table
  };
  static constexpr std::uint16_t no_table = 0xFFFF;
  // Nodes with more children than this get a table (about 500 of the World vocabulary's 116k).
  static constexpr std::uint16_t scan_limit = 16;

  // The child of `parent` reached by byte `b`, or 0 (the root is nobody's child).
  std::uint32_t child(std::uint32_t parent, std::uint8_t b) const noexcept {
    const trie_node& n = nodes_[parent];
    if (n.table != no_table) return tables_[std::size_t{n.table} * 256 + b];
    const std::uint8_t* labels = labels_.data() + n.first_child;
    for (std::uint16_t k = 0; k < n.child_count; ++k)
      if (labels[k] == b) return n.first_child + k;
    return 0;
  }

  std::vector<trie_node> nodes_;
  std::vector<std::uint8_t> labels_;   // labels_[i]: the byte on the edge into node i
  std::vector<std::uint32_t> tables_;  // 256 child indices per table, 0 for none
  std::size_t max_length_ = 0;
};

}  // namespace rwkv::engine::tokenizers
