// The run loop under concurrency, with the real platform source and the real HTTP server:
// scrapes while snapshots are taken and published, and reloads (good and bad, from HTTP, from
// the signal path and directly) while scrapes are served. Built for the TSan run as well.
#include "service/run_loop.h"
#include "collector/platform_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <new>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exporter/access/password.h"
#include "tests/support/http_client.h"

namespace thx {
namespace {

using namespace std::chrono_literals;

Config config_for(int port, const std::string& group) {
  Config config;
  config.web.listen_address = "127.0.0.1:" + std::to_string(port);
  config.web.enable_lifecycle = true;
  config.collection.interval = 100ms;
  config.collection.module_interval = 100ms;
  config.grouping.unmatched_group = group;       // every process in one group, named by the config
  config.grouping.kernel_threads_group.clear();  // kernel threads too
  return config;
}

// The groups named by toolhelp_group_processes samples in one /metrics body.
std::set<std::string> groups_in(const std::string& body) {
  std::set<std::string> groups;
  std::istringstream lines(body);
  const std::string prefix = "toolhelp_group_processes{group=\"";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) {
      groups.insert(line.substr(prefix.size(), line.find('"', prefix.size()) - prefix.size()));
    }
  }
  return groups;
}

// Reload number n: alpha, beta, then a broken file, in turn; only beta once `settled`.
ConfigLoadResult load_in_turn(std::atomic<int>& loads, int port, bool settled = false) {
  const int n = settled ? 1 : loads.fetch_add(1);
  if (n % 3 == 2) {
    return {std::nullopt, {{"$.collection.interval", "broken on purpose"}}};
  }
  return {config_for(port, n % 3 == 0 ? "alpha" : "beta"), {}};
}

TEST(RunLoopConcurrency, ScrapesDuringSnapshotsAndReloadsAreAlwaysWhole) {
  const int port = test::free_port();
  std::atomic<int> loads{0};
  std::atomic<bool> settled{false};
  RunLoop exporter(
      config_for(port, "alpha"), [&] { return load_in_turn(loads, port, settled); },
      make_platform_source());
  exporter.listen();
  ASSERT_TRUE(exporter.cycle(std::stop_token{}));  // before it, /healthz rightly answers 503
  std::jthread loop([&](const std::stop_token& stop) { exporter.run(stop); });

  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::atomic<int> failures{0};
  std::atomic<int> torn{0};  // a body with groups of two configurations at once
  std::mutex first_failure_mutex;
  std::string first_failure;
  std::vector<std::jthread> clients;
  // Not /healthz: with 100 ms cycles on a loaded machine it rightly reports staleness at times.
  for (const char* path : {"/metrics", "/metrics", "/snapshot?pid=1&kind=threads", "/"}) {
    clients.emplace_back([&, path = std::string(path)] {
      while (!done) {
        const auto response = test::http_request(port, "GET", path);
        ++scrapes;
        if (!response || response->status != 200) {
          if (failures++ == 0) {
            std::lock_guard lock(first_failure_mutex);
            first_failure = path + ": " +
                            (response ? std::to_string(response->status) + " " + response->body
                                      : std::string("no answer"));
          }
          continue;
        }
        if (path == "/metrics" &&
            (response->body.find("toolhelp_build_info{") == std::string::npos ||
             groups_in(response->body).size() > 1)) {
          ++torn;
        }
      }
    });
  }
  int reload_statuses[3] = {0, 0, 0};  // 200, 500, other
  for (int i = 0; i < 60; ++i) {
    switch (i % 3) {
      case 0: {
        const auto response = test::http_request(port, "POST", "/-/reload");
        const int status = response ? response->status : 0;
        ++reload_statuses[status == 200 ? 0 : status == 500 ? 1 : 2];
        break;
      }
      case 1:
        exporter.request_reload();
        break;
      default:
        exporter.reload();
        break;
    }
    std::this_thread::sleep_for(30ms);
  }
  done = true;
  clients.clear();  // joins

  EXPECT_GT(scrapes.load(), 20);
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(reload_statuses[0] + reload_statuses[1], 0);
  EXPECT_EQ(reload_statuses[2], 0);

  // The last word wins: after a good reload, the next cycles group everything under it (reloads
  // still pending in the loop load the same configuration).
  settled = true;
  ASSERT_TRUE(exporter.reload().empty());
  std::set<std::string> groups;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (groups != std::set<std::string>{"beta"} && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    const auto response = test::http_request(port, "GET", "/metrics");
    groups = response ? groups_in(response->body) : std::set<std::string>{};
  }
  EXPECT_EQ(groups, std::set<std::string>{"beta"});
  const auto metrics = test::http_request(port, "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("toolhelp_config_last_reload_successful 1"), std::string::npos);

  // Stop: the loop returns promptly even with a snapshot in flight.
  const auto stop_sent = std::chrono::steady_clock::now();
  loop.request_stop();
  loop.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_sent, 2s);
}

