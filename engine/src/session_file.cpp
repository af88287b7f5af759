// Saving and restoring a session: its text, tokens and checkpoints, so that a host can reopen a
// document without re-feeding it (see session.hpp for the format).
#include "binary_io.hpp"
#include "engine/error.hpp"
#include "engine/session.hpp"

#include <cstring>
#include <istream>
#include <ostream>

namespace rwkv::engine {

namespace {

constexpr char magic[8] = {'R', 'W', 'K', 'V', 'S', 'E', 'S', 'S'};
constexpr std::uint32_t format_version = 1;
// Bounds that keep a corrupt length field from allocating the machine away.
constexpr std::uint64_t max_bytes = std::uint64_t{1} << 32;
constexpr std::uint64_t max_items = std::uint64_t{1} << 30;

using binary_io::fnv1a;
using binary_io::put;

template <class T>
T get(std::istream& in) {
  return binary_io::get<T>(in, "saved session");
}

void put_string(std::ostream& out, std::string_view s) {
  put<std::uint64_t>(out, s.size());
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
  put<std::uint64_t>(out, fnv1a(s.data(), s.size()));
}

std::string get_string(std::istream& in) {
  auto n = get<std::uint64_t>(in);
  if (n > max_bytes) throw error(errc::bad_format, "saved session is corrupt (string length)");
  std::string s(n, '\0');
  if (!in.read(s.data(), static_cast<std::streamsize>(n))) throw error(errc::bad_format, "saved session is truncated");
  if (get<std::uint64_t>(in) != fnv1a(s.data(), s.size()))
    throw error(errc::bad_format, "saved session is corrupt (checksum mismatch)");
  return s;
}

template <class T>
void put_vector(std::ostream& out, const std::vector<T>& v) {
  put<std::uint64_t>(out, v.size());
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
  put<std::uint64_t>(out, fnv1a(v.data(), v.size() * sizeof(T)));
}

template <class T>
std::vector<T> get_vector(std::istream& in) {
  auto n = get<std::uint64_t>(in);
  if (n > max_items) throw error(errc::bad_format, "saved session is corrupt (array length)");
  std::vector<T> v(n);
  if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T))))
    throw error(errc::bad_format, "saved session is truncated");
  if (get<std::uint64_t>(in) != fnv1a(v.data(), v.size() * sizeof(T)))
    throw error(errc::bad_format, "saved session is corrupt (checksum mismatch)");
  return v;
}

}  // namespace

void session::save(std::ostream& out) const {
  out.write(magic, sizeof magic);
  put<std::uint32_t>(out, format_version);
  put<std::uint64_t>(out, model_->fingerprint());
  put_string(out, tok_->name());
  put<std::int64_t>(out, tok_->vocab_size());
  put<std::int64_t>(out, options_.checkpoint_spacing);
  put<std::int32_t>(out, options_.recent_checkpoints);
  put_string(out, header_);
  put_string(out, text_);
  put_vector(out, header_tokens_);
  put_vector(out, tokens_);
  put<std::uint64_t>(out, age_);
  put<std::int64_t>(out, last_first_changed_);
  put<std::uint64_t>(out, checkpoints_.size());
  for (const auto& [k, c] : checkpoints_) {
    put<std::int64_t>(out, k);
    put<std::uint8_t>(out, c.sparse ? 1 : 0);
    put<std::uint64_t>(out, c.age);
    put_vector(out, c.logits);
    c.st.save(out);
  }
  if (!out) throw error(errc::io, "could not write the saved session");
}

void session::load(std::istream& in) {
  char m[sizeof magic];
  if (!in.read(m, sizeof m) || std::memcmp(m, magic, sizeof magic) != 0)
    throw error(errc::bad_format, "not a saved rwkv-lsp session (bad magic)");
  if (auto v = get<std::uint32_t>(in); v != format_version)
    throw error(errc::bad_format, "saved session has format version " + std::to_string(v) + ", this build reads " +
                                      std::to_string(format_version) + "; save it again with this build");
  if (get<std::uint64_t>(in) != model_->fingerprint())
    throw error(errc::state_mismatch, "the saved session belongs to another model; open the document afresh");
  auto tok_name = get_string(in);
  auto vocab = get<std::int64_t>(in);
  if (tok_name != tok_->name() || vocab != tok_->vocab_size())
    throw error(errc::state_mismatch, "the saved session was made with the tokenizer '" + tok_name +
                                          "', this session uses '" + std::string(tok_->name()) + "'");
  session_options o;
  o.checkpoint_spacing = get<std::int64_t>(in);
  o.recent_checkpoints = get<std::int32_t>(in);
  if (o.checkpoint_spacing < 1 || o.recent_checkpoints < 0)
    throw error(errc::bad_format, "saved session is corrupt (options)");

  // Read into a copy so that a failure leaves *this untouched.
  session next(model_, tok_, o);
  next.header_ = get_string(in);
  next.text_ = get_string(in);
  next.header_tokens_ = get_vector<std::int32_t>(in);
  auto tokens = get_vector<std::int32_t>(in);
  next.age_ = get<std::uint64_t>(in);
  next.last_first_changed_ = get<std::int64_t>(in);
  next.retokenize_all();
  auto header_tokens = tok_->encode(next.header_.empty() ? std::string_view("\n") : std::string_view(next.header_));
  if (tokens != next.tokens_ || header_tokens != next.header_tokens_)
    throw error(errc::state_mismatch, "the saved session's tokens are not what the tokenizer makes of its text");

  const auto layout = model_->layout();
  const auto n_vocab = static_cast<std::size_t>(model_->config().n_vocab);
  auto count = get<std::uint64_t>(in);
  if (count > tokens.size() + 1 + static_cast<std::uint64_t>(o.recent_checkpoints) * 2 + 1)
    throw error(errc::bad_format, "saved session is corrupt (checkpoint count)");
  for (std::uint64_t i = 0; i < count; ++i) {
    auto k = get<std::int64_t>(in);
    if (k < 0 || k > next.token_count() || next.checkpoints_.count(k))
      throw error(errc::bad_format, "saved session is corrupt (checkpoint position)");
    checkpoint c;
    c.sparse = get<std::uint8_t>(in) != 0;
    c.age = get<std::uint64_t>(in);
    c.logits = get_vector<float>(in);
    if (!c.logits.empty() && c.logits.size() != n_vocab)
      throw error(errc::bad_format, "saved session is corrupt (logits size)");
    c.st = state::load(in, layout);
    next.checkpoints_.emplace(k, std::move(c));
  }
  *this = std::move(next);
}

bool session::same_as(const session& other) const {
  if (header_ != other.header_ || text_ != other.text_ || tokens_ != other.tokens_ ||
      header_tokens_ != other.header_tokens_ || checkpoints_.size() != other.checkpoints_.size())
    return false;
  for (auto a = checkpoints_.begin(), b = other.checkpoints_.begin(); a != checkpoints_.end(); ++a, ++b)
    if (a->first != b->first || a->second.sparse != b->second.sparse || a->second.logits != b->second.logits ||
        !(a->second.st == b->second.st))
      return false;
  return true;
}

}  // namespace rwkv::engine
