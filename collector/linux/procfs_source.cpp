// The Linux source: a snapshot assembled from procfs. Tool Help takes its snapshot atomically;
// procfs is read file by file, so processes and threads may exit mid-way. Those reads are counted
// as `vanished` and never stop the snapshot.
//
// Everything is read relative to directory descriptors (openat) into one reused buffer: no path
// building per file, no iostreams, no allocation per read once the buffer is warm.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <memory>
#include <utility>

#include "collector/linux/procfs_parse.h"
#include "collector/platform_source.h"
#include "collector/snapshot_builder.h"

namespace thx {
namespace {

// Read limits. Command lines: as long as a Windows one may be. Stat files: a few hundred bytes.
// Maps: the kernel's default limit of ~65k mappings is about 6 MiB of text.
constexpr std::size_t kMaxCommandLineBytes = std::size_t{32} * 1024;
constexpr std::size_t kMaxSmallFileBytes = std::size_t{64} * 1024;
constexpr std::size_t kMaxMapsBytes = std::size_t{64} * 1024 * 1024;
// Seconds beyond this (year 2096) are garbage; the bound keeps nanoseconds within int64.
constexpr std::int64_t kMaxPlausibleSeconds = 4'000'000'000;
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

// An owned file descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&&) = delete;
  UniqueFd& operator=(UniqueFd&&) = delete;

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// Opens `name` under `parent` as a directory stream; null with errno set on failure.
DirPtr open_dir(int parent, const char* name) {
  const int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return nullptr;
  }
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    const int error = errno;
    ::close(fd);
    errno = error;
  }
  return DirPtr(dir);
}

// The numeric entries of a directory (pids of /proc, tids of task/), sorted. Returns 0 or errno.
int list_numeric(DIR* dir, std::vector<std::uint32_t>& ids) {
  ids.clear();
  while (true) {
    errno = 0;  // readdir tells the end of the stream from an error only through errno
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      break;
    }
    if (auto id = procfs::parse_pid(entry->d_name)) {
      ids.push_back(*id);
    }
  }
  const int error = errno;
  std::sort(ids.begin(), ids.end());
  return error;
}

// The bytes of the last file read. Reused for every read and never zero-filled, so reading a
// stat file costs an open, two reads and a close, whatever size the buffer has grown to.
class ReadBuffer {
 public:
  [[nodiscard]] std::string_view view() const { return {data_.get(), size_}; }

  // Reads the whole of `name` (relative to the directory `dir`). Returns 0, or the errno of the
  // open or read; EFBIG when the file is longer than `max_bytes` (the first `max_bytes` are kept).
  int read_file_at(int dir, const char* name, std::size_t max_bytes) {
    size_ = 0;
    const UniqueFd fd(::openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) {
      return errno;
    }
    while (true) {
      const std::size_t limit = std::min(capacity_, max_bytes);
      if (size_ == limit) {
        if (!grow(max_bytes)) {
          return EFBIG;
        }
        continue;
      }
      const ssize_t n = ::read(fd.get(), data_.get() + size_, limit - size_);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return n < 0 ? errno : 0;
      }
      size_ += static_cast<std::size_t>(n);
    }
  }

 private:
  // Doubles the capacity (up to `max_bytes`), keeping the bytes read so far.
  bool grow(std::size_t max_bytes) {
    const std::size_t capacity = std::min(max_bytes, std::max<std::size_t>(4096, capacity_ * 2));
    if (capacity <= capacity_) {
      return false;
    }
    auto data = std::make_unique_for_overwrite<char[]>(capacity);
    std::copy_n(data_.get(), size_, data.get());
    data_ = std::move(data);
    capacity_ = capacity;
    return true;
  }

  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

ErrorReason reason_for(int error) {
  switch (error) {
    case ENOENT:
    case ESRCH:
      return ErrorReason::vanished;
    case EACCES:
    case EPERM:
      return ErrorReason::access_denied;
    case EFBIG:
      return ErrorReason::limit_reached;
    default:
      return ErrorReason::other;
  }
}

