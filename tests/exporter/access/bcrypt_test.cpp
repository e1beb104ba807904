// bcrypt hashes as htpasswd writes them: verified through libxcrypt, checked at load time
// without hashing, dispatched beside the PBKDF2 hashes, and used by basic auth.
#include "exporter/access/bcrypt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <map>
#include <string>

#include "exporter/access/basic_auth.h"
#include "exporter/access/stored_password.h"

namespace thx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Published test vectors of crypt_blowfish (Openwall), cost 5: the same salt and hash under each
// prefix, since the prefixes differ only for passwords with 8-bit characters.
constexpr const char* kVectorHash = "CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
constexpr const char* kVectorPassword = "U*U";

std::string vector_with(const std::string& prefix) {
  return prefix + "05$" + kVectorHash;
}

std::string basic(const std::string& user, const std::string& password) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const auto byte = [&](std::size_t k) {
      return k < in.size() ? static_cast<unsigned>(static_cast<unsigned char>(in[k])) : 0U;
    };
    const unsigned group = (byte(i) << 16U) | (byte(i + 1) << 8U) | byte(i + 2);
    out += kAlphabet[(group >> 18U) & 63U];
    out += kAlphabet[(group >> 12U) & 63U];
    out += i + 1 < in.size() ? kAlphabet[(group >> 6U) & 63U] : '=';
    out += i + 2 < in.size() ? kAlphabet[group & 63U] : '=';
  }
  return "Basic " + out;
}

TEST(Bcrypt, EveryPrefixOfTheSameHashVerifies) {
  ASSERT_TRUE(BcryptHash::available());
  for (const char* prefix : {"$2a$", "$2b$", "$2y$"}) {
    const auto hash = BcryptHash::parse(vector_with(prefix));
    ASSERT_TRUE(hash) << prefix;
    EXPECT_EQ(hash->cost(), 5U);
    EXPECT_TRUE(hash->verify(kVectorPassword)) << prefix;
    EXPECT_FALSE(hash->verify("U*U*")) << prefix;
    EXPECT_FALSE(hash->verify("")) << prefix;
  }
}

// The prefixes do differ for 8-bit passwords: $2a$ keeps the bug-compatible meaning
// (crypt_blowfish's vectors for "\xff\xff\xa3").
TEST(Bcrypt, PrefixesDifferForEightBitPasswords) {
  const std::string password = "\xff\xff\xa3";
  const auto a = BcryptHash::parse("$2a$05$/OK.fbVrR/bpIqNJ5ianF.nqd1wy.pTMdcvrRWxyiGL2eMz.2a85.");
  const auto y = BcryptHash::parse("$2y$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e");
  const auto b = BcryptHash::parse("$2b$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e");
  ASSERT_TRUE(a && y && b);
  EXPECT_TRUE(a->verify(password));
  EXPECT_TRUE(y->verify(password));
  EXPECT_TRUE(b->verify(password));
  const auto a_with_y_hash =
      BcryptHash::parse("$2a$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e");
  ASSERT_TRUE(a_with_y_hash);
  EXPECT_FALSE(a_with_y_hash->verify(password));
}

// bcrypt reads 72 bytes of a password; a NUL would end it early in crypt's C string, so such a
// password never matches (it would match its prefix otherwise).
TEST(Bcrypt, SeventyTwoBytesAndNoNul) {
  const auto hash =
      BcryptHash::parse("$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui");
  ASSERT_TRUE(hash);
  const std::string first72 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  EXPECT_TRUE(hash->verify(first72 + "chars after 72 are ignored"));
  EXPECT_TRUE(hash->verify(first72));
  EXPECT_FALSE(hash->verify(first72.substr(0, 71)));

  const auto plain = BcryptHash::parse(vector_with("$2y$"));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->verify(std::string("U*U\0more", 8)));
}

TEST(Bcrypt, MalformedHashesAreRefusedWithoutQuotingThem) {
  struct Case {
    std::string hash;
    std::string message;
  };
  const std::string body = kVectorHash;
  const std::vector<Case> cases = {
      {"$2x$05$" + body, "expected $2a$, $2b$ or $2y$"},
      {"$1$abc$def", "expected $2a$, $2b$ or $2y$"},
      {"$2y$05$" + body.substr(1), "expected 60 characters, got 59"},
      {"$2y$5$" + body + "C", "two-digit cost"},
      {"$2y$03$" + body, "bcrypt cost 3 is out of range (4 to 31)"},
      {"$2y$32$" + body, "bcrypt cost 32 is out of range (4 to 31)"},
      {"$2y$99$" + body, "bcrypt cost 99 is out of range"},
      {"$2y$05$" + body.substr(0, 30) + "!" + body.substr(31), "outside bcrypt's base64"},
      // The salt's last character carries 2 bits: 'C' (index 14) leaves low bits set.
      {"$2y$05$CCCCCCCCCCCCCCCCCCCCCC" + body.substr(22), "does not end on a whole byte"},
  };
  for (const Case& c : cases) {
    std::string problem;
    EXPECT_FALSE(BcryptHash::parse(c.hash, &problem)) << c.hash;
    EXPECT_THAT(problem, HasSubstr(c.message)) << c.hash;
    EXPECT_THAT(problem, Not(HasSubstr(body.substr(0, 22)))) << "the hash is quoted back";
  }
  EXPECT_TRUE(BcryptHash::parse("$2y$04$" + body));
  EXPECT_TRUE(BcryptHash::parse("$2y$31$" + body));
}

