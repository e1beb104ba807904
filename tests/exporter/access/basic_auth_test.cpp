#include "exporter/access/basic_auth.h"

#include <gtest/gtest.h>

namespace thx {
namespace {

// "prometheus:s3cret", "prometheus:wrong", "nobody:s3cret" in base64.
constexpr std::string_view kRight = "Basic cHJvbWV0aGV1czpzM2NyZXQ=";
constexpr std::string_view kWrong = "Basic cHJvbWV0aGV1czp3cm9uZw==";
constexpr std::string_view kUnknown = "Basic bm9ib2R5OnMzY3JldA==";

std::map<std::string, std::string> users() {
  return {{"prometheus", hash_password("s3cret", "0123456789abcdef", 1000).to_string()}};
}

TEST(Base64Strict, DecodesCanonicalTextOnly) {
  EXPECT_EQ(base64_decode_strict("cHJvbWV0aGV1czpzM2NyZXQ="), "prometheus:s3cret");
  EXPECT_EQ(base64_decode_strict("YWI="), "ab");
  EXPECT_EQ(base64_decode_strict("YQ=="), "a");
  EXPECT_EQ(base64_decode_strict(""), "");
  EXPECT_FALSE(base64_decode_strict("YQ"));        // padding missing
  EXPECT_FALSE(base64_decode_strict("YQ==YWI="));  // text after the padding
  EXPECT_FALSE(base64_decode_strict("Y==="));      // too much padding
  EXPECT_FALSE(base64_decode_strict("YR=="));      // bits left over: not the canonical "YQ=="
  EXPECT_FALSE(base64_decode_strict("YW I="));     // a space inside
  EXPECT_FALSE(base64_decode_strict("YWI=\n"));
}

TEST(BasicAuth, KnownAndUnknownUsersCostOneHashCheckEach) {
  BasicAuth auth(users());
  EXPECT_EQ(auth.check(kWrong, "a"), BasicAuth::Verdict::kRefused);
  EXPECT_EQ(auth.hash_checks(), 1U);
  EXPECT_EQ(auth.check(kUnknown, "b"), BasicAuth::Verdict::kRefused);
  EXPECT_EQ(auth.hash_checks(), 2U);  // checked against the decoy: the same work
  EXPECT_EQ(auth.check(kRight, "c"), BasicAuth::Verdict::kAllowed);
  EXPECT_EQ(auth.hash_checks(), 3U);
}

TEST(BasicAuth, VerifiedCredentialsAreRemembered) {
  BasicAuth auth(users());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(auth.check(kRight, "c"), BasicAuth::Verdict::kAllowed);
  }
  EXPECT_EQ(auth.hash_checks(), 1U);
}

TEST(BasicAuth, SchemeIsCaseInsensitiveAndBase64Strict) {
  BasicAuth auth(users());
  EXPECT_EQ(auth.check("basic cHJvbWV0aGV1czpzM2NyZXQ=", "c"), BasicAuth::Verdict::kAllowed);
  // The old decoder stopped at the first '=' and accepted whatever followed.
  EXPECT_EQ(auth.check("Basic cHJvbWV0aGV1czpzM2NyZXQ=garbage", "d"), BasicAuth::Verdict::kRefused);
  EXPECT_EQ(auth.check("Bearer cHJvbWV0aGV1czpzM2NyZXQ=", "e"), BasicAuth::Verdict::kRefused);
  EXPECT_EQ(auth.check("", "f"), BasicAuth::Verdict::kRefused);
}

TEST(BasicAuth, FailuresAreLimitedPerClientAddressForAWindow) {
  BasicAuth auth(users());
  const auto start = BasicAuth::Clock::now();
  for (unsigned i = 0; i < BasicAuth::kMaxFailures; ++i) {
    EXPECT_EQ(auth.check(kWrong, "10.0.0.1", start), BasicAuth::Verdict::kRefused);
  }
  const std::size_t checks = auth.hash_checks();
  // Limited now: refused without hashing, even with the right password...
  EXPECT_EQ(auth.check(kWrong, "10.0.0.1", start), BasicAuth::Verdict::kLimited);
  EXPECT_EQ(auth.check(kRight, "10.0.0.1", start), BasicAuth::Verdict::kLimited);
  EXPECT_EQ(auth.hash_checks(), checks);
  // ...while another address is not...
  EXPECT_EQ(auth.check(kRight, "10.0.0.2", start), BasicAuth::Verdict::kAllowed);
  // ...and once remembered, that credential passes from the limited address too.
  EXPECT_EQ(auth.check(kRight, "10.0.0.1", start), BasicAuth::Verdict::kAllowed);
  // After the window the address may try again.
  EXPECT_EQ(auth.check(kWrong, "10.0.0.1", start + BasicAuth::kFailureWindow),
            BasicAuth::Verdict::kRefused);
}

}  // namespace
}  // namespace thx
