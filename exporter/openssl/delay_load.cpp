#include "exporter/openssl/delay_load.h"

#ifdef THX_DELAY_LOAD_OPENSSL

#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

// The slots of delay_load_x86_64.S, each followed by its function's name; the linker names the
// bounds of the section that lists them.
extern "C" void** __start_thx_openssl_slots[];  // NOLINT(bugprone-reserved-identifier)
extern "C" void** __stop_thx_openssl_slots[];   // NOLINT(bugprone-reserved-identifier)

namespace thx {
namespace {

const char* name_after(void** slot) {
  return reinterpret_cast<const char*>(slot + 1);
}

struct Library {
  void* handle = nullptr;
  std::string problem;  // empty when every function of the slots is there
};

// Once per process: libssl brings libcrypto with it, and every function the slots name must be
// in the two (each slot is then bound at its first call).
const Library& library() {
  static const Library once = [] {
    Library out;
    out.handle = dlopen(THX_LIBSSL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (out.handle == nullptr) {
      const char* reason = dlerror();
      out.problem = std::string("cannot load " THX_LIBSSL_SONAME ": ") +
                    (reason != nullptr ? reason : "unknown reason");
      return out;
    }
    for (void*** entry = __start_thx_openssl_slots; entry != __stop_thx_openssl_slots; ++entry) {
      if (dlsym(out.handle, name_after(*entry)) == nullptr) {
        out.problem = std::string(THX_LIBSSL_SONAME " has no function ") + name_after(*entry);
        break;
      }
    }
    return out;
  }();
  return once;
}

std::atomic<bool> g_loaded{false};

}  // namespace

std::optional<std::string> load_openssl() {
  if (const std::string& problem = library().problem; !problem.empty()) {
    return problem;
  }
  g_loaded.store(true, std::memory_order_relaxed);
  return std::nullopt;
}

bool openssl_loaded() {
  return g_loaded.load(std::memory_order_relaxed);
}

}  // namespace thx

// Called from the assembly stubs at a function's first call, with the function's slot: loads
// OpenSSL once, writes the function into the slot and returns it. Without the library there is
// nothing to call, and the process ends saying so: the configuration is checked for that before
// TLS or passwords are used, so only a broken installation gets here.
extern "C" void* thx_openssl_bind(void** slot) noexcept {
  if (auto problem = thx::load_openssl()) {
    (void)std::fprintf(stderr, "toolhelp_exporter: OpenSSL is needed for %s: %s\n",
                       thx::name_after(slot), problem->c_str());
    std::abort();
  }
  void* function = dlsym(thx::library().handle, thx::name_after(slot));  // checked when loaded
  __atomic_store_n(slot, function, __ATOMIC_RELEASE);
  return function;
}

#else

namespace thx {

std::optional<std::string> load_openssl() {
  return std::nullopt;
}
bool openssl_loaded() {
  return true;
}

}  // namespace thx

#endif
