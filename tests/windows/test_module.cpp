// thx_test_module.dll: a DLL with a known version resource that tests copy to awkward paths
// (non-ASCII, longer than MAX_PATH) and load into thx_win_child.
#include <windows.h>

extern "C" __declspec(dllexport) int thx_test_module_answer() {
  return 42;
}
