/* thx_bare_reads: the floor. Reads, once per cycle, exactly the procfs files a default snapshot
 * needs, with no model, no parsing beyond finding a number, no aggregation:
 *
 *   for each numeric entry of /proc: open the pid directory, read stat (find the thread count
 *   after the last ')'), readlink exe, list task/ (count the numeric entries), read maps (count
 *   its lines).
 *
 *   thx_bare_reads [--cycles K] [--no-maps] [--resources] [--proc DIR]
 *
 * --resources adds what the default resources kind reads besides stat: statm, io and a stat()
 * of fd/ (the descriptor count on Linux 6.2 and later).
 *
 * --no-maps leaves maps out: what the exporter reads on a cycle where every process's modules
 * are still cached (module_interval). Prints one JSON object: CPU (getrusage) and wall time per
 * cycle, the first cycle apart and the median and mean of the rest. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct buffer {
  char* data;
  size_t capacity;
};

/* Reads the whole file `name` under `dir` into `buf`; returns its size or -1. */
static long read_whole(int dir, const char* name, struct buffer* buf) {
  int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  size_t size = 0;
  if (fd < 0) {
    return -1;
  }
  for (;;) {
    ssize_t n;
    if (size == buf->capacity) {
      size_t capacity = buf->capacity == 0 ? 4096 : buf->capacity * 2;
      char* data = realloc(buf->data, capacity);
      if (data == NULL) {
        close(fd);
        return -1;
      }
      buf->data = data;
      buf->capacity = capacity;
    }
    n = read(fd, buf->data + size, buf->capacity - size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      close(fd);
      return n < 0 ? -1 : (long)size;
    }
    size += (size_t)n;
  }
}

static int is_number(const char* name) {
  if (*name == '\0') {
    return 0;
  }
  for (; *name != '\0'; ++name) {
    if (*name < '0' || *name > '9') {
      return 0;
    }
  }
  return 1;
}

struct totals {
  unsigned long processes;
  unsigned long threads_stat; /* sum of num_threads from stat */
  unsigned long threads_listed;
  unsigned long maps_lines;
  unsigned long exe_bytes;
  unsigned long failures;
};

/* Field 20 of stat (num_threads): the 18th space-separated field after the last ')'. */
static unsigned long stat_threads(const char* text, long size) {
  const char* end = text + size;
  const char* p = end;
  int field = 0;
  while (p > text && p[-1] != ')') {
    --p;
  }
  while (p < end && field < 18) {
    if (*p++ == ' ') {
      ++field;
    }
  }
  return p < end ? strtoul(p, NULL, 10) : 0;
}

static void one_process(int root, const char* pid, int with_maps, int with_resources,
                        struct buffer* buf, struct totals* t) {
  char target[8192];
  long size;
  ssize_t n;
  int pid_dir = openat(root, pid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pid_dir < 0) {
    ++t->failures;
    return;
  }
  size = read_whole(pid_dir, "stat", buf);
  if (size < 0) {
    ++t->failures;
    close(pid_dir);
    return;
  }
  ++t->processes;
  t->threads_stat += stat_threads(buf->data, size);
  n = readlinkat(pid_dir, "exe", target, sizeof target);
  if (n > 0) {
    t->exe_bytes += (unsigned long)n;
  }
  {
    int task_fd = openat(pid_dir, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* task = task_fd < 0 ? NULL : fdopendir(task_fd);
    if (task != NULL) {
      const struct dirent* entry;
      while ((entry = readdir(task)) != NULL) {
        if (is_number(entry->d_name)) {
          ++t->threads_listed;
        }
      }
      closedir(task);
    } else {
      if (task_fd >= 0) {
        close(task_fd);
      }
      ++t->failures;
    }
  }
  if (with_resources) {
    struct stat fds;
    if (read_whole(pid_dir, "statm", buf) < 0 || read_whole(pid_dir, "io", buf) < 0 ||
        fstatat(pid_dir, "fd", &fds, 0) != 0) {
      ++t->failures;
    }
  }
  if (with_maps) {
    size = read_whole(pid_dir, "maps", buf);
    if (size >= 0) {
      const char* p = buf->data;
      const char* end = buf->data + size;
      while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        ++t->maps_lines;
        ++p;
      }
    } else {
      ++t->failures;
    }
  }
  close(pid_dir);
}

