// The restricted unpickler. Opcode semantics follow CPython's Lib/pickle.py and the layout
// documentation in Lib/pickletools.py; torch.save's use of them is in torch/serialization.py
// (_save: persistent ids) and torch/_tensor.py (__reduce_ex__ -> _rebuild_tensor_v2).
#include "formats/pickle.hpp"

#include "engine/error.hpp"

#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace rwkv::engine::formats::pickle {

namespace {

struct opcode_info {
  std::uint8_t code;
  const char* name;
};

// Every standard opcode by name, so a rejection can say what the file tried to do.
constexpr opcode_info opcode_names[] = {
    {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"},
    {'I', "INT"}, {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"}, {'N', "NONE"},
    {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"}, {'T', "BINSTRING"},
    {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"},
    {'c', "GLOBAL"}, {'d', "DICT"}, {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"},
    {'i', "INST"}, {'j', "LONG_BINGET"}, {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"},
    {'q', "BINPUT"}, {'r', "LONG_BINPUT"}, {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"},
    {'u', "SETITEMS"}, {'G', "BINFLOAT"}, {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"},
    {0x83, "EXT2"}, {0x84, "EXT4"}, {0x85, "TUPLE1"}, {0x86, "TUPLE2"}, {0x87, "TUPLE3"},
    {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"}, {'B', "BINBYTES"},
    {'C', "SHORT_BINBYTES"}, {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"},
    {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"},
    {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"}, {0x96, "BYTEARRAY8"},
    {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
};

const char* opcode_name(std::uint8_t code) {
  for (const auto& op : opcode_names)
    if (op.code == code) return op.name;
  return nullptr;
}

struct global_info {
  global id;
  std::string_view module, name;
};

constexpr global_info allowed_globals[] = {
    {global::ordered_dict, "collections", "OrderedDict"},
    {global::rebuild_tensor_v2, "torch._utils", "_rebuild_tensor_v2"},
    {global::rebuild_tensor, "torch._utils", "_rebuild_tensor"},
    {global::float_storage, "torch", "FloatStorage"},
    {global::half_storage, "torch", "HalfStorage"},
    {global::bfloat16_storage, "torch", "BFloat16Storage"},
    {global::double_storage, "torch", "DoubleStorage"},
    {global::long_storage, "torch", "LongStorage"},
    {global::int_storage, "torch", "IntStorage"},
    {global::short_storage, "torch", "ShortStorage"},
    {global::char_storage, "torch", "CharStorage"},
    {global::byte_storage, "torch", "ByteStorage"},
    {global::bool_storage, "torch", "BoolStorage"},
};

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 100)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return s.size() > 100 ? out + "..." : out;
}

class unpickler {
 public:
  unpickler(std::span<const std::uint8_t> bytes, const std::string& source, const limits& lim)
      : bytes_(bytes), source_(source), limits_(lim) {}

  document run() {
    while (pos_ < bytes_.size()) {
      op_offset_ = pos_;
      op_ = bytes_[pos_++];
      if (op_ == '.') {
        doc_.root = pop();
        return std::move(doc_);
      }
      step();
    }
    corrupt("ends without a STOP opcode (truncated)");
  }

 private:
  [[noreturn]] void corrupt(const std::string& what) const {
    throw error(errc::bad_format, source_ + ": data.pkl " + what + " at offset " + std::to_string(op_offset_));
  }
  [[noreturn]] void refuse(const std::string& what) const {
    throw error(errc::unsupported,
                source_ + ": data.pkl " + what + " at offset " + std::to_string(op_offset_) +
                    "; this is not a plain state-dict checkpoint. rwkv-lsp never runs pickled code; re-save the "
                    "weights with torch.save(model.state_dict(), path)");
  }

  // --- reading operands -----------------------------------------------------------------------
  const std::uint8_t* take(std::uint64_t n) {
    if (n > bytes_.size() - pos_) corrupt("is truncated inside an operand of " + std::string(opcode_name(op_)));
    const std::uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::uint64_t little(std::size_t n) {
    const std::uint8_t* p = take(n);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return v;
  }
  std::string_view text(std::uint64_t n) {
    const std::uint8_t* p = take(n);
    return {reinterpret_cast<const char*>(p), n};
  }
  std::string_view line() {
    std::size_t end = pos_;
    while (end < bytes_.size() && bytes_[end] != '\n' && end - pos_ < 256) ++end;
    if (end >= bytes_.size() || bytes_[end] != '\n') corrupt("has an unterminated or overlong GLOBAL name");
    std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), end - pos_);
    pos_ = end + 1;
    return s;
  }

  // --- the stack --------------------------------------------------------------------------------
  std::uint32_t node(kind k) {
    if (doc_.values.size() >= limits_.max_nodes)
      refuse("holds more than " + std::to_string(limits_.max_nodes) + " objects");
    doc_.values.push_back(value{});
    doc_.values.back().type = k;
    return static_cast<std::uint32_t>(doc_.values.size() - 1);
  }
  void push(std::uint32_t v) {
    if (stack_.size() >= limits_.max_stack) refuse("stacks more than " + std::to_string(limits_.max_stack) + " objects");
    stack_.push_back(v);
  }
  std::size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }
  std::uint32_t top() const {
    if (stack_.size() <= fence()) corrupt("pops an empty stack (" + std::string(opcode_name(op_)) + ")");
    return stack_.back();
  }
  std::uint32_t pop() {
    std::uint32_t v = top();
    stack_.pop_back();
    return v;
  }
  std::vector<std::uint32_t> pop_mark() {
    if (marks_.empty()) corrupt("has " + std::string(opcode_name(op_)) + " without a MARK");
    std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<std::uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  value& at(std::uint32_t i) { return doc_.values[i]; }

  void push_integer(std::int64_t v, kind k = kind::integer) {
    // Small integers, booleans, None and () are immutable and make up most of a state dict's
    // pickle (sizes, strides, offsets, flags), so one node each serves every occurrence. That
    // keeps a real checkpoint well inside max_nodes: about 8 nodes per tensor.
    std::uint32_t* slot = nullptr;
    if (k == kind::boolean)
      slot = &booleans_[v != 0];
    else if (v >= 0 && v < static_cast<std::int64_t>(small_ints_.size()))
      slot = &small_ints_[static_cast<std::size_t>(v)];
    if (slot && *slot != no_node) return push(*slot);
    std::uint32_t n = node(k);
    at(n).integer = v;
    if (slot) *slot = n;
    push(n);
  }
  void push_shared(std::uint32_t& slot, kind k) {
    if (slot == no_node) slot = node(k);
    push(slot);
  }
  void push_text(std::string_view s) {
    std::uint32_t n = node(kind::string);
    at(n).text = s;
    push(n);
  }
  void push_container(kind k, std::vector<std::uint32_t> items) {
    std::uint32_t n = node(k);
    at(n).items = std::move(items);
    push(n);
  }
  std::uint32_t top_of(kind k, const char* what) {
    std::uint32_t t = top();
    if (at(t).type != k)
      refuse("applies " + std::string(opcode_name(op_)) + " to a " + kind_name(at(t).type) + " instead of a " + what);
    return t;
  }
  void memo_put(std::uint64_t index) {
    std::uint32_t v = top();
    if (!memo_.count(index) && memo_.size() >= limits_.max_memo)
      refuse("memoizes more than " + std::to_string(limits_.max_memo) + " objects");
    memo_[index] = v;
  }
  void memo_get(std::uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) corrupt("refers to memo slot " + std::to_string(index) + " that was never stored");
    push(it->second);
  }

  void step();
  void push_global(std::string_view module, std::string_view name);
  void reduce();
  void persistent_id();

  std::span<const std::uint8_t> bytes_;
  const std::string& source_;
  limits limits_;
  std::size_t pos_ = 0;
  std::size_t op_offset_ = 0;
  std::uint8_t op_ = 0;
  document doc_;
  std::vector<std::uint32_t> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, std::uint32_t> memo_;
  static constexpr std::uint32_t no_node = ~std::uint32_t{0};
  std::array<std::uint32_t, 256> small_ints_ = filled<256>();
  std::array<std::uint32_t, 2> booleans_ = filled<2>();
  std::uint32_t none_ = no_node;
  std::uint32_t empty_tuple_ = no_node;

  template <std::size_t n>
  static std::array<std::uint32_t, n> filled() {
    std::array<std::uint32_t, n> a;
    a.fill(no_node);
    return a;
  }
};

void unpickler::step() {
  switch (op_) {
    case 0x80:  // PROTO
      if (std::uint64_t v = little(1); v > 5) refuse("uses pickle protocol " + std::to_string(v));
      return;
    case 0x95:  // FRAME: a length prefix for buffered reading; the bytes are all here already
      if (little(8) > bytes_.size() - pos_) corrupt("has a FRAME longer than the data");
      return;
    case '(':
      if (marks_.size() >= limits_.max_marks) refuse("nests more than " + std::to_string(limits_.max_marks) + " levels");
      marks_.push_back(stack_.size());
      return;
    case 'N': push_shared(none_, kind::none); return;
    case 0x88: push_integer(1, kind::boolean); return;
    case 0x89: push_integer(0, kind::boolean); return;
    case 'J': push_integer(static_cast<std::int32_t>(little(4))); return;
    case 'K': push_integer(static_cast<std::int64_t>(little(1))); return;
    case 'M': push_integer(static_cast<std::int64_t>(little(2))); return;
    case 0x8a: {  // LONG1: little-endian two's complement of n bytes
      std::uint64_t n = little(1);
      if (n > 8) refuse("holds an integer wider than 64 bits");
      std::uint64_t v = little(n);
      if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~std::uint64_t{0} << (8 * n);
      push_integer(static_cast<std::int64_t>(v));
      return;
    }
    case 'G': {  // BINFLOAT: big-endian IEEE double
      const std::uint8_t* p = take(8);
      std::uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
      std::uint32_t n = node(kind::real);
      at(n).real = std::bit_cast<double>(bits);
      push(n);
      return;
    }
    case 'X': push_text(text(little(4))); return;
    case 0x8c: push_text(text(little(1))); return;
    case 0x8d: push_text(text(little(8))); return;
    case 'U': push_text(text(little(1))); return;
    case 'T': {
      std::int64_t n = static_cast<std::int32_t>(little(4));
      if (n < 0) corrupt("has a BINSTRING of negative length");
      push_text(text(static_cast<std::uint64_t>(n)));
      return;
    }
    case '}': push_container(kind::dict, {}); return;
    case ']': push_container(kind::list, {}); return;
    case ')': push_shared(empty_tuple_, kind::tuple); return;
    case 't': push_container(kind::tuple, pop_mark()); return;
    case 0x85:
    case 0x86:
    case 0x87: {
      std::vector<std::uint32_t> items(static_cast<std::size_t>(op_ - 0x84));
      for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
      push_container(kind::tuple, std::move(items));
      return;
    }
    case 'a': {
      std::uint32_t v = pop();
      at(top_of(kind::list, "list")).items.push_back(v);
      return;
    }
    case 'e': {
      std::vector<std::uint32_t> items = pop_mark();
      auto& list = at(top_of(kind::list, "list")).items;
      list.insert(list.end(), items.begin(), items.end());
      return;
    }
    case 's': {
      std::uint32_t v = pop(), k = pop();
      auto& dict = at(top_of(kind::dict, "dict")).items;
      dict.push_back(k);
      dict.push_back(v);
      return;
    }
    case 'u': {
      std::vector<std::uint32_t> items = pop_mark();
      if (items.size() % 2) corrupt("has SETITEMS with an odd number of items");
      auto& dict = at(top_of(kind::dict, "dict")).items;
      dict.insert(dict.end(), items.begin(), items.end());
      return;
    }
    case 'q': memo_put(little(1)); return;
    case 'r': memo_put(little(4)); return;
    case 0x94: memo_put(memo_.size()); return;
    case 'h': memo_get(little(1)); return;
    case 'j': memo_get(little(4)); return;
    case 'c': {
      std::string_view module = line();
      push_global(module, line());
      return;
    }
    case 0x93: {  // STACK_GLOBAL (protocol 4): module and name were pushed as strings
      std::uint32_t name = pop(), module = pop();
      if (at(name).type != kind::string || at(module).type != kind::string)
        corrupt("has STACK_GLOBAL on something other than two strings");
      push_global(at(module).text, at(name).text);
      return;
    }
    case 'R': reduce(); return;
    case 'b': {
      // OrderedDict.__reduce__ hands its instance attributes (a state dict's `_metadata`: layer
      // versions) to BUILD. They do not affect the weights, so the state is dropped unread.
      std::uint32_t state = pop();
      if (at(state).type != kind::dict && at(state).type != kind::none)
        refuse("uses BUILD with a " + std::string(kind_name(at(state).type)) + " state");
      top_of(kind::dict, "dict");
      return;
    }
    case 'Q': persistent_id(); return;
    default: break;
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", op_);
  if (const char* name = opcode_name(op_)) refuse("uses pickle opcode " + std::string(name) + " (" + hex + ")");
  corrupt("has an unknown pickle opcode " + std::string(hex) + " (corrupt file)");
}

void unpickler::push_global(std::string_view module, std::string_view name) {
  for (const auto& g : allowed_globals) {
    if (g.module == module && g.name == name) {
      std::uint32_t n = node(kind::global);
      at(n).callable = g.id;
      push(n);
      return;
    }
  }
  refuse("refers to the Python global '" + printable(module) + "." + printable(name) + "'");
}

void unpickler::reduce() {
  std::uint32_t args = pop(), callable = pop();
  if (at(callable).type != kind::global) refuse("calls a " + std::string(kind_name(at(callable).type)));
  if (at(args).type != kind::tuple) corrupt("calls a global with arguments that are not a tuple");
  const global g = at(callable).callable;
  const std::vector<std::uint32_t> a = at(args).items;  // copy: node() below may reallocate values

  if (g == global::ordered_dict) {
    if (!a.empty()) refuse("builds an OrderedDict from arguments");
    push_container(kind::dict, {});
    return;
  }
  if (g != global::rebuild_tensor_v2 && g != global::rebuild_tensor)
    refuse("calls '" + std::string(global_name(g)) + "' as a function");

  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata]);
  // _rebuild_tensor(storage, offset, size, stride). Gradient flags, hooks (an empty OrderedDict)
  // and metadata do not concern inference and are dropped.
  const std::size_t expected = g == global::rebuild_tensor ? 4 : 6;
  if (a.size() != expected && !(g == global::rebuild_tensor_v2 && a.size() == 7))
    refuse("calls " + std::string(global_name(g)) + " with " + std::to_string(a.size()) + " arguments");
  auto is_int_tuple = [&](std::uint32_t t) {
    if (at(t).type != kind::tuple) return false;
    for (std::uint32_t i : at(t).items)
      if (at(i).type != kind::integer) return false;
    return true;
  };
  if (at(a[0]).type != kind::storage || at(a[1]).type != kind::integer || !is_int_tuple(a[2]) ||
      !is_int_tuple(a[3]) || at(a[2]).items.size() != at(a[3]).items.size())
    refuse("calls " + std::string(global_name(g)) + " with arguments other than (storage, offset, sizes, strides)");
  push_container(kind::tensor, {a[0], a[1], a[2], a[3]});
}

void unpickler::persistent_id() {
  // torch.save: ('storage', torch.<T>Storage, key, location, numel); the storage's bytes are the
  // archive entry <archive>/data/<key>.
  std::uint32_t pid = pop();
  const std::vector<std::uint32_t> t = at(pid).type == kind::tuple ? at(pid).items : std::vector<std::uint32_t>{};
  if (t.size() != 5 || at(t[0]).type != kind::string || at(t[0]).text != "storage")
    refuse("has a persistent id other than a ('storage', type, key, location, size) tuple");
  if (at(t[1]).type != kind::global || storage_element_size(at(t[1]).callable) == 0)
    refuse("has a persistent storage id without a torch storage type");
  if (at(t[2]).type != kind::string || at(t[3]).type != kind::string || at(t[4]).type != kind::integer ||
      at(t[4]).integer < 0)
    corrupt("has a malformed persistent storage id");
  push_container(kind::storage, {t[1], t[2], t[3], t[4]});
}

}  // namespace

const char* global_name(global g) noexcept {
  switch (g) {
    case global::ordered_dict: return "collections.OrderedDict";
    case global::rebuild_tensor_v2: return "torch._utils._rebuild_tensor_v2";
    case global::rebuild_tensor: return "torch._utils._rebuild_tensor";
    case global::float_storage: return "torch.FloatStorage";
    case global::half_storage: return "torch.HalfStorage";
    case global::bfloat16_storage: return "torch.BFloat16Storage";
    case global::double_storage: return "torch.DoubleStorage";
    case global::long_storage: return "torch.LongStorage";
    case global::int_storage: return "torch.IntStorage";
    case global::short_storage: return "torch.ShortStorage";
    case global::char_storage: return "torch.CharStorage";
    case global::byte_storage: return "torch.ByteStorage";
    case global::bool_storage: return "torch.BoolStorage";
  }
  return "?";
}

std::size_t storage_element_size(global g) noexcept {
  switch (g) {
    case global::double_storage:
    case global::long_storage: return 8;
    case global::float_storage:
    case global::int_storage: return 4;
    case global::half_storage:
    case global::bfloat16_storage:
    case global::short_storage: return 2;
    case global::char_storage:
    case global::byte_storage:
    case global::bool_storage: return 1;
    default: return 0;
  }
}

const char* kind_name(kind k) noexcept {
  switch (k) {
    case kind::none: return "None";
    case kind::boolean: return "bool";
    case kind::integer: return "int";
    case kind::real: return "float";
    case kind::string: return "str";
    case kind::tuple: return "tuple";
    case kind::list: return "list";
    case kind::dict: return "dict";
    case kind::global: return "global";
    case kind::storage: return "storage";
    case kind::tensor: return "tensor";
  }
  return "?";
}

document parse(std::span<const std::uint8_t> bytes, const std::string& source, const limits& lim) {
  return unpickler(bytes, source, lim).run();
}

}  // namespace rwkv::engine::formats::pickle
