// Module version resources: FileVersion, ProductVersion and CompanyName of each module file seen
// in a snapshot, read with the version.dll API and cached by (path, size, last-write time).

#include <algorithm>
#include <cwchar>
#include <set>
#include <vector>

#include "collector/windows/win32_util.h"

namespace thx::win32 {
namespace {

// Version strings are short; a cap keeps one odd file from making a huge metric label.
constexpr std::size_t kMaxVersionStringLength = 256;

std::uint64_t join(DWORD high, DWORD low) {
  return (std::uint64_t{high} << 32U) | std::uint64_t{low};
}

// "a.b.c.d" from the two DWORDs of a VS_FIXEDFILEINFO version (16 bits per part).
std::string dotted(DWORD most_significant, DWORD least_significant) {
  return std::to_string(most_significant >> 16U) + '.' +
         std::to_string(most_significant & 0xFFFFU) + '.' +
         std::to_string(least_significant >> 16U) + '.' +
         std::to_string(least_significant & 0xFFFFU);
}

std::wstring hex4(unsigned value) {
  constexpr std::wstring_view kDigits = L"0123456789abcdef";
  std::wstring text(4, L'0');
  for (std::size_t i = 4; i-- > 0;) {
    text[i] = kDigits[value & 0xFU];
    value >>= 4U;
  }
  return text;
}

const VS_FIXEDFILEINFO* fixed_info(const std::vector<std::byte>& data) {
  void* value = nullptr;
  UINT length = 0;
  if (!VerQueryValueW(data.data(), L"\\", &value, &length) || length < sizeof(VS_FIXEDFILEINFO)) {
    return nullptr;
  }
  const auto* info = static_cast<const VS_FIXEDFILEINFO*>(value);
  constexpr DWORD kSignature = 0xFEEF04BD;  // documented marker of a valid VS_FIXEDFILEINFO
  return info->dwSignature == kSignature ? info : nullptr;
}

// "\StringFileInfo\<language><codepage>\" of the first translation the file lists.
std::wstring string_table(const std::vector<std::byte>& data) {
  struct Translation {
    WORD language;
    WORD codepage;
  };
  void* value = nullptr;
  UINT length = 0;
  std::wstring key = L"040904b0";  // US English, Unicode: the usual table when none is listed
  if (VerQueryValueW(data.data(), L"\\VarFileInfo\\Translation", &value, &length) &&
      length >= sizeof(Translation)) {
    const auto* first = static_cast<const Translation*>(value);
    key = hex4(first->language) + hex4(first->codepage);
  }
  return L"\\StringFileInfo\\" + key + L"\\";
}

std::string query_string(const std::vector<std::byte>& data, const std::wstring& name) {
  void* value = nullptr;
  UINT length = 0;
  if (!VerQueryValueW(data.data(), name.c_str(), &value, &length) || length == 0) {
    return {};
  }
  const auto* text = static_cast<const wchar_t*>(value);
  const std::size_t limit = std::min<std::size_t>(length, kMaxVersionStringLength);
  return to_utf8(std::wstring_view(text, wcsnlen(text, limit)));
}

// The version resource of one file; empty when the file has none or it cannot be read.
std::optional<ModuleVersion> read_version(const std::wstring& path) {
  DWORD ignored = 0;
  const DWORD size = GetFileVersionInfoSizeW(path.c_str(), &ignored);
  if (size == 0) {
    return std::nullopt;
  }
  std::vector<std::byte> data(size);
  if (!GetFileVersionInfoW(path.c_str(), 0, size, data.data())) {
    return std::nullopt;
  }
  ModuleVersion version;
  const VS_FIXEDFILEINFO* fixed = fixed_info(data);
  if (fixed != nullptr) {
    version.file_version = dotted(fixed->dwFileVersionMS, fixed->dwFileVersionLS);
  }
  const std::wstring table = string_table(data);
  version.company = query_string(data, table + L"CompanyName");
  version.product_version = query_string(data, table + L"ProductVersion");
  if (version.product_version.empty() && fixed != nullptr) {
    version.product_version = dotted(fixed->dwProductVersionMS, fixed->dwProductVersionLS);
  }
  if (version == ModuleVersion{}) {
    return std::nullopt;
  }
  return version;
}

std::set<std::string> distinct_module_paths(const Snapshot& snapshot) {
  std::set<std::string> paths;
  for (const Process& process : snapshot.processes) {
    for (const Module& module : process.modules) {
      if (!module.path().empty()) {
        paths.insert(module.path());
      }
    }
  }
  return paths;
}

}  // namespace

std::wstring extended_path(std::wstring path) {
  if (path.size() < MAX_PATH || path.starts_with(L"\\\\?\\")) {
    return path;
  }
  if (path.size() > 2 && path[1] == L':' && path[2] == L'\\') {
    return L"\\\\?\\" + path;
  }
  if (path.starts_with(L"\\\\")) {
    return L"\\\\?\\UNC\\" + path.substr(2);
  }
  return path;
}

bool ModuleVersionCache::fill(Snapshot& snapshot, const std::stop_token& stop,
                              std::chrono::seconds recheck_after) {
  ++fill_count_;
  const Clock::time_point now = Clock::now();
  for (const std::string& path : distinct_module_paths(snapshot)) {
    if (stop.stop_requested()) {
      return false;
    }
    const Entry* entry = lookup(path, now, recheck_after);
    if (entry != nullptr && entry->version) {
      snapshot.module_versions.emplace(path, *entry->version);
    }
  }
  return true;
}

void ModuleVersionCache::prune() {
  std::erase_if(entries_,
                [this](const auto& item) { return item.second.last_seen_fill != fill_count_; });
}

// The cache entry of `path`, re-read when the file changed; null when the file cannot be found
// (remembered until its retry time).
// GetFileAttributesExW is cheap next to reading a version resource.
const ModuleVersionCache::Entry* ModuleVersionCache::lookup(const std::string& path,
                                                            Clock::time_point now,
                                                            std::chrono::seconds recheck_after) {
  if (const auto known = entries_.find(path);
      known != entries_.end() && now - known->second.checked_at < recheck_after) {
    known->second.last_seen_fill = fill_count_;
    return &known->second;
  }
  auto [it, inserted] = entries_.try_emplace(path);
  Entry& entry = it->second;
  entry.last_seen_fill = fill_count_;
  if (entry.missing && now < entry.retry_at) {
    return nullptr;
  }
  const std::wstring wide_path = extended_path(to_wide(path));
  WIN32_FILE_ATTRIBUTE_DATA attributes{};
  ++files_looked_up_;
  if (!GetFileAttributesExW(wide_path.c_str(), GetFileExInfoStandard, &attributes)) {
    entry = Entry{};
    entry.last_seen_fill = fill_count_;
    entry.missing = true;
    entry.retry_at = now + std::max<Clock::duration>(recheck_after, kRetryMissingAfter);
    return nullptr;
  }
  const std::uint64_t size = join(attributes.nFileSizeHigh, attributes.nFileSizeLow);
  const std::uint64_t write_time =
      join(attributes.ftLastWriteTime.dwHighDateTime, attributes.ftLastWriteTime.dwLowDateTime);
  inserted = inserted || entry.missing;
  entry.missing = false;
  entry.checked_at = now;
  if (inserted || entry.size != size || entry.write_time != write_time) {
    entry.size = size;
    entry.write_time = write_time;
    entry.version = read_version(wide_path);
    ++files_read_;
  }
  return &entry;
}

}  // namespace thx::win32
