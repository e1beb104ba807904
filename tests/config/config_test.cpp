// Loading the configuration: every kind of mistake is reported with its JSON path, all of them
// at once, and the defaults and the shipped example load cleanly.
#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace thx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using namespace std::chrono_literals;

// Errors as "path: message" lines: easy to read in a failure and to match.
std::vector<std::string> errors_of(const ConfigLoadResult& result) {
  std::vector<std::string> lines;
  for (const auto& error : result.errors) {
    lines.push_back(error.path + ": " + error.message);
  }
  return lines;
}

std::vector<std::string> errors_of(std::string_view text) {
  return errors_of(load_config_text(text));
}

// Loads text that must have exactly one error and returns it as "path: message".
std::string only_error(std::string_view text) {
  const auto errors = errors_of(text);
  EXPECT_EQ(errors.size(), 1U) << text << "\n" << ::testing::PrintToString(errors);
  return errors.empty() ? "" : errors.front();
}

Config load_ok(std::string_view text) {
  auto result = load_config_text(text);
  EXPECT_THAT(errors_of(result), IsEmpty()) << text;
  return result.config.value_or(Config{});
}

std::vector<std::string> patterns(const std::vector<Regex>& regexes) {
  std::vector<std::string> out;
  out.reserve(regexes.size());
  for (const auto& regex : regexes) {
    out.push_back(regex.pattern());
  }
  return out;
}

// Config has no operator== (a Regex compares by pattern only here), so compare field by field.
void expect_same(const Config& a, const Config& b) {
  EXPECT_EQ(a.web.listen_address, b.web.listen_address);
  EXPECT_EQ(a.web.telemetry_path, b.web.telemetry_path);
  EXPECT_EQ(a.web.enable_lifecycle, b.web.enable_lifecycle);
  EXPECT_EQ(a.web.allowed_networks, b.web.allowed_networks);
  EXPECT_EQ(a.web.basic_auth_users, b.web.basic_auth_users);
  EXPECT_EQ(a.web.max_connections, b.web.max_connections);
  EXPECT_EQ(a.web.request_timeout, b.web.request_timeout);
  EXPECT_EQ(a.web.max_connections_per_client, b.web.max_connections_per_client);
  EXPECT_EQ(a.web.idle_timeout, b.web.idle_timeout);
  EXPECT_EQ(a.web.enable_snapshot, b.web.enable_snapshot);
  EXPECT_EQ(a.web.snapshot_command_lines, b.web.snapshot_command_lines);
  EXPECT_EQ(a.web.tls_cert_file, b.web.tls_cert_file);
  EXPECT_EQ(a.web.tls_key_file, b.web.tls_key_file);
  EXPECT_EQ(a.web.tls_min_version, b.web.tls_min_version);
  EXPECT_EQ(a.web.tls_max_version, b.web.tls_max_version);
  EXPECT_EQ(a.web.tls_client_auth_type, b.web.tls_client_auth_type);
  EXPECT_EQ(a.web.tls_client_ca_file, b.web.tls_client_ca_file);
  EXPECT_EQ(a.collection.interval, b.collection.interval);
  EXPECT_EQ(a.collection.module_interval, b.collection.module_interval);
  EXPECT_TRUE(a.collection.kinds == b.collection.kinds);
  EXPECT_EQ(a.collection.thread_detail, b.collection.thread_detail);
  EXPECT_TRUE(a.collection.resources == b.collection.resources);
  EXPECT_EQ(a.collection.max_heap_blocks_per_process, b.collection.max_heap_blocks_per_process);
  EXPECT_EQ(a.grouping.rules.size(), b.grouping.rules.size());
  EXPECT_EQ(a.grouping.unmatched_group, b.grouping.unmatched_group);
  EXPECT_EQ(a.grouping.kernel_threads_group, b.grouping.kernel_threads_group);
  EXPECT_EQ(patterns(a.modules.include), patterns(b.modules.include));
  EXPECT_EQ(patterns(a.modules.exclude), patterns(b.modules.exclude));
  EXPECT_EQ(a.modules.max_series, b.modules.max_series);
  EXPECT_EQ(patterns(a.per_process.include), patterns(b.per_process.include));
  EXPECT_EQ(a.per_process.max_series, b.per_process.max_series);
  EXPECT_EQ(a.log.level, b.log.level);
  EXPECT_EQ(a.log.file, b.log.file);
  EXPECT_EQ(a.log.file_max_bytes, b.log.file_max_bytes);
  EXPECT_EQ(a.log.file_max_files, b.log.file_max_files);
}

