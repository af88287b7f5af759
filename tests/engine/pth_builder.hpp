// Builders for .pth test fixtures: a small zip writer (plain or ZIP64, torch-style 64-byte data
// alignment) and a pickle assembler, so tests make valid and hostile checkpoints at run time
// instead of committing binaries.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::test {

using bytes = std::vector<std::uint8_t>;

// --- zip ------------------------------------------------------------------------------------------

struct zip_entry {
  std::string name;
  bytes data;
  std::uint16_t method = 0;  // written as given; the data is never actually compressed
};

struct zip_options {
  bool zip64 = false;      // ZIP64 extra fields, end record and locator, as torch writes past 4 GiB
  std::size_t align = 64;  // pad data offsets to this with an extra field (as torch does); 1 = none
};

// Where things landed, so tests can corrupt specific fields.
struct zip_image {
  bytes data;
  std::map<std::string, std::size_t> local_header;  // offset of each entry's local header
  std::map<std::string, std::size_t> data_offset;   // offset of each entry's data
  std::map<std::string, std::size_t> central_header;
  std::size_t central_directory = 0;
  std::size_t zip64_end = 0;  // ZIP64 end record (zip64 only)
  std::size_t end = 0;        // end-of-central-directory record
};

zip_image write_zip(const std::vector<zip_entry>& entries, const zip_options& options = {});

void put_u16(bytes& b, std::size_t at, std::uint16_t v);
void put_u32(bytes& b, std::size_t at, std::uint32_t v);
void put_u64(bytes& b, std::size_t at, std::uint64_t v);

// --- pickle ---------------------------------------------------------------------------------------

// Appends pickle opcodes; each method writes one opcode with its operand.
class pickle_writer {
 public:
  pickle_writer& op(std::uint8_t code) { return raw({code}); }
  pickle_writer& raw(std::initializer_list<std::uint8_t> b);
  pickle_writer& proto(std::uint8_t version) { return raw({0x80, version}); }
  pickle_writer& mark() { return op('('); }
  pickle_writer& unicode(std::string_view s);        // BINUNICODE
  pickle_writer& short_unicode(std::string_view s);  // SHORT_BINUNICODE (protocol 4)
  pickle_writer& global(std::string_view module, std::string_view name);
  pickle_writer& integer(std::int64_t v);  // BININT1 / BININT2 / BININT / LONG1, like pickle does
  pickle_writer& put(std::uint32_t slot);  // BINPUT or LONG_BINPUT
  pickle_writer& get(std::uint32_t slot);  // BINGET or LONG_BINGET
  pickle_writer& stop() { return op('.'); }

  bytes data;
};

// One tensor of a state dict, described the way _rebuild_tensor_v2 receives it.
struct tensor_spec {
  std::string name;
  std::string storage_type = "FloatStorage";
  std::string key;  // storage entry <archive>/data/<key>
  std::int64_t storage_numel = 0;
  std::int64_t offset = 0;
  std::vector<std::int64_t> size, stride;
};

struct pickle_style {
  bool ordered_dict = false;  // OrderedDict + BUILD with _metadata, as model.state_dict() pickles
  bool protocol4 = false;     // FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE
};

// The data.pkl torch.save writes for a state dict of these tensors.
bytes state_dict_pickle(const std::vector<tensor_spec>& tensors, const pickle_style& style = {});

// A whole checkpoint: <archive>/data.pkl, <archive>/data/<key> per storage, <archive>/version.
zip_image write_pth(const bytes& pickle, const std::map<std::string, bytes>& storages,
                    const zip_options& options = {}, const std::string& archive = "archive");

// Little-endian bytes of values, for storages.
template <class T>
bytes to_bytes(const std::vector<T>& values) {
  bytes out(values.size() * sizeof(T));
  for (std::size_t i = 0; i < values.size(); ++i)
    for (std::size_t b = 0; b < sizeof(T); ++b)
      out[i * sizeof(T) + b] = reinterpret_cast<const std::uint8_t*>(&values[i])[b];
  return out;
}

}  // namespace rwkv::test
