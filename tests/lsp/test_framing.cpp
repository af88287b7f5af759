// The LSP base protocol reader: split and coalesced input, and recovery from every kind of
// malformed framing, with bounded memory.
#include "lsp/framing.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using rwkv::lsp::frame_message;
using rwkv::lsp::framing_event;
using rwkv::lsp::framing_limits;
using rwkv::lsp::message_reader;

namespace {

struct read_result {
  std::vector<std::string> messages;
  std::vector<std::string> errors;
};

void drain(message_reader& reader, read_result& out) {
  while (auto event = reader.next()) {
    if (event->what == framing_event::kind::message) {
      out.messages.push_back(event->text);
    } else {
      out.errors.push_back(event->text);
    }
  }
}

read_result read_chunks(const std::vector<std::string>& chunks, framing_limits limits = {}) {
  message_reader reader(limits);
  read_result out;
  for (const auto& chunk : chunks) {
    reader.feed(chunk);
    drain(reader, out);
  }
  return out;
}

read_result read_all(const std::string& bytes, framing_limits limits = {}) { return read_chunks({bytes}, limits); }

const std::string body_a = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"text":"h\u00e9llo \u4e16\u754c"}})";
const std::string body_b = "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{\"s\":\"Content-Length: 5 \xF0\x9F\x98\x80\"}}";
const std::string body_c = R"({"jsonrpc":"2.0","id":"c","result":null})";

}  // namespace

TEST_CASE("frame_message writes Content-Length in bytes", "[lsp][framing]") {
  CHECK(frame_message("{}") == "Content-Length: 2\r\n\r\n{}");
  CHECK(frame_message("\xC3\xA9") == "Content-Length: 2\r\n\r\n\xC3\xA9");
}

TEST_CASE("a message split at every byte boundary is read whole", "[lsp][framing]") {
  std::string stream = frame_message(body_a) + frame_message(body_b);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    auto result = read_chunks({stream.substr(0, cut), stream.substr(cut)});
    INFO("cut at " << cut);
    REQUIRE(result.errors.empty());
    REQUIRE(result.messages == std::vector<std::string>{body_a, body_b});
  }
}

TEST_CASE("a message split into three parts at every pair of boundaries is read whole", "[lsp][framing]") {
  std::string stream = frame_message(body_c);
  for (std::size_t i = 0; i <= stream.size(); ++i)
    for (std::size_t j = i; j <= stream.size(); ++j) {
      auto result = read_chunks({stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)});
      REQUIRE(result.errors.empty());
      REQUIRE(result.messages == std::vector<std::string>{body_c});
    }
}

TEST_CASE("messages fed one byte at a time are read whole", "[lsp][framing]") {
  std::string stream = frame_message(body_a) + frame_message(body_b) + frame_message(body_c);
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  auto result = read_chunks(bytes);
  CHECK(result.errors.empty());
  CHECK(result.messages == std::vector<std::string>{body_a, body_b, body_c});
}

TEST_CASE("coalesced messages in one read come out in order", "[lsp][framing]") {
  auto result = read_all(frame_message(body_a) + frame_message(body_b) + frame_message(body_c));
  CHECK(result.errors.empty());
  CHECK(result.messages == std::vector<std::string>{body_a, body_b, body_c});
}

TEST_CASE("header variants that LSP clients send are accepted", "[lsp][framing]") {
  SECTION("Content-Type") {
    auto r = read_all("Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}");
    CHECK(r.errors.empty());
    CHECK(r.messages == std::vector<std::string>{"{}"});
  }
  SECTION("Content-Type first, names in any case, blanks around the value") {
    auto r = read_all("content-type: application/vscode-jsonrpc; charset=utf8\r\nCONTENT-LENGTH:   2  \r\n\r\n{}");
    CHECK(r.errors.empty());
    CHECK(r.messages == std::vector<std::string>{"{}"});
  }
  SECTION("bare line feeds") {
    auto r = read_all("Content-Length: 2\n\n{}");
    CHECK(r.errors.empty());
    CHECK(r.messages == std::vector<std::string>{"{}"});
  }
  SECTION("identical duplicate Content-Length") {
    auto r = read_all("Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}");
    CHECK(r.errors.empty());
    CHECK(r.messages == std::vector<std::string>{"{}"});
  }
  SECTION("blank lines between messages") {
    auto r = read_all(frame_message("{}") + "\r\n\r\n\n" + frame_message("[]"));
    CHECK(r.errors.empty());
    CHECK(r.messages == std::vector<std::string>{"{}", "[]"});
  }
  SECTION("unknown headers") {
    auto r = read_all("X-Trace: 1\r\nContent-Length: 2\r\n\r\n{}");
    CHECK(r.errors.empty());
    CHECK(r.messages == std::vector<std::string>{"{}"});
  }
  SECTION("an empty body") {
    auto r = read_all("Content-Length: 0\r\n\r\n" + frame_message("{}"));
    CHECK(r.errors.empty());
    CHECK(r.messages == std::vector<std::string>{"", "{}"});
  }
}