std::filesystem::path temp_file(const std::string& name, std::string_view content) {
  auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(ConfigDefaults, DefaultJsonLoadsToConfigDefaults) {
  expect_same(load_ok(default_config_json()), Config{});
}

TEST(ConfigDefaults, EmptyObjectIsTheDefaults) {
  expect_same(load_ok("{}"), Config{});
}

TEST(ConfigExample, ShippedExampleLoads) {
  const auto result = load_config_file(std::filesystem::path(THX_SOURCE_DIR) /
                                       "deploy/toolhelp_exporter.example.json");
  ASSERT_THAT(errors_of(result), IsEmpty());
  const Config& config = *result.config;
  EXPECT_GE(config.grouping.rules.size(), 5U);
  EXPECT_TRUE(config.grouping.uses_command_line());
  EXPECT_FALSE(config.web.allowed_networks.empty());
}

// The first rule of the example whose matchers all match, and its captures.
std::optional<std::pair<std::string, Regex::Match>> first_rule(const Config& config,
                                                               const std::string& name,
                                                               const std::string& path,
                                                               const std::string& command_line) {
  for (const auto& rule : config.grouping.rules) {
    Regex::Match captures{Regex::Outcome::matched, {}};
    bool all = true;
    for (const auto& [regex, subject] : {std::pair{&rule.name, &name}, std::pair{&rule.path, &path},
                                         std::pair{&rule.command_line, &command_line}}) {
      if (regex->has_value()) {
        auto match = (*regex)->search(*subject);
        all = all && match.outcome == Regex::Outcome::matched;
        captures.named.merge(match.named);
      }
    }
    if (all) {
      return std::pair{rule.group, captures};
    }
  }
  return std::nullopt;
}

TEST(ConfigExample, ExampleRulesGroupRealProcesses) {
  const auto result = load_config_file(std::filesystem::path(THX_SOURCE_DIR) /
                                       "deploy/toolhelp_exporter.example.json");
  ASSERT_TRUE(result.config.has_value());
  const Config& config = *result.config;
  auto svchost = first_rule(config, "svchost.exe", "C:\\Windows\\System32\\svchost.exe",
                            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p");
  ASSERT_TRUE(svchost);
  EXPECT_EQ(svchost->first, "svchost-{service}");
  EXPECT_EQ(svchost->second.named.at("service"), "netsvcs");
  auto jar =
      first_rule(config, "java", "/usr/bin/java", "java -Xmx1g -jar /opt/app/billing-2.1.jar");
  ASSERT_TRUE(jar);
  EXPECT_EQ(jar->second.named.at("jar"), "billing-2.1");
  auto main = first_rule(config, "java.exe", "C:\\java.exe",
                         "java.exe -Dlog4j.configurationFile=x.xml -cp app.jar "
                         "org.apache.catalina.startup.Bootstrap start");
  ASSERT_TRUE(main);
  EXPECT_EQ(main->second.named.at("main"), "org.apache.catalina.startup.Bootstrap");
  auto nginx = first_rule(config, "nginx", "/usr/sbin/nginx", "nginx: worker process");
  ASSERT_TRUE(nginx);
  EXPECT_EQ(nginx->second.named.at("role"), "worker");
  auto postgres = first_rule(config, "postgres", "/usr/lib/postgresql/15/bin/postgres",
                             "postgres: checkpointer");
  ASSERT_TRUE(postgres);
  EXPECT_EQ(postgres->second.named.at("major"), "15");
  EXPECT_FALSE(first_rule(config, "bash", "/usr/bin/bash", "bash"));
}

TEST(ConfigLoad, ReadsEveryField) {
  // R"j(...)j": the JSON holds regexes ending in ')"'.
  const Config config = load_ok(R"j({
    "web": {"listen_address": "[::1]:0", "telemetry_path": "/m", "enable_lifecycle": true,
            "allowed_networks": ["10.0.0.0/8", "fd00::/8"], "basic_auth_users": {"alice": "pbkdf2-sha256$1$73616c74$120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"},
            "max_connections": 3, "request_timeout": "1m30s",
            "tls_cert_file": "c.pem", "tls_key_file": "k.pem", "tls_min_version": "TLS1.3"},
    "collection": {"interval": "100ms", "module_interval": "1h", "kinds": ["processes", "heaps"],
                   "thread_detail": true, "max_heap_blocks_per_process": 7},
    "groups": {"rules": [{"group": "svc-{service}", "name": "^svchost\\.exe$",
                          "command_line": "-k\\s+(?<service>\\S+)"}, {"group": "all"}],
               "unmatched_group": ""},
    "modules": {"include": ["a"], "exclude": ["b", "c"], "max_series": 1},
    "per_process": {"include": ["^x$"], "max_series": 0},
    "log": {"level": "off", "file": "x.log", "file_max_bytes": 1024, "file_max_files": 1}
  })j");
  EXPECT_EQ(config.web.listen_address, "[::1]:0");
  EXPECT_EQ(config.web.telemetry_path, "/m");
  EXPECT_TRUE(config.web.enable_lifecycle);
  EXPECT_THAT(config.web.allowed_networks, ElementsAre("10.0.0.0/8", "fd00::/8"));
  EXPECT_EQ(config.web.basic_auth_users.at("alice").substr(0, 16), "pbkdf2-sha256$1$");
  EXPECT_EQ(config.web.max_connections, 3U);
  EXPECT_EQ(config.web.request_timeout, 90s);
  EXPECT_EQ(config.web.tls_cert_file, "c.pem");
  EXPECT_EQ(config.web.tls_key_file, "k.pem");
  EXPECT_EQ(config.web.tls_min_version, "TLS1.3");
  EXPECT_EQ(config.collection.interval, 100ms);
  EXPECT_EQ(config.collection.module_interval, 1h);
  EXPECT_TRUE((config.collection.kinds == KindSet{Kind::processes, Kind::heaps}));
  EXPECT_TRUE(config.collection.thread_detail);
  EXPECT_EQ(config.collection.max_heap_blocks_per_process, 7U);
  ASSERT_EQ(config.grouping.rules.size(), 2U);
  EXPECT_EQ(config.grouping.rules[0].group, "svc-{service}");
  EXPECT_EQ(config.grouping.rules[0].name->pattern(), "^svchost\\.exe$");
  ASSERT_TRUE(config.grouping.rules[0].command_line.has_value());
  EXPECT_EQ(config.grouping.rules[0].command_line->pattern(), "-k\\s+(?<service>\\S+)");
  EXPECT_FALSE(config.grouping.rules[0].path.has_value());
  EXPECT_EQ(config.grouping.rules[1].group, "all");
  EXPECT_FALSE(config.grouping.rules[1].name.has_value());
  EXPECT_TRUE(config.grouping.uses_command_line());
  EXPECT_EQ(config.grouping.unmatched_group, "");
  EXPECT_THAT(patterns(config.modules.include), ElementsAre("a"));
  EXPECT_THAT(patterns(config.modules.exclude), ElementsAre("b", "c"));
  EXPECT_EQ(config.modules.max_series, 1U);
  EXPECT_THAT(patterns(config.per_process.include), ElementsAre("^x$"));
  EXPECT_EQ(config.per_process.max_series, 0U);
  EXPECT_EQ(config.log.level, "off");
  EXPECT_EQ(config.log.file, "x.log");
  EXPECT_EQ(config.log.file_max_bytes, 1024U);
  EXPECT_EQ(config.log.file_max_files, 1U);
}

TEST(ConfigLoad, UsesCommandLineOnlyWithACommandLineMatcher) {
  EXPECT_FALSE(Config{}.grouping.uses_command_line());
  EXPECT_FALSE(load_ok(R"({"groups": {"rules": [{"group": "x", "name": "x"}]}})")
                   .grouping.uses_command_line());
}

TEST(ConfigLoad, CommentKeysAreIgnoredAtEveryLevel) {
  load_ok(R"({"//": "top", "web": {"//": "a", "// listen": "b", "listen_address": ":1"},
              "groups": {"rules": [{"//": "rule", "group": "g"}]},
              "//": "a second top-level comment is fine too"})");
}

