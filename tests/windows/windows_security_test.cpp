// What the LocalSystem service trusts (service/windows_security.h): the security-descriptor
// logic over descriptors written in SDDL, as real Windows would hand them over, and the
// service's own ProgramData folder made and read back through the file system.
//
// Under Wine 8.0, file ACLs are made up from Unix permissions (owner: the one Wine user; SYSTEM
// and that user full control; Everyone read unless the mode hides it), a DACL that is set is
// kept only as far as the Unix mode can say it, and junctions cannot be made
// (FSCTL_SET_REPARSE_POINT fails): those cases are covered here by descriptors, and the junction
// case runs only where junctions can be made.
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>
#include <winioctl.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "collector/windows/win32_util.h"
#include "service/windows_security.h"

namespace thx::winsec {
namespace {

namespace fs = std::filesystem;

// The problem descriptor_problem finds in `sddl` (trusting no extra account).
std::string problem_of(const wchar_t* sddl) {
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  EXPECT_TRUE(ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1,
                                                                   &descriptor, nullptr))
      << GetLastError();
  std::string problem = descriptor_problem(descriptor, nullptr);
  LocalFree(descriptor);
  return problem;
}

TEST(DescriptorProblemTest, AdministratorsAndSystemOnlyIsTrusted) {
  EXPECT_EQ(problem_of(kDataFolderSddl), "");
  EXPECT_EQ(problem_of(L"O:SYD:(A;;FA;;;SY)(A;;FA;;;BA)"), "");
  // TrustedInstaller owns the system's files; reading is anyone's.
  EXPECT_EQ(problem_of(L"O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
                       L"D:(A;;FA;;;SY)(A;;0x1200a9;;;BU)(A;;0x1200a9;;;WD)"),
            "");
  // CREATOR OWNER only for what is created inside (inherit-only), as ProgramData has it.
  EXPECT_EQ(problem_of(L"O:BAD:(A;;FA;;;SY)(A;OICIIO;GA;;;CO)"), "");
  // A deny entry takes rights away.
  EXPECT_EQ(problem_of(L"O:BAD:(D;;FA;;;BU)(A;;FA;;;SY)"), "");
}

TEST(DescriptorProblemTest, UsersWhoCanWriteAreNamed) {
  // %ProgramData% lets Users create folders and files in what they make there.
  const std::string users = problem_of(L"O:BAD:(A;;FA;;;SY)(A;;FA;;;BA)(A;CI;0x116;;;BU)");
  EXPECT_NE(users.find("write"), std::string::npos) << users;
  EXPECT_TRUE(users.find("Users") != std::string::npos ||
              users.find("S-1-5-32-545") != std::string::npos)
      << users;
  EXPECT_NE(problem_of(L"O:BAD:(A;;FA;;;WD)"), "");
  EXPECT_NE(problem_of(L"O:BAD:(A;;GW;;;AU)"), "");
  EXPECT_NE(problem_of(L"O:BAD:(A;;WD;;;BU)"), "");  // WRITE_DAC: can grant itself the rest
}

TEST(DescriptorProblemTest, AnOwnerWhoIsNoAdministratorIsRefused) {
  const std::string problem = problem_of(L"O:BUD:(A;;FA;;;SY)(A;;FA;;;BA)");
  EXPECT_NE(problem.find("owned by"), std::string::npos) << problem;
}

// A present but null DACL (SDDL "D:NO_ACCESS_CONTROL", made by hand: Wine's SDDL parser makes
// an empty one instead).
TEST(DescriptorProblemTest, NoDaclMeansEveryone) {
  SECURITY_DESCRIPTOR descriptor{};
  ASSERT_TRUE(InitializeSecurityDescriptor(&descriptor, SECURITY_DESCRIPTOR_REVISION));
  PSID administrators = nullptr;
  ASSERT_TRUE(ConvertStringSidToSidW(L"BA", &administrators));
  ASSERT_TRUE(SetSecurityDescriptorOwner(&descriptor, administrators, FALSE));
  ASSERT_TRUE(SetSecurityDescriptorDacl(&descriptor, TRUE, nullptr, FALSE));
  const std::string problem = descriptor_problem(&descriptor, nullptr);
  EXPECT_NE(problem.find("no ACL"), std::string::npos) << problem;
  LocalFree(administrators);
}

TEST(DescriptorProblemTest, TheExtraSidIsTrusted) {
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  ASSERT_TRUE(ConvertStringSecurityDescriptorToSecurityDescriptorW(
      L"O:S-1-5-21-1-2-3-1000D:(A;;FA;;;S-1-5-21-1-2-3-1000)", SDDL_REVISION_1, &descriptor,
      nullptr));
  PSID extra = nullptr;
  ASSERT_TRUE(ConvertStringSidToSidW(L"S-1-5-21-1-2-3-1000", &extra));
  EXPECT_NE(descriptor_problem(descriptor, nullptr), "");
  EXPECT_EQ(descriptor_problem(descriptor, extra), "");
  LocalFree(extra);
  LocalFree(descriptor);
}

// The descriptor the service gives its folder: protected (nothing inherited from ProgramData),
// owner Administrators, SYSTEM and Administrators with full control inherited by what is inside.
TEST(DataFolderTest, TheDescriptorIsProtectedWithTwoEntries) {
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  ASSERT_TRUE(ConvertStringSecurityDescriptorToSecurityDescriptorW(kDataFolderSddl, SDDL_REVISION_1,
                                                                   &descriptor, nullptr));
  SECURITY_DESCRIPTOR_CONTROL control = 0;
  DWORD revision = 0;
  ASSERT_TRUE(GetSecurityDescriptorControl(descriptor, &control, &revision));
  EXPECT_NE(control & SE_DACL_PROTECTED, 0);
  BOOL present = FALSE;
  BOOL defaulted = FALSE;
  PACL dacl = nullptr;
  ASSERT_TRUE(GetSecurityDescriptorDacl(descriptor, &present, &dacl, &defaulted));
  ASSERT_TRUE(present && dacl != nullptr);
  EXPECT_EQ(dacl->AceCount, 2);
  for (DWORD i = 0; i < dacl->AceCount; ++i) {
    void* entry = nullptr;
    ASSERT_TRUE(GetAce(dacl, i, &entry));
    const auto* allowed = static_cast<const ACCESS_ALLOWED_ACE*>(entry);
    EXPECT_EQ(allowed->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
    EXPECT_EQ(allowed->Header.AceFlags & (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE),
              OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE);
    EXPECT_EQ(allowed->Mask, static_cast<ACCESS_MASK>(FILE_ALL_ACCESS));
  }
  LocalFree(descriptor);
}

class FolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("thx_security_" + std::to_string(GetCurrentProcessId()));
    fs::remove_all(base_);
    fs::create_directories(base_);
  }
  void TearDown() override {
    std::error_code ignored;
    RemoveDirectoryW((base_ / L"junction").c_str());
    fs::remove_all(base_, ignored);
  }
  fs::path base_;
};