TEST_CASE("a bad Content-Length is reported and the next message is still read", "[lsp][framing]") {
  std::string next = frame_message(body_c);
  for (std::string bad : {"Content-Length: abc\r\n\r\n{\"x\":1}", "Content-Length: -5\r\n\r\n{\"x\":1}",
                          "Content-Length: +5\r\n\r\n{\"x\":1}", "Content-Length: 1 2\r\n\r\n{\"x\":1}",
                          "Content-Length:\r\n\r\n{\"x\":1}", "Content-Length: 99999999999999999999999\r\n\r\n{\"x\":1}",
                          "Content-Length: 0x10\r\n\r\n{\"x\":1}"}) {
    INFO(bad);
    auto r = read_all(bad + next);
    CHECK(r.errors.size() == 1);
    CHECK(r.messages == std::vector<std::string>{body_c});
  }
}

TEST_CASE("a missing Content-Length is reported and the next message is still read", "[lsp][framing]") {
  auto r = read_all("Content-Type: application/vscode-jsonrpc\r\n\r\n{\"x\":1}" + frame_message(body_a));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("without a Content-Length") != std::string::npos);
  CHECK(r.messages == std::vector<std::string>{body_a});
}

TEST_CASE("conflicting Content-Length headers are reported and skipped", "[lsp][framing]") {
  auto r = read_all("Content-Length: 2\r\nContent-Length: 7\r\n\r\n{\"x\":1}" + frame_message(body_c));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("conflicting") != std::string::npos);
  CHECK(r.messages == std::vector<std::string>{body_c});
}

TEST_CASE("garbage between messages is skipped with one error", "[lsp][framing]") {
  SECTION("whole lines") {
    auto r = read_all(frame_message(body_a) + "this is not a header\r\nnor this {}\r\n" + frame_message(body_b));
    CHECK(r.errors.size() == 1);
    CHECK(r.messages == std::vector<std::string>{body_a, body_b});
  }
  SECTION("glued to the next header") {
    auto r = read_all(frame_message(body_a) + "{\"stray\": true}" + frame_message(body_b));
    CHECK(r.errors.size() == 1);
    CHECK(r.messages == std::vector<std::string>{body_a, body_b});
  }
  SECTION("glued, made of header characters") {
    auto r = read_all(frame_message(body_a) + "garbage" + frame_message(body_b));
    CHECK(r.errors.size() == 1);
    CHECK(r.messages == std::vector<std::string>{body_a, body_b});
  }
  SECTION("a body without a header, then a message") {
    auto r = read_all(body_a + frame_message(body_c));
    CHECK(r.errors.size() == 1);
    CHECK(r.messages == std::vector<std::string>{body_c});
  }
  SECTION("split at every byte boundary") {
    std::string stream = frame_message(body_a) + "\x01\x02garbage\r\n" + frame_message(body_c);
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      auto r = read_chunks({stream.substr(0, cut), stream.substr(cut)});
      INFO("cut at " << cut);
      CHECK(r.messages == std::vector<std::string>{body_a, body_c});
    }
  }
}

TEST_CASE("Content-Length inside a skipped JSON body does not fool the resync", "[lsp][framing]") {
  // body_b holds "Content-Length: 5" in a string; skipped after a bad header, it must not be
  // taken for a header.
  auto r = read_all("Content-Length: bad\r\n\r\n" + body_b + frame_message(body_c));
  CHECK(r.errors.size() == 1);
  CHECK(r.messages == std::vector<std::string>{body_c});
}

