// safetensors: u64 little-endian header length N, N bytes of JSON, then the data section.
//
// The header maps each name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative
// to the data section) plus an optional "__metadata__" object of strings (huggingface/safetensors
// README). Checked here: N bounded (100 MB, as the reference implementation), offsets inside the
// file, byte counts equal to shape x element size, no two tensors overlapping, no duplicate names
// (nlohmann would silently keep the last). F32/F16/BF16 tensors are borrowed from the mapping
// (copied only when misaligned); F64 is narrowed to fp32; integer and fp8 tensors are refused.
//
// Sharded checkpoints: model.safetensors.index.json {"weight_map": {name: shard file}} beside the
// shards; every listed name must be found in the shard it names.
#include "engine/error.hpp"
#include "formats/byte_cursor.hpp"
#include "formats/hf_layout.hpp"
#include "formats/readers.hpp"
#include "formats/tensor_ops.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

namespace rwkv::engine::formats {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t max_header = 100'000'000;
constexpr std::size_t max_dims = 8;

struct dtype_info {
  std::optional<kernels::dtype> type;  // as stored; nullopt: convert (F64) or refuse
  std::size_t size;
};

std::optional<dtype_info> safetensors_dtype(const std::string& s) {
  if (s == "F32") return dtype_info{kernels::dtype::f32, 4};
  if (s == "F16") return dtype_info{kernels::dtype::f16, 2};
  if (s == "BF16") return dtype_info{kernels::dtype::bf16, 2};
  if (s == "F64") return dtype_info{std::nullopt, 8};
  return std::nullopt;
}

nlohmann::json parse_json_no_duplicates(std::string_view text, const std::string& source, const char* what) {
  std::vector<std::set<std::string>> open_objects;  // keys seen in each object being parsed
  auto check = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using ev = nlohmann::json::parse_event_t;
    if (event == ev::object_start) {
      open_objects.emplace_back();
    } else if (event == ev::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == ev::key && !open_objects.empty()) {
      if (!open_objects.back().insert(parsed.get<std::string>()).second)
        throw error(errc::bad_format, "'" + source + "': the " + what + " names '" + parsed.get<std::string>() + "' twice");
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, check);
  } catch (const nlohmann::json::exception& e) {
    throw error(errc::bad_format, "'" + source + "': the " + what + " is not valid JSON (" + e.what() + ")");
  }
}

// Reads every tensor of one file into `raw`, keeping converted copies alive through `keeper`.
void read_tensors(const mapped_file& file, raw_tensors& raw, tensor_store& keeper) {
  const std::string& source = file.path();
  byte_cursor in(file.bytes(), source);
  const auto n = in.read<std::uint64_t>("the header length");
  if (n > max_header) in.fail("the header claims " + std::to_string(n) + " bytes (at most 100 MB allowed)");
  const std::string_view text = in.read_text(n, "the JSON header");
  const std::uint64_t data_start = in.pos();
  const std::uint64_t data_size = file.size() - data_start;
  const nlohmann::json header = parse_json_no_duplicates(text, source, "safetensors header");
  if (!header.is_object()) in.fail("the header is not a JSON object");

  struct placed {
    std::string name;
    std::uint64_t begin, end;
  };
  std::vector<placed> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) in.fail("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items())
        if (v.is_string()) keeper.metadata["safetensors." + k] = v.get<std::string>();
      continue;
    }
    auto fail = [&](const std::string& what) { in.fail("tensor '" + name + "' " + what); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      fail("needs dtype, shape and data_offsets");
    const auto& jd = entry["dtype"];
    const auto& js = entry["shape"];
    const auto& jo = entry["data_offsets"];
    if (!jd.is_string() || !js.is_array() || !jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() ||
        !jo[1].is_number_unsigned())
      fail("has a malformed dtype, shape or data_offsets");
    const std::string dtype_name = jd.get<std::string>();
    const auto info = safetensors_dtype(dtype_name);
    if (!info)
      throw error(errc::unsupported, "'" + source + "': tensor '" + name + "' is stored as " + dtype_name +
                                         "; rwkv-lsp reads F32, F16, BF16 and F64 weights");
    if (js.size() > max_dims) fail("has " + std::to_string(js.size()) + " dimensions");
    std::vector<std::int64_t> shape;
    for (const auto& d : js) {
      if (!d.is_number_unsigned() || d.get<std::uint64_t>() > (std::uint64_t{1} << 40)) fail("has an invalid dimension");
      shape.push_back(static_cast<std::int64_t>(d.get<std::uint64_t>()));
    }
    const std::uint64_t begin = jo[0].get<std::uint64_t>(), end = jo[1].get<std::uint64_t>();
    if (begin > end || end > data_size)
      fail("has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] outside the " +
           std::to_string(data_size) + "-byte data section");
    const auto numel = checked_numel(shape);
    if (!numel || static_cast<std::uint64_t>(*numel) > (end - begin) / info->size ||
        static_cast<std::uint64_t>(*numel) * info->size != end - begin)
      fail(shape_text(shape) + " of " + dtype_name + " does not match its " + std::to_string(end - begin) + " bytes");
    spans.push_back({name, begin, end});

    const std::uint8_t* data = file.data() + data_start + begin;
    tensor t;
    t.shape = shape;
    t.nbytes = static_cast<std::size_t>(end - begin);
    if (!info->type) {  // F64
      auto values = std::make_shared<std::vector<float>>(static_cast<std::size_t>(*numel));
      for (std::size_t i = 0; i < values->size(); ++i) {
        double v;
        std::memcpy(&v, data + i * 8, 8);
        (*values)[i] = static_cast<float>(v);
      }
      t.type = kernels::dtype::f32;
      t.data = values->data();
      t.nbytes = values->size() * 4;
      keeper.keep_alive(values);
    } else if (reinterpret_cast<std::uintptr_t>(data) % info->size != 0) {
      auto copy = std::make_shared<std::vector<std::uint8_t>>(data, data + t.nbytes);
      t.type = *info->type;
      t.data = copy->data();
      keeper.keep_alive(copy);
    } else {
      t.type = *info->type;
      t.data = data;
    }
    if (!raw.emplace(name, std::move(t)).second)
      throw error(errc::bad_format, "'" + source + "': tensor '" + name + "' appears in two shards");
  }
  std::sort(spans.begin(), spans.end(), [](const placed& a, const placed& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < spans.size(); ++i)
    if (spans[i - 1].end > spans[i].begin && spans[i - 1].end > spans[i - 1].begin && spans[i].end > spans[i].begin)
      in.fail("tensors '" + spans[i - 1].name + "' and '" + spans[i].name + "' overlap");
}

