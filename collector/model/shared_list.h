// An immutable list shared by its copies: copying one costs a reference count, not the items.
// Module lists are read once per process identity and then kept by the detail cache, by the
// current snapshot and by the previous one; with SharedList those are one list in memory.
//
// Reads see a const std::vector. The few writers (parsers, tests) go through copy on write: a
// list shared with another copy is copied first, so a write never shows through another copy.
#pragma once

#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

namespace thx {

template <typename T>
class SharedList {
 public:
  using value_type = T;
  using const_iterator = typename std::vector<T>::const_iterator;
  using iterator = const_iterator;  // read-only: writes go through the methods below
  using size_type = std::size_t;

  SharedList() = default;
  // Implicit, so a std::vector (a parser's result) or a brace list can be assigned directly.
  SharedList(std::vector<T> items)  // NOLINT(google-explicit-constructor)
      : items_(items.empty() ? nullptr : std::make_shared<std::vector<T>>(std::move(items))) {}
  SharedList(std::initializer_list<T> items) : SharedList(std::vector<T>(items)) {}

  [[nodiscard]] const std::vector<T>& items() const { return items_ ? *items_ : empty_list(); }
  [[nodiscard]] const_iterator begin() const { return items().begin(); }
  [[nodiscard]] const_iterator end() const { return items().end(); }
  [[nodiscard]] std::size_t size() const { return items_ ? items_->size() : 0; }
  [[nodiscard]] bool empty() const { return size() == 0; }
  [[nodiscard]] const T& operator[](std::size_t index) const { return (*items_)[index]; }
  [[nodiscard]] const T& front() const { return items_->front(); }
  [[nodiscard]] const T& back() const { return items_->back(); }

  // Whether two lists are the same object in memory (not just equal).
  [[nodiscard]] bool shares_with(const SharedList& other) const {
    return items_ != nullptr && items_ == other.items_;
  }

  void clear() { items_.reset(); }
  void reserve(std::size_t capacity) { writable().reserve(capacity); }
  void push_back(T item) { writable().push_back(std::move(item)); }
  template <typename... Args>
  T& emplace_back(Args&&... args) {
    return writable().emplace_back(std::forward<Args>(args)...);
  }

  friend bool operator==(const SharedList& a, const SharedList& b) {
    return a.items_ == b.items_ || a.items() == b.items();
  }

 private:
  static const std::vector<T>& empty_list() {
    static const std::vector<T> empty;
    return empty;
  }

  // The list, copied first when another SharedList shares it. A use count of one cannot change
  // under us: any other holder would have to copy this very object, which a writer owns.
  std::vector<T>& writable() {
    if (!items_) {
      items_ = std::make_shared<std::vector<T>>();
    } else if (items_.use_count() != 1) {
      items_ = std::make_shared<std::vector<T>>(*items_);
    }
    return *items_;
  }

  std::shared_ptr<std::vector<T>> items_;
};

}  // namespace thx
