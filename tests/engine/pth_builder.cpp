#include "engine/pth_builder.hpp"

#include <array>
#include <stdexcept>

namespace rwkv::test {

namespace {

std::uint32_t crc32(const bytes& data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xffffffffu;
  for (std::uint8_t b : data) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

void append16(bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
void append32(bytes& b, std::uint32_t v) {
  append16(b, static_cast<std::uint16_t>(v));
  append16(b, static_cast<std::uint16_t>(v >> 16));
}
void append64(bytes& b, std::uint64_t v) {
  append32(b, static_cast<std::uint32_t>(v));
  append32(b, static_cast<std::uint32_t>(v >> 32));
}
void append(bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

}  // namespace

void put_u16(bytes& b, std::size_t at, std::uint16_t v) {
  b.at(at) = static_cast<std::uint8_t>(v);
  b.at(at + 1) = static_cast<std::uint8_t>(v >> 8);
}
void put_u32(bytes& b, std::size_t at, std::uint32_t v) {
  put_u16(b, at, static_cast<std::uint16_t>(v));
  put_u16(b, at + 2, static_cast<std::uint16_t>(v >> 16));
}
void put_u64(bytes& b, std::size_t at, std::uint64_t v) {
  put_u32(b, at, static_cast<std::uint32_t>(v));
  put_u32(b, at + 4, static_cast<std::uint32_t>(v >> 32));
}

zip_image write_zip(const std::vector<zip_entry>& entries, const zip_options& options) {
  const std::uint32_t escape = 0xffffffffu;
  const std::uint16_t version = options.zip64 ? 45 : 20;
  zip_image img;
  bytes& out = img.data;
  std::vector<std::uint32_t> crcs;
  for (const auto& e : entries) {
    const std::uint32_t crc = crc32(e.data);
    crcs.push_back(crc);
    img.local_header[e.name] = out.size();
    append32(out, 0x04034b50);
    append16(out, version);
    append16(out, 0);  // flags
    append16(out, e.method);
    append16(out, 0);  // time
    append16(out, 0);  // date
    append32(out, crc);
    append32(out, options.zip64 ? escape : static_cast<std::uint32_t>(e.data.size()));
    append32(out, options.zip64 ? escape : static_cast<std::uint32_t>(e.data.size()));
    append16(out, static_cast<std::uint16_t>(e.name.size()));
    bytes extra;
    if (options.zip64) {
      append16(extra, 0x0001);
      append16(extra, 16);
      append64(extra, e.data.size());
      append64(extra, e.data.size());
    }
    if (options.align > 1) {
      // torch pads with a "FB" extra field so tensor data starts on a 64-byte boundary.
      std::size_t data_at = out.size() + 2 + e.name.size() + extra.size() + 4;
      std::size_t pad = (options.align - data_at % options.align) % options.align;
      append16(extra, 0x4246);
      append16(extra, static_cast<std::uint16_t>(pad));
      extra.insert(extra.end(), pad, 'Z');
    }
    append16(out, static_cast<std::uint16_t>(extra.size()));
    append(out, e.name);
    out.insert(out.end(), extra.begin(), extra.end());
    img.data_offset[e.name] = out.size();
    out.insert(out.end(), e.data.begin(), e.data.end());
  }

  img.central_directory = out.size();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    img.central_header[e.name] = out.size();
    append32(out, 0x02014b50);
    append16(out, version);
    append16(out, version);
    append16(out, 0);
    append16(out, e.method);
    append16(out, 0);
    append16(out, 0);
    append32(out, crcs[i]);
    append32(out, options.zip64 ? escape : static_cast<std::uint32_t>(e.data.size()));
    append32(out, options.zip64 ? escape : static_cast<std::uint32_t>(e.data.size()));
    append16(out, static_cast<std::uint16_t>(e.name.size()));
    append16(out, options.zip64 ? 28 : 0);
    append16(out, 0);  // comment
    append16(out, 0);  // disk
    append16(out, 0);  // internal attributes
    append32(out, 0);  // external attributes
    append32(out, options.zip64 ? escape : static_cast<std::uint32_t>(img.local_header[e.name]));
    append(out, e.name);
    if (options.zip64) {
      append16(out, 0x0001);
      append16(out, 24);
      append64(out, e.data.size());
      append64(out, e.data.size());
      append64(out, img.local_header[e.name]);
    }
  }
  const std::size_t dir_size = out.size() - img.central_directory;

  if (options.zip64) {
    img.zip64_end = out.size();
    append32(out, 0x06064b50);
    append64(out, 44);  // size of the rest of the record
    append16(out, version);
    append16(out, version);
    append32(out, 0);
    append32(out, 0);
    append64(out, entries.size());
    append64(out, entries.size());
    append64(out, dir_size);
    append64(out, img.central_directory);
    append32(out, 0x07064b50);  // locator
    append32(out, 0);
    append64(out, img.zip64_end);
    append32(out, 1);
  }
  img.end = out.size();
  append32(out, 0x06054b50);
  append16(out, 0);
  append16(out, 0);
  append16(out, options.zip64 ? 0xffff : static_cast<std::uint16_t>(entries.size()));
  append16(out, options.zip64 ? 0xffff : static_cast<std::uint16_t>(entries.size()));
  append32(out, options.zip64 ? escape : static_cast<std::uint32_t>(dir_size));
  append32(out, options.zip64 ? escape : static_cast<std::uint32_t>(img.central_directory));
  append16(out, 0);
  return img;
}

pickle_writer& pickle_writer::raw(std::initializer_list<std::uint8_t> b) {
  data.insert(data.end(), b.begin(), b.end());
  return *this;
}

pickle_writer& pickle_writer::unicode(std::string_view s) {
  op('X');
  append32(data, static_cast<std::uint32_t>(s.size()));
  append(data, s);
  return *this;
}

pickle_writer& pickle_writer::short_unicode(std::string_view s) {
  if (s.size() > 255) throw std::invalid_argument("short_unicode: string too long");
  raw({0x8c, static_cast<std::uint8_t>(s.size())});
  append(data, s);
  return *this;
}

pickle_writer& pickle_writer::global(std::string_view module, std::string_view name) {
  op('c');
  append(data, module);
  op('\n');
  append(data, name);
  return op('\n');
}

pickle_writer& pickle_writer::integer(std::int64_t v) {
  if (v >= 0 && v < 256) return raw({'K', static_cast<std::uint8_t>(v)});
  if (v >= 0 && v < 65536) {
    op('M');
    append16(data, static_cast<std::uint16_t>(v));
    return *this;
  }
  if (v >= INT32_MIN && v <= INT32_MAX) {
    op('J');
    append32(data, static_cast<std::uint32_t>(v));
    return *this;
  }
  raw({0x8a, 8});
  append64(data, static_cast<std::uint64_t>(v));
  return *this;
}

pickle_writer& pickle_writer::put(std::uint32_t slot) {
  if (slot < 256) return raw({'q', static_cast<std::uint8_t>(slot)});
  op('r');
  append32(data, slot);
  return *this;
}

pickle_writer& pickle_writer::get(std::uint32_t slot) {
  if (slot < 256) return raw({'h', static_cast<std::uint8_t>(slot)});
  op('j');
  append32(data, slot);
  return *this;
}

bytes state_dict_pickle(const std::vector<tensor_spec>& tensors, const pickle_style& style) {
  pickle_writer w;
  std::uint32_t slots = 0;
  // Protocol 4 memoizes implicitly and names globals with two strings on the stack.
  auto str = [&](std::string_view s) -> pickle_writer& {
    if (style.protocol4) return w.short_unicode(s).op(0x94);
    return w.unicode(s).put(slots++);
  };
  auto global = [&](std::string_view module, std::string_view name) -> pickle_writer& {
    if (style.protocol4) {
      str(module);
      str(name);
      return w.op(0x93).op(0x94);
    }
    return w.global(module, name).put(slots++);
  };
  auto int_tuple = [&](const std::vector<std::int64_t>& v) {
    w.mark();
    for (auto x : v) w.integer(x);
    w.op('t');
  };

  w.proto(style.protocol4 ? 4 : 2);
  if (style.protocol4) w.raw({0x95, 0, 0, 0, 0, 0, 0, 0, 0});  // FRAME; the length is not checked against frames
  if (style.ordered_dict)
    global("collections", "OrderedDict").op(')').op('R');
  else
    w.op('}');
  w.mark();
  for (const auto& t : tensors) {
    str(t.name);
    global("torch._utils", "_rebuild_tensor_v2");
    w.mark();
    w.mark();
    str("storage");
    global("torch", t.storage_type);
    str(t.key);
    str("cpu");
    w.integer(t.storage_numel);
    w.op('t').op('Q');
    w.integer(t.offset);
    int_tuple(t.size);
    int_tuple(t.stride);
    w.op(0x89);
    global("collections", "OrderedDict").op(')').op('R');
    w.op('t').op('R');
  }
  w.op('u');
  if (style.ordered_dict) {
    // The _metadata attribute model.state_dict() carries: {'_metadata': OrderedDict({'': {'version': 1}})}
    w.op('}').unicode("_metadata");
    w.global("collections", "OrderedDict").op(')').op('R');
    w.unicode("").op('}').unicode("version").integer(1).op('s').op('s');
    w.op('s').op('b');
  }
  w.stop();
  return w.data;
}

zip_image write_pth(const bytes& pickle, const std::map<std::string, bytes>& storages, const zip_options& options,
                    const std::string& archive) {
  std::vector<zip_entry> entries;
  entries.push_back({archive + "/data.pkl", pickle});
  for (const auto& [key, data] : storages) entries.push_back({archive + "/data/" + key, data});
  entries.push_back({archive + "/version", {'3', '\n'}});
  return write_zip(entries, options);
}

}  // namespace rwkv::test
