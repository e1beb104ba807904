#include "service/windows_security.h"

// After windows.h (in the header): the ACL and SDDL functions and the known folders.
#include <aclapi.h>
#include <sddl.h>
#include <shlobj.h>

#include <array>
#include <memory>
#include <vector>

#include "collector/windows/win32_util.h"

namespace thx::winsec {
namespace {

using win32::to_utf8;

// Rights that let a holder change what the service reads or where it writes: write or append
// data (add a file or a subfolder to a folder), delete it or its children, change its ACL or
// owner.
constexpr ACCESS_MASK kWriteRights = FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_DELETE_CHILD |
                                     DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_WRITE |
                                     GENERIC_ALL | MAXIMUM_ALLOWED;

struct LocalFreeDeleter {
  void operator()(void* memory) const { LocalFree(memory); }
};

// A SID from its SDDL name ("SY", "BA") or string form; freed with LocalFree.
std::unique_ptr<void, LocalFreeDeleter> sid_from_string(const wchar_t* text) {
  PSID sid = nullptr;
  ConvertStringSidToSidW(text, &sid);
  return std::unique_ptr<void, LocalFreeDeleter>(sid);
}

// SYSTEM, Administrators and TrustedInstaller (which owns the system's own files).
const std::array<std::unique_ptr<void, LocalFreeDeleter>, 3>& administrative_sids() {
  static const std::array<std::unique_ptr<void, LocalFreeDeleter>, 3> sids{
      sid_from_string(L"S-1-5-18"), sid_from_string(L"S-1-5-32-544"),
      sid_from_string(L"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464")};
  return sids;
}

bool trusted(PSID sid, PSID extra) {
  if (sid == nullptr || !IsValidSid(sid)) {
    return false;
  }
  for (const auto& known : administrative_sids()) {
    if (known && EqualSid(sid, known.get())) {
      return true;
    }
  }
  return extra != nullptr && EqualSid(sid, extra);
}

// "BUILTIN\Users", or the SID's string form when the account has no name here.
std::string account_name(PSID sid) {
  std::array<wchar_t, 256> name{};
  std::array<wchar_t, 256> domain{};
  auto name_size = static_cast<DWORD>(name.size());
  auto domain_size = static_cast<DWORD>(domain.size());
  SID_NAME_USE use{};
  if (LookupAccountSidW(nullptr, sid, name.data(), &name_size, domain.data(), &domain_size, &use)) {
    const std::wstring qualified =
        domain_size > 0 ? std::wstring(domain.data()) + L"\\" + name.data() : name.data();
    return to_utf8(qualified);
  }
  wchar_t* text = nullptr;
  std::string result = "an unknown account";
  if (ConvertSidToStringSidW(sid, &text)) {
    result = to_utf8(text);
    LocalFree(text);
  }
  return result;
}

std::string display(const std::filesystem::path& path) {
  return to_utf8(path.wstring());
}

}  // namespace

PSID wine_user_sid() {
  static const std::vector<BYTE> sid = [] {
    std::vector<BYTE> user;
    const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (ntdll == nullptr || GetProcAddress(ntdll, "wine_get_version") == nullptr) {
      return user;  // not Wine
    }
    HANDLE token = nullptr;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
      return user;
    }
    DWORD size = 0;
    GetTokenInformation(token, TokenUser, nullptr, 0, &size);
    std::vector<BYTE> buffer(size);
    if (size > 0 && GetTokenInformation(token, TokenUser, buffer.data(), size, &size)) {
      PSID token_user = reinterpret_cast<TOKEN_USER*>(buffer.data())->User.Sid;
      const DWORD length = GetLengthSid(token_user);
      user.resize(length);
      CopySid(length, user.data(), token_user);
    }
    CloseHandle(token);
    return user;
  }();
  return sid.empty() ? nullptr : const_cast<BYTE*>(sid.data());
}

std::filesystem::path data_folder() {
  wchar_t* program_data = nullptr;
  std::filesystem::path folder;
  if (SHGetKnownFolderPath(FOLDERID_ProgramData, 0, nullptr, &program_data) >= 0) {
    folder = std::filesystem::path(program_data) / L"toolhelp_exporter";
  }
  CoTaskMemFree(program_data);
  return folder;
}

