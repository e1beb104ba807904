// Owns an SC_HANDLE from the Service Control Manager. Not a kernel HANDLE: it is closed with
// CloseServiceHandle, so it does not share win32::UniqueHandle. Windows only.
#pragma once

#include <windows.h>

#include <utility>

namespace thx {

class ScHandle {
 public:
  explicit ScHandle(SC_HANDLE handle = nullptr) : handle_(handle) {}
  ~ScHandle() {
    if (handle_ != nullptr) {
      CloseServiceHandle(handle_);
    }
  }
  ScHandle(const ScHandle&) = delete;
  ScHandle& operator=(const ScHandle&) = delete;
  ScHandle(ScHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  ScHandle& operator=(ScHandle&&) = delete;
  [[nodiscard]] SC_HANDLE get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  SC_HANDLE handle_;
};

}  // namespace thx