std::string folder_of(const std::string& path) {
  const fs::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

void read_index(const std::string& index_path, tensor_store& out) {
  auto index_file = std::make_shared<const mapped_file>(index_path);
  const std::string_view text(reinterpret_cast<const char*>(index_file->data()), index_file->size());
  const nlohmann::json index = parse_json_no_duplicates(text, index_path, "shard index");
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw error(errc::bad_format, "'" + index_path + "' is not a safetensors shard index (no \"weight_map\" object)");
  const std::string folder = folder_of(index_path);
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) throw error(errc::bad_format, "'" + index_path + "': the shard of '" + name + "' is not a file name");
    const std::string file = shard.get<std::string>();
    if (file.empty() || file.find('/') != std::string::npos || file.find('\\') != std::string::npos || file == "." ||
        file == "..")
      throw error(errc::bad_format, "'" + index_path + "' names shard '" + file + "'; shards must be plain file names "
                                                                              "in the index's folder");
    by_shard[file].push_back(name);
  }
  if (by_shard.empty()) throw error(errc::bad_format, "'" + index_path + "' lists no tensors");
  raw_tensors raw;
  for (const auto& [file, names] : by_shard) {
    auto shard = std::make_shared<const mapped_file>((fs::path(folder) / file).string());
    out.keep_alive(shard);
    if (!looks_like_safetensors(shard->bytes()))
      throw error(errc::bad_format, "'" + shard->path() + "' (a shard named by " + index_path + ") is not a safetensors file");
    raw_tensors part;
    read_tensors(*shard, part, out);
    for (const auto& name : names)
      if (!part.count(name))
        throw error(errc::bad_format, "'" + index_path + "' puts '" + name + "' in " + file + ", which does not hold it");
    for (auto& [name, t] : part)
      if (!raw.emplace(name, t).second)
        throw error(errc::bad_format, "'" + index_path + "': tensor '" + name + "' appears in two shards");
  }
  add_canonical(raw, folder, out);
}

}  // namespace

bool looks_like_safetensors(std::span<const std::uint8_t> bytes) noexcept {
  if (bytes.size() < 10) return false;
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  return n >= 2 && n <= max_header && bytes[8] == '{';
}

void read_safetensors(std::shared_ptr<const mapped_file> file, tensor_store& out) {
  raw_tensors raw;
  read_tensors(*file, raw, out);
  add_canonical(raw, folder_of(file->path()), out);
}

void read_safetensors_folder(const std::string& path, tensor_store& out) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return read_index(path, out);
  const fs::path dir(path);
  if (fs::is_regular_file(dir / "model.safetensors.index.json", ec))
    return read_index((dir / "model.safetensors.index.json").string(), out);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") files.push_back(e.path());
  if (files.empty())
    throw error(errc::io, "'" + path + "' is a folder without model.safetensors or model.safetensors.index.json; "
                                       "point --model at a model file");
  std::sort(files.begin(), files.end());
  if (files.size() > 1 && !fs::is_regular_file(dir / "model.safetensors", ec))
    throw error(errc::bad_argument, "'" + path + "' holds several .safetensors files but no model.safetensors.index.json "
                                                 "saying how they fit together; point --model at one file");
  const fs::path chosen = files.size() == 1 ? files.front() : dir / "model.safetensors";
  auto file = std::make_shared<const mapped_file>(chosen.string());
  out.keep_alive(file);
  if (!looks_like_safetensors(file->bytes()))
    throw error(errc::bad_format, "'" + file->path() + "' is not a safetensors file");
  read_safetensors(file, out);
}

}  // namespace rwkv::engine::formats
