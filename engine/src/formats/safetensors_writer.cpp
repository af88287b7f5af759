// safetensors with BlinkDL names and shapes, readable by the safetensors library and by us.
//
// The matrices take the requested float type (f32, f16, bf16): the projections of time and
// channel mixing, the LoRAs (as in BlinkDL's own checkpoints), and the embedding and head (or
// --head-dtype). Everything else stays fp32, as in the GGUF writer: norms, mixes, and the decays
// and bonuses — [heads, head_size] matrices in RWKV-5.2/6/7 whose rounding shows up in every
// token's decay. The header is padded with spaces to a multiple of 8 bytes, as the reference
// writer does, so the data section (and every fp32 tensor in it) is aligned.
#include "engine/error.hpp"
#include "formats/tensor_ops.hpp"
#include "formats/writers.hpp"

#include <nlohmann/json.hpp>

namespace rwkv::engine::formats {

namespace {

const char* safetensors_name(kernels::dtype t) {
  switch (t) {
    case kernels::dtype::f32: return "F32";
    case kernels::dtype::f16: return "F16";
    case kernels::dtype::bf16: return "BF16";
    default: return nullptr;
  }
}

// blocks.N.att.{key,value,receptance,output,gate}.weight, blocks.N.ffn.{key,value,receptance}.weight
// and the LoRA matrices: RWKV-7 att.{w,a,v,g}{1,2}, RWKV-6 att.time_maa_w{1,2} and time_decay_w{1,2}.
bool is_matrix(const std::string& name) {
  if (name.rfind("blocks.", 0) != 0) return false;
  const std::size_t dot = name.find('.', 7);
  if (dot == std::string::npos) return false;
  const std::string rest = name.substr(dot + 1);
  if (is_v7_lora(name)) return true;
  for (const char* lora : {"att.time_maa_w1", "att.time_maa_w2", "att.time_decay_w1", "att.time_decay_w2"})
    if (rest == lora) return true;
  for (const char* part : {"att.", "ffn."})
    for (const char* m : {"key", "value", "receptance", "output", "gate"})
      if (rest == std::string(part) + m + ".weight") return true;
  return false;
}

}  // namespace

convert_summary write_safetensors(const tensor_store& source, const std::string& path, const convert_options& options) {
  std::vector<planned_tensor> plan;
  for (const auto& [name, t] : source.tensors()) {
    planned_tensor p;
    p.name = name;
    p.shape = t.shape;
    const bool ends = name == "emb.weight" || name == "head.weight";
    p.type = ends ? options.head_dtype.value_or(options.dtype) : is_matrix(name) ? options.dtype : kernels::dtype::f32;
    if (t.type == p.type && !t.transposed) p.as_stored = &t;
    else p.values = [&t] { return to_f32(t); };
    plan.push_back(std::move(p));
  }
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}, {"written_by", "rwkv-lsp"}};
  std::uint64_t offset = 0;
  for (const auto& p : plan) {
    const std::uint64_t n = p.nbytes();
    header[p.name] = {{"dtype", safetensors_name(p.type)}, {"shape", p.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');

  convert_summary summary;
  output_file out(path);
  const std::uint64_t n = text.size();
  out.write(&n, 8);
  out.write(text.data(), text.size());
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto bytes = plan[i].encode();
    out.write(bytes.data(), bytes.size());
    ++summary.tensor_types[std::string(kernels::dtype_name(plan[i].type))];
    if (options.progress) options.progress(i + 1, plan.size(), plan[i].name);
  }
  summary.tensors = plan.size();
  summary.bytes = out.size();
  out.commit();
  return summary;
}

}  // namespace rwkv::engine::formats
