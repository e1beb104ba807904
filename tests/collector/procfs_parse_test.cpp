// The procfs parsers on real-looking, hostile and broken input. None of them may throw or crash.
#include "collector/linux/procfs_parse.h"

#include <gtest/gtest.h>

#include <time.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <string>

namespace thx::procfs {
namespace {

// A stat line as the kernel writes it; `comm` goes between the parentheses unchanged.
std::string stat_line(std::string_view comm, std::string_view pid = "4242") {
  return std::string(pid) + " (" + std::string(comm) +
         ") S 1 4242 4242 0 -1 4194560 1234 0 0 0 10 20 0 0 20 0 7 0 987654 12345678 900 "
         "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
}

TEST(ParseStat, ReadsTheFieldsAfterTheCommandName) {
  auto result = parse_stat(stat_line("nginx"));
  ASSERT_TRUE(result.ok()) << result.error;
  const StatFields& stat = *result.value;
  EXPECT_EQ(stat.pid, 4242U);
  EXPECT_EQ(stat.comm, "nginx");
  EXPECT_EQ(stat.state, 'S');
  EXPECT_EQ(stat.ppid, 1U);
  EXPECT_EQ(stat.flags, 4194560U);
  EXPECT_EQ(stat.priority, 20);
  EXPECT_EQ(stat.nice, 0);
  EXPECT_EQ(stat.num_threads, 7U);
  EXPECT_EQ(stat.start_ticks, 987654U);
  EXPECT_FALSE(stat.is_kernel_thread());
}

TEST(ParseStat, CommandNameMayHoldSpacesParenthesesAndNewlines) {
  for (std::string_view comm : {"a b", "x) S 1 2 (y", ")", "((", "two\nlines", "", "a)b)c"}) {
    auto result = parse_stat(stat_line(comm));
    ASSERT_TRUE(result.ok()) << "comm: " << comm << ": " << result.error;
    EXPECT_EQ(result.value->comm, comm);
    EXPECT_EQ(result.value->ppid, 1U);
    EXPECT_EQ(result.value->num_threads, 7U);
  }
}

TEST(ParseStat, NegativePriorityOfRealTimeTasksAndNice) {
  std::string line = stat_line("rt");
  line.replace(line.find(" 20 0 7 "), 8, " -51 -5 7 ");
  auto result = parse_stat(line);
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.value->priority, -51);
  EXPECT_EQ(result.value->nice, -5);
}

TEST(ParseStat, KernelThreadFlag) {
  std::string line = stat_line("kworker/0:1");
  line.replace(line.find(" 4194560 "), 9, " 2129984 ");  // PF_KTHREAD | PF_NOFREEZE | ...
  auto result = parse_stat(line);
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_TRUE(result.value->is_kernel_thread());
}

TEST(ParseStat, EveryTruncationFailsCleanlyOrParsesTheSameFields) {
  const std::string full = stat_line("a) b");
  const std::size_t starttime_end = full.find(" 12345678");
  for (std::size_t length = 0; length < full.size(); ++length) {
    auto result = parse_stat(std::string_view(full).substr(0, length));
    if (length <= starttime_end - 6) {  // cut before starttime (22), the last field we need
      EXPECT_FALSE(result.ok()) << "length " << length;
      EXPECT_FALSE(result.error.empty());
    } else if (length >= starttime_end) {
      ASSERT_TRUE(result.ok()) << "length " << length;
      EXPECT_EQ(result.value->start_ticks, 987654U);
    }
  }
}

TEST(ParseStat, RejectsEmptyAndGarbage) {
  for (std::string_view text :
       {std::string_view{}, std::string_view("\n"), std::string_view("(("),
        std::string_view(") 1 2 3 ("), std::string_view("abc (x) S 1"),
        std::string_view("12 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"),
        std::string_view("12 (x) S one 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"),
        std::string_view("-1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"),
        std::string_view("99999999999 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19"),
        std::string_view("\0\0\0\xff\xfe(\x01)", 8)}) {
    auto result = parse_stat(text);
    EXPECT_FALSE(result.ok()) << text;
    EXPECT_FALSE(result.error.empty());
  }
}

TEST(ParseStat, InvalidUtf8InTheNameIsReplaced) {
  auto result = parse_stat(stat_line("bad\xff\xc3name"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value->comm, "bad\xEF\xBF\xBD\xEF\xBF\xBDname");
}

TEST(ParseStat, RandomBytesNeverCrash) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 2000; ++round) {
    std::string text = stat_line("fuzz");
    for (int flips = 0; flips < 4; ++flips) {
      text[std::uniform_int_distribution<std::size_t>(0, text.size() - 1)(random)] =
          static_cast<char>(byte(random));
    }
    auto result = parse_stat(text);
    EXPECT_EQ(result.ok(), result.error.empty());
  }
}

