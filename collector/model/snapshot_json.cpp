#include "collector/model/snapshot_json.h"

#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>

namespace thx {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

// ---- Writing -------------------------------------------------------------------------------

json status_to_json(const KindStatus& status) {
  json errors = json::object();
  for (ErrorReason reason : kAllErrorReasons) {
    if (status.error_count(reason) != 0) {  // zero counts are the default: left out
      errors[std::string(to_string(reason))] = status.error_count(reason);
    }
  }
  return {{"state", to_string(status.state)},
          {"duration_seconds", status.duration_seconds},
          {"errors", std::move(errors)}};
}

json module_to_json(const Module& module) {
  return {{"name", module.name()},
          {"path", module.path()},
          {"base_address", module.base_address},
          {"size", module.size}};
}

json heap_to_json(const Heap& heap) {
  json out = {{"id", heap.id}, {"flags", heap.flags}};
  if (heap.block_count) {
    out["block_count"] = *heap.block_count;
  }
  if (heap.bytes) {
    out["bytes"] = *heap.bytes;
  }
  return out;
}

// Only the facts that were read: an absent member is an unknown value, not zero.
json resources_to_json(const ProcessResources& resources) {
  json out = json::object();
  auto put = [&out](const char* key, const auto& value) {
    if (value) {
      out[key] = *value;
    }
  };
  put("cpu_user_seconds", resources.cpu_user_seconds);
  put("cpu_system_seconds", resources.cpu_system_seconds);
  put("resident_bytes", resources.resident_bytes);
  put("private_bytes", resources.private_bytes);
  put("virtual_bytes", resources.virtual_bytes);
  put("handles", resources.handles);
  put("io_read_bytes", resources.io_read_bytes);
  put("io_write_bytes", resources.io_write_bytes);
  return out;
}

json process_to_json(const Process& process) {
  json modules = json::array();
  for (const Module& module : process.modules) {
    modules.push_back(module_to_json(module));
  }
  json heaps = json::array();
  for (const Heap& heap : process.heaps) {
    heaps.push_back(heap_to_json(heap));
  }
  json out = {{"pid", process.pid},
              {"parent_pid", process.parent_pid},
              {"name", process.name},
              {"path", process.path},
              {"command_line", process.command_line},
              {"start_time_ns", process.start_time_ns},
              {"thread_count", process.thread_count},
              {"base_priority", process.base_priority},
              {"modules_read", process.modules_read},
              {"modules", std::move(modules)},
              {"heaps_read", process.heaps_read},
              {"heaps", std::move(heaps)}};
  if (process.kernel_thread) {  // absent means false: files from before the field stay equal
    out["kernel_thread"] = true;
  }
  if (process.resources != ProcessResources{}) {
    out["resources"] = resources_to_json(process.resources);
  }
  return out;
}

// ---- Reading -------------------------------------------------------------------------------

[[noreturn]] void fail(const std::string& path, std::string_view what) {
  throw SnapshotFormatError(path + ": " + std::string(what));
}

// A value of the document and its JSON path, so every error can say where it is.
struct Node {
  const json& value;
  std::string path;

