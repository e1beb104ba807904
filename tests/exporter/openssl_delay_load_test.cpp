// OpenSSL loaded at its first call (exporter/openssl/delay_load_x86_64.S). One test, in order:
// each step depends on what the process has done before it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "exporter/access/password.h"
#include "exporter/openssl/delay_load.h"

namespace thx {
namespace {

std::string own_maps() {
  std::ifstream maps("/proc/self/maps");
  std::ostringstream text;
  text << maps.rdbuf();
  return text.str();
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += kDigits[static_cast<unsigned char>(c) >> 4U];
    out += kDigits[static_cast<unsigned char>(c) & 0xFU];
  }
  return out;
}

TEST(OpenSslDelayLoad, NotMappedUntilFirstCalledThenEveryArgumentArrives) {
  ASSERT_FALSE(openssl_loaded());
  const std::string before = own_maps();
  EXPECT_EQ(before.find("libssl"), std::string::npos) << before;
  EXPECT_EQ(before.find("libcrypto"), std::string::npos) << before;

  // The first OpenSSL calls of the process (EVP_sha256, evaluated as an argument, loads the
  // library). PKCS5_PBKDF2_HMAC takes eight arguments, two of them on the stack: its first call
  // goes through its stub, which must hand over the registers and leave the stack as it was.
  // PBKDF2-HMAC-SHA256, password "password", salt "salt", one iteration (RFC 7914 section 11
  // lists the SHA-256 vectors; this one is the widely published first).
  const PasswordHash hash = hash_password("password", "salt", 1);
  EXPECT_EQ(hex(hash.derived), "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
  EXPECT_TRUE(hash.verify("password"));
  EXPECT_FALSE(hash.verify("passwore"));
  const Sha256Digest digest = sha256("abc");
  EXPECT_EQ(hex(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  EXPECT_FALSE(load_openssl().has_value());
  EXPECT_TRUE(openssl_loaded());
  const std::string after = own_maps();
  EXPECT_NE(after.find("libssl.so"), std::string::npos) << after;
  EXPECT_NE(after.find("libcrypto.so"), std::string::npos) << after;
}

}  // namespace
}  // namespace thx