constexpr std::string_view kMaps =
    "55d0c4a00000-55d0c4a02000 r--p 00000000 08:01 1311 /usr/bin/my app\n"
    "55d0c4a02000-55d0c4a07000 r-xp 00002000 08:01 1311 /usr/bin/my app\n"
    "55d0c4a07000-55d0c4a09000 rw-p 00007000 08:01 1311 /usr/bin/my app\n"
    "55d0c5000000-55d0c5021000 rw-p 00000000 00:00 0                          [heap]\n"
    "55d0c5021000-55d0c5042000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f1200000000-7f1200021000 rw-p 00000000 00:00 0 \n"
    "7f1234000000-7f1234028000 r--p 00000000 08:01 2222                       "
    "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f1234028000-7f12341bd000 r-xp 00028000 08:01 2222                       "
    "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f1234300000-7f1234301000 r--p 00000000 08:01 3333                       "
    "/opt/old lib/libx.so (deleted)\n"
    "7f1234215000-7f1234217000 rw-p 00000000 00:00 0\n"
    "7ffd1b5e0000-7ffd1b601000 rw-p 00000000 00:00 0                          [stack]\n"
    "7ffd1b7f2000-7ffd1b7f6000 r--p 00000000 00:00 0                          [vvar]\n"
    "7ffd1b7f6000-7ffd1b7f8000 r-xp 00000000 00:00 0                          [vdso]\n"
    "7f1234400000-7f1234401000 rw-s 00000000 00:0e 99   anon_inode:[perf_event]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

TEST(ParseMaps, OneModulePerFileSpanningAllItsMappings) {
  const MapsSummary maps = parse_maps(kMaps);
  EXPECT_EQ(maps.malformed_lines, 0U);
  ASSERT_EQ(maps.modules.size(), 3U);
  EXPECT_EQ(maps.modules[0].name(), "my app");
  EXPECT_EQ(maps.modules[0].path(), "/usr/bin/my app");
  EXPECT_EQ(maps.modules[0].base_address, 0x55d0c4a00000U);
  EXPECT_EQ(maps.modules[0].size, 0x9000U);
  EXPECT_EQ(maps.modules[1].name(), "libc.so.6");
  EXPECT_EQ(maps.modules[1].base_address, 0x7f1234000000U);
  EXPECT_EQ(maps.modules[1].size, 0x1bd000U);
  // A file replaced after it was mapped (a package upgrade) keeps its name.
  EXPECT_EQ(maps.modules[2].name(), "libx.so");
  EXPECT_EQ(maps.modules[2].path(), "/opt/old lib/libx.so");
}

TEST(ParseMaps, HeapIsTheBrkMappingMergedWhenSplit) {
  const MapsSummary maps = parse_maps(kMaps);
  ASSERT_EQ(maps.heaps.size(), 1U);
  EXPECT_EQ(maps.heaps[0].id, 0x55d0c5000000U);
  EXPECT_EQ(maps.heaps[0].bytes, 0x42000U);
  EXPECT_FALSE(maps.heaps[0].block_count.has_value());
}

TEST(ParseMaps, ModuleSpanGrowsDownwardsToo) {
  const MapsSummary maps = parse_maps(
      "2000-3000 r-xp 0 08:01 5 /lib/a.so\n"
      "1000-2000 r--p 0 08:01 5 /lib/a.so\n");
  ASSERT_EQ(maps.modules.size(), 1U);
  EXPECT_EQ(maps.modules[0].base_address, 0x1000U);
  EXPECT_EQ(maps.modules[0].size, 0x2000U);
}

TEST(ParseMaps, EmptyAndBadLinesAreSkippedAndCounted) {
  EXPECT_TRUE(parse_maps("").modules.empty());
  const MapsSummary maps = parse_maps(
      "garbage\n"
      "1000-0fff r--p 0 08:01 5 /lib/backwards.so\n"
      "zz-1000 r--p 0 08:01 5 /lib/nothex.so\n"
      "1000-2000 r--p 0 08:01\n"
      "10000000000000000-10000000000000001 r--p 0 08:01 5 /lib/toobig.so\n"
      "\n"
      "1000-2000 r--p 0 08:01 5 /lib/good.so\n"
      "3000-4000 r--p 0 08:01 5 /lib/truncat");  // the last line lost its end
  EXPECT_EQ(maps.malformed_lines, 5U);
  ASSERT_EQ(maps.modules.size(), 2U);
  EXPECT_EQ(maps.modules[0].name(), "good.so");
  EXPECT_EQ(maps.modules[1].name(), "truncat");
}

// `lines` mappings of lines / 8 files, each file's mappings spread over the whole text (no two
// adjacent), so the parser's file lookup works as hard as the line splitting.
std::string spread_maps(int lines) {
  std::string text;
  const int files = lines / 8;
  for (int i = 0; i < lines; ++i) {
    const std::uint64_t start = 0x10000000ULL + static_cast<std::uint64_t>(i) * 0x2000;
    std::array<char, 128> line{};
    const int n =
        std::snprintf(line.data(), line.size(),
                      "%" PRIx64 "-%" PRIx64 " r--p 0 08:01 %d /usr/lib/x86_64/lib%d.so\n", start,
                      start + 0x1000, i % files, i % files);
    text.append(line.data(), static_cast<std::size_t>(n));
  }
  return text;
}