TEST(ConfigErrors, UnknownKeysNameTheirPath) {
  EXPECT_THAT(only_error(R"({"webb": {}})"), StartsWith("$.webb: unknown key; expected one of"));
  EXPECT_THAT(only_error(R"({"web": {"listen": ":1"}})"),
              AllOf(StartsWith("$.web.listen: unknown key"), HasSubstr("listen_address")));
  EXPECT_THAT(only_error(R"({"groups": {"rules": [{"group": "g"}, {"group": "g", "cmd": "x"}]}})"),
              StartsWith("$.groups.rules[1].cmd: unknown key"));
  EXPECT_THAT(only_error(R"({"log": {"a b": 1}})"), StartsWith("$.log[\"a b\"]: unknown key"));
}

TEST(ConfigErrors, WrongTypesNameTheExpectedType) {
  EXPECT_EQ(only_error(R"([])"), "$: expected an object, got an array");
  EXPECT_EQ(only_error(R"({"web": 1})"), "$.web: expected an object, got 1");
  EXPECT_EQ(only_error(R"({"web": {"max_connections": "8"}})"),
            "$.web.max_connections: expected an integer from 1 to 1024, got the string \"8\"");
  EXPECT_EQ(only_error(R"({"web": {"max_connections": 8.0}})"),
            "$.web.max_connections: expected an integer from 1 to 1024, got 8.0");
  EXPECT_EQ(only_error(R"({"modules": {"max_series": -1}})"),
            "$.modules.max_series: expected an integer from 1 to 100000, got -1");
  EXPECT_EQ(only_error(R"({"modules": {"max_series": 100001}})"),
            "$.modules.max_series: expected an integer from 1 to 100000, got 100001");
  EXPECT_EQ(only_error(R"({"web": {"enable_lifecycle": "yes"}})"),
            "$.web.enable_lifecycle: expected true or false, got the string \"yes\"");
  EXPECT_EQ(only_error(R"({"log": {"file": null}})"), "$.log.file: expected a string, got null");
  EXPECT_EQ(only_error(R"({"modules": {"include": "x"}})"),
            "$.modules.include: expected an array, got the string \"x\"");
  EXPECT_EQ(only_error(R"({"per_process": {"include": ["ok", 3]}})"),
            "$.per_process.include[1]: expected a string, got 3");
  EXPECT_EQ(only_error(R"({"groups": {"rules": [[]]}})"),
            "$.groups.rules[0]: expected an object, got an array");
}

TEST(ConfigErrors, RangesOfCounts) {
  load_ok(R"({"per_process": {"max_series": 0}, "modules": {"max_series": 100000}})");
  EXPECT_THAT(only_error(R"({"per_process": {"max_series": 10001}})"),
              StartsWith("$.per_process.max_series: expected an integer from 0 to 10000"));
  EXPECT_THAT(only_error(R"({"web": {"max_connections": 0}})"),
              StartsWith("$.web.max_connections: expected an integer from 1"));
  EXPECT_THAT(only_error(R"({"log": {"file_max_bytes": 10}})"),
              StartsWith("$.log.file_max_bytes: expected an integer from 1024"));
  EXPECT_THAT(only_error(R"({"collection": {"max_heap_blocks_per_process": 1e3}})"),
              StartsWith("$.collection.max_heap_blocks_per_process: expected an integer"));
}