std::string descriptor_problem(PSECURITY_DESCRIPTOR descriptor, PSID extra) {
  PSID owner = nullptr;
  BOOL defaulted = FALSE;
  if (!GetSecurityDescriptorOwner(descriptor, &owner, &defaulted) || owner == nullptr) {
    return "its owner cannot be read";
  }
  const bool owner_trusted = trusted(owner, extra);
  if (!owner_trusted) {
    // The owner may always change the ACL, whatever it says.
    return "it is owned by " + account_name(owner) + ", who can change its ACL";
  }
  BOOL present = FALSE;
  PACL dacl = nullptr;
  if (!GetSecurityDescriptorDacl(descriptor, &present, &dacl, &defaulted)) {
    return "its ACL cannot be read";
  }
  if (!present || dacl == nullptr) {
    return "it has no ACL, so everyone has full control";
  }
  for (DWORD i = 0; i < dacl->AceCount; ++i) {
    void* entry = nullptr;
    if (!GetAce(dacl, i, &entry)) {
      return "its ACL cannot be read";
    }
    const auto* header = static_cast<const ACE_HEADER*>(entry);
    if ((header->AceFlags & INHERIT_ONLY_ACE) != 0 || header->AceType == ACCESS_DENIED_ACE_TYPE ||
        header->AceType == SYSTEM_AUDIT_ACE_TYPE) {
      continue;  // applies only to what is created inside, or takes rights away
    }
    if (header->AceType != ACCESS_ALLOWED_ACE_TYPE &&
        header->AceType != ACCESS_ALLOWED_CALLBACK_ACE_TYPE) {
      const auto* object = static_cast<const ACCESS_ALLOWED_OBJECT_ACE*>(entry);
      if ((object->Mask & kWriteRights) != 0) {
        return "its ACL has an entry of type " + std::to_string(header->AceType) +
               " that grants write access";
      }
      continue;
    }
    const auto* allowed = static_cast<const ACCESS_ALLOWED_ACE*>(entry);
    if ((allowed->Mask & kWriteRights) == 0) {
      continue;
    }
    auto* sid = const_cast<DWORD*>(&allowed->SidStart);
    // OWNER RIGHTS stands for the owner, who is trusted by now.
    static const auto owner_rights = sid_from_string(L"S-1-3-4");
    if (trusted(sid, extra) || (owner_rights && EqualSid(sid, owner_rights.get()))) {
      continue;
    }
    return "its ACL lets " + account_name(sid) + " write it";
  }
  return {};
}

std::string untrusted_reason(const std::filesystem::path& path) {
  const std::wstring name = path.wstring();
  const DWORD attributes = GetFileAttributesW(name.c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES) {
    return display(path) + ": cannot be read: " + std::to_string(GetLastError());
  }
  if ((attributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
    return display(path) +
           " is a reparse point (a junction or symbolic link): the service does not follow it";
  }
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  const DWORD status = GetNamedSecurityInfoW(name.c_str(), SE_FILE_OBJECT,
                                             OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                             nullptr, nullptr, nullptr, nullptr, &descriptor);
  if (status != ERROR_SUCCESS) {
    return display(path) + ": its security descriptor cannot be read: " + std::to_string(status);
  }
  const std::string problem = descriptor_problem(descriptor, wine_user_sid());
  LocalFree(descriptor);
  if (problem.empty()) {
    return {};
  }
  return display(path) + " is not controlled by administrators only: " + problem;
}

std::string prepare_data_folder(const std::filesystem::path& folder) {
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(kDataFolderSddl, SDDL_REVISION_1,
                                                            &descriptor, nullptr)) {
    return display(folder) +
           ": cannot build its security descriptor: " + std::to_string(GetLastError());
  }
  SECURITY_ATTRIBUTES attributes{sizeof(SECURITY_ATTRIBUTES), descriptor, FALSE};
  const bool created = CreateDirectoryW(folder.wstring().c_str(), &attributes) != FALSE;
  const DWORD error = created ? ERROR_SUCCESS : GetLastError();
  LocalFree(descriptor);
  if (!created && error != ERROR_ALREADY_EXISTS) {
    return display(folder) + ": cannot create it: " + std::to_string(error);
  }
  // Created now or before: either way it must be ours alone (a user may have made it first).
  return untrusted_reason(folder);
}

}  // namespace thx::winsec
