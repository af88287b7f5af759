// A restricted unpickler for the data.pkl of a torch.save state dict, producing a small value tree.
//
// It never executes anything: pickle's "call this global" opcodes (REDUCE, BUILD, BINPERSID) are
// interpreted only for the handful of callables torch.save writes for a state dict
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.<T>Storage persistent ids), and
// each of those is replaced by a plain node (dict, tensor, storage). Any other global or opcode is
// an error that says the file is not a plain state-dict checkpoint. Stack, memo, mark depth and
// node count are bounded, so hostile bytes cannot make it allocate more than a small multiple of
// their own size.
//
// Values live in one arena and refer to each other by index, so self-referencing containers
// (legal in pickle) cannot leak or recurse: nothing here walks the tree.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::engine::formats::pickle {

enum class kind : std::uint8_t {
  none,
  boolean,  // integer holds 0 or 1
  integer,
  real,
  string,  // text (str or bytes-as-str)
  tuple,   // items
  list,    // items
  dict,    // items: key, value, key, value, ...
  global,  // callable: one of the allowed globals
  storage, // items: [global (a storage type), string key, string location, integer numel]
  tensor,  // items: [storage, integer offset, tuple of integer sizes, tuple of integer strides]
};

// The globals a state dict may name. Everything else is rejected when the GLOBAL opcode is read.
enum class global : std::uint8_t {
  ordered_dict,       // collections.OrderedDict
  rebuild_tensor_v2,  // torch._utils._rebuild_tensor_v2
  rebuild_tensor,     // torch._utils._rebuild_tensor (older torch)
  float_storage,
  half_storage,
  bfloat16_storage,
  double_storage,
  long_storage,
  int_storage,
  short_storage,
  char_storage,
  byte_storage,
  bool_storage,
};

// "torch.FloatStorage", "collections.OrderedDict", ... for messages.
const char* global_name(global g) noexcept;
// Bytes per element of a storage type; 0 for globals that are not storages.
std::size_t storage_element_size(global g) noexcept;
const char* kind_name(kind k) noexcept;

struct value {
  kind type = kind::none;
  global callable = global::ordered_dict;  // kind::global only
  std::int64_t integer = 0;
  double real = 0;
  std::string_view text;              // points into the pickle bytes
  std::vector<std::uint32_t> items;   // indices into document::values
};

struct document {
  std::vector<value> values;
  std::uint32_t root = 0;

  const value& at(std::uint32_t index) const { return values[index]; }
};

// Limits on what a state-dict pickle may use. A state dict takes about 8 nodes per tensor, so the
// defaults fit some 130,000 tensors (RWKV checkpoints have a few thousand) while capping what a
// hostile pickle can make us allocate at about 100 MiB.
struct limits {
  std::size_t max_nodes = std::size_t{1} << 20;
  std::size_t max_stack = std::size_t{1} << 20;
  std::size_t max_memo = std::size_t{1} << 20;
  std::size_t max_marks = 256;
};

// Unpickles `bytes`. Throws engine::error: errc::bad_format for corrupt or truncated pickles,
// errc::unsupported for well-formed pickles that use anything beyond a plain state dict (the
// message names the opcode or global). `source` prefixes every message. The document's strings
// point into `bytes`, which must outlive it.
document parse(std::span<const std::uint8_t> bytes, const std::string& source, const limits& lim = {});

}  // namespace rwkv::engine::formats::pickle
