// The command line: flags are an overlay on the configuration file, validated by the file's own
// rules, with the flag's name in each error.
#include "service/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/validators.h"

namespace thx {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

CliOptions parse_ok(const std::vector<std::string>& args) {
  const CliParseResult parsed = parse_command_line(args);
  EXPECT_TRUE(parsed.options.has_value()) << parsed.error;
  return parsed.options.value_or(CliOptions{});
}

std::vector<std::string> errors_of(const ConfigLoadResult& result) {
  std::vector<std::string> lines;
  for (const auto& error : result.errors) {
    lines.push_back(error.path + ": " + error.message);
  }
  return lines;
}

TEST(Cli, ListenAddressFlagIsCheckedLikeTheFile) {
  for (const std::string& address :
       std::vector<std::string>{"19818,19819", ":9835s", "garbage", "::1:9835", "[::1]"}) {
    for (const auto& args : {std::vector<std::string>{"--web.listen-address=" + address},
                             std::vector<std::string>{"--web.listen-address", address}}) {
      const ConfigLoadResult result = load_effective_config(parse_ok(args));
      EXPECT_FALSE(result.config.has_value()) << address;
      EXPECT_THAT(errors_of(result), ::testing::ElementsAre("--web.listen-address: " +
                                                            *listen_address_problem(address)))
          << address;
    }
  }
  const ConfigLoadResult ok = load_effective_config(parse_ok({"--web.listen-address", "[::1]:0"}));
  ASSERT_TRUE(ok.config.has_value());
  EXPECT_EQ(ok.config->web.listen_address, "[::1]:0");
}

TEST(Cli, TelemetryPathAndLogLevelFlags) {
  EXPECT_THAT(
      errors_of(load_effective_config(parse_ok({"--web.telemetry-path=/snapshot"}))),
      ::testing::ElementsAre("--web.telemetry-path: " + *telemetry_path_problem("/snapshot")));
  EXPECT_THAT(errors_of(load_effective_config(parse_ok({"--log.level", "chatty"}))),
              ::testing::ElementsAre("--log.level: " + *log_level_problem("chatty")));
  const ConfigLoadResult ok = load_effective_config(
      parse_ok({"--web.telemetry-path", "/m", "--log.level=debug", "--web.enable-lifecycle"}));
  ASSERT_TRUE(ok.config.has_value()) << ::testing::PrintToString(errors_of(ok));
  EXPECT_EQ(ok.config->web.telemetry_path, "/m");
  EXPECT_EQ(ok.config->log.level, "debug");
  EXPECT_TRUE(ok.config->web.enable_lifecycle);
}

}  // namespace
}  // namespace thx
