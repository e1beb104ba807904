#include <gtest/gtest.h>

#include "exporter/access/network.h"
#include "exporter/access/password.h"

namespace thx {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out += kDigits[static_cast<unsigned char>(c) >> 4U];
    out += kDigits[static_cast<unsigned char>(c) & 0xFU];
  }
  return out;
}

std::string hex(const Sha256Digest& digest) {
  return hex(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

TEST(Network, ParsesAddressesStrictly) {
  EXPECT_TRUE(parse_ip_address("127.0.0.1"));
  EXPECT_TRUE(parse_ip_address("::1"));
  EXPECT_TRUE(parse_ip_address("::ffff:10.1.2.3"));
  EXPECT_TRUE(parse_ip_address("2001:db8::8a2e:370:7334"));
  EXPECT_FALSE(parse_ip_address("127.0.0.01"));  // leading zero: octal in some parsers
  EXPECT_FALSE(parse_ip_address("256.0.0.1"));
  EXPECT_FALSE(parse_ip_address("1.2.3"));
  EXPECT_FALSE(parse_ip_address("1::2::3"));
  EXPECT_FALSE(parse_ip_address("fe80::1%eth0"));
  EXPECT_FALSE(parse_ip_address(""));
}

TEST(Network, MatchesByPrefix) {
  const IpNetwork loopback = *parse_ip_network("127.0.0.0/8");
  EXPECT_TRUE(loopback.contains(*parse_ip_address("127.9.9.9")));
  EXPECT_FALSE(loopback.contains(*parse_ip_address("128.0.0.1")));
  EXPECT_TRUE(loopback.contains(*parse_ip_address("::ffff:127.0.0.1")));  // dual stack
  const IpNetwork odd = *parse_ip_network("10.1.2.3/23");                 // host bits ignored
  EXPECT_TRUE(odd.contains(*parse_ip_address("10.1.3.200")));
  EXPECT_FALSE(odd.contains(*parse_ip_address("10.1.4.0")));
  const IpNetwork v6 = *parse_ip_network("fd00::/8");
  EXPECT_TRUE(v6.contains(*parse_ip_address("fd12::1")));
  EXPECT_FALSE(v6.contains(*parse_ip_address("10.0.0.1")));
  EXPECT_TRUE(parse_ip_network("0.0.0.0/0")->contains(*parse_ip_address("8.8.8.8")));
  EXPECT_FALSE(parse_ip_network("10.0.0.0/33"));
  EXPECT_FALSE(parse_ip_network("10.0.0.0"));
}

TEST(Password, Sha256KnownAnswers) {
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Password, Pbkdf2KnownAnswers) {
  EXPECT_EQ(hex(hash_password("password", "salt", 1).derived),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
  EXPECT_EQ(hex(hash_password("password", "salt", 4096).derived),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
}

// RFC 7914, section 11: PBKDF2-HMAC-SHA256 test vectors (64-byte keys there; the stored key is
// the first 32 bytes, PBKDF2's first block, which does not depend on the length asked for).
TEST(Password, Pbkdf2Rfc7914Vectors) {
  EXPECT_EQ(hex(hash_password("passwd", "salt", 1).derived),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
  EXPECT_EQ(hex(hash_password("Password", "NaCl", 80000).derived),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56");
  // Longer than a block of the hash: HMAC's key handling (RFC 6070's vector, with SHA-256).
  EXPECT_EQ(
      hex(hash_password("passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096)
              .derived),
      "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1");
}

// A hash stored in users' configurations before the move to OpenSSL verifies as it did.
TEST(Password, StoredHashesStayValid) {
  const auto stored = PasswordHash::parse(
      "pbkdf2-sha256$1$73616c74$120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->verify("password"));
  EXPECT_FALSE(stored->verify("Password"));
  const auto stored4096 = PasswordHash::parse(
      "pbkdf2-sha256$4096$73616c74$"
      "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
  ASSERT_TRUE(stored4096);
  EXPECT_TRUE(stored4096->verify("password"));
  // One bit of the key off: refused.
  const auto tampered = PasswordHash::parse(
      "pbkdf2-sha256$1$73616c74$120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17a");
  ASSERT_TRUE(tampered);
  EXPECT_FALSE(tampered->verify("password"));
}

TEST(Password, RandomSaltsAreFreshBytes) {
  const std::string first = random_salt();
  const std::string second = random_salt();
  EXPECT_EQ(first.size(), 16U);
  EXPECT_EQ(random_salt(32).size(), 32U);
  EXPECT_NE(first, second);  // 2^-128 to fail by chance
  EXPECT_NE(first, std::string(16, '\0'));
  // A hash made with a random salt round-trips through its stored form.
  const PasswordHash made = hash_password("s3cret", random_salt(), 1000);
  const auto parsed = PasswordHash::parse(made.to_string());
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->verify("s3cret"));
}

TEST(Password, RoundTripAndVerify) {
  const PasswordHash made = hash_password("s3cret", "0123456789abcdef", 1000);
  const auto parsed = PasswordHash::parse(made.to_string());
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->verify("s3cret"));
  EXPECT_FALSE(parsed->verify("s3cret "));
  EXPECT_FALSE(parsed->verify(""));
  EXPECT_FALSE(PasswordHash::parse("s3cret"));
  EXPECT_FALSE(PasswordHash::parse("pbkdf2-sha256$0$00$00"));
  EXPECT_FALSE(PasswordHash::parse("pbkdf2-sha256$1$zz$" + std::string(64, '0')));
  EXPECT_FALSE(PasswordHash::parse("pbkdf2-sha256$99999999999$00$" + std::string(64, '0')));
}

}  // namespace
}  // namespace thx
