// The procfs source over fake /proc trees built in a temporary directory: odd names, broken and
// missing files, processes that vanish, the module-interval cache and the stop token.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "collector/platform_source.h"

namespace thx {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

constexpr std::int64_t kBootSeconds = 1'700'000'000;

// What one fake process looks like on disk.
struct FakeProcess {
  std::uint32_t pid = 0;
  std::string comm = "proc";
  std::uint32_t ppid = 1;
  std::uint64_t start_ticks = 500;
  int priority = 20;
  std::vector<std::uint32_t> tids{};  // empty: just the main thread
  std::string exe = "/usr/bin/proc";
  std::string maps =
      "1000-3000 r-xp 00000000 08:01 7 /usr/bin/proc\n"
      "8000-9000 rw-p 00000000 00:00 0 [heap]\n";
  std::string cmdline = "proc\0--flag\0"s;
};

std::string stat_text(std::uint32_t pid, std::string_view comm, std::uint32_t ppid,
                      std::size_t threads, std::uint64_t start_ticks, int priority) {
  return std::to_string(pid) + " (" + std::string(comm) + ") S " + std::to_string(ppid) +
         " 1 1 0 -1 4194560 0 0 0 0 3 4 0 0 " + std::to_string(priority) + " 0 " +
         std::to_string(threads) + " 0 " + std::to_string(start_ticks) +
         " 1000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
}

// A temporary directory laid out like /proc, removed at the end of the test.
class FakeProc {
 public:
  FakeProc() {
    std::string pattern = (fs::temp_directory_path() / "thx_fake_proc_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    root_ = pattern;
    write("stat", "cpu  1 2 3 4\nbtime " + std::to_string(kBootSeconds) + "\nprocesses 9\n");
  }
  ~FakeProc() {
    std::error_code ignored;
    fs::permissions(root_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(root_, ignored);
  }
  FakeProc(const FakeProc&) = delete;
  FakeProc& operator=(const FakeProc&) = delete;

  [[nodiscard]] const fs::path& root() const { return root_; }

  void write(const fs::path& relative, std::string_view content) const {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream out(root_ / relative, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }

  void link(const fs::path& relative, const fs::path& target) const {
    std::error_code ignored;
    fs::remove(root_ / relative, ignored);
    fs::create_directories((root_ / relative).parent_path());
    fs::create_symlink(target, root_ / relative);
  }

  void add(const FakeProcess& process) const {
    const fs::path dir = std::to_string(process.pid);
    std::vector<std::uint32_t> tids = process.tids;
    if (tids.empty()) {
      tids.push_back(process.pid);
    }
    write(dir / "stat", stat_text(process.pid, process.comm, process.ppid, tids.size(),
                                  process.start_ticks, process.priority));
    write(dir / "maps", process.maps);
    write(dir / "cmdline", process.cmdline);
    link(dir / "exe", process.exe);
    for (std::uint32_t tid : tids) {
      write(dir / "task" / std::to_string(tid) / "stat",
            stat_text(tid, process.comm, process.ppid, tids.size(), process.start_ticks,
                      process.priority + 1));
    }
  }

  void remove(const fs::path& relative) const { fs::remove_all(root_ / relative); }

 private:
  fs::path root_;
};

std::unique_ptr<SnapshotSource> source_for(const FakeProc& proc) {
  PlatformSourceOptions options;
  options.proc_root = proc.root();
  return make_platform_source(options);
}

SnapshotRequest everything() {
  SnapshotRequest request;
  request.kinds = {Kind::processes, Kind::threads, Kind::modules, Kind::heaps};
  request.thread_detail = true;
  request.command_lines = true;
  return request;
}

std::uint64_t errors(const Snapshot& snapshot, Kind kind, ErrorReason reason) {
  return snapshot.status_of(kind).error_count(reason);
}

std::int64_t expected_start_ns(std::uint64_t ticks) {
  const std::int64_t hz = ::sysconf(_SC_CLK_TCK);
  return kBootSeconds * 1'000'000'000 + static_cast<std::int64_t>(ticks) * 1'000'000'000 / hz;
}

TEST(ProcfsSource, ReadsEveryFieldOfAFakeTree) {
  FakeProc proc;
  proc.add({.pid = 1, .comm = "init", .ppid = 0});
  FakeProcess odd;
  odd.pid = 300;
  odd.comm = "my (odd) name\n)";
  odd.start_ticks = 12345;
  odd.priority = -51;
  odd.tids = {300, 302, 301};
  odd.exe = "/opt/my app/bin/odd (deleted)";
  odd.maps =
      "55d0c4a00000-55d0c4a02000 r--p 00000000 08:01 1 /opt/my app/bin/odd (deleted)\n"
      "55d0c4a02000-55d0c4a07000 r-xp 00002000 08:01 1 /opt/my app/bin/odd (deleted)\n"
      "55d0c5000000-55d0c5021000 rw-p 00000000 00:00 0       [heap]\n"
      "7f1234000000-7f12341bd000 r-xp 00000000 08:01 2       /usr/lib/libc.so.6\n"
      "7ffd1b5e0000-7ffd1b601000 rw-p 00000000 00:00 0       [stack]\n";
  odd.cmdline = "odd\0--name\0two words\0"s;
  proc.add(odd);
  proc.write("self/stat", "not a pid directory, ignored");

  SnapshotRequest request = everything();
  request.kinds.insert(Kind::heap_blocks);
  const Snapshot snapshot = source_for(proc)->take(request, {});

  EXPECT_EQ(snapshot.platform, "linux");
  EXPECT_GT(snapshot.taken_at_seconds, 1.6e9);
  ASSERT_EQ(snapshot.processes.size(), 2U);
  const Process& p = snapshot.processes[1];
  EXPECT_EQ(p.pid, 300U);
  EXPECT_EQ(p.parent_pid, 1U);
  EXPECT_EQ(p.name, "my (odd) name\n)");
  EXPECT_EQ(p.path, "/opt/my app/bin/odd");
  EXPECT_EQ(p.command_line, "odd --name two words");
  EXPECT_EQ(p.start_time_ns, expected_start_ns(12345));
  EXPECT_EQ(p.thread_count, 3U);
  EXPECT_EQ(p.base_priority, -51);
  ASSERT_TRUE(p.modules_read);
  ASSERT_EQ(p.modules.size(), 2U);
  EXPECT_EQ(p.modules[0].name(), "odd");
  EXPECT_EQ(p.modules[0].base_address, 0x55d0c4a00000U);
  EXPECT_EQ(p.modules[0].size, 0x7000U);
  EXPECT_EQ(p.modules[1].path(), "/usr/lib/libc.so.6");
  ASSERT_TRUE(p.heaps_read);
  ASSERT_EQ(p.heaps.size(), 1U);
  EXPECT_EQ(p.heaps[0].id, 0x55d0c5000000U);
  EXPECT_EQ(p.heaps[0].bytes, 0x21000U);

  ASSERT_EQ(snapshot.threads.size(), 4U);
  EXPECT_EQ(snapshot.threads[0], (Thread{1, 1, 21}));
  EXPECT_EQ(snapshot.threads[1], (Thread{300, 300, -50}));
  EXPECT_EQ(snapshot.threads[2], (Thread{301, 300, -50}));
  EXPECT_EQ(snapshot.threads[3], (Thread{302, 300, -50}));

  for (Kind kind : {Kind::processes, Kind::threads, Kind::modules, Kind::heaps}) {
    EXPECT_EQ(snapshot.status_of(kind).state, KindStatus::State::complete) << to_string(kind);
    EXPECT_EQ(snapshot.status_of(kind).total_errors(), 0U) << to_string(kind);
    EXPECT_GE(snapshot.status_of(kind).duration_seconds, 0.0);
  }
  EXPECT_EQ(snapshot.status_of(Kind::heap_blocks).state, KindStatus::State::unsupported);
}

TEST(ProcfsSource, OnlyWhatWasAskedFor) {
  FakeProc proc;
  proc.add({.pid = 7, .tids = {7, 8}});
  SnapshotRequest request;
  request.kinds = {Kind::processes};
  const Snapshot snapshot = source_for(proc)->take(request, {});
  ASSERT_EQ(snapshot.processes.size(), 1U);
  EXPECT_FALSE(snapshot.processes[0].modules_read);
  EXPECT_TRUE(snapshot.processes[0].command_line.empty());
  EXPECT_TRUE(snapshot.threads.empty());
  EXPECT_EQ(snapshot.status_of(Kind::threads).state, KindStatus::State::not_requested);

  // Without thread_detail the threads carry their process's priority and no stat is read.
  request.kinds = {Kind::processes, Kind::threads};
  proc.write("7/task/8/stat", "garbage");
  const Snapshot cheap = source_for(proc)->take(request, {});
  ASSERT_EQ(cheap.threads.size(), 2U);
  EXPECT_EQ(cheap.threads[1], (Thread{8, 7, 20}));
  EXPECT_EQ(cheap.status_of(Kind::threads).state, KindStatus::State::complete);
}

TEST(ProcfsSource, BrokenProcessesAreCountedByReasonAndNeverStopTheSnapshot) {
  FakeProc proc;
  proc.add({.pid = 1});
  proc.add({.pid = 10});  // stat cut short
  proc.write("10/stat", stat_text(10, "cut", 1, 1, 5, 20).substr(0, 40));
  proc.add({.pid = 11});  // empty stat
  proc.write("11/stat", "");
  proc.add({.pid = 12});  // binary garbage
  proc.write("12/stat", "\0\xff\x01(\x02\x03"s);
  proc.add({.pid = 13});  // stat of some other pid
  proc.write("13/stat", stat_text(99, "liar", 1, 1, 5, 20));
  proc.write("14/nothing", "");       // a pid directory whose files are gone: exited after listing
  proc.link("15", "does-not-exist");  // gone even before its directory could be opened
  proc.link("16", "16");              // a symbolic link loop: ELOOP
  proc.write("17", "a file, not a directory");
  const Snapshot snapshot = source_for(proc)->take(everything(), {});

  ASSERT_EQ(snapshot.processes.size(), 1U);  // none of the broken ones
  EXPECT_EQ(snapshot.processes[0].pid, 1U);
  EXPECT_EQ(errors(snapshot, Kind::processes, ErrorReason::malformed), 4U);
  EXPECT_EQ(errors(snapshot, Kind::processes, ErrorReason::vanished), 2U);
  EXPECT_EQ(errors(snapshot, Kind::processes, ErrorReason::other), 2U);  // ELOOP, ENOTDIR
  EXPECT_EQ(snapshot.status_of(Kind::processes).state, KindStatus::State::partial);
  EXPECT_EQ(snapshot.status_of(Kind::threads).state, KindStatus::State::complete);
  EXPECT_EQ(snapshot.status_of(Kind::modules).state, KindStatus::State::complete);
}

TEST(ProcfsSource, MissingPartsKeepTheProcess) {
  FakeProc proc;
  proc.add({.pid = 20});
  proc.remove("20/maps");  // exited between stat and maps (or simply missing)
  proc.add({.pid = 21});
  proc.remove("21/exe");
  proc.write("21/exe", "a regular file where procfs has a symbolic link");
  proc.add({.pid = 22, .exe = "/deleted/long/ago"});  // dangling: the link text is all we need
  proc.add({.pid = 23, .tids = {23, 24, 25}});
  proc.remove("23/task/24");                 // thread exited after the listing... almost
  proc.write("23/task/24/nothing", "");      // ... its directory is listed but has no stat
  proc.write("23/task/25/stat", "garbage");  // unparsable: kept, counted
  proc.add({.pid = 26});
  proc.remove("26/task");
  proc.add({.pid = 27});
  proc.remove("27/cmdline");
  proc.add({.pid = 28, .maps = "garbage line\n1000-2000 r-xp 0 08:01 1 /lib/ok.so\n"});
  const Snapshot snapshot = source_for(proc)->take(everything(), {});

  ASSERT_EQ(snapshot.processes.size(), 7U);
  EXPECT_FALSE(snapshot.find_process(20)->modules_read);
  EXPECT_FALSE(snapshot.find_process(20)->heaps_read);
  EXPECT_EQ(errors(snapshot, Kind::modules, ErrorReason::vanished), 1U);
  EXPECT_EQ(errors(snapshot, Kind::heaps, ErrorReason::vanished), 1U);
  EXPECT_TRUE(snapshot.find_process(21)->path.empty());
  EXPECT_EQ(snapshot.find_process(22)->path, "/deleted/long/ago");
  EXPECT_EQ(errors(snapshot, Kind::processes, ErrorReason::malformed), 1U);  // 21's exe
  EXPECT_EQ(errors(snapshot, Kind::processes, ErrorReason::vanished), 1U);   // 27's cmdline
  EXPECT_TRUE(snapshot.find_process(27)->command_line.empty());

  std::vector<std::uint32_t> tids_of_23;
  for (const Thread& thread : snapshot.threads) {
    if (thread.owner_pid == 23) {
      tids_of_23.push_back(thread.tid);
    }
  }
  EXPECT_EQ(tids_of_23, (std::vector<std::uint32_t>{23, 25}));
  EXPECT_EQ(errors(snapshot, Kind::threads, ErrorReason::vanished), 2U);   // tid 24, 26's task/
  EXPECT_EQ(errors(snapshot, Kind::threads, ErrorReason::malformed), 1U);  // tid 25

  ASSERT_EQ(snapshot.find_process(28)->modules.size(), 1U);  // the good line still counts
  EXPECT_EQ(errors(snapshot, Kind::modules, ErrorReason::malformed), 1U);
  for (Kind kind : {Kind::processes, Kind::threads, Kind::modules, Kind::heaps}) {
    EXPECT_EQ(snapshot.status_of(kind).state, KindStatus::State::partial) << to_string(kind);
  }
}

// Root reads files whatever their mode (CAP_DAC_OVERRIDE), and CI runs as root: the tree is read
// by a child that, when root, first becomes the unprivileged user "nobody" (65534), which also
// drops every capability. The child reports what it read through a pipe.
TEST(ProcfsSource, UnreadableFilesAreAccessDenied) {
  FakeProc proc;
  proc.add({.pid = 30});
  proc.add({.pid = 31});
  fs::permissions(proc.root(), fs::perms::owner_all | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read |
                                   fs::perms::others_exec);  // mkdtemp made it 0700
  fs::permissions(proc.root() / "30/maps", fs::perms::none);
  std::array<int, 2> pipe_fds{};
  ASSERT_EQ(::pipe(pipe_fds.data()), 0);
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    ::close(pipe_fds[0]);
    std::string report;
    constexpr uid_t kNobody = 65534;
    if (::geteuid() == 0 &&
        (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
         ::setresuid(kNobody, kNobody, kNobody) != 0)) {
      report = std::string("cannot drop root: ") + std::strerror(errno);
    } else {
      const Snapshot snapshot = source_for(proc)->take(everything(), {});
      const Process* readable = snapshot.find_process(31);
      report = std::to_string(snapshot.processes.size()) + " " +
               std::to_string(errors(snapshot, Kind::modules, ErrorReason::access_denied)) + " " +
               std::to_string(readable == nullptr ? 0 : readable->modules.size()) + " " +
               std::to_string(::geteuid());
    }
    const auto written = ::write(pipe_fds[1], report.data(), report.size());
    ::_exit(written == static_cast<ssize_t>(report.size()) ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string report;
  std::array<char, 256> buffer{};
  for (ssize_t n = 0; (n = ::read(pipe_fds[0], buffer.data(), buffer.size())) > 0;) {
    report.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << report;
  if (report.starts_with("cannot drop root")) {
    GTEST_SKIP() << report << " (no CAP_SETUID here)";
  }
  // processes, modules access_denied, modules of the readable process, the reader's uid
  EXPECT_EQ(report, "2 1 1 " + std::to_string(::geteuid() == 0 ? 65534 : ::geteuid()));
}

TEST(ProcfsSource, CommandLinesAreCappedAt32KiB) {
  FakeProc proc;
  proc.add({.pid = 40, .cmdline = std::string(100'000, 'x')});
  std::string big_maps;  // grows the source's read buffer well past the command line cap
  for (int i = 0; i < 5000; ++i) {
    big_maps += "1000-2000 r-xp 00000000 08:01 7 /usr/lib/some/long/path/libbig.so\n";
  }
  proc.add({.pid = 41, .maps = big_maps});
  const auto source = source_for(proc);
  const Snapshot snapshot = source->take(everything(), {});
  EXPECT_EQ(snapshot.find_process(40)->command_line.size(), 32U * 1024);
  EXPECT_EQ(snapshot.status_of(Kind::processes).total_errors(), 0U);
  // Read after the buffer grew: still cut at the cap.
  proc.add({.pid = 42, .cmdline = std::string(100'000, 'y')});
  EXPECT_EQ(source->take(everything(), {}).find_process(42)->command_line.size(), 32U * 1024);
}

TEST(ProcfsSource, MissingRootFailsEveryRequestedKind) {
  PlatformSourceOptions options;
  options.proc_root = fs::temp_directory_path() / "thx_no_such_proc_root";
  const Snapshot snapshot = make_platform_source(options)->take(everything(), {});
  EXPECT_TRUE(snapshot.processes.empty());
  EXPECT_EQ(snapshot.status_of(Kind::processes).state, KindStatus::State::failed);
  EXPECT_EQ(snapshot.status_of(Kind::modules).state, KindStatus::State::failed);
  EXPECT_EQ(snapshot.status_of(Kind::heap_blocks).state, KindStatus::State::not_requested);
  EXPECT_EQ(errors(snapshot, Kind::processes, ErrorReason::other), 1U);
}

TEST(ProcfsSource, MissingBootTimeIsCountedOnce) {
  FakeProc proc;
  proc.remove("stat");
  proc.add({.pid = 50});
  const Snapshot snapshot = source_for(proc)->take(everything(), {});
  ASSERT_EQ(snapshot.processes.size(), 1U);
  EXPECT_EQ(errors(snapshot, Kind::processes, ErrorReason::other), 1U);
  EXPECT_EQ(snapshot.processes[0].start_time_ns,
            expected_start_ns(500) - kBootSeconds * 1'000'000'000);
}

std::size_t module_count(const Snapshot& snapshot, std::uint32_t pid) {
  const Process* process = snapshot.find_process(pid);
  return process == nullptr ? 0 : process->modules.size();
}

constexpr std::string_view kTwoModules =
    "1000-2000 r-xp 0 08:01 1 /lib/one.so\n3000-4000 r-xp 0 08:01 2 /lib/two.so\n";

TEST(ProcfsSource, ModulesAndCommandLineAreReReadOnlyWhenDue) {
  FakeProc proc;
  proc.add({.pid = 60});
  const auto source = source_for(proc);
  SnapshotRequest request = everything();
  request.module_interval = std::chrono::seconds(3600);
  ASSERT_EQ(module_count(source->take(request, {}), 60), 1U);

  proc.write("60/maps", kTwoModules);
  proc.write("60/cmdline", "changed\0"s);
  const Snapshot cached = source->take(request, {});
  EXPECT_EQ(module_count(cached, 60), 1U);  // not due yet: the cached list
  EXPECT_EQ(cached.find_process(60)->command_line, "proc --flag");
  EXPECT_TRUE(cached.find_process(60)->modules_read);

  request.module_interval = std::chrono::seconds(0);
  const Snapshot due = source->take(request, {});
  EXPECT_EQ(module_count(due, 60), 2U);
  EXPECT_EQ(due.find_process(60)->command_line, "proc --flag");  // once per identity
}

TEST(ProcfsSource, ANewIdentityOrProgramIsReadAfresh) {
  FakeProc proc;
  proc.add({.pid = 61});
  const auto source = source_for(proc);
  const SnapshotRequest request = everything();  // interval: a minute
  ASSERT_EQ(module_count(source->take(request, {}), 61), 1U);

  // Same pid, later start time: the pid was reused by another process.
  proc.add({.pid = 61, .start_ticks = 900, .maps = std::string(kTwoModules), .cmdline = "b"});
  Snapshot snapshot = source->take(request, {});
  EXPECT_EQ(module_count(snapshot, 61), 2U);
  EXPECT_EQ(snapshot.find_process(61)->command_line, "b");

  // Same identity, new executable: exec() replaced the program.
  proc.write("61/maps", "");
  proc.write("61/cmdline", "c");
  proc.link("61/exe", "/usr/bin/other");
  snapshot = source->take(request, {});
  EXPECT_EQ(module_count(snapshot, 61), 0U);
  EXPECT_EQ(snapshot.find_process(61)->command_line, "c");
}

TEST(ProcfsSource, ExitedProcessesLeaveTheCache) {
  FakeProc proc;
  proc.add({.pid = 62});
  const auto source = source_for(proc);
  const SnapshotRequest request = everything();
  ASSERT_EQ(module_count(source->take(request, {}), 62), 1U);
  proc.remove("62");
  EXPECT_EQ(source->take(request, {}).find_process(62), nullptr);
  // Back with the same identity (only a fake tree can do that): the old entry was dropped.
  proc.add({.pid = 62, .maps = std::string(kTwoModules)});
  EXPECT_EQ(module_count(source->take(request, {}), 62), 2U);
}

TEST(ProcfsSource, StopBeforeTheFirstProcessReturnsPartialAndKeepsTheCache) {
  FakeProc proc;
  proc.add({.pid = 70});
  const auto source = source_for(proc);
  const SnapshotRequest request = everything();
  ASSERT_EQ(module_count(source->take(request, {}), 70), 1U);

  proc.write("70/maps", kTwoModules);
  std::stop_source stop;
  stop.request_stop();
  const Snapshot stopped = source->take(request, stop.get_token());
  EXPECT_TRUE(stopped.processes.empty());
  for (Kind kind : {Kind::processes, Kind::threads, Kind::modules, Kind::heaps}) {
    EXPECT_EQ(stopped.status_of(kind).state, KindStatus::State::partial) << to_string(kind);
  }
  // Had the stopped cycle pruned the cache, process 70 would be read afresh (two modules).
  EXPECT_EQ(module_count(source->take(request, {}), 70), 1U);
}

// Opens the FIFO for writing once the source has opened it for reading (non-blocking open fails
// with ENXIO until then), or gives up after ten seconds.
int open_fifo_for_writing(const fs::path& fifo) {
  for (int attempt = 0; attempt < 10'000; ++attempt) {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      return fd;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return -1;
}

TEST(ProcfsSource, StopMidwayKeepsWhatWasCollected) {
  FakeProc proc;
  for (std::uint32_t pid : {80U, 81U, 82U}) {
    proc.add({.pid = pid});
  }
  // Process 81's stat is a FIFO: the source blocks reading it until the test has requested the
  // stop, so the stop lands deterministically between process 81 and process 82.
  proc.remove("81/stat");
  const fs::path fifo = proc.root() / "81/stat";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::stop_source stop;
  std::jthread writer([&] {
    const int fd = open_fifo_for_writing(fifo);
    stop.request_stop();
    if (fd >= 0) {
      const std::string text = stat_text(81, "proc", 1, 1, 500, 20);
      EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
      ::close(fd);
    }
  });
  const Snapshot snapshot = source_for(proc)->take(everything(), stop.get_token());
  writer.join();

  ASSERT_EQ(snapshot.processes.size(), 2U);
  EXPECT_EQ(snapshot.processes[0].pid, 80U);
  EXPECT_EQ(snapshot.processes[1].pid, 81U);
  EXPECT_EQ(snapshot.status_of(Kind::processes).state, KindStatus::State::partial);
  EXPECT_EQ(snapshot.status_of(Kind::processes).total_errors(), 0U);
}

TEST(ProcfsSource, ManyProcessesAndThreads) {
  FakeProc proc;
  constexpr std::uint32_t kProcesses = 50;
  for (std::uint32_t i = 0; i < kProcesses; ++i) {
    const std::uint32_t pid = 1000 + i * 10;
    proc.add({.pid = pid, .tids = {pid, pid + 1, pid + 2, pid + 3, pid + 4}});
  }
  const Snapshot snapshot = source_for(proc)->take(everything(), {});
  ASSERT_EQ(snapshot.processes.size(), kProcesses);
  ASSERT_EQ(snapshot.threads.size(), kProcesses * 5);
  EXPECT_TRUE(std::is_sorted(snapshot.processes.begin(), snapshot.processes.end(),
                             [](const Process& a, const Process& b) { return a.pid < b.pid; }));
  for (const Process& process : snapshot.processes) {
    EXPECT_EQ(process.thread_count, 5U);
  }
  EXPECT_EQ(snapshot.status_of(Kind::threads).state, KindStatus::State::complete);
}

}  // namespace
}  // namespace thx
