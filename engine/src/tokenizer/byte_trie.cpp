// Building the byte trie from sorted entries, so that each node's children come out consecutive.
#include "tokenizer/byte_trie.hpp"

#include <algorithm>

namespace rwkv::engine::tokenizers {

byte_trie::byte_trie(std::span<const entry> entries) {
  std::vector<entry> sorted(entries.begin(), entries.end());
  // Stable, so that among equal byte strings the later entry stays last and wins below.
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const entry& a, const entry& b) { return a.bytes < b.bytes; });

  nodes_.emplace_back();
  labels_.push_back(0);
  // Each work item: a node and the sorted entries [lo, hi) whose first `depth` bytes lead to it.
  // Depth-first with an explicit stack; a node's children are all appended before any grandchild.
  struct work {
    std::uint32_t node;
    std::size_t lo, hi, depth;
  };
  std::vector<work> stack{{0, 0, sorted.size(), 0}};
  while (!stack.empty()) {
    auto [index, lo, hi, depth] = stack.back();
    stack.pop_back();
    while (lo < hi && sorted[lo].bytes.size() == depth) {  // entries that end at this node
      nodes_[index].id = sorted[lo].id;
      max_length_ = std::max(max_length_, depth);
      ++lo;
    }
    const auto first_child = static_cast<std::uint32_t>(nodes_.size());
    nodes_[index].first_child = first_child;
    for (std::size_t group = lo; group < hi;) {
      const auto byte = static_cast<std::uint8_t>(sorted[group].bytes[depth]);
      std::size_t end = group + 1;
      while (end < hi && static_cast<std::uint8_t>(sorted[end].bytes[depth]) == byte) ++end;
      stack.push_back({static_cast<std::uint32_t>(nodes_.size()), group, end, depth + 1});
      nodes_.emplace_back();
      labels_.push_back(byte);
      group = end;
    }
    nodes_[index].child_count = static_cast<std::uint16_t>(nodes_.size() - first_child);
  }

  for (trie_node& n : nodes_) {
    if (n.child_count <= scan_limit || tables_.size() / 256 >= no_table) continue;
    n.table = static_cast<std::uint16_t>(tables_.size() / 256);
    tables_.resize(tables_.size() + 256, 0);
    std::uint32_t* table = tables_.data() + std::size_t{n.table} * 256;
    for (std::uint32_t k = 0; k < n.child_count; ++k) table[labels_[n.first_child + k]] = n.first_child + k;
  }
}

std::int32_t byte_trie::find(std::string_view bytes) const noexcept {
  if (nodes_.empty() || bytes.empty()) return -1;
  std::uint32_t node = 0;
  for (char c : bytes) {
    node = child(node, static_cast<std::uint8_t>(c));
    if (node == 0) return -1;
  }
  return nodes_[node].id;
}

}  // namespace rwkv::engine::tokenizers