TEST(StoredPassword, DispatchesByFormat) {
  const PasswordHash pbkdf2 = hash_password("pbkdf2 secret", "0123456789abcdef", 1000);
  const auto old = StoredPassword::parse(pbkdf2.to_string());
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->verify("pbkdf2 secret"));
  EXPECT_FALSE(old->verify("U*U"));

  const auto bcrypt = StoredPassword::parse(vector_with("$2y$"));
  ASSERT_TRUE(bcrypt);
  EXPECT_TRUE(bcrypt->verify(kVectorPassword));
  EXPECT_FALSE(bcrypt->verify("pbkdf2 secret"));
  EXPECT_GT(bcrypt->work(), 0U);

  std::string problem;
  EXPECT_FALSE(
      StoredPassword::parse(pbkdf2.to_string(), StoredPassword::Formats::kBcryptOnly, &problem));
  EXPECT_THAT(problem, HasSubstr("expected a bcrypt hash"));
  EXPECT_FALSE(StoredPassword::parse("plain text", StoredPassword::Formats::kAny, &problem));
  EXPECT_THAT(problem, HasSubstr("plain passwords are refused"));
  EXPECT_FALSE(StoredPassword::parse("$2y$03$" + std::string(kVectorHash),
                                     StoredPassword::Formats::kAny, &problem));
  EXPECT_THAT(problem, HasSubstr("bcrypt cost 3"));
}

TEST(StoredPassword, BasicAuthWithBcryptAndPbkdf2Users) {
  const PasswordHash pbkdf2 = hash_password("old secret", "0123456789abcdef", 1000);
  BasicAuth auth({{"new", vector_with("$2y$")}, {"old", pbkdf2.to_string()}});
  ASSERT_TRUE(auth.enabled());
  EXPECT_EQ(auth.check(basic("new", kVectorPassword), "10.0.0.1"), BasicAuth::Verdict::kAllowed);
  EXPECT_EQ(auth.check(basic("old", "old secret"), "10.0.0.1"), BasicAuth::Verdict::kAllowed);
  EXPECT_EQ(auth.check(basic("new", "old secret"), "10.0.0.2"), BasicAuth::Verdict::kRefused);
  const std::size_t before = auth.hash_checks();
  // An unknown user is checked against the decoy (the costlier hash: bcrypt cost 5 here).
  EXPECT_EQ(auth.check(basic("nobody", kVectorPassword), "10.0.0.3"), BasicAuth::Verdict::kRefused);
  EXPECT_EQ(auth.hash_checks(), before + 1);
}

#ifndef _WIN32
// What `htpasswd -nbBC 10 USER PASSWORD` prints now (Debian's apache2-utils), verified here.
std::string run_htpasswd(const std::string& user, const std::string& password) {
  const std::string command = "htpasswd -nbBC 10 '" + user + "' '" + password + "' 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return "";
  }
  std::array<char, 256> buffer{};
  std::string out;
  while (fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
    out += buffer.data();
  }
  pclose(pipe);
  const std::size_t colon = out.find(':');
  const std::size_t end = out.find_first_of("\r\n");
  return colon == std::string::npos ? "" : out.substr(colon + 1, end - colon - 1);
}

TEST(Bcrypt, HtpasswdHashMadeNowVerifies) {
  const std::string hash = run_htpasswd("prometheus", "scrape me, 2026");
  ASSERT_TRUE(hash.starts_with("$2y$10$"))
      << "htpasswd (Debian apache2-utils) must be installed; got \"" << hash << "\"";
  const auto parsed = BcryptHash::parse(hash);
  ASSERT_TRUE(parsed) << hash;
  EXPECT_EQ(parsed->cost(), 10U);
  EXPECT_TRUE(parsed->verify("scrape me, 2026"));
  EXPECT_FALSE(parsed->verify("scrape me, 2025"));
  // The same salt and hash read as $2a$ and $2b$ (ASCII password: the same algorithm).
  for (const char* prefix : {"$2a$", "$2b$"}) {
    const auto other = BcryptHash::parse(prefix + hash.substr(4));
    ASSERT_TRUE(other) << prefix;
    EXPECT_TRUE(other->verify("scrape me, 2026")) << prefix;
  }
}
#endif

}  // namespace
}  // namespace thx