TEST(ConfigDurations, ParseDuration) {
  EXPECT_EQ(parse_duration("100ms"), 100ms);
  EXPECT_EQ(parse_duration("15s"), 15s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("1m30s"), 90s);
  EXPECT_EQ(parse_duration("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_EQ(parse_duration("0s"), 0ms);
  for (const char* bad : {"", "15", "s", "1.5s", "-1s", " 1s", "1s ", "1 s", "1d", "30s1m", "1s1s",
                          "1S", "1msx", "9999999999h"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
}

TEST(ConfigDurations, BadDurationsNameThePath) {
  EXPECT_THAT(only_error(R"({"collection": {"interval": "15 seconds"}})"),
              StartsWith("$.collection.interval: expected a duration such as \"100ms\""));
  EXPECT_THAT(only_error(R"({"web": {"request_timeout": 10}})"),
              StartsWith("$.web.request_timeout: expected a duration"));
  EXPECT_EQ(only_error(R"({"collection": {"interval": "50ms"}})"),
            "$.collection.interval: must be at least 100ms, got \"50ms\"");
  EXPECT_THAT(only_error(R"({"web": {"request_timeout": "0s"}})"),
              StartsWith("$.web.request_timeout: must be at least 1ms"));
  // A slow client could hold a connection for as long as the timeout: it has a ceiling.
  EXPECT_EQ(only_error(R"({"web": {"request_timeout": "5m1s"}})"),
            "$.web.request_timeout: must be at most 5m, got \"5m1s\"");
  EXPECT_EQ(only_error(R"({"web": {"request_timeout": "1000000h"}})"),
            "$.web.request_timeout: must be at most 5m, got \"1000000h\"");
  EXPECT_EQ(load_ok(R"({"web": {"request_timeout": "5m"}})").web.request_timeout, 5min);
  EXPECT_EQ(only_error(R"({"collection": {"interval": "1m", "module_interval": "30s"}})"),
            "$.collection.module_interval: must be at least the interval (1m), got 30s");
  EXPECT_EQ(only_error(R"({"collection": {"interval": "10m"}})"),
            "$.collection.module_interval: must be at least the interval (10m), got 5m (the "
            "default)");
}

TEST(ConfigWeb, NetworksInCidrNotation) {
  load_ok(R"({"web": {"allowed_networks": ["0.0.0.0/0", "127.0.0.0/8", "192.168.1.7/32",
      "::/0", "::1/128", "fe80::/10", "2001:db8::1:0/112", "::ffff:10.0.0.0/104",
      "1:2:3:4:5:6:7:8/64", "1:2:3:4:5:6:7::/128"]}})");
  for (const char* bad :
       {"127.0.0.1", "127.0.0/8", "256.0.0.0/8", "1.2.3.4/33", "01.2.3.4/8", "1.2.3.4/",
        "1.2.3.4/-1", "::1/129", "1:::2/64", "1::2::3/64", "1:2:3:4:5:6:7:8:9/64", "12345::/16",
        "fe80::1%eth0/64", "g::/8", "localhost/8", ":1/8", "1:/8", "/8", ""}) {
    const std::string text = R"({"web": {"allowed_networks": [")" + std::string(bad) + R"("]}})";
    EXPECT_THAT(only_error(text), StartsWith("$.web.allowed_networks[0]: expected a network like"))
        << bad;
  }
}

TEST(ConfigWeb, ListenAddress) {
  for (const char* good : {":9835", "0.0.0.0:9835", "127.0.0.1:1", "localhost:65535", "[::]:9835",
                           "[::1]:0", "my-host.example.com:80"}) {
    EXPECT_THAT(errors_of(R"({"web": {"listen_address": ")" + std::string(good) + R"("}})"),
                IsEmpty())
        << good;
  }
  for (const char* bad : {"9835", ":65536", ":", ":-1", ":http", "::1:9835", "[::1]", "[::1]9835",
                          "[zz]:1", "300.0.0.1:80", "a b:80", "", "[::1:80"}) {
    EXPECT_THAT(only_error(R"({"web": {"listen_address": ")" + std::string(bad) + R"("}})"),
                StartsWith("$.web.listen_address: expected \"host:port\""))
        << bad;
  }
}

// One rule for a listen address, whether it comes from the file or from --web.listen-address:
// exactly one host:port. The flag's error carries the same message under the flag's name.
TEST(ConfigWeb, ListenAddressFromFileAndFlagGetTheSameMessage) {
  const std::vector<std::string> bad = {
      "19818,19819",        // a list
      ":19818,:19819",      // a list of :ports
      "127.0.0.1:80,:81",   // a list after a host
      ":9835s",             // a suffix (once taken for TLS)
      ":9835 ",             // trailing space
      " :9835",             // leading space
      "garbage",            // no port at all
      "host:",              // empty port
      "::1:9835",           // IPv6 without brackets
      "[::1]",              // IPv6 without port
      "[::1]:9835x",        // IPv6 with a suffix
      "[::1]:99999",        // port out of range
      "[fe80::1%eth0]:80",  // zone ids are not taken
      "[1.2.3.4]:80",       // IPv4 in brackets
      "a..b:80",            // empty label
      ".:80",               // nothing but a dot
      "1.2.3:80",           // three parts
  };
  for (const std::string& address : bad) {
    const auto file = load_config_text(R"({"web": {"listen_address": )" + quote(address) + "}}");
    const auto flag = load_config_text(
        "{}", "<config>", {{"--web.listen-address", {"web", "listen_address"}, address}});
    ASSERT_EQ(file.errors.size(), 1U) << address;
    ASSERT_EQ(flag.errors.size(), 1U) << address;
    EXPECT_EQ(file.errors[0].path, "$.web.listen_address");
    EXPECT_EQ(flag.errors[0].path, "--web.listen-address");
    EXPECT_EQ(file.errors[0].message, flag.errors[0].message) << address;
    EXPECT_THAT(flag.errors[0].message, StartsWith("expected \"host:port\"")) << address;
    EXPECT_EQ(listen_address_problem(address), file.errors[0].message) << address;
    EXPECT_FALSE(flag.config.has_value());
  }
  for (const char* good : {":9835", "127.0.0.1:9835", "[::1]:9835", "[::]:0", "[2001:db8::1]:65535",
                           "localhost:80", "host_1.example:1"}) {
    EXPECT_EQ(listen_address_problem(good), std::nullopt) << good;
    const auto flag = load_config_text(R"({"web": {"listen_address": "nope"}})", "<config>",
                                       {{"--web.listen-address", {"web", "listen_address"}, good}});
    ASSERT_TRUE(flag.config.has_value()) << good;  // the flag wins over the file's value
    EXPECT_EQ(flag.config->web.listen_address, good);
  }
}

TEST(ConfigOverrides, FlagsGoThroughTheFilesChecks) {
  const auto result = load_config_text(
      R"({"log": {"level": "debug"}})", "<config>",
      {{"--web.telemetry-path", {"web", "telemetry_path"}, std::string("/healthz")},
       {"--log.level", {"log", "level"}, std::string("loud")},
       {"--kinds", {"collection", "kinds"}, std::vector<std::string>{"processes", "heap_blocks"}}});
  EXPECT_THAT(errors_of(result),
              ::testing::UnorderedElementsAre(
                  "--web.telemetry-path: \"/healthz\" is reserved by the exporter; use another "
                  "path such as \"/metrics\"",
                  "--log.level: expected one of trace, debug, info, warn, error, critical, off; "
                  "got \"loud\"",
                  "--kinds: \"heap_blocks\" requires \"heaps\": blocks are counted per heap"));
  // A value the file cannot hold an override in is the file's error, not the flag's.
  EXPECT_THAT(errors_of(load_config_text(
                  R"({"web": 5})", "<config>",
                  {{"--web.listen-address", {"web", "listen_address"}, std::string(":1")}})),
              ElementsAre("$.web: expected an object, got 5"));
  const Config config =
      load_config_text("{}", "<config>",
                       {{"--web.enable-lifecycle", {"web", "enable_lifecycle"}, true}})
          .config.value_or(Config{});
  EXPECT_TRUE(config.web.enable_lifecycle);
}

TEST(ConfigWeb, TelemetryPath) {
  for (const char* bad :
       {"metrics", "/", "/healthz", "/snapshot", "/-/reload", "/a b", "/m?x", "//evil.example/x"}) {
    EXPECT_THAT(only_error(R"({"web": {"telemetry_path": ")" + std::string(bad) + R"("}})"),
                StartsWith("$.web.telemetry_path: "))
        << bad;
  }
  EXPECT_THAT(only_error(R"({"web": {"telemetry_path": "/healthz"}})"), HasSubstr("reserved"));
}

TEST(ConfigWeb, TlsNeedsCertificateAndKey) {
  EXPECT_THAT(only_error(R"({"web": {"tls_cert_file": "c.pem"}})"),
              StartsWith("$.web.tls_key_file: must be set too"));
  EXPECT_THAT(only_error(R"({"web": {"tls_key_file": "k.pem"}})"),
              StartsWith("$.web.tls_cert_file: must be set too"));
  EXPECT_EQ(only_error(R"({"web": {"tls_cert_file": 1, "tls_key_file": "k.pem"}})"),
            "$.web.tls_cert_file: expected a string, got 1");
}

TEST(ConfigWeb, TlsMinVersion) {
  EXPECT_EQ(load_ok(R"({"web": {"tls_min_version": "TLS1.2"}})").web.tls_min_version, "TLS1.2");
  EXPECT_EQ(only_error(R"({"web": {"tls_min_version": "TLS1.1"}})"),
            "$.web.tls_min_version: expected \"TLS1.2\" or \"TLS1.3\", got \"TLS1.1\"");
  EXPECT_EQ(only_error(R"({"web": {"tls_min_version": 1.2}})"),
            "$.web.tls_min_version: expected a string, got 1.2");
  // Both problems of one section are reported, not only the first.
  EXPECT_THAT(errors_of(R"({"web": {"tls_cert_file": "c.pem", "tls_min_version": "ssl3"}})"),
              ElementsAre(StartsWith("$.web.tls_key_file: must be set too"),
                          StartsWith("$.web.tls_min_version: expected")));
}

TEST(ConfigWeb, TlsMaxVersion) {
  const Config config = load_ok(
      R"({"web": {"tls_cert_file": "c.pem", "tls_key_file": "k.pem", "tls_max_version": "TLS1.2"}})");
  EXPECT_EQ(config.web.tls_max_version, "TLS1.2");
  EXPECT_EQ(load_ok("{}").web.tls_max_version, "TLS1.3");
  EXPECT_EQ(only_error(R"({"web": {"tls_max_version": "TLS1.4"}})"),
            "$.web.tls_max_version: expected \"TLS1.2\" or \"TLS1.3\", got \"TLS1.4\"");
  EXPECT_EQ(only_error(R"({"web": {"tls_min_version": "TLS1.3", "tls_max_version": "TLS1.2"}})"),
            "$.web.tls_max_version: \"TLS1.2\" is below tls_min_version \"TLS1.3\": no protocol "
            "version would be left");
}

TEST(ConfigWeb, TlsClientCertificates) {
  constexpr std::string_view kTls = R"("tls_cert_file": "c.pem", "tls_key_file": "k.pem")";
  auto web = [&](std::string_view rest) {
    return R"({"web": {)" + std::string(kTls) + ", " + std::string(rest) + "}}";
  };
  const Config config = load_ok(web(R"("tls_client_auth_type": "RequireAndVerifyClientCert",
                     "tls_client_ca_file": "ca.pem")"));
  EXPECT_EQ(config.web.tls_client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(config.web.tls_client_ca_file, "ca.pem");
  EXPECT_EQ(load_ok("{}").web.tls_client_auth_type, "NoClientCert");
  for (const char* type : {"NoClientCert", "RequestClientCert", "RequireAnyClientCert"}) {
    EXPECT_EQ(load_ok(web(R"("tls_client_auth_type": ")" + std::string(type) + "\""))
                  .web.tls_client_auth_type,
              type);
  }
  EXPECT_THAT(only_error(web(R"("tls_client_auth_type": "RequireClientCert")")),
              StartsWith("$.web.tls_client_auth_type: expected one of NoClientCert, "));
  // The verifying policies need the CA file; the CA file needs a policy that uses it.
  EXPECT_EQ(only_error(web(R"("tls_client_auth_type": "VerifyClientCertIfGiven")")),
            "$.web.tls_client_ca_file: must be set too: tls_client_auth_type "
            "VerifyClientCertIfGiven verifies client certificates against the CAs in this file");
  EXPECT_THAT(only_error(web(R"("tls_client_ca_file": "ca.pem")")),
              StartsWith("$.web.tls_client_ca_file: is set, but tls_client_auth_type is "
                         "NoClientCert"));
  // Client certificates without HTTPS.
  EXPECT_EQ(only_error(R"({"web": {"tls_client_auth_type": "RequireAnyClientCert"}})"),
            "$.web.tls_client_auth_type: client certificates need HTTPS: set tls_cert_file and "
            "tls_key_file too");
  EXPECT_EQ(only_error(R"({"web": {"tls_client_ca_file": 7}})"),
            "$.web.tls_client_ca_file: expected a string, got 7");
}

TEST(ConfigWeb, BasicAuthUsers) {
  EXPECT_EQ(
      only_error(R"({"web": {"basic_auth_users": {"alice": ""}}})"),
      "$.web.basic_auth_users.alice: expected a password hash \"pbkdf2-sha256$<iterations>$<salt "
      "hex>$<key hex>\" as printed by `toolhelp_exporter hash-password`, or a bcrypt hash ($2a$, "
      "$2b$, $2y$) as printed by `htpasswd -nBC 10 USER` (plain passwords are refused)");
  // bcrypt hashes are welcome in the JSON file too (checked the same way), with the reason when
  // malformed, never the hash itself.
  const std::string bcrypt = "$2y$10$J803K2NTQzToGvzcuxsG7uo/gq5h4UdxbWwRpIppU.VzgpjMGkT8i";
#ifdef THX_NO_LIBXCRYPT
  // A build without libxcrypt says so rather than accepting a hash it cannot verify.
  EXPECT_EQ(only_error(R"({"web": {"basic_auth_users": {"alice": ")" + bcrypt + R"("}}})"),
            "$.web.basic_auth_users.alice: bcrypt hashes cannot be verified by this build (it was "
            "built without libxcrypt, which vcpkg has no Windows port of); use a pbkdf2-sha256 "
            "hash from `toolhelp_exporter hash-password` in the JSON configuration's "
            "web.basic_auth_users");
  return;
#endif
  EXPECT_EQ(load_ok(R"({"web": {"basic_auth_users": {"alice": ")" + bcrypt + R"("}}})")
                .web.basic_auth_users.at("alice"),
            bcrypt);
  EXPECT_EQ(only_error(R"({"web": {"basic_auth_users": {"alice": "$2y$40$)" + bcrypt.substr(7) +
                       R"("}}})"),
            "$.web.basic_auth_users.alice: bcrypt cost 40 is out of range (4 to 31)");
  EXPECT_EQ(only_error(R"({"web": {"basic_auth_users": {"bob": 5}}})"),
            "$.web.basic_auth_users.bob: expected a string, got 5");
  EXPECT_THAT(only_error(R"({"web": {"basic_auth_users": {"a:b": "h"}}})"),
              StartsWith("$.web.basic_auth_users[\"a:b\"]: a user name must be non-empty"));
  EXPECT_THAT(only_error(R"({"web": {"basic_auth_users": ["alice"]}})"),
              StartsWith("$.web.basic_auth_users: expected an object"));
}