// CPU time this thread spent parsing `text`: the least of five runs.
double parse_cpu_seconds(const std::string& text, std::size_t expected_modules) {
  double least = 0;
  for (int run = 0; run < 5; ++run) {
    timespec before{};
    timespec after{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &before);
    const MapsSummary maps = parse_maps(text);
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &after);
    EXPECT_EQ(maps.modules.size(), expected_modules);
    EXPECT_EQ(maps.malformed_lines, 0U);
    const double seconds = static_cast<double>(after.tv_sec - before.tv_sec) +
                           static_cast<double>(after.tv_nsec - before.tv_nsec) / 1e9;
    least = run == 0 ? seconds : std::min(least, seconds);
  }
  return least;
}

// Eight times the lines and files must cost less than sixty-four times the work, the least a
// parser quadratic anywhere (splitting lines, looking files up) would take. The work is this
// thread's CPU time, compared between two sizes of the same input in one process: a ratio of
// the parser to itself, not a speed. The linear parser measures 26 to 31 here: eight times the
// lines, and eight times as many files, whose lookups then miss the caches more often.
TEST(ParseMaps, HugeInputIsLinear) {
  constexpr int kLines = 25'000;
  const double small = parse_cpu_seconds(spread_maps(kLines), kLines / 8);
  const double big = parse_cpu_seconds(spread_maps(8 * kLines), kLines);
  ASSERT_GT(small, 0.0);
  EXPECT_LT(big / small, 64.0) << "25,000 lines: " << small << " s, 200,000 lines: " << big
                               << " s of CPU";
}

TEST(ParseMaps, RandomBytesNeverCrash) {
  std::mt19937 random(11);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 500; ++round) {
    std::string text(kMaps);
    for (int flips = 0; flips < 16; ++flips) {
      text[std::uniform_int_distribution<std::size_t>(0, text.size() - 1)(random)] =
          static_cast<char>(byte(random));
    }
    const MapsSummary maps = parse_maps(text);
    for (const Module& module : maps.modules) {
      EXPECT_FALSE(module.path().empty());
    }
  }
}

TEST(ParseBtime, FindsTheLine) {
  auto result = parse_btime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 99\n");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result.value, 1700000000);
  EXPECT_FALSE(parse_btime("").ok());
  EXPECT_FALSE(parse_btime("cpu 1\nxbtime 5\n").ok());
  EXPECT_FALSE(parse_btime("btime \n").ok());
  EXPECT_FALSE(parse_btime("btime -5\n").ok());
  EXPECT_FALSE(parse_btime("btime 99999999999999999999999\n").ok());
}

TEST(FormatCmdline, NulsBecomeSpacesAndTheCapHolds) {
  using namespace std::string_view_literals;
  EXPECT_EQ(format_cmdline("nginx\0-g\0daemon off;\0"sv, 1024), "nginx -g daemon off;");
  EXPECT_EQ(format_cmdline(""sv, 1024), "");
  EXPECT_EQ(format_cmdline("\0\0"sv, 1024), "");
  EXPECT_EQ(format_cmdline("abcdef"sv, 3), "abc");
  const std::string huge(100'000, 'x');
  EXPECT_EQ(format_cmdline(huge, std::size_t{32} * 1024).size(), std::size_t{32} * 1024);
}

TEST(Utf8, ValidTextIsKeptAndInvalidBytesReplaced) {
  EXPECT_EQ(to_valid_utf8("plain"), "plain");
  EXPECT_EQ(to_valid_utf8("gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(to_valid_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // cut short
}

TEST(Paths, BaseNameDeletedSuffixAndPids) {
  EXPECT_EQ(base_name("/usr/lib/libc.so.6"), "libc.so.6");
  EXPECT_EQ(base_name("plain"), "plain");
  EXPECT_EQ(base_name("/dir/"), "");
  EXPECT_EQ(strip_deleted_suffix("/bin/x (deleted)"), "/bin/x");
  EXPECT_EQ(strip_deleted_suffix(" (deleted)"), " (deleted)");
  EXPECT_EQ(strip_deleted_suffix("/bin/x"), "/bin/x");
  EXPECT_EQ(parse_pid("1234"), 1234U);
  EXPECT_FALSE(parse_pid("").has_value());
  EXPECT_FALSE(parse_pid("self").has_value());
  EXPECT_FALSE(parse_pid("12a").has_value());
  EXPECT_FALSE(parse_pid("-1").has_value());
  EXPECT_FALSE(parse_pid("4294967296").has_value());
}

}  // namespace
}  // namespace thx::procfs
