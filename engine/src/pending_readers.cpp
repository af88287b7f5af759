// Placeholders for the .pth reader and the tokenizers, which are developed on their own branches
// (pth-reader, tokenizers) and reach this branch through main. Without them nothing links; when
// they are merged this file is deleted.
#include "engine/error.hpp"
#include "engine/tokenizer.hpp"
#include "formats/readers.hpp"

namespace rwkv::engine {

namespace formats {
void read_pth(std::shared_ptr<const mapped_file> file, tensor_store&) {
  throw error(errc::unsupported, "'" + file->path() + "': this build has no .pth reader yet (merge main)");
}
}  // namespace formats

std::unique_ptr<tokenizer> load_tokenizer(const std::string& path) {
  throw error(errc::unsupported, "'" + path + "': this build has no tokenizer yet (merge main)");
}
std::unique_ptr<tokenizer> make_byte_tokenizer() {
  throw error(errc::unsupported, "this build has no tokenizer yet (merge main)");
}
std::string utf8_decoder::push(std::string_view bytes) { return std::string(bytes); }
std::string utf8_decoder::flush() { return {}; }

}  // namespace rwkv::engine
