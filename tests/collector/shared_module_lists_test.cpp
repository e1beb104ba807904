// Module lists shared between the detail cache and snapshots (SharedList), and module files
// interned once per path (ModuleFilePool): copies share, writes never show through a copy, and
// the pool forgets what no list uses.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "collector/model/shared_list.h"
#include "collector/model/snapshot.h"
#include "collector/module_files.h"

namespace thx {
namespace {

TEST(SharedListTest, CopiesShareOneList) {
  const SharedList<int> a = std::vector<int>{1, 2, 3};
  const SharedList<int> b = a;
  EXPECT_TRUE(a.shares_with(b));
  EXPECT_EQ(&a[0], &b[0]);
  EXPECT_EQ(b.size(), 3U);
}

TEST(SharedListTest, WritesCopyASharedListFirst) {
  SharedList<int> a = {1, 2};
  const SharedList<int> b = a;
  a.push_back(3);
  EXPECT_EQ(a.items(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(b.items(), (std::vector<int>{1, 2}));
  EXPECT_FALSE(a.shares_with(b));
  a.clear();
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.size(), 2U);
}

TEST(SharedListTest, EqualityComparesItems) {
  const SharedList<int> a = {1, 2};
  const SharedList<int> b = {1, 2};
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.shares_with(b));
  EXPECT_EQ(SharedList<int>{}, SharedList<int>(std::vector<int>{}));
}

TEST(ModuleFilePoolTest, OneFilePerPathUntilNothingUsesIt) {
  ModuleFilePool pool;
  int made = 0;
  auto make = [&made] {
    ++made;
    return ModuleFile{"libc.so.6", "/usr/lib/libc.so.6"};
  };
  Module first(pool.intern("/usr/lib/libc.so.6", make), 0x1000, 0x100);
  Module second(pool.intern("/usr/lib/libc.so.6", make), 0x2000, 0x100);
  EXPECT_EQ(made, 1);
  EXPECT_EQ(first.file, second.file);
  EXPECT_EQ(second.path(), "/usr/lib/libc.so.6");
  EXPECT_EQ(second.name(), "libc.so.6");

  pool.prune();  // still used by both modules
  EXPECT_EQ(pool.size(), 1U);
  first = Module();
  second = Module();
  pool.prune();
  EXPECT_EQ(pool.size(), 0U);
}

TEST(ModuleTest, EqualByNamesAndRangeWhetherInternedOrNot) {
  ModuleFilePool pool;
  const Module interned(pool.intern("/lib/x.so",
                                    [] {
                                      return ModuleFile{"x.so", "/lib/x.so"};
                                    }),
                        1, 2);
  EXPECT_EQ(interned, Module("x.so", "/lib/x.so", 1, 2));
  EXPECT_NE(interned, Module("x.so", "/lib/x.so", 1, 3));
  EXPECT_EQ(Module().path(), "");
}

}  // namespace
}  // namespace thx
