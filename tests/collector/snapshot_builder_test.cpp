// The bookkeeping both platform sources share: kind states, error counts, order, the detail
// cache's cycle. No OS calls, so it runs the same on both platforms.
#include "collector/snapshot_builder.h"

#include <gtest/gtest.h>

namespace thx {
namespace {

SnapshotRequest request_of(KindSet kinds) {
  SnapshotRequest request;
  request.kinds = kinds;
  return request;
}

Process process(std::uint32_t pid) {
  Process p;
  p.pid = pid;
  p.start_time_ns = pid * 1000;
  return p;
}

TEST(SnapshotBuilder, StatesFollowWhatWasAskedAndWhatFailed) {
  SourceCaches caches;
  const SnapshotRequest request =
      request_of({Kind::processes, Kind::threads, Kind::modules, Kind::heap_blocks});
  SnapshotBuilder builder(request, caches, "test");
  builder.count(Kind::modules, ErrorReason::access_denied, 2);
  builder.count(Kind::heaps, ErrorReason::other);  // not asked for: dropped
  builder.mark_unsupported(Kind::heap_blocks);
  const Snapshot snapshot = builder.finish(false).snapshot;
  EXPECT_EQ(snapshot.platform, "test");
  EXPECT_GT(snapshot.taken_at_seconds, 1.6e9);
  EXPECT_EQ(snapshot.kinds, request.kinds);
  EXPECT_EQ(snapshot.status_of(Kind::processes).state, KindStatus::State::complete);
  EXPECT_EQ(snapshot.status_of(Kind::threads).state, KindStatus::State::complete);
  EXPECT_EQ(snapshot.status_of(Kind::modules).state, KindStatus::State::partial);
  EXPECT_EQ(snapshot.status_of(Kind::modules).error_count(ErrorReason::access_denied), 2U);
  EXPECT_EQ(snapshot.status_of(Kind::heaps), KindStatus{});
  EXPECT_EQ(snapshot.status_of(Kind::heap_blocks).state, KindStatus::State::unsupported);
}

TEST(SnapshotBuilder, AStoppedCycleIsPartialAndAFailedOneFailsEveryRequestedKind) {
  SourceCaches caches;
  const SnapshotRequest request = request_of({Kind::processes, Kind::modules});
  SnapshotBuilder stopped(request, caches, "test");
  const Snapshot partial = stopped.finish(true).snapshot;
  EXPECT_EQ(partial.status_of(Kind::processes).state, KindStatus::State::partial);
  EXPECT_EQ(partial.status_of(Kind::modules).state, KindStatus::State::partial);

  SnapshotBuilder failing(request, caches, "test");
  failing.fail(ErrorReason::access_denied);
  const SnapshotBuilder::Finished failed = failing.finish(true);
  EXPECT_FALSE(failed.complete_cycle);
  EXPECT_EQ(failed.snapshot.status_of(Kind::processes).state, KindStatus::State::failed);
  EXPECT_EQ(failed.snapshot.status_of(Kind::modules).state, KindStatus::State::failed);
  EXPECT_EQ(failed.snapshot.status_of(Kind::threads).state, KindStatus::State::not_requested);
  EXPECT_EQ(failed.snapshot.status_of(Kind::processes).error_count(ErrorReason::access_denied), 1U);
}

TEST(SnapshotBuilder, DetailErrorsCountOnTheRequestedDetailKinds) {
  SourceCaches caches;
  const SnapshotRequest request = request_of({Kind::processes, Kind::heaps});
  SnapshotBuilder builder(request, caches, "test");
  builder.count_details(ErrorReason::vanished);
  const Snapshot snapshot = builder.finish(false).snapshot;
  EXPECT_EQ(snapshot.status_of(Kind::heaps).error_count(ErrorReason::vanished), 1U);
  EXPECT_EQ(snapshot.status_of(Kind::modules).total_errors(), 0U);
}

TEST(SnapshotBuilder, ListsComeOutSorted) {
  SourceCaches caches;
  const SnapshotRequest request = request_of({Kind::processes, Kind::threads});
  SnapshotBuilder builder(request, caches, "test");
  builder.snapshot().processes = {process(30), process(10), process(20)};
  builder.snapshot().threads = {{5, 20, 0}, {3, 20, 0}, {9, 10, 0}};
  const Snapshot snapshot = builder.finish(false).snapshot;
  ASSERT_EQ(snapshot.processes.size(), 3U);
  EXPECT_EQ(snapshot.processes[0].pid, 10U);
  EXPECT_EQ(snapshot.processes[2].pid, 30U);
  EXPECT_EQ(snapshot.threads[0].tid, 9U);
  EXPECT_EQ(snapshot.threads[1].tid, 3U);
  EXPECT_EQ(snapshot.threads[2].tid, 5U);
}

TEST(SnapshotBuilder, TimeIsChargedPerKind) {
  SourceCaches caches;
  const SnapshotRequest request = request_of({Kind::processes, Kind::modules, Kind::heaps});
  SnapshotBuilder builder(request, caches, "test");
  builder.charge(Kind::modules, 0.25);
  builder.lap({Kind::modules, Kind::heaps});
  builder.charge(Kind::heaps, 0.5);
  const Snapshot snapshot = builder.finish(false).snapshot;
  EXPECT_GE(snapshot.status_of(Kind::modules).duration_seconds, 0.25);
  EXPECT_GE(snapshot.status_of(Kind::heaps).duration_seconds, 0.5);
  EXPECT_GE(snapshot.status_of(Kind::processes).duration_seconds, 0.0);
}

// The detail cache forgets a process only after a cycle that saw every live process.
TEST(SnapshotBuilder, TheCacheIsPrunedOnlyAfterACompleteCycle) {
  SourceCaches caches;
  const SnapshotRequest request = request_of({Kind::processes, Kind::modules});
  {
    SnapshotBuilder builder(request, caches, "test");
    builder.touch(identity_of(process(1)));
    auto& entry = builder.touch(identity_of(process(2)));
    entry.modules =
        std::vector<Module>{Module(builder.module_files().intern("/lib/a.so",
                                                                 [] {
                                                                   return ModuleFile{"a", "/a"};
                                                                 }),
                                   0, 1)};
    EXPECT_TRUE(builder.finish(false).complete_cycle);
  }
  EXPECT_EQ(caches.details.size(), 2U);
  EXPECT_EQ(caches.module_files.size(), 1U);
  {
    SnapshotBuilder builder(request, caches, "test");
    builder.touch(identity_of(process(1)));
    EXPECT_FALSE(builder.finish(true).complete_cycle);  // stopped: process 2 may still live
  }
  EXPECT_EQ(caches.details.size(), 2U);
  {
    SnapshotBuilder builder(request, caches, "test");
    builder.fail(ErrorReason::other);
    builder.finish(false);  // failed: saw nothing, forgets nothing
  }
  EXPECT_EQ(caches.details.size(), 2U);
  {
    SnapshotBuilder builder(request, caches, "test");
    builder.touch(identity_of(process(1)));
    EXPECT_TRUE(builder.finish(false).complete_cycle);
  }
  EXPECT_EQ(caches.details.size(), 1U);
  EXPECT_EQ(caches.module_files.size(), 0U);  // only process 2 used it
}

}  // namespace
}  // namespace thx
