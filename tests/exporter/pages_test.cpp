// The routes beside /metrics, called as the server calls them: /healthz and /snapshot before the
// first snapshot, with a fresh one and with a stale one, and the /snapshot filters.
#include "exporter/pages.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "collector/aggregate/aggregator.h"
#include "collector/model/snapshot_json.h"

namespace thx {
namespace {

using namespace std::chrono_literals;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Two processes of two groups, with a module, a heap and a thread each, aggregated for real.
std::shared_ptr<const Aggregate> aggregate_taken_at(double taken_at_seconds) {
  auto snapshot = std::make_shared<const Snapshot>(snapshot_from_json(nlohmann::json::parse(R"(
    {"platform": "linux", "kinds": ["processes", "threads", "modules", "heaps"],
     "status": {"processes": {"state": "complete"}, "threads": {"state": "complete"},
                "modules": {"state": "complete"}, "heaps": {"state": "complete"}},
     "processes": [
       {"pid": 10, "name": "nginx", "start_time_ns": 1, "thread_count": 1, "modules_read": true,
        "heaps_read": true, "heaps": [{"id": 1}],
        "modules": [{"name": "libc.so.6", "path": "/lib/libc.so.6", "base_address": 1, "size": 1}]},
       {"pid": 20, "name": "cron", "start_time_ns": 2, "thread_count": 1, "modules_read": true,
        "heaps_read": true, "heaps": [{"id": 2}],
        "modules": [{"name": "libm.so.6", "path": "/lib/libm.so.6", "base_address": 1, "size": 1}]}],
     "threads": [{"tid": 10, "owner_pid": 10}, {"tid": 20, "owner_pid": 20}]})")));
  Aggregator aggregator{AggregatorSettings{}};
  auto aggregate = std::make_shared<Aggregate>(*aggregator.update(snapshot));
  EXPECT_TRUE(aggregate->snapshot) << "the processes kind must read as complete";
  aggregate->last_snapshot_timestamp_seconds = taken_at_seconds;
  return aggregate;
}

class PagesTest : public ::testing::Test {
 protected:
  PagesTest() {
    context.metrics = &metrics;
    context.interval = 10s;
  }
  HttpResponse snapshot(std::map<std::string, std::string> query = {}) {
    HttpRequest request;
    request.method = "GET";
    request.path = "/snapshot";
    request.query = std::move(query);
    return snapshot_page(context, request);
  }
  nlohmann::json snapshot_json(std::map<std::string, std::string> query = {}) {
    const HttpResponse response = snapshot(std::move(query));
    EXPECT_EQ(response.status, 200) << response.body;
    return nlohmann::json::parse(response.body);
  }

  MetricsCollectable metrics{{"v", "r", "test"}};
  PageContext context;
};

TEST_F(PagesTest, BeforeTheFirstSnapshotHealthAndSnapshotAre503) {
  EXPECT_EQ(health_page(context).status, 503);
  EXPECT_EQ(snapshot().status, 503);
}

TEST_F(PagesTest, HealthIs200WhileFreshAnd503OnceThreeIntervalsOld) {
  metrics.publish(aggregate_taken_at(now_seconds() - 5));
  EXPECT_EQ(health_page(context).status, 200);
  metrics.publish(aggregate_taken_at(now_seconds() - 29));
  EXPECT_EQ(health_page(context).status, 200);
  metrics.publish(aggregate_taken_at(now_seconds() - 31));
  const HttpResponse stale = health_page(context);
  EXPECT_EQ(stale.status, 503);
  EXPECT_NE(stale.body.find("old"), std::string::npos) << stale.body;
  context.interval = 20s;  // the same age is fresh for a longer interval
  EXPECT_EQ(health_page(context).status, 200);
}

TEST_F(PagesTest, SnapshotKindFilterKeepsOnlyThatKind) {
  metrics.publish(aggregate_taken_at(now_seconds()));
  const nlohmann::json all = snapshot_json();
  ASSERT_EQ(all["processes"].size(), 2U);
  EXPECT_EQ(all["threads"].size(), 2U);
  EXPECT_EQ(all["processes"][0]["modules"].size(), 1U);
  EXPECT_EQ(all["processes"][0]["heaps"].size(), 1U);

  const nlohmann::json threads = snapshot_json({{"kind", "threads"}});
  EXPECT_EQ(threads["threads"].size(), 2U);
  EXPECT_EQ(threads["processes"].size(), 2U);  // the processes stay: threads hang off them
  EXPECT_TRUE(threads["processes"][0]["modules"].empty());
  EXPECT_TRUE(threads["processes"][0]["heaps"].empty());

  const nlohmann::json modules = snapshot_json({{"kind", "modules"}});
  EXPECT_TRUE(modules["threads"].empty());
  EXPECT_EQ(modules["processes"][1]["modules"][0]["name"], "libm.so.6");
  EXPECT_TRUE(modules["processes"][1]["heaps"].empty());

  const nlohmann::json heaps = snapshot_json({{"kind", "heaps"}});
  EXPECT_TRUE(heaps["threads"].empty());
  EXPECT_TRUE(heaps["processes"][0]["modules"].empty());
  EXPECT_EQ(heaps["processes"][0]["heaps"].size(), 1U);

  const HttpResponse unknown = snapshot({{"kind", "files"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("kind"), std::string::npos) << unknown.body;
}

TEST_F(PagesTest, SnapshotFiltersCombine) {
  metrics.publish(aggregate_taken_at(now_seconds()));
  const nlohmann::json cron = snapshot_json({{"group", "cron"}, {"kind", "threads"}});
  ASSERT_EQ(cron["processes"].size(), 1U);
  EXPECT_EQ(cron["processes"][0]["pid"], 20);
  ASSERT_EQ(cron["threads"].size(), 1U);
  EXPECT_EQ(cron["threads"][0]["owner_pid"], 20);
  EXPECT_TRUE(snapshot_json({{"group", "cron"}, {"pid", "10"}})["processes"].empty());
  EXPECT_TRUE(snapshot_json({{"group", "nobody"}})["processes"].empty());
}

}  // namespace
}  // namespace thx
