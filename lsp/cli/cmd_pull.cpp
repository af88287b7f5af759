// pull: downloads an official model (by catalog name) or any http(s) URL into the rwkv-lsp cache,
// with the vocabulary the model needs. JSON result on stdout, progress and notes on stderr.
#include "common.hpp"

#include "engine/model_catalog.hpp"
#include "engine/tokenizer_select.hpp"
#include "fetch/download.hpp"
#include "fetch/proxy.hpp"
#include "fetch/progress.hpp"
#include "fetch/url.hpp"

#include <filesystem>
#include <iostream>

namespace rwkv::cli {

namespace {

std::string known_names() {
  std::string out;
  for (const auto& e : engine::model_catalog()) out += (out.empty() ? "" : ", ") + e.name;
  return out;
}

nlohmann::json result_json(const fetch::download_result& r, const std::string& url, const engine::catalog_entry* entry) {
  return {{"name", entry ? nlohmann::json(entry->name) : nlohmann::json(nullptr)},
          {"url", url},
          {"final_url", r.final_url},
          {"redirects", r.redirects},
          {"path", r.path},
          {"bytes", r.bytes},
          {"sha256", r.sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.sha256)},
          {"verified", !r.checksum_source.empty()},
          {"checksum_source", r.checksum_source.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.checksum_source)},
          {"resumed", r.resumed},
          {"resumed_from", r.resumed_from},
          {"already_present", r.already_present}};
}

nlohmann::json pull_one(const std::string& url, const std::string& destination, const engine::catalog_entry* entry,
                        fetch::download_options options) {
  const std::string file = std::filesystem::path(destination).filename().string();
  if (entry && !entry->sha256.empty()) options.expected_sha256 = entry->sha256;
  fetch::progress_bar bar(std::cerr, fetch::stderr_is_terminal(), file);
  std::error_code ec;
  if (options.force || !std::filesystem::is_regular_file(destination, ec))
    std::cerr << "rwkv-lsp pull: downloading " << url << "\n  into " << destination << '\n';
  options.on_progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
  options.on_message = [&](const std::string& m) { bar.note("rwkv-lsp pull: " + m); };
  auto r = fetch::download(url, destination, options);
  if (r.already_present) {
    std::cerr << "rwkv-lsp pull: " << destination << " is already there (--force downloads it again)\n";
  } else {
    bar.finish(r.bytes);
    std::cerr << "rwkv-lsp pull: saved " << destination
              << (r.checksum_source.empty() ? "" : " (SHA-256 verified against the " + r.checksum_source + ")") << '\n';
  }
  return result_json(r, url, entry);
}

}  // namespace

int cmd_pull(int argc, char** argv) {
  args a(argc, argv, 2, {"--cache", "--ca-file", "--timeout", "--retries", "--proxy"}, {"--force", "--no-vocab"});
  if (a.positional().size() != 1)
    throw usage_error("give one model name or URL (names: " + known_names() + ")");
  const std::string reference = a.positional()[0];
  const std::string dir = a.get_or("--cache", engine::cache_directory());

  fetch::download_options options;
  options.force = a.flag("--force");
  options.connection.ca_file = a.get_or("--ca-file", "");
  if (a.has("--proxy")) {  // else https_proxy / http_proxy / no_proxy from the environment
    const std::string proxy = a.get_or("--proxy", "");
    options.connection.proxy = proxy == "none" ? "" : proxy;
    if (proxy != "none") fetch::parse_proxy(proxy);  // a bad value is an error before anything starts
  }
  if (a.has("--timeout")) {
    auto seconds = std::chrono::seconds(a.get_int("--timeout", 60, 1, 3600));
    options.connection.io_timeout = seconds;
    options.connection.connect_timeout = seconds;
  }
  options.max_attempts = static_cast<int>(a.get_int("--retries", 2, 0, 100)) + 1;

  const engine::catalog_entry* entry = nullptr;
  std::string url, file;
  if (reference.find("://") != std::string::npos) {
    url = reference;
    file = fetch::file_name_from_url(fetch::parse_url(reference));
    if (file.empty()) throw usage_error("cannot tell a file name from the URL '" + reference + "' (it should end in the file's name)");
    for (const auto& e : engine::model_catalog())
      if (e.url == reference) entry = &e;
  } else {
    entry = engine::find_catalog_entry(reference);
    if (!entry) throw usage_error("unknown model name '" + reference + "' (names: " + known_names() + "), or give an http(s) URL");
    url = entry->url;
    file = entry->file_name;
  }

  nlohmann::json out;
  try {
    out = pull_one(url, (std::filesystem::path(dir) / file).string(), entry, options);
  } catch (const fetch::error& e) {
    if (!entry || e.http_status() != 404) throw;
    // Upstream repositories rename or remove files now and then; the table here cannot know.
    std::size_t resolve = url.find("/resolve/");
    std::string where = resolve == std::string::npos ? "its publisher's repository" : url.substr(0, resolve) + "/tree/main";
    throw fetch::error(e.code(), std::string(e.what()) + "\n  the file may have been renamed or removed upstream: look for it at " +
                                     where + " and run `rwkv-lsp pull URL` with its download address",
                       e.http_status());
  }
  int status = 0;
  if (entry && !entry->vocabulary.empty() && !a.flag("--no-vocab")) {
    if (const auto* vocab = engine::find_catalog_entry(entry->vocabulary)) {
      auto vocab_options = options;
      vocab_options.force = false;
      try {
        out["vocabulary"] = pull_one(vocab->url, engine::cached_file_path(*vocab, dir), vocab, vocab_options);
      } catch (const std::exception& e) {
        // The model is in place; say what is missing and how to get it.
        std::cerr << "rwkv-lsp pull: error: the vocabulary " << vocab->name << " could not be downloaded: " << e.what()
                  << "\n  run `rwkv-lsp pull " << vocab->name << "` later\n";
        out["vocabulary"] = {{"name", vocab->name}, {"error", e.what()}};
        status = 1;
      }
    }
  }
  print_json(out);
  return status;
}

}  // namespace rwkv::cli
