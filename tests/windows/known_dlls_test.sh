#!/bin/sh
# The .exe's static import table names only KnownDLLs (and ntdll, which is always the system's).
# Any other DLL is searched for in the .exe's own folder first when the program starts, before
# main() can restrict the search: a DLL planted beside the service's .exe would run as SYSTEM.
# Such DLLs are delay-loaded instead (cmake/DelayLoad.cmake) and found in System32 only.
#   known_dlls_test.sh OBJDUMP PROGRAM.exe
set -eu
objdump=$1
program=$2
# HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\KnownDLLs on Windows 10 and 11.
known=" advapi32.dll clbcatq.dll combase.dll comdlg32.dll coml2.dll difxapi.dll gdi32.dll
 gdiplus.dll imagehlp.dll imm32.dll kernel32.dll msctf.dll msvcrt.dll normaliz.dll nsi.dll
 ole32.dll oleaut32.dll psapi.dll rpcrt4.dll sechost.dll setupapi.dll shcore.dll shell32.dll
 shlwapi.dll user32.dll wldap32.dll wow64.dll ws2_32.dll ntdll.dll "
known=" $(echo $known) "  # one line, one blank between names
imports=$("$objdump" -p "$program" | sed -n 's/^[[:space:]]*DLL Name: //p' | tr 'A-Z' 'a-z' | tr -d '\r')
if [ -z "$imports" ]; then
  echo "FAIL: no import table read from $program"
  exit 1
fi
bad=0
for dll in $imports; do
  case "$known" in
    *" $dll "*) echo "ok: $dll" ;;
    *) echo "FAIL: $program imports $dll, which is not a KnownDLL: delay-load it"; bad=1 ;;
  esac
done
exit $bad