TEST(ConfigCollection, Kinds) {
  EXPECT_EQ(only_error(R"({"collection": {"kinds": ["processes", "handles"]}})"),
            "$.collection.kinds[1]: unknown kind \"handles\"; expected one of processes, "
            "threads, modules, heaps, heap_blocks, resources");
  EXPECT_EQ(only_error(R"({"collection": {"kinds": ["processes", "threads", "threads"]}})"),
            "$.collection.kinds[2]: duplicate kind \"threads\"");
  EXPECT_THAT(only_error(R"({"collection": {"kinds": ["threads"]}})"),
              StartsWith("$.collection.kinds: must include \"processes\""));
  EXPECT_THAT(only_error(R"({"collection": {"kinds": []}})"),
              StartsWith("$.collection.kinds: must include \"processes\""));
  EXPECT_THAT(only_error(R"({"collection": {"kinds": ["processes", "heap_blocks"]}})"),
              StartsWith("$.collection.kinds: \"heap_blocks\" requires \"heaps\""));
  load_ok(R"({"collection": {"kinds": ["heap_blocks", "heaps", "processes"]}})");
}

TEST(ConfigLog, Level) {
  EXPECT_THAT(only_error(R"({"log": {"level": "verbose"}})"),
              StartsWith("$.log.level: expected one of trace, debug, info"));
  load_ok(R"({"log": {"level": "critical"}})");
}

