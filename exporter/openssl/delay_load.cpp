#include "exporter/openssl/delay_load.h"

#ifdef THX_DELAY_LOAD_OPENSSL

#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace thx {
namespace {

struct Loaded {
  void* library = nullptr;
  std::string problem;
};

// Once per process; libssl brings libcrypto with it, and symbols are looked up in both.
const Loaded& loaded() {
  static const Loaded once = [] {
    Loaded out;
    out.library = dlopen(THX_LIBSSL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (out.library == nullptr) {
      const char* reason = dlerror();
      out.problem = std::string("cannot load " THX_LIBSSL_SONAME ": ") +
                    (reason != nullptr ? reason : "unknown reason");
    }
    return out;
  }();
  return once;
}

std::atomic<bool> g_loaded{false};

}  // namespace

std::optional<std::string> load_openssl() {
  const Loaded& state = loaded();
  if (state.library == nullptr) {
    return state.problem;
  }
  g_loaded.store(true, std::memory_order_relaxed);
  return std::nullopt;
}

bool openssl_loaded() {
  return g_loaded.load(std::memory_order_relaxed);
}

}  // namespace thx

// Called from the assembly stubs at a function's first call: `slot` is the function's slot,
// followed by its name. Writes the function's address into the slot and returns it. Without
// the library or the function there is nothing to call: the process ends saying which (the
// service checks for the library before it configures TLS or passwords, so this is a broken
// installation).
extern "C" void* thx_openssl_bind(void** slot) {
  const char* name = reinterpret_cast<const char*>(slot + 1);
  if (auto problem = thx::load_openssl()) {
    (void)std::fprintf(stderr, "toolhelp_exporter: OpenSSL is needed for %s: %s\n", name,
                       problem->c_str());
    std::abort();
  }
  void* function = dlsym(thx::loaded().library, name);
  if (function == nullptr) {
    (void)std::fprintf(stderr, "toolhelp_exporter: %s has no function %s\n", THX_LIBSSL_SONAME,
                       name);
    std::abort();
  }
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