static double cpu_seconds(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
         (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int compare_doubles(const void* a, const void* b) {
  double x = *(const double*)a;
  double y = *(const double*)b;
  return (x > y) - (x < y);
}

/* The median and mean of values[1..count-1] (the first cycle is reported apart). */
static void summarize(const char* name, double* values, size_t count, int last) {
  double first = count > 0 ? values[0] : 0.0;
  double sum = 0.0;
  double med = 0.0;
  size_t rest = count > 1 ? count - 1 : 0;
  size_t i;
  for (i = 1; i < count; ++i) {
    sum += values[i];
  }
  if (rest > 0) {
    qsort(values + 1, rest, sizeof *values, compare_doubles);
    med = rest % 2 == 1 ? values[1 + rest / 2] : (values[rest / 2] + values[1 + rest / 2]) / 2;
  }
  printf("\"%s\":{\"first\":%.9f,\"median\":%.9f,\"mean\":%.9f}%s", name, first, med,
         rest > 0 ? sum / (double)rest : 0.0, last ? "" : ",");
}

int main(int argc, char** argv) {
  long cycles = 20;
  int with_maps = 1;
  int with_resources = 0;
  const char* proc = "/proc";
  struct buffer buf = {NULL, 0};
  struct totals t;
  double* cpu;
  double* wall;
  long c;
  int i;
  for (i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--cycles") == 0 && i + 1 < argc) {
      cycles = strtol(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--no-maps") == 0) {
      with_maps = 0;
    } else if (strcmp(argv[i], "--resources") == 0) {
      with_resources = 1;
    } else if (strcmp(argv[i], "--proc") == 0 && i + 1 < argc) {
      proc = argv[++i];
    } else {
      fprintf(stderr,
              "usage: thx_bare_reads [--cycles K] [--no-maps] [--resources] [--proc DIR]\n");
      return 2;
    }
  }
  if (cycles < 1) {
    cycles = 1;
  }
  cpu = calloc((size_t)cycles, sizeof *cpu);
  wall = calloc((size_t)cycles, sizeof *wall);
  if (cpu == NULL || wall == NULL) {
    return 1;
  }
  for (c = 0; c < cycles; ++c) {
    double cpu0 = cpu_seconds();
    double wall0 = wall_seconds();
    DIR* root = opendir(proc);
    const struct dirent* entry;
    if (root == NULL) {
      perror(proc);
      return 1;
    }
    memset(&t, 0, sizeof t);
    while ((entry = readdir(root)) != NULL) {
      if (is_number(entry->d_name)) {
        one_process(dirfd(root), entry->d_name, with_maps, with_resources, &buf, &t);
      }
    }
    closedir(root);
    cpu[c] = cpu_seconds() - cpu0;
    wall[c] = wall_seconds() - wall0;
  }
  printf(
      "{\"mode\":\"%s\",\"cycles\":%ld,\"processes\":%lu,\"threads\":%lu,"
      "\"threads_from_stat\":%lu,\"maps_lines\":%lu,\"failures\":%lu,",
      with_maps ? "stat+exe+task+maps" : "stat+exe+task", cycles, t.processes, t.threads_listed,
      t.threads_stat, t.maps_lines, t.failures);
  summarize("cycle_cpu_seconds", cpu, (size_t)cycles, 0);
  summarize("cycle_wall_seconds", wall, (size_t)cycles, 1);
  printf("}\n");
  free(cpu);
  free(wall);
  free(buf.data);
  return 0;
}