// Made by the service: read back, nobody but SYSTEM, Administrators (or, under Wine, its one
// user) may write it, and Everyone cannot even read it.
TEST_F(FolderTest, TheServiceFolderIsCreatedForAdministratorsOnly) {
  const fs::path folder = base_ / L"toolhelp_exporter";
  EXPECT_EQ(prepare_data_folder(folder), "");
  ASSERT_TRUE(fs::is_directory(folder));
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  PACL dacl = nullptr;
  ASSERT_EQ(GetNamedSecurityInfoW(folder.c_str(), SE_FILE_OBJECT,
                                  OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, nullptr,
                                  nullptr, &dacl, nullptr, &descriptor),
            static_cast<DWORD>(ERROR_SUCCESS));
  EXPECT_EQ(descriptor_problem(descriptor, wine_user_sid()), "");
  PSID everyone = nullptr;
  ASSERT_TRUE(ConvertStringSidToSidW(L"WD", &everyone));
  for (DWORD i = 0; dacl != nullptr && i < dacl->AceCount; ++i) {
    void* entry = nullptr;
    ASSERT_TRUE(GetAce(dacl, i, &entry));
    const auto* allowed = static_cast<const ACCESS_ALLOWED_ACE*>(entry);
    EXPECT_FALSE(EqualSid(const_cast<DWORD*>(&allowed->SidStart), everyone))
        << "Everyone is in the folder's ACL";
  }
  if (wine_user_sid() == nullptr) {  // real Windows keeps the descriptor as it was set
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    ASSERT_TRUE(GetSecurityDescriptorControl(descriptor, &control, &revision));
    EXPECT_NE(control & SE_DACL_PROTECTED, 0);
    EXPECT_EQ(dacl->AceCount, 2);
  }
  LocalFree(everyone);
  LocalFree(descriptor);
  // Preparing it again finds it trusted and leaves it.
  EXPECT_EQ(prepare_data_folder(folder), "");
}