// The reason for a failure to read the tree itself (the root, <root>/stat): nothing there can
// vanish the way a process does.
ErrorReason setup_reason_for(int error) {
  const ErrorReason reason = reason_for(error);
  return reason == ErrorReason::vanished ? ErrorReason::other : reason;
}

// Start time in nanoseconds since the epoch from boot time and stat's ticks after boot; nullopt
// when the ticks are implausible (garbage must not overflow into a negative identity).
std::optional<std::int64_t> start_time_ns(std::int64_t boot_seconds, std::uint64_t ticks,
                                          long ticks_per_second) {
  const auto hz = static_cast<std::uint64_t>(ticks_per_second);
  const std::uint64_t seconds = ticks / hz;
  if (seconds > static_cast<std::uint64_t>(kMaxPlausibleSeconds)) {
    return std::nullopt;
  }
  // Whole seconds and the rest apart, so the multiplications cannot overflow.
  const auto rest_ns = static_cast<std::int64_t>((ticks % hz) * kNanosPerSecond / hz);
  return (boot_seconds + static_cast<std::int64_t>(seconds)) * kNanosPerSecond + rest_ns;
}

// A decimal id as a NUL-terminated name, optionally with a suffix: "1234", "1234/stat".
class IdPath {
 public:
  explicit IdPath(std::uint32_t id, std::string_view suffix = {}) {
    auto [end, ec] = std::to_chars(text_.data(), text_.data() + kIdDigits, id);
    (void)ec;  // ten digits always fit a uint32
    const std::size_t length = std::min(suffix.size(), text_.size() - kIdDigits - 1);
    *std::copy_n(suffix.data(), length, end) = '\0';
  }
  [[nodiscard]] const char* c_str() const { return text_.data(); }

 private:
  static constexpr std::size_t kIdDigits = 10;
  std::array<char, 32> text_{};
};

// Whether stat() of /proc/<pid>/fd gives the number of open descriptors as its size: Linux 6.2
// and later, on a real procfs (a directory of a test tree has a size of its own).
bool fd_count_from_stat(const std::filesystem::path& root) {
  constexpr long kProcSuperMagic = 0x9fa0;
  struct statfs fs {};
  if (::statfs(root.c_str(), &fs) != 0 || fs.f_type != kProcSuperMagic) {
    return false;
  }
  utsname name{};
  if (::uname(&name) != 0) {
    return false;
  }
  unsigned major = 0;
  unsigned minor = 0;
  const std::string_view release(name.release);
  const char* end = release.data() + release.size();
  auto [after_major, error] = std::from_chars(release.data(), end, major);
  if (error != std::errc() || after_major == end || *after_major != '.') {
    return false;
  }
  std::from_chars(after_major + 1, end, minor);
  return major > 6 || (major == 6 && minor >= 2);
}

// The procfs SnapshotSource. Keeps the per-identity detail cache and the read buffer between
// snapshots, so it is meant for one caller: one take() at a time.
class ProcfsSource final : public SnapshotSource {
 public:
  explicit ProcfsSource(std::filesystem::path root)
      : root_(std::move(root)),
        ticks_per_second_(std::max(::sysconf(_SC_CLK_TCK), 1L)),
        page_size_(static_cast<std::uint64_t>(std::max(::sysconf(_SC_PAGESIZE), 1L))),
        fd_count_from_stat_(fd_count_from_stat(root_)) {}

  Snapshot take(const SnapshotRequest& request, std::stop_token stop) override;

 private:
  // State of one take(): the builder does the bookkeeping; the rest is procfs's own.
  struct Cycle {
    SnapshotBuilder& builder;
    std::vector<std::uint32_t> tids;  // reused listing buffer
    std::int64_t boot_seconds = 0;    // anchors start times

    [[nodiscard]] const SnapshotRequest& request() const { return builder.request(); }
    [[nodiscard]] bool wants(Kind kind) const { return builder.wants(kind); }
    void count(Kind kind, ErrorReason reason) { builder.count(kind, reason); }
  };