TEST(ConfigGroups, BadRegexNamesTheRule) {
  EXPECT_EQ(only_error(R"({"groups": {"rules": [{"group": "a", "name": "^a$"},
                                                 {"group": "b", "name": "^(svc"}]}})"),
            "$.groups.rules[1].name: invalid regular expression: missing closing parenthesis at "
            "offset 5");
  EXPECT_THAT(only_error(R"({"groups": {"rules": [{"group": "a", "command_line": "a{2,1}"}]}})"),
              StartsWith("$.groups.rules[0].command_line: invalid regular expression: "));
  EXPECT_THAT(only_error(R"({"modules": {"exclude": ["ok", "[z-a]"]}})"),
              StartsWith("$.modules.exclude[1]: invalid regular expression: "));
  EXPECT_THAT(only_error(R"({"per_process": {"include": ["("]}})"),
              StartsWith("$.per_process.include[0]: invalid regular expression: "));
}

TEST(ConfigGroups, TemplatePlaceholders) {
  // Captures of any of the rule's matchers, plus name and path.
  load_ok(R"j({"groups": {"rules": [{"group": "{name}-{svc}-{ver}-{path}",
      "command_line": "-k (?<svc>\\S+)", "path": "(?<ver>\\d+)"}]}})j");
  EXPECT_THAT(only_error(R"j({"groups": {"rules": [{"group": "svc-{service}", "name": "x",
                                                    "command_line": "-k (?<svc>\\S+)"}]}})j"),
              AllOf(StartsWith("$.groups.rules[0].group: placeholder {service} is not a named "
                               "capture"),
                    HasSubstr("{svc}")));
  EXPECT_THAT(only_error(R"({"groups": {"rules": [{"group": "a}"}]}})"),
              StartsWith("$.groups.rules[0].group: '}' at offset 1 has no matching '{'"));
  EXPECT_THAT(only_error(R"({"groups": {"rules": [{"group": "{name"}]}})"),
              StartsWith("$.groups.rules[0].group: '{' at offset 0 is never closed"));
  EXPECT_THAT(only_error(R"({"groups": {"rules": [{"group": "{a{name}}"}]}})"),
              StartsWith("$.groups.rules[0].group: '{' at offset 2 is inside"));
  EXPECT_THAT(only_error(R"({"groups": {"rules": [{"group": "{}"}]}})"),
              StartsWith("$.groups.rules[0].group: placeholder {} is not"));
  EXPECT_THAT(only_error(R"({"groups": {"unmatched_group": "other-{svc}"}})"),
              StartsWith("$.groups.unmatched_group: placeholder {svc} is not"));
  load_ok(R"({"groups": {"unmatched_group": "{name}@{path}"}})");
}