TEST_F(FolderTest, AMissingFileIsNamed) {
  const std::string problem = untrusted_reason(base_ / L"missing.json");
  EXPECT_NE(problem.find("missing.json"), std::string::npos) << problem;
}

// A junction in place of the folder: refused, naming it. Wine 8.0 cannot make junctions
// (FSCTL_SET_REPARSE_POINT is not supported), so there the test stops at making one.
TEST_F(FolderTest, AJunctionIsRefused) {
  const fs::path junction = base_ / L"junction";
  ASSERT_TRUE(CreateDirectoryW(junction.c_str(), nullptr));
  win32::UniqueHandle handle(CreateFileW(junction.c_str(), GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                                         FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
                                         nullptr));
  ASSERT_TRUE(handle);
  // A mount-point reparse buffer pointing at the temporary folder.
  const std::wstring target = L"\\??\\" + fs::temp_directory_path().wstring();
  const std::wstring shown = fs::temp_directory_path().wstring();
  std::vector<BYTE> buffer(16 + (target.size() + shown.size() + 2) * sizeof(wchar_t));
  auto put16 = [&buffer](std::size_t at, std::size_t value) {
    const auto v = static_cast<WORD>(value);
    std::memcpy(buffer.data() + at, &v, sizeof v);
  };
  const DWORD tag = IO_REPARSE_TAG_MOUNT_POINT;
  std::memcpy(buffer.data(), &tag, sizeof tag);
  put16(4, buffer.size() - 8);                       // ReparseDataLength
  put16(8, 0);                                       // SubstituteNameOffset
  put16(10, target.size() * sizeof(wchar_t));        // SubstituteNameLength
  put16(12, (target.size() + 1) * sizeof(wchar_t));  // PrintNameOffset
  put16(14, shown.size() * sizeof(wchar_t));         // PrintNameLength
  std::memcpy(buffer.data() + 16, target.c_str(), (target.size() + 1) * sizeof(wchar_t));
  std::memcpy(buffer.data() + 16 + (target.size() + 1) * sizeof(wchar_t), shown.c_str(),
              (shown.size() + 1) * sizeof(wchar_t));
  DWORD returned = 0;
  if (!DeviceIoControl(handle.get(), FSCTL_SET_REPARSE_POINT, buffer.data(),
                       static_cast<DWORD>(buffer.size()), nullptr, 0, &returned, nullptr)) {
    GTEST_SKIP() << "junctions cannot be made here (FSCTL_SET_REPARSE_POINT failed with "
                 << GetLastError() << "; Wine 8.0 does not implement it)";
  }
  handle.reset();
  const std::string problem = prepare_data_folder(junction);
  EXPECT_NE(problem.find("reparse point"), std::string::npos) << problem;
  EXPECT_NE(problem.find("junction"), std::string::npos) << problem;
}

}  // namespace
}  // namespace thx::winsec
