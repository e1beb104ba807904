#include "collector/model/snapshot.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace thx {
namespace {

template <typename Enum, std::size_t N>
std::optional<Enum> from_string(std::string_view name, const std::array<Enum, N>& all) {
  for (Enum value : all) {
    if (to_string(value) == name) {
      return value;
    }
  }
  return std::nullopt;
}

constexpr std::array<KindStatus::State, 5> kAllStates = {
    KindStatus::State::not_requested, KindStatus::State::complete, KindStatus::State::partial,
    KindStatus::State::unsupported, KindStatus::State::failed};

const std::string& empty_string() {
  static const std::string empty;
  return empty;
}

}  // namespace

Module::Module(std::shared_ptr<const ModuleFile> shared_file, std::uint64_t start,
               std::uint64_t length)
    : file(std::move(shared_file)), base_address(start), size(length) {}

Module::Module(std::string file_name, std::string file_path, std::uint64_t start,
               std::uint64_t length)
    : Module(std::make_shared<const ModuleFile>(
                 ModuleFile{std::move(file_name), std::move(file_path)}),
             start, length) {}

const std::string& Module::name() const {
  return file ? file->name : empty_string();
}

const std::string& Module::path() const {
  return file ? file->path : empty_string();
}

bool Module::operator==(const Module& other) const {
  return base_address == other.base_address && size == other.size &&
         (file == other.file || (name() == other.name() && path() == other.path()));
}

std::string_view to_string(Kind kind) {
  switch (kind) {
    case Kind::processes:
      return "processes";
    case Kind::threads:
      return "threads";
    case Kind::modules:
      return "modules";
    case Kind::heaps:
      return "heaps";
    case Kind::heap_blocks:
      return "heap_blocks";
    case Kind::resources:
      return "resources";
  }
  return "unknown";
}

std::optional<Kind> kind_from_string(std::string_view name) {
  return from_string(name, kAllKinds);
}

std::string_view to_string(ErrorReason reason) {
  switch (reason) {
    case ErrorReason::access_denied:
      return "access_denied";
    case ErrorReason::vanished:
      return "vanished";
    case ErrorReason::partial_copy:
      return "partial_copy";
    case ErrorReason::retries_exhausted:
      return "retries_exhausted";
    case ErrorReason::malformed:
      return "malformed";
    case ErrorReason::limit_reached:
      return "limit_reached";
    case ErrorReason::other:
      return "other";
  }
  return "unknown";
}

std::optional<ErrorReason> error_reason_from_string(std::string_view name) {
  return from_string(name, kAllErrorReasons);
}

std::string_view to_string(KindStatus::State state) {
  switch (state) {
    case KindStatus::State::not_requested:
      return "not_requested";
    case KindStatus::State::complete:
      return "complete";
    case KindStatus::State::partial:
      return "partial";
    case KindStatus::State::unsupported:
      return "unsupported";
    case KindStatus::State::failed:
      return "failed";
  }
  return "unknown";
}

std::optional<KindStatus::State> state_from_string(std::string_view name) {
  return from_string(name, kAllStates);
}

std::uint64_t KindStatus::total_errors() const {
  return std::accumulate(errors.begin(), errors.end(), std::uint64_t{0});
}

const Process* Snapshot::find_process(std::uint32_t pid) const {
  auto it = std::lower_bound(processes.begin(), processes.end(), pid,
                             [](const Process& p, std::uint32_t value) { return p.pid < value; });
  return it != processes.end() && it->pid == pid ? &*it : nullptr;
}

}  // namespace thx