TEST(ConfigGroups, RuleNeedsAGroup) {
  EXPECT_THAT(only_error(R"({"groups": {"rules": [{"name": "x"}]}})"),
              StartsWith("$.groups.rules[0].group: missing"));
  EXPECT_EQ(only_error(R"({"groups": {"rules": [{"group": ""}]}})"),
            "$.groups.rules[0].group: expected a non-empty string");
}

TEST(ConfigGroups, BrokenRegexDoesNotAlsoFlagThePlaceholders) {
  EXPECT_THAT(
      only_error(R"({"groups": {"rules": [{"group": "{svc}", "command_line": "(?<svc>"}]}})"),
      StartsWith("$.groups.rules[0].command_line: invalid regular expression"));
}

TEST(ConfigErrors, TenDistinctErrorsAreAllReported) {
  const auto errors = errors_of(R"({
    "web": {"listen_address": "nope", "telemetry_path": "/healthz", "max_connections": -3,
            "allowed_networks": ["10.0.0.0/40"]},
    "collection": {"interval": "fast", "kinds": ["processes", "heap_blocks"]},
    "groups": {"rules": [{"group": "x", "name": "("}, {"group": "{nope}"}]},
    "log": {"level": "loud"},
    "extra": true
  })");
  EXPECT_EQ(errors.size(), 10U) << ::testing::PrintToString(errors);
  std::vector<std::string> paths;
  paths.reserve(errors.size());
  for (const auto& line : errors) {
    paths.push_back(line.substr(0, line.find(": ")));
  }
  EXPECT_THAT(paths,
              ::testing::UnorderedElementsAre(
                  "$.web.listen_address", "$.web.telemetry_path", "$.web.max_connections",
                  "$.web.allowed_networks[0]", "$.collection.interval", "$.collection.kinds",
                  "$.groups.rules[0].name", "$.groups.rules[1].group", "$.log.level", "$.extra"));
}

TEST(ConfigErrors, SyntaxErrorNamesLineAndColumn) {
  const auto result =
      load_config_text("{\n  \"web\": {\n    \"listen_address\": \":1\",\n  }\n}", "my.json");
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_EQ(result.errors[0].path, "my.json");
  EXPECT_THAT(result.errors[0].message, StartsWith("invalid JSON at line 4, column 3: "));
  EXPECT_FALSE(result.config.has_value());
  EXPECT_THAT(only_error(""), HasSubstr("invalid JSON at line 1, column 1"));
  EXPECT_THAT(only_error("{\"a\": tru}"), HasSubstr("line 1, column"));
  EXPECT_THAT(only_error(R"({"web": {"max_connections": 1e400}})"),
              HasSubstr("invalid JSON: number overflow"));
}

TEST(ConfigErrors, DuplicateKeysAreReported) {
  EXPECT_THAT(only_error(R"({"log": {"level": "info", "level": "debug"}})"),
              StartsWith("$.log.level: duplicate key"));
  EXPECT_THAT(
      only_error(R"({"groups": {"rules": [{"group": "a"}, {"group": "b", "group": "c"}]}})"),
      StartsWith("$.groups.rules[1].group: duplicate key"));
  // Inside arrays too: the path counts the elements before it.
  EXPECT_THAT(errors_of(R"({"modules": {"include": ["a", ["b"], {"x": 1, "x": 2}]}})"),
              ::testing::Contains("$.modules.include[2].x: duplicate key: it is set more than once "
                                  "in this object"));
}

// {"//": [[[...]]]}: `depth` objects and arrays nested (a comment, so only the nesting matters).
std::string nested(std::size_t depth) {
  return "{\"//\": " + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
}

