#include "lsp/serve.hpp"

#include "lsp/fd_transport.hpp"
#include "lsp/lsp_server.hpp"
#include "lsp/tcp_transport.hpp"

#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>

namespace rwkv::lsp {
namespace {

using json = nlohmann::json;

// "max-tokens" -> "maxTokens", the key style of LSP settings.
std::string camel_case(const std::string& kebab) {
  std::string out;
  bool upper = false;
  for (char c : kebab) {
    if (c == '-' || c == '_') {
      upper = !out.empty();
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out;
}

json scalar(const std::string& text) {
  try {
    json value = json::parse(text);
    if (value.is_number() || value.is_boolean() || value.is_null()) return value;
  } catch (const json::parse_error&) {
  }
  return text;
}

std::uint16_t parse_port(const std::string& text, const std::string& spec) {
  std::size_t used = 0;
  unsigned long port = 0;
  try {
    port = std::stoul(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || port > 65535)
    throw std::invalid_argument("--tcp " + spec + ": the port must be a number from 0 to 65535");
  return static_cast<std::uint16_t>(port);
}

void parse_tcp(const std::string& spec, serve_options& out) {
  out.transport = serve_options::transport_kind::tcp;
  std::string host, port;
  if (!spec.empty() && spec.front() == '[') {  // [v6-address]:port
    auto close = spec.find(']');
    if (close == std::string::npos || close + 1 >= spec.size() || spec[close + 1] != ':')
      throw std::invalid_argument("--tcp " + spec + ": expected [ADDRESS]:PORT");
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
  } else if (auto colon = spec.rfind(':'); colon != std::string::npos) {
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
  } else {
    port = spec;
  }
  if (!host.empty()) out.host = host;
  out.port = parse_port(port, spec);
}

}  // namespace

serve_options parse_serve_args(const std::vector<std::string>& args) {
  serve_options out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) throw std::invalid_argument("unexpected argument \"" + arg + "\"");
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto take_value = [&]() -> std::string {
      if (value) return *value;
      if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0)
        throw std::invalid_argument("--" + name + " needs a value");
      return args[++i];
    };

    if (name == "stdio") {
      if (value) throw std::invalid_argument("--stdio takes no value");
      out.transport = serve_options::transport_kind::stdio;
    } else if (name == "tcp") {
      parse_tcp(take_value(), out);
    } else if (name == "model" || name == "vocab") {
      out.settings[name] = take_value();
    } else if (name == "threads") {
      std::string text = take_value();
      json n = scalar(text);
      if (!n.is_number_integer() || n.get<std::int64_t>() < 0)
        throw std::invalid_argument("--threads " + text + ": expected a non-negative integer (0: all cores)");
      out.settings["threads"] = n;
    } else if (!name.empty()) {
      bool flag = !value && (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0);
      out.settings[camel_case(name)] = flag ? json(true) : scalar(take_value());
    }
  }
  return out;
}

std::string serve_usage() {
  return "usage: rwkv-lsp serve [--stdio | --tcp HOST:PORT] [--model PATH] [--vocab PATH] [--threads N]\n"
         "                      [--SETTING VALUE ...]\n"
         "  --stdio            serve on stdin/stdout (default; what editors start)\n"
         "  --tcp HOST:PORT    listen for one client; HOST defaults to 127.0.0.1, PORT 0 picks a free port\n"
         "  --model PATH       model file (default setting \"model\")\n"
         "  --vocab PATH       vocabulary file (default setting \"vocab\")\n"
         "  --threads N        inference threads, 0 for all cores (default setting \"threads\")\n"
         "  --max-tokens 64    any other option becomes a default setting (\"maxTokens\": 64);\n"
         "                     initializationOptions from the editor override these\n";
}

int run_server(transport& connection, completion_service& service, const server_options& options) {
  int code = 1;
  {
    lsp_server server(connection, service, options);
    transport_status status = connection.run(server);
    server.finish(status);
    code = server.exit_code();
  }
  connection.flush();
  return code;
}

int serve(const serve_options& options, completion_service& service, server_options base) {
  base.default_settings = options.settings;
  try {
    if (options.transport == serve_options::transport_kind::tcp) {
      tcp_transport connection(options.host, options.port, {});
      // Editors and scripts that asked for port 0 read the actual one here.
      std::fprintf(stderr, "%s: listening on %s:%u\n", base.name.c_str(), options.host.c_str(),
                   static_cast<unsigned>(connection.port()));
      return run_server(connection, service, base);
    }
    auto connection = make_stdio_transport();
    return run_server(*connection, service, base);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", base.name.c_str(), e.what());
    return 1;
  }
}

}  // namespace rwkv::lsp
