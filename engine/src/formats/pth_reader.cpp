// The BlinkDL .pth reader: a torch.save zip whose data.pkl pickles a state dict of tensors.
//
// Layout written by torch.save (torch/serialization.py, caffe2's PyTorchStreamWriter):
//   <archive>/data.pkl      the pickled state dict; tensors refer to storages by persistent id
//   <archive>/data/<key>    raw little-endian storage bytes, stored uncompressed, 64-byte aligned
//   <archive>/byteorder     "little" (newer torch; absent means little)
//   <archive>/version, .data/serialization_id, ...  (ignored)
// Tensors borrow their bytes from the mapped file. They are copied only when the file forces it:
// float64 weights (narrowed to float32), non-contiguous views (made contiguous), and data that is
// not aligned to its element size (archives not written by torch).
#include "engine/error.hpp"
#include "formats/pickle.hpp"
#include "formats/readers.hpp"
#include "formats/zip_archive.hpp"

#include <cstring>
#include <optional>

namespace rwkv::engine::formats {

namespace {

using pickle::kind;

constexpr std::size_t max_dims = 8;  // weights have at most 4; more is a sign of a hostile file

std::optional<kernels::dtype> dtype_of(pickle::global storage) {
  switch (storage) {
    case pickle::global::float_storage: return kernels::dtype::f32;
    case pickle::global::half_storage: return kernels::dtype::f16;
    case pickle::global::bfloat16_storage: return kernels::dtype::bf16;
    default: return std::nullopt;
  }
}

// Everything read_pth needs to place one tensor, validated against its storage.
struct tensor_layout {
  std::vector<std::int64_t> sizes, strides;
  std::int64_t offset = 0;  // in elements
  std::int64_t numel = 1;
  bool contiguous = true;
};

// Calls emit(pointer to element) for every element of a strided view in row-major order. The
// caller has checked that every reachable element lies inside `base`'s storage.
template <class Emit>
void for_each_element(const std::uint8_t* base, std::size_t elem, const tensor_layout& l, Emit emit) {
  if (l.numel == 0) return;
  std::vector<std::int64_t> index(l.sizes.size(), 0);
  std::int64_t at = l.offset;
  for (std::int64_t n = 0; n < l.numel; ++n) {
    emit(base + static_cast<std::size_t>(at) * elem);
    for (std::size_t d = l.sizes.size(); d-- > 0;) {
      if (++index[d] < l.sizes[d]) {
        at += l.strides[d];
        break;
      }
      at -= (l.sizes[d] - 1) * l.strides[d];
      index[d] = 0;
    }
  }
}

class pth_reader {
 public:
  pth_reader(std::shared_ptr<const mapped_file> file, tensor_store& out)
      : file_(std::move(file)), path_(file_->path()), zip_(file_->bytes(), path_), out_(out) {}

  void read() {
    find_archive_prefix();
    if (const auto* order = zip_.find(prefix_ + "/byteorder")) {
      auto bytes = zip_.stored_data(*order);
      std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      if (text != "little")
        throw error(errc::unsupported, path_ + ": stores its tensors in '" + std::string(text.substr(0, 16)) +
                                           "' byte order; rwkv-lsp reads little-endian checkpoints only");
    }
    doc_ = pickle::parse(zip_.stored_data(*pickle_entry_), path_);

    const pickle::value& root = doc_.at(doc_.root);
    if (root.type != kind::dict)
      throw error(errc::unsupported, path_ + ": data.pkl holds a value of type " +
                                         std::string(pickle::kind_name(root.type)) + ", not a state dict; save the weights with "
                                         "torch.save(model.state_dict(), path)");
    for (std::size_t i = 0; i + 1 < root.items.size(); i += 2) {
      const pickle::value& key = doc_.at(root.items[i]);
      if (key.type != kind::string)
        throw error(errc::unsupported, path_ + ": the state dict has a key of type " +
                                           std::string(pickle::kind_name(key.type)) + "; expected tensor names");
      add_tensor(std::string(key.text), doc_.at(root.items[i + 1]));
    }
  }

 private:
  [[noreturn]] void fail(errc code, const std::string& name, const std::string& what) const {
    throw error(code, path_ + ": tensor '" + name + "' " + what);
  }

  // torch names every entry "<archive>/...", with <archive> chosen by the saver (the file's stem by
  // default, anything in practice), so the prefix is taken from the one top-level data.pkl.
  void find_archive_prefix() {
    constexpr std::string_view suffix = "/data.pkl";
    for (const auto& e : zip_.entries()) {
      const std::string_view n = e.name;
      if (n.size() <= suffix.size() || n.substr(n.size() - suffix.size()) != suffix) continue;
      const std::string_view prefix = n.substr(0, n.size() - suffix.size());
      if (prefix.find('/') != std::string_view::npos) continue;
      if (pickle_entry_)
        throw error(errc::bad_format, path_ + ": holds two checkpoints ('" + prefix_ + "' and '" +
                                          std::string(prefix) + "'); refusing an ambiguous archive");
      pickle_entry_ = &e;
      prefix_ = std::string(prefix);
    }
    if (!pickle_entry_)
      throw error(errc::unsupported, path_ + ": is a zip archive without a <name>/data.pkl entry, so it is not a "
                                             "PyTorch checkpoint written by torch.save");
  }