TEST_CASE("a message over the size limit is skipped without being buffered", "[lsp][framing]") {
  framing_limits limits;
  limits.max_message_bytes = 1024;
  std::string big = "{\"text\":\"" + std::string(4000, 'x') + "\"}";
  message_reader reader(limits);
  read_result r;
  std::string stream = frame_message(big) + frame_message(body_c);
  for (std::size_t i = 0; i < stream.size(); i += 100) {
    reader.feed(stream.substr(i, 100));
    drain(reader, r);
    REQUIRE(reader.memory_footprint() < 8 * 1024);
  }
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("exceeds the limit") != std::string::npos);
  CHECK(r.messages == std::vector<std::string>{body_c});
}

TEST_CASE("a huge Content-Length never allocates it", "[lsp][framing]") {
  message_reader reader;  // default limit 64 MiB
  read_result r;
  reader.feed("Content-Length: 1000000000000\r\n\r\n");
  drain(reader, r);
  CHECK(r.errors.size() == 1);
  std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 64; ++i) {  // 4 MiB of body that never ends
    reader.feed(chunk);
    drain(reader, r);
    REQUIRE(reader.memory_footprint() < 512 * 1024);
  }
  CHECK(r.messages.empty());
}

TEST_CASE("a body within the limit grows with the data, not with the declared length", "[lsp][framing]") {
  message_reader reader;
  reader.feed("Content-Length: 60000000\r\n\r\n{\"a\":");
  CHECK(!reader.next());
  CHECK(reader.memory_footprint() <= (std::size_t{2} << 20));
  CHECK(reader.mid_message());
}

TEST_CASE("an over-long header line is reported and memory stays bounded", "[lsp][framing]") {
  message_reader reader;
  read_result r;
  std::string chunk(64 * 1024, 'a');  // no line break at all
  for (int i = 0; i < 32; ++i) {
    reader.feed(chunk);
    drain(reader, r);
    REQUIRE(reader.memory_footprint() < 512 * 1024);
  }
  reader.feed("\r\n" + frame_message(body_c));
  drain(reader, r);
  CHECK(r.errors.size() == 1);
  CHECK(r.messages == std::vector<std::string>{body_c});
}

TEST_CASE("mid_message tells a cut message from a clean end", "[lsp][framing]") {
  message_reader reader;
  CHECK(!reader.mid_message());
  reader.feed(frame_message(body_c));
  CHECK(reader.next());
  CHECK(!reader.mid_message());
  reader.feed("\r\n");
  CHECK(!reader.next());
  CHECK(!reader.mid_message());
  reader.feed("Content-Len");
  CHECK(!reader.next());
  CHECK(reader.mid_message());
  reader.feed("gth: 10\r\n\r\n{\"a\"");
  CHECK(!reader.next());
  CHECK(reader.mid_message());
}

TEST_CASE("random messages with random splits and garbage all come through", "[lsp][framing]") {
  std::mt19937 rng(1234);
  auto random_text = [&](std::size_t n) {
    static const std::string alphabet = "abc xyz{}[]\",\\ Content-Length: 12\r\n\t\xC3\xA9\xE4\xB8\x96";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> expected;
    std::string stream;
    int garbage_runs = 0;
    for (int m = 0; m < 20; ++m) {
      // Bodies are arbitrary bytes here: framing must not care what is inside.
      std::string body = random_text(rng() % 200);
      expected.push_back(body);
      if (rng() % 5 == 0) {
        // Garbage without ':' so that it cannot pass for a header of the next message.
        std::string junk;
        for (std::size_t i = 0, n = 1 + rng() % 30; i < n; ++i) junk += "xyz{}\r\n \x01"[rng() % 10];
        stream += junk;
        ++garbage_runs;
      }
      stream += frame_message(body);
    }
    std::vector<std::string> chunks;
    for (std::size_t i = 0; i < stream.size();) {
      std::size_t n = 1 + rng() % 64;
      chunks.push_back(stream.substr(i, n));
      i += n;
    }
    auto r = read_chunks(chunks);
    INFO("round " << round);
    CHECK(r.messages == expected);
    CHECK(r.errors.size() <= static_cast<std::size_t>(garbage_runs));
  }
}