// The pages read published values only. With the aggregation held, as a long cycle with a large
// configuration holds it, /healthz, / and /snapshot still answer; the cycle and the reload that
// wait on it finish once it is released.
TEST(RunLoopConcurrency, PagesNeverWaitOnAggregationOrReload) {
  const int port = test::free_port();
  Config config = config_for(port, "alpha");
  config.collection.interval = 60s;  // /healthz stays 200 for three intervals, however loaded
  RunLoop exporter(
      config,
      [&] {
        return ConfigLoadResult{config, {}};
      },
      make_platform_source());
  exporter.listen();
  ASSERT_TRUE(exporter.cycle(std::stop_token{}));
  std::atomic<bool> cycled{false};
  std::atomic<bool> reloaded{false};
  {
    auto held = exporter.hold_aggregation();
    std::jthread cycle([&] {
      exporter.cycle(std::stop_token{});
      cycled = true;
    });
    std::jthread reload([&] {
      exporter.reload();
      reloaded = true;
    });
    for (const char* path : {"/healthz", "/", "/snapshot?pid=1&kind=threads", "/healthz"}) {
      const auto response = test::http_request(port, "GET", path);
      ASSERT_TRUE(response) << path << ": no answer while the aggregation is held";
      EXPECT_EQ(response->status, 200) << path << ": " << response->body;
    }
    EXPECT_FALSE(cycled.load());  // still waiting for the aggregation
    EXPECT_FALSE(reloaded.load());
    held.unlock();
  }  // the threads are joined here
  EXPECT_TRUE(cycled.load());
  EXPECT_TRUE(reloaded.load());
}

TEST(RunLoopConcurrency, FailedReloadKeepsServingTheRunningConfiguration) {
  const int port = test::free_port();
  std::atomic<int> loads{2};  // the first reload is the broken one
  RunLoop exporter(
      config_for(port, "alpha"), [&] { return load_in_turn(loads, port); }, make_platform_source());
  exporter.listen();
  ASSERT_TRUE(exporter.cycle(std::stop_token{}));
  const auto reload = test::http_request(port, "POST", "/-/reload");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 500);
  EXPECT_NE(reload->body.find("$.collection.interval: broken on purpose"), std::string::npos)
      << reload->body;
  ASSERT_TRUE(exporter.cycle(std::stop_token{}));
  const auto metrics = test::http_request(port, "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(groups_in(metrics->body), std::set<std::string>{"alpha"});
  EXPECT_NE(metrics->body.find("toolhelp_config_last_reload_successful 0"), std::string::npos);
}

// A loader that throws (as std::bad_alloc from a hostile file would) is a failed reload, reported
// to the caller, never an exception out of the run loop.
TEST(RunLoopReload, AThrowingLoadIsAFailedReload) {
  const int port = test::free_port();
  RunLoop exporter(
      config_for(port, "alpha"), []() -> ConfigLoadResult { throw std::bad_alloc(); },
      make_platform_source());
  exporter.listen();
  ASSERT_TRUE(exporter.cycle(std::stop_token{}));
  const auto reload = test::http_request(port, "POST", "/-/reload");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 500);
  EXPECT_NE(reload->body.find("loading failed"), std::string::npos) << reload->body;
  const std::vector<ConfigError> errors = exporter.reload();  // the SIGHUP/PARAMCHANGE path
  ASSERT_EQ(errors.size(), 1U);
  ASSERT_TRUE(exporter.cycle(std::stop_token{}));
  const auto metrics = test::http_request(port, "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(groups_in(metrics->body), std::set<std::string>{"alpha"});
  EXPECT_NE(metrics->body.find("toolhelp_config_last_reload_successful 0"), std::string::npos);
}

// Allowed networks and basic-auth users are part of a reload, not only of a restart.
TEST(RunLoopReload, NewUsersAndNetworksApplyToTheNextRequest) {
  const int port = test::free_port();
  Config protected_config = config_for(port, "alpha");
  protected_config.web.basic_auth_users["prometheus"] =
      hash_password("s3cret", "0123456789abcdef", 1000).to_string();
  // Not applied by a reload (the listener keeps running): the answers below stay on `port`.
  protected_config.web.listen_address = "127.0.0.1:1";
  protected_config.web.telemetry_path = "/elsewhere";
  std::atomic<int> reloads{0};
  RunLoop exporter(
      config_for(port, "alpha"),
      [&]() -> ConfigLoadResult {
        Config next = protected_config;
        if (reloads++ == 1) {
          next.web.allowed_networks = {"192.0.2.0/24"};  // not loopback: shut out
        }
        return {next, {}};
      },
      make_platform_source());
  exporter.listen();
  ASSERT_TRUE(exporter.cycle(std::stop_token{}));
  const std::string credentials = "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n";
  auto status_of = [&](const std::string& headers) {
    const auto response = test::http_request(port, "GET", "/metrics", headers);
    return response ? response->status : 0;
  };
  EXPECT_EQ(status_of(""), 200);

  ASSERT_TRUE(exporter.reload().empty());
  EXPECT_EQ(status_of(""), 401);
  EXPECT_EQ(status_of(credentials), 200);

  ASSERT_TRUE(exporter.reload().empty());
  EXPECT_EQ(status_of(credentials), 0);  // closed when accepted, without an answer
}

}  // namespace
}  // namespace thx
