// What a LocalSystem service may trust: only files and folders that administrators control.
// A user who can write the configuration, or the folder the service logs to, or who made that
// folder a junction, could otherwise steer what SYSTEM reads and writes. Windows only.
#pragma once

#include <windows.h>

#include <filesystem>
#include <string>

namespace thx::winsec {

// <ProgramData>\toolhelp_exporter: the default log folder (and the README's suggested place for
// the configuration). Empty when the known folder cannot be found.
std::filesystem::path data_folder();

// The security descriptor the service gives its own folder: owner Administrators, a protected
// DACL (nothing inherited from ProgramData, which lets Users create subfolders) granting full
// control to SYSTEM and Administrators, inherited by everything created inside.
inline constexpr const wchar_t* kDataFolderSddl = L"O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

// Creates `folder` with kDataFolderSddl when it is missing; when it exists, checks it as
// untrusted_reason() does. Returns the problem naming the folder, or an empty string.
std::string prepare_data_folder(const std::filesystem::path& folder);

// Why `path` (a file or a folder) cannot be trusted: a reparse point (junction, symbolic link),
// an owner or an ACL entry that lets anyone but SYSTEM, Administrators or TrustedInstaller write
// it or change its ACL. The message names the path. Empty: only administrators control it.
std::string untrusted_reason(const std::filesystem::path& path);

// The ACL logic of untrusted_reason, for one security descriptor (owner and DACL). `extra` is
// one more SID to trust (may be null); what is wrong, naming accounts, or an empty string.
std::string descriptor_problem(PSECURITY_DESCRIPTOR descriptor, PSID extra);

// Under Wine every file belongs to the one Wine user, which is an administrator there, and file
// ACLs are made up from Unix permissions: that user counts as an administrator (null elsewhere).
PSID wine_user_sid();

}  // namespace thx::winsec