TEST(ConfigErrors, NestingIsBoundedAndTheErrorNamesWhere) {
  load_ok(nested(64));
  EXPECT_EQ(only_error(nested(65)),
            "$[\"//\"][0][0][0][0][0][0][0][0][0][0][0]...[0]: nesting deeper than 64 levels of "
            "objects and arrays; a configuration needs a handful");
  // 100,000 levels in 200 KB: one short error, found before the parser goes deeper.
  const std::string deep =
      R"({"web": )" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  const auto result = load_config_text(deep, "deep.json");
  EXPECT_FALSE(result.config.has_value());
  ASSERT_EQ(result.errors.size(), 1U) << ::testing::PrintToString(errors_of(result));
  EXPECT_THAT(result.errors[0].path, StartsWith("$.web[0][0][0][0][0]"));
  EXPECT_THAT(result.errors[0].path, ::testing::EndsWith("...[0]"));
  EXPECT_LT(result.errors[0].path.size(), 64U);
  EXPECT_THAT(result.errors[0].message, StartsWith("nesting deeper than 64"));
  // Unclosed, and in objects: the same.
  std::string objects = "{";
  for (int i = 0; i < 100'000; ++i) {
    objects += R"("a": {)";
  }
  EXPECT_THAT(only_error(objects),
              StartsWith("$.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a....a: nesting deeper than 64"));
  // A long key is cut in a path: an error's size does not grow with the document.
  const std::string key(10'000, 'k');
  const auto long_keys = errors_of("{\"log\": {\"" + key + "\": 1, \"" + key + "\": 2}}");
  ASSERT_FALSE(long_keys.empty());
  EXPECT_EQ(long_keys[0], "$.log[\"" + key.substr(0, 60) +
                              "...\"]: duplicate key: it is set more than once in this object");
  // The duplicate-key check still sees every level up to the bound.
  EXPECT_EQ(only_error(R"({"//": [[{"k": 1, "k": 2}]]})"),
            "$[\"//\"][0][0].k: duplicate key: it is set more than once in this object");
}

// {"//": [{},{},...]} with `count` empty objects.
std::string empty_objects(std::size_t count) {
  std::string text = R"({"//": [{})";
  for (std::size_t i = 1; i < count; ++i) {
    text += ",{}";
  }
  return text + "]}";
}

TEST(ConfigErrors, ManyObjectsAreReadInLinearTime) {
  // nlohmann's callback parser scanned the parent array each time an object closed: 80,000
  // empty objects took 10 s, these 500,000 about six minutes.
  load_ok(empty_objects(500'000));
}

TEST(ConfigErrors, TheDocumentsMemoryIsBounded) {
  // 3 MB of empty objects would take about 120 MB as nlohmann values.
  const auto errors = errors_of(empty_objects(1'000'000));
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_THAT(errors[0], StartsWith("$[\"//\"]["));
  EXPECT_THAT(errors[0], HasSubstr("]: the configuration is too large: its values would take more "
                                   "than 64 MiB in memory"));
  // 15 MB of strings like module patterns (a file holds 16 MiB at most) stay well within the
  // bound (under a comment key: compiling them would only take time here).
  std::string patterns = R"({"//": [)";
  for (int i = 0; patterns.size() < std::size_t{15} << 20U; ++i) {
    patterns += (i == 0 ? "\"" : ",\"") + std::string("^/opt/vendor/lib/libnothing_") +
                std::to_string(i) + "\\\\.so$\"";
  }
  patterns += "]}";
  EXPECT_THAT(errors_of(patterns), IsEmpty());
}

TEST(ConfigErrors, OnlyTheFirstHundredErrorsAreKept) {
  std::string text = "{";
  for (int i = 0; i < 100'000; ++i) {
    text += (i == 0 ? "\"x" : ",\"x") + std::to_string(i) + "\": 0";
  }
  text += "}";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 101U);
  EXPECT_THAT(errors[0], StartsWith("$.x0: unknown key"));  // in the order of the keys
  EXPECT_THAT(errors[99], StartsWith("$.x10086: unknown key"));
  EXPECT_EQ(errors[100], "$: and 99900 more error(s), not shown: fix the ones above first");
}

TEST(ConfigFile, LoadsAFile) {
  const auto path =
      temp_file("thx_config_test_ok.json", "\xEF\xBB\xBF{\"log\": {\"level\": \"warn\"}}");
  const auto result = load_config_file(path);
  EXPECT_THAT(errors_of(result), IsEmpty());  // a UTF-8 byte order mark (Notepad) is fine
  EXPECT_EQ(result.config->log.level, "warn");
  std::filesystem::remove(path);
}

TEST(ConfigFile, ErrorsNameTheFile) {
  const auto path = temp_file("thx_config_test_bad.json", "{\"log\": {\"level\": 1}}");
  const auto result = load_config_file(path);
  std::filesystem::remove(path);
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_EQ(result.errors[0].path, "$.log.level");
  const auto syntax = temp_file("thx_config_test_syntax.json", "{");
  const auto syntax_result = load_config_file(syntax);
  std::filesystem::remove(syntax);
  ASSERT_EQ(syntax_result.errors.size(), 1U);
  EXPECT_THAT(syntax_result.errors[0].path, HasSubstr("thx_config_test_syntax.json"));
}

TEST(ConfigFile, AnErrorLineNamesTheFileOnce) {
  const auto syntax = temp_file("thx_config_test_syntax_line.json", "{\"log\": }");
  const std::string name = syntax.string();
  const auto result = load_config_file(syntax);
  std::filesystem::remove(syntax);
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_EQ(config_error_line(result.errors[0], name),
            name +
                ": invalid JSON at line 1, column 9: syntax error while parsing value - "
                "unexpected '}'; expected '[', '{', or a literal");
  EXPECT_EQ(config_error_line({"$.log.level", "expected a string"}, name),
            name + ": $.log.level: expected a string");
  EXPECT_EQ(config_error_line({"--web.listen-address", "bad"}, ""), "--web.listen-address: bad");
  // The web configuration file's errors name their own file, not the JSON one.
  EXPECT_EQ(config_error_line({"web.yml:3: basic_auth_users.bob", "bad"}, name),
            "web.yml:3: basic_auth_users.bob: bad");
}

TEST(ConfigFile, MissingFileNamesTheFileAndTheReason) {
  const auto path = std::filesystem::temp_directory_path() / "thx_config_test_missing.json";
  const auto result = load_config_file(path);
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_THAT(result.errors[0].path, HasSubstr("thx_config_test_missing.json"));
  EXPECT_THAT(result.errors[0].message, HasSubstr("cannot read the configuration file: "));
  EXPECT_THAT(result.errors[0].message, HasSubstr("o such file"));  // No such file or directory
  const auto directory = load_config_file(std::filesystem::temp_directory_path());
  ASSERT_EQ(directory.errors.size(), 1U);
  EXPECT_THAT(directory.errors[0].message, HasSubstr("directory"));
}

}  // namespace
}  // namespace thx