  // False when stopped before every process was read.
  bool collect(Cycle& cycle, const std::stop_token& stop);
  std::optional<std::int64_t> boot_time_seconds(Cycle& cycle);
  void collect_process(Cycle& cycle, int root_fd, std::uint32_t pid);
  // A process as its stat file describes it, and whether it has an executable to look up.
  struct StatResult {
    Process process;
    bool has_executable = true;  // not for kernel threads and zombies
  };
  std::optional<StatResult> read_process_stat(Cycle& cycle, int pid_dir, std::uint32_t pid);
  void read_exe_path(Cycle& cycle, int pid_dir, Process& process);
  void read_command_line(Cycle& cycle, int pid_dir, ProcessDetailCache::Entry& entry);
  void read_threads(Cycle& cycle, int pid_dir, const Process& process);
  bool read_thread_priority(Cycle& cycle, int task_dir, Thread& thread);
  void read_details(Cycle& cycle, int pid_dir, ProcessDetailCache::Entry& entry);
  void read_resources(Cycle& cycle, int pid_dir, ProcessResources& resources);
  std::optional<std::uint64_t> count_descriptors(Cycle& cycle, int pid_dir);
  static void fill_details(const Cycle& cycle, const ProcessDetailCache::Entry& entry,
                           Process& process);

  std::filesystem::path root_;
  long ticks_per_second_;
  std::uint64_t page_size_;
  bool fd_count_from_stat_;
  std::optional<std::int64_t> boot_time_seconds_;  // read once per source lifetime
  SourceCaches caches_;
  ReadBuffer buffer_;  // every file is read into this one buffer
  std::size_t threads_last_cycle_ = 0;
};

Snapshot ProcfsSource::take(const SnapshotRequest& request, std::stop_token stop) {
  SnapshotBuilder builder(request, caches_, platform_name());
  builder.mark_unsupported(Kind::heap_blocks);  // procfs has no view into malloc's heaps
  bool stopped = false;
  if (!request.kinds.empty()) {
    Cycle cycle{builder, {}, 0};
    stopped = !collect(cycle, stop);
  }
  return builder.finish(stopped).snapshot;
}

bool ProcfsSource::collect(Cycle& cycle, const std::stop_token& stop) {
  const DirPtr root = open_dir(AT_FDCWD, root_.c_str());
  std::vector<std::uint32_t> pids;
  const int error = root ? list_numeric(root.get(), pids) : errno;
  if (error != 0) {
    cycle.builder.fail(setup_reason_for(error));
    return true;
  }
  cycle.boot_seconds = boot_time_seconds(cycle).value_or(0);
  Snapshot& snapshot = cycle.builder.snapshot();
  snapshot.processes.reserve(pids.size());
  // Threads are listed process by process: sized from the last cycle, the list does not grow by
  // doubling (at 10,000 threads that left a quarter of it unused in every kept snapshot).
  if (cycle.wants(Kind::threads)) {
    snapshot.threads.reserve(threads_last_cycle_ + threads_last_cycle_ / 16);
  }
  for (std::uint32_t pid : pids) {
    if (stop.stop_requested()) {
      return false;  // keep what was collected; the builder does not prune a stopped cycle
    }
    collect_process(cycle, ::dirfd(root.get()), pid);
  }
  threads_last_cycle_ = snapshot.threads.size();
  cycle.builder.lap({Kind::processes});
  return true;
}

// Reads <root>/stat once: boot time anchors every start time, and must not move between
// snapshots or process identities would change.
std::optional<std::int64_t> ProcfsSource::boot_time_seconds(Cycle& cycle) {
  if (boot_time_seconds_) {
    return boot_time_seconds_;
  }
  const std::string stat_path = (root_ / "stat").string();
  const int error = buffer_.read_file_at(AT_FDCWD, stat_path.c_str(), kMaxSmallFileBytes);
  if (error != 0) {
    cycle.count(Kind::processes, setup_reason_for(error));
    return std::nullopt;
  }
  auto parsed = procfs::parse_btime(buffer_.view());
  if (!parsed.ok() || *parsed.value > kMaxPlausibleSeconds) {
    cycle.count(Kind::processes, ErrorReason::malformed);
    return std::nullopt;
  }
  boot_time_seconds_ = parsed.value;
  return boot_time_seconds_;
}