  tensor_layout layout_of(const std::string& name, const pickle::value& t, std::int64_t storage_numel) const {
    tensor_layout l;
    l.offset = doc_.at(t.items[1]).integer;
    for (std::uint32_t i : doc_.at(t.items[2]).items) l.sizes.push_back(doc_.at(i).integer);
    for (std::uint32_t i : doc_.at(t.items[3]).items) l.strides.push_back(doc_.at(i).integer);
    if (l.sizes.size() > max_dims) fail(errc::unsupported, name, "has " + std::to_string(l.sizes.size()) + " dimensions");
    if (l.offset < 0) fail(errc::bad_format, name, "has a negative storage offset");
    std::int64_t last = l.offset;  // the furthest element the view reaches
    std::int64_t expected_stride = 1;
    for (std::size_t d = l.sizes.size(); d-- > 0;) {
      const std::int64_t size = l.sizes[d], stride = l.strides[d];
      if (size < 0 || stride < 0)
        fail(errc::bad_format, name, "has a negative size or stride (corrupt file)");
      if (__builtin_mul_overflow(l.numel, size, &l.numel) || l.numel > storage_numel)
        fail(errc::bad_format, name, "has more elements than its storage holds (corrupt file)");
      if (size > 1 && stride != expected_stride) l.contiguous = false;
      // Sizes and strides are each bounded here, so the products below cannot overflow unchecked.
      std::int64_t reach = 0;
      if (size > 0 && (__builtin_mul_overflow(size - 1, stride, &reach) || __builtin_add_overflow(last, reach, &last)))
        fail(errc::bad_format, name, "reaches past the end of its storage (corrupt file)");
      if (__builtin_mul_overflow(expected_stride, std::max<std::int64_t>(size, 1), &expected_stride))
        expected_stride = INT64_MAX;
    }
    if (l.numel > 0 && last >= storage_numel)
      fail(errc::bad_format, name, "reaches element " + std::to_string(last) + " of a storage of " +
                                       std::to_string(storage_numel) + " elements (corrupt file)");
    return l;
  }

  void add_tensor(const std::string& name, const pickle::value& t) {
    if (t.type != kind::tensor)
      fail(errc::unsupported, name, "is of type " + std::string(pickle::kind_name(t.type)) +
                                        ", not a tensor; this is not a plain state dict (a training checkpoint?). "
                                        "Save model.state_dict() instead");
    const pickle::value& storage = doc_.at(t.items[0]);
    const pickle::global storage_type = doc_.at(storage.items[0]).callable;
    const std::string key(doc_.at(storage.items[1]).text);
    const std::int64_t declared_numel = doc_.at(storage.items[3]).integer;
    const std::size_t elem = pickle::storage_element_size(storage_type);
    const auto type = dtype_of(storage_type);
    const bool widen_f64 = storage_type == pickle::global::double_storage;
    if (!type && !widen_f64)
      fail(errc::unsupported, name, std::string("is stored as ") + pickle::global_name(storage_type) +
                                        "; rwkv-lsp reads float32, float16, bfloat16 and float64 weights");

    const std::string entry_name = prefix_ + "/data/" + key;
    const zip_archive::entry* entry = zip_.find(entry_name);
    if (!entry) fail(errc::bad_format, name, "refers to storage '" + entry_name + "', which the archive lacks");
    const std::span<const std::uint8_t> bytes = zip_.stored_data(*entry);
    if (static_cast<std::uint64_t>(declared_numel) > bytes.size() / elem)
      fail(errc::bad_format, name, "has a storage of " + std::to_string(declared_numel) + " elements but entry '" +
                                       entry_name + "' holds only " + std::to_string(bytes.size()) + " bytes");

    const tensor_layout l = layout_of(name, t, declared_numel);
    // An empty tensor may name any offset; it then points at the storage start, never outside it.
    const std::uint8_t* first = bytes.data() + (l.numel > 0 ? static_cast<std::size_t>(l.offset) * elem : 0);
    if (widen_f64) {
      std::vector<float> values;
      values.reserve(static_cast<std::size_t>(l.numel));
      for_each_element(bytes.data(), elem, l, [&](const std::uint8_t* p) {
        double v;
        std::memcpy(&v, p, sizeof v);
        values.push_back(static_cast<float>(v));
      });
      out_.add_owned_f32(name, l.sizes, std::move(values));
    } else if (l.contiguous && reinterpret_cast<std::uintptr_t>(first) % elem == 0) {
      tensor view;
      view.type = *type;
      view.shape = l.sizes;
      view.data = first;
      view.nbytes = static_cast<std::size_t>(l.numel) * elem;
      out_.add(name, std::move(view));
    } else {
      std::vector<std::uint8_t> copy(static_cast<std::size_t>(l.numel) * elem);
      std::uint8_t* dst = copy.data();
      for_each_element(bytes.data(), elem, l, [&](const std::uint8_t* p) {
        std::memcpy(dst, p, elem);
        dst += elem;
      });
      out_.add_owned(name, *type, l.sizes, std::move(copy));
    }
  }

  std::shared_ptr<const mapped_file> file_;
  std::string path_;
  zip_archive zip_;
  tensor_store& out_;
  const zip_archive::entry* pickle_entry_ = nullptr;
  std::string prefix_;
  pickle::document doc_;
};

}  // namespace

void read_pth(std::shared_ptr<const mapped_file> file, tensor_store& out) { pth_reader(std::move(file), out).read(); }

}  // namespace rwkv::engine::formats
