// Self-signed certificates made at test time (OpenSSL, EC P-256), so the HTTPS tests need no files
// and no `openssl` command.
#pragma once

#include <string>
#include <vector>

namespace rwkv::test {

struct test_certificate {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed certificate for the given subjectAltName entries ("DNS:localhost", "IP:127.0.0.1"),
// valid from an hour ago for a day. It is its own trust anchor: give cert_pem to the client as CA.
test_certificate make_self_signed(const std::vector<std::string>& alt_names);

// Writes text to a new file under `dir` and returns its path.
std::string write_text_file(const std::string& dir, const std::string& name, const std::string& text);

}  // namespace rwkv::test