  void expect_object() const {
    if (!value.is_object()) {
      fail(path, "expected an object");
    }
  }
  void expect_array() const {
    if (!value.is_array()) {
      fail(path, "expected an array");
    }
  }
  // A member of this object; absent (or null, for optional values) gives nullopt.
  [[nodiscard]] std::optional<Node> find(std::string_view key) const {
    auto it = value.find(key);
    if (it == value.end() || it->is_null()) {
      return std::nullopt;
    }
    return Node{*it, path + "." + std::string(key)};
  }
  [[nodiscard]] Node required(std::string_view key) const {
    std::optional<Node> node = find(key);
    if (!node) {
      fail(path + "." + std::string(key), "missing");
    }
    return *node;
  }
  [[nodiscard]] Node element(std::size_t index) const {
    return Node{value[index], path + "[" + std::to_string(index) + "]"};
  }
};

std::uint64_t to_u64(const Node& node) {
  if (node.value.is_number_unsigned()) {
    return node.value.get<std::uint64_t>();
  }
  if (node.value.is_number_integer() && node.value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(node.value.get<std::int64_t>());
  }
  fail(node.path, "expected an unsigned integer");
}

std::uint32_t to_u32(const Node& node) {
  const std::uint64_t value = to_u64(node);
  if (value > std::numeric_limits<std::uint32_t>::max()) {
    fail(node.path, "out of range for a 32-bit unsigned integer");
  }
  return static_cast<std::uint32_t>(value);
}

std::int64_t to_i64(const Node& node) {
  if (node.value.is_number_unsigned() &&
      node.value.get<std::uint64_t>() <=
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return node.value.get<std::int64_t>();
  }
  if (node.value.is_number_integer() && !node.value.is_number_unsigned()) {
    return node.value.get<std::int64_t>();
  }
  fail(node.path, "expected a signed 64-bit integer");
}

std::int32_t to_i32(const Node& node) {
  const std::int64_t value = to_i64(node);
  if (value < std::numeric_limits<std::int32_t>::min() ||
      value > std::numeric_limits<std::int32_t>::max()) {
    fail(node.path, "out of range for a 32-bit signed integer");
  }
  return static_cast<std::int32_t>(value);
}

double to_double(const Node& node) {
  if (!node.value.is_number()) {
    fail(node.path, "expected a number");
  }
  return node.value.get<double>();
}

std::string to_text(const Node& node) {
  if (!node.value.is_string()) {
    fail(node.path, "expected a string");
  }
  return node.value.get<std::string>();
}

bool to_bool(const Node& node) {
  if (!node.value.is_boolean()) {
    fail(node.path, "expected true or false");
  }
  return node.value.get<bool>();
}

// Reads member `key` of `object` into `out` with `convert`, when it is there.
template <typename T, typename Convert>
void read_optional(const Node& object, std::string_view key, T& out, Convert convert) {
  if (std::optional<Node> node = object.find(key)) {
    out = convert(*node);
  }
}

// Calls `read` for each element of the array member `key` (absent: no elements).
template <typename Read>
void for_each_element(const Node& object, std::string_view key, Read read) {
  std::optional<Node> array = object.find(key);
  if (!array) {
    return;
  }
  array->expect_array();
  for (std::size_t i = 0; i < array->value.size(); ++i) {
    read(array->element(i));
  }
}

template <typename Enum>
Enum to_enum(const Node& node, std::optional<Enum> (*from_string)(std::string_view),
             std::string_view what) {
  const std::string name = to_text(node);
  std::optional<Enum> value = from_string(name);
  if (!value) {
    fail(node.path, "unknown " + std::string(what) + " \"" + name + "\"");
  }
  return *value;
}

KindStatus status_from_json(const Node& node) {
  node.expect_object();
  KindStatus status;
  if (std::optional<Node> state = node.find("state")) {
    status.state = to_enum(*state, &state_from_string, "state");
  }
  read_optional(node, "duration_seconds", status.duration_seconds, to_double);
  if (std::optional<Node> errors = node.find("errors")) {
    errors->expect_object();
    for (const auto& [name, count] : errors->value.items()) {
      const Node count_node{count, errors->path + "." + name};
      const std::optional<ErrorReason> reason = error_reason_from_string(name);
      if (!reason) {
        fail(count_node.path, "unknown error reason");
      }
      status.count(*reason, to_u64(count_node));
    }
  }
  return status;
}

Module module_from_json(const Node& node) {
  node.expect_object();
  std::string name;
  std::string path;
  std::uint64_t base_address = 0;
  std::uint64_t size = 0;
  read_optional(node, "name", name, to_text);
  read_optional(node, "path", path, to_text);
  read_optional(node, "base_address", base_address, to_u64);
  read_optional(node, "size", size, to_u64);
  return {std::move(name), std::move(path), base_address, size};
}

Heap heap_from_json(const Node& node) {
  node.expect_object();
  Heap heap;
  read_optional(node, "id", heap.id, to_u64);
  read_optional(node, "flags", heap.flags, to_u32);
  read_optional(node, "block_count", heap.block_count, to_u64);
  read_optional(node, "bytes", heap.bytes, to_u64);
  return heap;
}

ProcessResources resources_from_json(const Node& node) {
  node.expect_object();
  ProcessResources resources;
  read_optional(node, "cpu_user_seconds", resources.cpu_user_seconds, to_double);
  read_optional(node, "cpu_system_seconds", resources.cpu_system_seconds, to_double);
  read_optional(node, "resident_bytes", resources.resident_bytes, to_u64);
  read_optional(node, "private_bytes", resources.private_bytes, to_u64);
  read_optional(node, "virtual_bytes", resources.virtual_bytes, to_u64);
  read_optional(node, "handles", resources.handles, to_u64);
  read_optional(node, "io_read_bytes", resources.io_read_bytes, to_u64);
  read_optional(node, "io_write_bytes", resources.io_write_bytes, to_u64);
  return resources;
}

Process process_from_json(const Node& node) {
  node.expect_object();
  Process process;
  process.pid = to_u32(node.required("pid"));
  read_optional(node, "parent_pid", process.parent_pid, to_u32);
  read_optional(node, "name", process.name, to_text);
  read_optional(node, "path", process.path, to_text);
  read_optional(node, "command_line", process.command_line, to_text);
  read_optional(node, "start_time_ns", process.start_time_ns, to_i64);
  read_optional(node, "thread_count", process.thread_count, to_u32);
  read_optional(node, "base_priority", process.base_priority, to_i32);
  read_optional(node, "kernel_thread", process.kernel_thread, to_bool);
  if (std::optional<Node> resources = node.find("resources")) {
    process.resources = resources_from_json(*resources);
  }
  read_optional(node, "modules_read", process.modules_read, to_bool);
  read_optional(node, "heaps_read", process.heaps_read, to_bool);
  for_each_element(node, "modules",
                   [&](const Node& item) { process.modules.push_back(module_from_json(item)); });
  for_each_element(node, "heaps",
                   [&](const Node& item) { process.heaps.push_back(heap_from_json(item)); });
  return process;
}

Thread thread_from_json(const Node& node) {
  node.expect_object();
  Thread thread;
  thread.tid = to_u32(node.required("tid"));
  thread.owner_pid = to_u32(node.required("owner_pid"));
  read_optional(node, "base_priority", thread.base_priority, to_i32);
  return thread;
}

void read_statuses(const Node& root, Snapshot& snapshot) {
  std::optional<Node> statuses = root.find("status");
  if (!statuses) {
    return;
  }
  statuses->expect_object();
  for (const auto& [name, value] : statuses->value.items()) {
    const Node node{value, statuses->path + "." + name};
    const std::optional<Kind> kind = kind_from_string(name);
    if (!kind) {
      fail(node.path, "unknown kind");
    }
    snapshot.status_of(*kind) = status_from_json(node);
  }
}

void read_module_versions(const Node& root, Snapshot& snapshot) {
  std::optional<Node> versions = root.find("module_versions");
  if (!versions) {
    return;
  }
  versions->expect_object();
  for (const auto& [module_path, value] : versions->value.items()) {
    // Paths contain dots and backslashes: quote them in the JSON path.
    const Node node{value, versions->path + "[" + json(module_path).dump() + "]"};
    node.expect_object();
    ModuleVersion& version = snapshot.module_versions[module_path];
    read_optional(node, "file_version", version.file_version, to_text);
    read_optional(node, "product_version", version.product_version, to_text);
    read_optional(node, "company", version.company, to_text);
  }
}

Snapshot snapshot_from_node(const Node& root) {
  root.expect_object();
  if (std::optional<Node> version = root.find("format_version")) {
    if (to_u64(*version) != kFormatVersion) {
      fail(version->path, "unsupported format version");
    }
  }
  Snapshot snapshot;
  read_optional(root, "platform", snapshot.platform, to_text);
  read_optional(root, "taken_at_seconds", snapshot.taken_at_seconds, to_double);
  for_each_element(root, "kinds", [&](const Node& item) {
    snapshot.kinds.insert(to_enum(item, &kind_from_string, "kind"));
  });
  read_statuses(root, snapshot);
  for_each_element(root, "processes", [&](const Node& item) {
    snapshot.processes.push_back(process_from_json(item));
  });
  for_each_element(root, "threads",
                   [&](const Node& item) { snapshot.threads.push_back(thread_from_json(item)); });
  read_module_versions(root, snapshot);
  return snapshot;
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text << '\n';
  out.close();
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

std::string dump(const json& value) {
  return value.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace

nlohmann::json snapshot_to_json(const Snapshot& snapshot) {
  json kinds = json::array();
  json statuses = json::object();
  for (Kind kind : kAllKinds) {
    if (snapshot.kinds.contains(kind)) {
      kinds.push_back(to_string(kind));
    }
    statuses[std::string(to_string(kind))] = status_to_json(snapshot.status_of(kind));
  }
  json processes = json::array();
  for (const Process& process : snapshot.processes) {
    processes.push_back(process_to_json(process));
  }
  json threads = json::array();
  for (const Thread& thread : snapshot.threads) {
    threads.push_back({{"tid", thread.tid},
                       {"owner_pid", thread.owner_pid},
                       {"base_priority", thread.base_priority}});
  }
  json versions = json::object();
  for (const auto& [path, version] : snapshot.module_versions) {
    versions[path] = {{"file_version", version.file_version},
                      {"product_version", version.product_version},
                      {"company", version.company}};
  }
  return {{"format_version", kFormatVersion},
          {"platform", snapshot.platform},
          {"taken_at_seconds", snapshot.taken_at_seconds},
          {"kinds", std::move(kinds)},
          {"status", std::move(statuses)},
          {"processes", std::move(processes)},
          {"threads", std::move(threads)},
          {"module_versions", std::move(versions)}};
}

Snapshot snapshot_from_json(const nlohmann::json& json) {
  return snapshot_from_node(Node{json, "$"});
}

std::string snapshot_to_json_text(const Snapshot& snapshot) {
  return dump(snapshot_to_json(snapshot));
}

void write_snapshot_file(const std::filesystem::path& path, const Snapshot& snapshot) {
  write_text(path, snapshot_to_json_text(snapshot));
}

void write_snapshots_file(const std::filesystem::path& path,
                          const std::vector<Snapshot>& snapshots) {
  json recording = json::array();
  for (const Snapshot& snapshot : snapshots) {
    recording.push_back(snapshot_to_json(snapshot));
  }
  write_text(path, dump(recording));
}

std::vector<Snapshot> read_snapshots_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open " + path.string());
  }
  json document;
  try {
    document = json::parse(in);
  } catch (const json::parse_error& error) {
    throw SnapshotFormatError(path.string() + ": $: not valid JSON: " + error.what());
  }
  try {
    if (!document.is_array()) {
      return {snapshot_from_json(document)};
    }
    std::vector<Snapshot> snapshots;
    const Node root{document, "$"};
    for (std::size_t i = 0; i < document.size(); ++i) {
      snapshots.push_back(snapshot_from_node(root.element(i)));
    }
    return snapshots;
  } catch (const SnapshotFormatError& error) {
    throw SnapshotFormatError(path.string() + ": " + error.what());
  }
}

ReplaySource::ReplaySource(std::vector<Snapshot> snapshots, AtEnd at_end)
    : snapshots_(std::move(snapshots)), at_end_(at_end) {}

Snapshot ReplaySource::take(const SnapshotRequest& request, std::stop_token /*stop*/) {
  const std::scoped_lock lock(mutex_);
  const std::size_t index = takes_++;
  if (snapshots_.empty()) {
    Snapshot empty;
    empty.kinds = request.kinds;
    for (Kind kind : kAllKinds) {
      if (request.kinds.contains(kind)) {
        empty.status_of(kind).state = KindStatus::State::failed;
      }
    }
    return empty;
  }
  if (at_end_ == AtEnd::cycle) {
    return snapshots_[index % snapshots_.size()];
  }
  return snapshots_[std::min(index, snapshots_.size() - 1)];
}

std::size_t ReplaySource::takes() const {
  const std::scoped_lock lock(mutex_);
  return takes_;
}

}  // namespace thx
