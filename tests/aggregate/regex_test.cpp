// Regex: PCRE2 behind a small value type. What matters to the exporter: named captures for group
// templates, bounded work on hostile input, no errors on invalid UTF-8, and sharing across threads.
#include "collector/aggregate/regex.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace thx {
namespace {

TEST(RegexTest, SearchIsUnanchored) {
  const Regex regex("svchost");
  EXPECT_TRUE(regex.matches("C:\\Windows\\System32\\svchost.exe"));
  EXPECT_FALSE(regex.matches("explorer.exe"));
  EXPECT_TRUE(Regex("^$").matches(""));
}

TEST(RegexTest, NamedCapturesThatTookPart) {
  const Regex regex(R"(-k\s+(?<service>\S+)(?:\s+-p\s+(?<flag>\S+))?)");
  const auto match = regex.search("svchost.exe -k netsvcs -s Themes");
  ASSERT_EQ(match.outcome, Regex::Outcome::matched);
  EXPECT_EQ(match.named.size(), 1U);  // flag did not take part
  EXPECT_EQ(match.named.at("service"), "netsvcs");
  EXPECT_EQ(regex.capture_names(), (std::vector<std::string>{"service", "flag"}));
}

TEST(RegexTest, CaptureNamesInPatternOrder) {
  const Regex regex("(?<zeta>a)(b)(?<alpha>c)");
  EXPECT_EQ(regex.capture_names(), (std::vector<std::string>{"zeta", "alpha"}));
  EXPECT_TRUE(Regex("plain").capture_names().empty());
  const auto match = regex.search("xabcx");
  EXPECT_EQ(match.named.at("zeta"), "a");
  EXPECT_EQ(match.named.at("alpha"), "c");
}

TEST(RegexTest, NoMatchHasNoCaptures) {
  const auto match = Regex("(?<x>foo)").search("bar");
  EXPECT_EQ(match.outcome, Regex::Outcome::no_match);
  EXPECT_TRUE(match.named.empty());
}

TEST(RegexTest, CompileErrorNamesWhatAndWhere) {
  try {
    const Regex regex("^(svc.exe");
    FAIL() << "compiled a broken pattern";
  } catch (const RegexError& e) {
    EXPECT_EQ(std::string(e.what()), "missing closing parenthesis at offset 9");
    EXPECT_EQ(e.offset(), 9U);
  }
  EXPECT_THROW(Regex("a{2,1}"), RegexError);
  EXPECT_THROW(Regex("(?<1bad>x)"), RegexError);
}

TEST(RegexTest, PatternIsUtf8) {
  EXPECT_TRUE(
      Regex("^d.c$").matches("d\xc3\xa9"
                             "c"));         // "dec" with an e-acute: one character
  EXPECT_THROW(Regex("\xff"), RegexError);  // a pattern must be valid UTF-8
}

TEST(RegexTest, InvalidUtf8SubjectIsNotAnError) {
  const std::string subject = "java\xff\xfe -cp app.jar com.example.Main";
  const auto match = Regex(R"((?<main>com\.\S+))").search(subject);
  ASSERT_EQ(match.outcome, Regex::Outcome::matched);
  EXPECT_EQ(match.named.at("main"), "com.example.Main");
  EXPECT_EQ(Regex("^java$").search(subject).outcome, Regex::Outcome::no_match);
  EXPECT_EQ(Regex("x").search("\xc3").outcome, Regex::Outcome::no_match);  // truncated sequence
}

TEST(RegexTest, PathologicalPatternHitsTheLimit) {
  const std::string subject = std::string(std::size_t{32} * 1024, 'a') + "b";
  const auto match = Regex("^(a+)+$").search(subject);
  EXPECT_EQ(match.outcome, Regex::Outcome::limit_exceeded);
  EXPECT_FALSE(Regex("^(a+)+$").matches(subject));
  // The limits leave room for ordinary rules over a long command line.
  EXPECT_TRUE(Regex("^a+b$").matches(subject));
  EXPECT_TRUE(Regex(R"(^(?:a|b)*$)").matches(std::string(20'000, 'a')));
  EXPECT_TRUE(
      Regex(R"(-k\s+(?<s>\S+))").matches(std::string(std::size_t{32} * 1024, 'x') + " -k netsvcs"));
}

TEST(RegexTest, CopiesAndMovesShareTheCompiledCode) {
  const Regex original("(?<word>[a-z]+)");
  Regex copy = original;
  EXPECT_EQ(copy.pattern(), original.pattern());
  EXPECT_EQ(copy.search("123 abc").named.at("word"), "abc");
  Regex assigned("x");
  assigned = copy;
  EXPECT_TRUE(assigned.matches("abc"));
  const Regex moved = std::move(copy);
  EXPECT_TRUE(moved.matches("abc"));
  EXPECT_TRUE(original.matches("abc"));
  std::vector<Regex> many(3, original);
  EXPECT_TRUE(many[2].matches("abc"));
}

TEST(RegexTest, ConcurrentSearchesFromSeveralThreads) {
  const Regex regex(R"(-k\s+(?<service>\S+))");
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&regex, &failures, t] {
      const Regex copy = regex;  // copies in other threads share the same compiled code
      const std::string service = "svc" + std::to_string(t);
      for (int i = 0; i < kRounds; ++i) {
        const auto match = (i % 2 == 0 ? regex : copy).search("svchost.exe -k " + service);
        if (match.outcome != Regex::Outcome::matched || match.named.at("service") != service) {
          ++failures[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures, std::vector<int>(kThreads, 0));
}

}  // namespace
}  // namespace thx