// One process: everything that was asked for, each failed read counted on its kind.
void ProcfsSource::collect_process(Cycle& cycle, int root_fd, std::uint32_t pid) {
  const UniqueFd pid_dir(
      ::openat(root_fd, IdPath(pid).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!pid_dir.valid()) {
    cycle.count(Kind::processes, reason_for(errno));  // gone since the listing: left out
    cycle.builder.lap({Kind::processes});
    return;
  }
  std::optional<StatResult> stat = read_process_stat(cycle, pid_dir.get(), pid);
  if (!stat) {
    cycle.builder.lap({Kind::processes});
    return;
  }
  Process& process = stat->process;
  if (stat->has_executable) {
    read_exe_path(cycle, pid_dir.get(), process);
  }
  ProcessDetailCache::Entry& entry = cycle.builder.touch(identity_of(process));
  // exec() keeps pid and start time: a new program means the cached details are someone else's.
  const std::string& program = process.path.empty() ? process.name : process.path;
  if (entry.program != program) {
    entry.forget_details();
    entry.program = program;
  }
  if (cycle.request().command_lines) {
    read_command_line(cycle, pid_dir.get(), entry);
    process.command_line = entry.command_line;
  }
  cycle.builder.lap({Kind::processes});
  if (cycle.wants(Kind::threads)) {
    read_threads(cycle, pid_dir.get(), process);
    cycle.builder.lap({Kind::threads});
  }
  if (cycle.wants(Kind::modules) || cycle.wants(Kind::heaps)) {
    read_details(cycle, pid_dir.get(), entry);
    fill_details(cycle, entry, process);
    cycle.builder.lap({Kind::modules, Kind::heaps});  // only the requested ones are reported
  }
  if (cycle.wants(Kind::resources) && stat->has_executable) {
    read_resources(cycle, pid_dir.get(), process.resources);
    cycle.builder.lap({Kind::resources});
  }
  cycle.builder.snapshot().processes.push_back(std::move(process));
}

// stat gives the identity; without it the process is left out (counted by reason).
std::optional<ProcfsSource::StatResult> ProcfsSource::read_process_stat(Cycle& cycle, int pid_dir,
                                                                        std::uint32_t pid) {
  const int error = buffer_.read_file_at(pid_dir, "stat", kMaxSmallFileBytes);
  if (error != 0) {
    cycle.count(Kind::processes, reason_for(error));
    return std::nullopt;
  }
  auto stat = procfs::parse_stat(buffer_.view());
  const std::optional<std::int64_t> start =
      stat.ok() ? start_time_ns(cycle.boot_seconds, stat.value->start_ticks, ticks_per_second_)
                : std::nullopt;
  if (!start || stat.value->pid != pid) {
    cycle.count(Kind::processes, ErrorReason::malformed);
    return std::nullopt;
  }
  StatResult result;
  Process& process = result.process;
  process.pid = pid;
  process.parent_pid = stat.value->ppid;
  process.name = std::move(stat.value->comm);
  process.start_time_ns = *start;
  process.thread_count = stat.value->num_threads;
  process.base_priority = stat.value->priority;  // 20 + nice; negative for real-time
  process.kernel_thread = stat.value->is_kernel_thread();
  result.has_executable = !process.kernel_thread && stat.value->state != 'Z';
  if (cycle.wants(Kind::resources)) {  // from the file just read: no read of its own
    ProcessResources& resources = process.resources;
    const auto hz = static_cast<double>(ticks_per_second_);
    resources.cpu_user_seconds = static_cast<double>(stat.value->utime_ticks) / hz;
    resources.cpu_system_seconds = static_cast<double>(stat.value->stime_ticks) / hz;
    resources.virtual_bytes = stat.value->vsize_bytes;
    if (stat.value->rss_pages) {
      resources.resident_bytes = *stat.value->rss_pages * page_size_;
    }
  }
  return result;
}

// The executable path is optional: a failed read is counted and the process kept.
void ProcfsSource::read_exe_path(Cycle& cycle, int pid_dir, Process& process) {
  std::array<char, 8192> target{};  // PATH_MAX plus " (deleted)", with room to spare
  const ssize_t n = ::readlinkat(pid_dir, "exe", target.data(), target.size());
  if (n < 0) {
    // EINVAL: "exe" is not a symbolic link, which procfs never does.
    cycle.count(Kind::processes, errno == EINVAL ? ErrorReason::malformed : reason_for(errno));
    return;
  }
  if (static_cast<std::size_t>(n) == target.size()) {
    cycle.count(Kind::processes, ErrorReason::limit_reached);  // possibly cut short
    return;
  }
  const std::string_view path(target.data(), static_cast<std::size_t>(n));
  process.path = procfs::to_valid_utf8(procfs::strip_deleted_suffix(path));
}

// Read once per identity (and program); a failed read is retried next cycle.
void ProcfsSource::read_command_line(Cycle& cycle, int pid_dir, ProcessDetailCache::Entry& entry) {
  if (entry.command_line_read) {
    return;
  }
  const int error = buffer_.read_file_at(pid_dir, "cmdline", kMaxCommandLineBytes);
  if (error != 0 && error != EFBIG) {  // longer than the cap: keep its first 32 KiB
    cycle.count(Kind::processes, reason_for(error));
    return;
  }
  entry.command_line = procfs::format_cmdline(buffer_.view(), kMaxCommandLineBytes);
  entry.command_line_read = true;
}

// The tids in task/. Per-thread stat only with thread_detail; otherwise each thread carries its
// process's priority, which threads inherit and rarely change.
void ProcfsSource::read_threads(Cycle& cycle, int pid_dir, const Process& process) {
  const DirPtr task = open_dir(pid_dir, "task");
  const int error = task ? list_numeric(task.get(), cycle.tids) : errno;
  if (error != 0) {
    cycle.count(Kind::threads, reason_for(error));
    return;
  }
  for (std::uint32_t tid : cycle.tids) {
    Thread thread{tid, process.pid, process.base_priority};
    if (cycle.request().thread_detail &&
        !read_thread_priority(cycle, ::dirfd(task.get()), thread)) {
      continue;  // exited since the listing
    }
    cycle.builder.snapshot().threads.push_back(thread);
  }
}

// task/<tid>/stat for the thread's own priority. False when the thread has exited; other
// failures are counted and the thread kept with its process's priority.
bool ProcfsSource::read_thread_priority(Cycle& cycle, int task_dir, Thread& thread) {
  const int error =
      buffer_.read_file_at(task_dir, IdPath(thread.tid, "/stat").c_str(), kMaxSmallFileBytes);
  if (error != 0) {
    cycle.count(Kind::threads, reason_for(error));
    return reason_for(error) != ErrorReason::vanished;
  }
  const auto stat = procfs::parse_stat(buffer_.view());
  if (!stat.ok()) {
    cycle.count(Kind::threads, ErrorReason::malformed);
    return true;
  }
  thread.base_priority = stat.value->priority;
  return true;
}

// Reads maps when the cache says the details are due; otherwise the cached lists stand.
void ProcfsSource::read_details(Cycle& cycle, int pid_dir, ProcessDetailCache::Entry& entry) {
  if (!cycle.builder.details_due(entry)) {
    return;
  }
  const int error = buffer_.read_file_at(pid_dir, "maps", kMaxMapsBytes);
  if (error != 0) {
    cycle.builder.count_details(reason_for(error));
    entry.details_read = false;  // never serve the previous lists in place of a failed read
    return;
  }
  procfs::MapsSummary maps = procfs::parse_maps(buffer_.view(), caches_.module_files);
  if (maps.malformed_lines > 0) {
    cycle.builder.count_details(
        ErrorReason::malformed);  // once per process: the good lines are kept
  }
  maps.modules.shrink_to_fit();  // kept for minutes: without the slack of its growth
  entry.modules = std::move(maps.modules);
  entry.heaps = std::move(maps.heaps);
  entry.details_read = true;
  entry.details_read_at = cycle.builder.now();
}

// The facts that cost a read each, as the request's switches say; a refused read is counted on
// Kind::resources and leaves its fact empty.
void ProcfsSource::read_resources(Cycle& cycle, int pid_dir, ProcessResources& resources) {
  const ResourceReads& reads = cycle.request().resources;
  if (reads.private_memory) {
    // statm: resident minus the file-backed and shared pages is the process's own memory (its
    // anonymous resident pages). smaps_rollup would split file pages too, but walks the page
    // tables: about 45 times the cost of stat.
    const int error = buffer_.read_file_at(pid_dir, "statm", kMaxSmallFileBytes);
    const auto statm = error == 0 ? procfs::parse_statm(buffer_.view())
                                  : procfs::ParseResult<procfs::StatmFields>{};
    if (error != 0) {
      cycle.count(Kind::resources, reason_for(error));
    } else if (!statm.ok()) {
      cycle.count(Kind::resources, ErrorReason::malformed);
    } else {
      const std::uint64_t shared = std::min(statm.value->shared_pages, statm.value->resident_pages);
      resources.private_bytes = (statm.value->resident_pages - shared) * page_size_;
    }
  }
  if (reads.handles) {
    resources.handles = count_descriptors(cycle, pid_dir);
  }
  if (reads.io) {
    // Needs the access maps needs (PTRACE_MODE_READ): other users' processes refuse a
    // non-root exporter.
    const int error = buffer_.read_file_at(pid_dir, "io", kMaxSmallFileBytes);
    const auto io =
        error == 0 ? procfs::parse_io(buffer_.view()) : procfs::ParseResult<procfs::IoFields>{};
    if (error != 0) {
      cycle.count(Kind::resources, reason_for(error));
    } else if (!io.ok()) {
      cycle.count(Kind::resources, ErrorReason::malformed);
    } else {
      resources.io_read_bytes = io.value->read_bytes;
      resources.io_write_bytes = io.value->write_bytes;
    }
  }
}

// Open descriptors: the size stat() gives fd/ on Linux 6.2 and later, else its entries counted.
std::optional<std::uint64_t> ProcfsSource::count_descriptors(Cycle& cycle, int pid_dir) {
  if (fd_count_from_stat_) {
    struct stat info {};
    if (::fstatat(pid_dir, "fd", &info, 0) != 0) {
      cycle.count(Kind::resources, reason_for(errno));
      return std::nullopt;
    }
    return static_cast<std::uint64_t>(info.st_size);
  }
  const DirPtr fds = open_dir(pid_dir, "fd");
  if (!fds) {
    cycle.count(Kind::resources, reason_for(errno));
    return std::nullopt;
  }
  std::uint64_t count = 0;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(fds.get());
    if (entry == nullptr) {
      break;
    }
    count += entry->d_name[0] != '.' ? 1 : 0;  // descriptors are numbers: skips . and ..
  }
  if (errno != 0) {
    cycle.count(Kind::resources, reason_for(errno));
    return std::nullopt;
  }
  return count;
}

void ProcfsSource::fill_details(const Cycle& cycle, const ProcessDetailCache::Entry& entry,
                                Process& process) {
  if (!entry.details_read) {
    return;
  }
  if (cycle.wants(Kind::modules)) {
    process.modules = entry.modules;  // shared, not copied
    process.modules_read = true;
  }
  if (cycle.wants(Kind::heaps)) {
    process.heaps = entry.heaps;
    process.heaps_read = true;
  }
}

}  // namespace

std::unique_ptr<SnapshotSource> make_platform_source(const PlatformSourceOptions& options) {
  return std::make_unique<ProcfsSource>(options.proc_root);
}

std::string_view platform_name() {
  return "linux";
}

}  // namespace thx
