// The module files a source has seen, one shared ModuleFile per path: a module entry of a
// process then costs a reference, not two strings. Both platform sources intern through it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "collector/model/snapshot.h"

namespace thx {

class ModuleFilePool {
 public:
  // The file known by `key` (the path as the OS spelled it); `make` builds it the first time
  // and may move from the string `key` views (the key is copied before it runs).
  template <typename Make>
  const std::shared_ptr<const ModuleFile>& intern(std::string_view key, Make&& make) {
    auto it = files_.find(key);
    if (it == files_.end()) {
      std::string owned_key(key);
      auto file = std::make_shared<const ModuleFile>(std::forward<Make>(make)());
      it = files_.emplace(std::move(owned_key), std::move(file)).first;
    }
    return it->second;
  }

  // Forgets the files that no module list refers to any more (those of exited processes), so
  // the pool stays bounded by the files loaded now. A file still in use is never dropped: only
  // the pool's own reference is left when the use count is one.
  void prune() {
    std::erase_if(files_, [](const auto& item) { return item.second.use_count() == 1; });
  }

  [[nodiscard]] std::size_t size() const { return files_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const {
      return std::hash<std::string_view>{}(key);
    }
  };
  std::unordered_map<std::string, std::shared_ptr<const ModuleFile>, Hash, std::equal_to<>> files_;
};

}  // namespace thx
