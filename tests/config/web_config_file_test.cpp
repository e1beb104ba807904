// --web.config.file: the exporter-toolkit web configuration (YAML) over the JSON web section.
// A good file lands in WebSettings; each kind of mistake is named with the file, the line and the
// key path; what the JSON already sets is a conflict naming both; huge or deep input is refused
// without exhausting the stack or memory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.h"

namespace thx {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

// htpasswd -nbBC 10 alice secret (any well-formed bcrypt hash: the reader does not hash).
const std::string kAliceHash = "$2y$10$J803K2NTQzToGvzcuxsG7uo/gq5h4UdxbWwRpIppU.VzgpjMGkT8i";
const std::string kBobHash = "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

ConfigLoadResult apply_yaml(std::string_view yaml, std::string_view json = "{}") {
  ConfigLoadResult result = load_config_text(json, "config.json");
  EXPECT_TRUE(result.config) << json;
  apply_web_config_text(yaml, "web.yml", "/etc/thx", "config.json", result);
  return result;
}

std::vector<std::string> errors_of(const ConfigLoadResult& result) {
  std::vector<std::string> lines;
  for (const auto& error : result.errors) {
    lines.push_back(error.path + ": " + error.message);
  }
  return lines;
}

std::string only_error(std::string_view yaml, std::string_view json = "{}") {
  const ConfigLoadResult result = apply_yaml(yaml, json);
  EXPECT_FALSE(result.config) << yaml;
  const auto errors = errors_of(result);
  EXPECT_EQ(errors.size(), 1U) << yaml << "\n" << ::testing::PrintToString(errors);
  return errors.empty() ? "" : errors.front();
}

TEST(WebConfigFile, GoodFileLandsInTheWebSettings) {
  const std::string yaml =
      "# as node_exporter reads it\n"
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: /secure/server.key\n"
      "  min_version: TLS13\n"
      "  prefer_server_cipher_suites: true\n"
      "http_server_config:\n"
      "  http2: false\n"
      "  headers:\n"
      "    X-Frame-Options: deny\n"
      "    Strict-Transport-Security: max-age=31536000\n"
      "basic_auth_users:\n"
      "  alice: " +
      kAliceHash +
      "\n"
      "  'bob smith': '" +
      kBobHash + "'\n";
  const ConfigLoadResult result = apply_yaml(yaml);
  ASSERT_THAT(errors_of(result), IsEmpty());
  ASSERT_TRUE(result.config);
  const WebSettings& web = result.config->web;
  EXPECT_EQ(web.basic_auth_users,
            (std::map<std::string, std::string>{{"alice", kAliceHash}, {"bob smith", kBobHash}}));
  EXPECT_EQ(web.response_headers,
            (std::map<std::string, std::string>{
                {"X-Frame-Options", "deny"}, {"Strict-Transport-Security", "max-age=31536000"}}));
  // Relative file names are relative to the web configuration's folder, as in the toolkit.
  EXPECT_EQ(std::filesystem::path(web.tls_cert_file), std::filesystem::path("/etc/thx/server.crt"));
  EXPECT_EQ(std::filesystem::path(web.tls_key_file), std::filesystem::path("/secure/server.key"));
  EXPECT_EQ(web.tls_min_version, "TLS1.3");
  // The rest of the JSON web section is untouched.
  EXPECT_EQ(web.listen_address, WebSettings{}.listen_address);
}

TEST(WebConfigFile, EmptyFileAndEmptySectionsSetNothing) {
  for (const std::string yaml :
       {"", "# nothing\n", "---\n", "tls_server_config:\nbasic_auth_users:\n",
        "tls_server_config: {cert_file: '', key_file: ''}\nhttp_server_config: {}\n"}) {
    const ConfigLoadResult result = apply_yaml(yaml);
    ASSERT_THAT(errors_of(result), IsEmpty()) << yaml;
    EXPECT_EQ(result.config->web, WebSettings{}) << yaml;
  }
}

TEST(WebConfigFile, ErrorsNameFileLineAndKeyPath) {
  EXPECT_EQ(only_error("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n"
                       "  min_version: TLS11\n"),
            "web.yml:4: tls_server_config.min_version: \"TLS11\" is not supported: this exporter "
            "serves TLS 1.2 and 1.3 only; use TLS12 or TLS13");
  EXPECT_EQ(only_error("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n"
                       "  min_version: SSL3\n"),
            "web.yml:4: tls_server_config.min_version: expected TLS12 or TLS13, got \"SSL3\"");
  EXPECT_EQ(only_error("tls_server_config:\n  cert_file: a.crt\n"),
            "web.yml:2: tls_server_config: key_file is missing: TLS needs the certificate and its "
            "key");
  EXPECT_EQ(only_error("http_server_config:\n  http2: maybe\n"),
            "web.yml:2: http_server_config.http2: expected true or false, got \"maybe\"");
  EXPECT_EQ(only_error("http_server_config:\n  http2: 'true'\n"),
            "web.yml:2: http_server_config.http2: expected true or false, got \"true\"");
  EXPECT_EQ(only_error("tls_server_config: [a, b]\n"),
            "web.yml:1: tls_server_config: expected a mapping of keys to values, got a list");
  EXPECT_EQ(only_error("- just\n- a list\n"),
            "web.yml:1: expected a mapping of keys to values, got a list");
  EXPECT_EQ(only_error("tls_server_config:\n  cert_file: [a]\n  key_file: k\n"),
            "web.yml:2: tls_server_config.cert_file: expected a string, got a list");
}

TEST(WebConfigFile, UnknownAndUnsupportedKeysAreErrors) {
  EXPECT_EQ(only_error("basic_auth_user:\n  alice: x\n"),
            "web.yml:1: basic_auth_user: unknown key; expected one of tls_server_config, "
            "http_server_config, basic_auth_users");
  EXPECT_EQ(only_error("http_server_config:\n  http3: true\n"),
            "web.yml:2: http_server_config.http3: unknown key; expected one of http2, headers");
  EXPECT_THAT(only_error("rate_limit:\n  burst: 5\n"),
              StartsWith("web.yml:1: rate_limit: is not supported by this exporter"));
  EXPECT_THAT(only_error("tls_server_config:\n  cert_file: c\n  key_file: k\n"
                         "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"),
              StartsWith("web.yml:4: tls_server_config.cipher_suites: is not supported"));
  EXPECT_THAT(only_error("tls_server_config:\n  cert_file: c\n  key_file: k\n"
                         "  curve_preferences: [X25519]\n"),
              StartsWith("web.yml:4: tls_server_config.curve_preferences: is not supported"));
  EXPECT_THAT(only_error("tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n"),
              StartsWith("web.yml:2: tls_server_config.cert: (the certificate inline) is not "
                         "supported"));
  EXPECT_THAT(only_error("tls_server_config:\n  cert_file: c\n  key_file: k\n"
                         "  client_allowed_sans: [a]\n"),
              StartsWith("web.yml:4: tls_server_config.client_allowed_sans: is not supported"));
  EXPECT_EQ(only_error("tls_server_config:\n  cert_file: c\n  key_file: k\n  max_versoin: TLS12\n"),
            "web.yml:4: tls_server_config.max_versoin: unknown key; expected one of cert_file, "
            "key_file, min_version, max_version, client_auth_type, client_ca_file, "
            "prefer_server_cipher_suites");
  EXPECT_EQ(only_error("basic_auth_users: {}\nbasic_auth_users: {}\n"),
            "web.yml:2: basic_auth_users: duplicate key: it is already set above in the same "
            "mapping");
}

TEST(WebConfigFile, ClientCertificatesAndMaxVersionLandInTheWebSettings) {
  const ConfigLoadResult result = apply_yaml(
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: clients/ca.pem\n"
      "  max_version: TLS12\n");
  ASSERT_THAT(errors_of(result), IsEmpty());
  const WebSettings& web = result.config->web;
  EXPECT_EQ(web.tls_client_auth_type, "RequireAndVerifyClientCert");
  // Relative to the web configuration's folder, as cert_file is.
  EXPECT_EQ(std::filesystem::path(web.tls_client_ca_file),
            std::filesystem::path("/etc/thx/clients/ca.pem"));
  EXPECT_EQ(web.tls_min_version, "TLS1.2");
  EXPECT_EQ(web.tls_max_version, "TLS1.2");
  // A file that cannot be used later (startup, reload) is named as this file names it; what the
  // file leaves out is named at tls_server_config's line.
  EXPECT_EQ(web.tls_setting_names,
            (std::map<std::string, std::string>{
                {"tls_cert_file", "web.yml:2: tls_server_config.cert_file"},
                {"tls_key_file", "web.yml:3: tls_server_config.key_file"},
                {"tls_client_auth_type", "web.yml:4: tls_server_config.client_auth_type"},
                {"tls_client_ca_file", "web.yml:5: tls_server_config.client_ca_file"},
                {"tls_min_version", "web.yml:2: tls_server_config.min_version"},
                {"tls_max_version", "web.yml:6: tls_server_config.max_version"}}));
}

TEST(WebConfigFile, EveryClientAuthTypeOfTheToolkit) {
  for (const std::string type : {"NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                                 "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"}) {
    const bool verifies = type.starts_with("Verify") || type.starts_with("RequireAndVerify");
    const ConfigLoadResult result = apply_yaml(
        "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: " + type +
        (verifies ? "\n  client_ca_file: /ca.pem\n" : "\n"));
    ASSERT_THAT(errors_of(result), IsEmpty()) << type;
    EXPECT_EQ(result.config->web.tls_client_auth_type, type);
    EXPECT_EQ(result.config->web.tls_client_ca_file, verifies ? "/ca.pem" : "");
  }
  // The asking policies may name CAs too (sent in the certificate request).
  const ConfigLoadResult any = apply_yaml(
      "tls_server_config:\n  cert_file: c\n  key_file: k\n"
      "  client_auth_type: RequireAnyClientCert\n  client_ca_file: /ca.pem\n");
  ASSERT_THAT(errors_of(any), IsEmpty());
  EXPECT_EQ(any.config->web.tls_client_ca_file, "/ca.pem");
  // The toolkit still reads its older name for RequireAnyClientCert.
  const ConfigLoadResult old_name = apply_yaml(
      "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireClientCert\n");
  ASSERT_THAT(errors_of(old_name), IsEmpty());
  EXPECT_EQ(old_name.config->web.tls_client_auth_type, "RequireAnyClientCert");
  // TLS13 as the maximum is the default spelled out.
  const ConfigLoadResult max13 =
      apply_yaml("tls_server_config:\n  cert_file: c\n  key_file: k\n  max_version: TLS13\n");
  ASSERT_THAT(errors_of(max13), IsEmpty());
  EXPECT_EQ(max13.config->web.tls_max_version, "TLS1.3");
}

TEST(WebConfigFile, ClientCertificateAndVersionMistakesAreNamed) {
  const std::string tls = "tls_server_config:\n  cert_file: c\n  key_file: k\n";
  EXPECT_EQ(only_error(tls + "  client_auth_type: VerifyClientCert\n"),
            "web.yml:4: tls_server_config.client_auth_type: expected one of NoClientCert, "
            "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
            "RequireAndVerifyClientCert (the exporter-toolkit's client_auth_type); got "
            "\"VerifyClientCert\"");
  EXPECT_EQ(only_error(tls + "  client_auth_type: [RequireAnyClientCert]\n"),
            "web.yml:4: tls_server_config.client_auth_type: expected a string, got a list");
  EXPECT_EQ(only_error(tls + "  client_ca_file: {a: b}\n"),
            "web.yml:4: tls_server_config.client_ca_file: expected a string, got a mapping");
  EXPECT_EQ(only_error(tls + "  max_version: TLS11\n"),
            "web.yml:4: tls_server_config.max_version: \"TLS11\" is not supported: this "
            "exporter serves TLS 1.2 and 1.3 only; use TLS12 or TLS13");
  EXPECT_EQ(only_error(tls + "  max_version: TLS1.3\n"),
            "web.yml:4: tls_server_config.max_version: expected TLS12 or TLS13, got \"TLS1.3\"");
  // The rules the JSON web section follows, in this file's names.
  EXPECT_EQ(only_error(tls + "  min_version: TLS13\n  max_version: TLS12\n"),
            "web.yml:5: tls_server_config.max_version: \"TLS12\" is below min_version "
            "\"TLS13\": no protocol version would be left");
  EXPECT_EQ(only_error(tls + "  client_auth_type: RequireAndVerifyClientCert\n"),
            "web.yml:2: tls_server_config.client_ca_file: must be set too: client_auth_type "
            "RequireAndVerifyClientCert verifies client certificates against the CAs in this "
            "file");
  EXPECT_EQ(only_error(tls + "  client_auth_type: VerifyClientCertIfGiven\n"),
            "web.yml:2: tls_server_config.client_ca_file: must be set too: client_auth_type "
            "VerifyClientCertIfGiven verifies client certificates against the CAs in this file");
  EXPECT_EQ(only_error(tls + "  client_ca_file: ca.pem\n"),
            "web.yml:4: tls_server_config.client_ca_file: is set, but client_auth_type is "
            "NoClientCert: set it to RequireAndVerifyClientCert (or VerifyClientCertIfGiven) to "
            "check client certificates against this file");
  EXPECT_EQ(only_error(tls + "  client_auth_type: NoClientCert\n  client_ca_file: ca.pem\n"),
            "web.yml:5: tls_server_config.client_ca_file: is set, but client_auth_type is "
            "NoClientCert: set it to RequireAndVerifyClientCert (or VerifyClientCertIfGiven) to "
            "check client certificates against this file");
  // Client certificates without a certificate of the server's own: TLS is half set.
  EXPECT_THAT(
      errors_of(apply_yaml("tls_server_config:\n  client_auth_type: RequireAnyClientCert\n")),
      ElementsAre("web.yml:2: tls_server_config: cert_file is missing: TLS needs the "
                  "certificate and its key",
                  "web.yml:2: tls_server_config: key_file is missing: TLS needs the "
                  "certificate and its key"));
  EXPECT_THAT(
      only_error(tls + "  client_ca: |\n    -----BEGIN CERTIFICATE-----\n"),
      StartsWith("web.yml:4: tls_server_config.client_ca: (client CAs inline) is not supported"));
}

TEST(WebConfigFile, HeadersAreTheToolkitsOnly) {
  EXPECT_EQ(only_error("http_server_config:\n  headers:\n    Server: toolhelp\n"),
            "web.yml:3: http_server_config.headers.Server: this header cannot be configured (as "
            "in the exporter-toolkit, only Strict-Transport-Security, X-Content-Type-Options, "
            "X-Frame-Options, X-XSS-Protection, Content-Security-Policy can)");
  EXPECT_THAT(only_error("http_server_config:\n  headers:\n    x-frame-options: deny\n"),
              HasSubstr("this header cannot be configured"));
  EXPECT_EQ(only_error("http_server_config:\n  headers:\n    X-Frame-Options: allow\n"),
            "web.yml:3: http_server_config.headers.X-Frame-Options: expected \"deny\" or "
            "\"sameorigin\", got \"allow\"");
  EXPECT_EQ(only_error("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n"),
            "web.yml:3: http_server_config.headers.X-Content-Type-Options: expected \"nosniff\", "
            "got \"sniff\"");
  // A line break in a value would split the answer's headers.
  EXPECT_THAT(
      only_error("http_server_config:\n  headers:\n"
                 "    Content-Security-Policy: \"default-src 'self'\\r\\nSet-Cookie: x\"\n"),
      HasSubstr("without control characters"));
  const ConfigLoadResult good = apply_yaml(
      "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n"
      "    X-XSS-Protection: \"1; mode=block\"\n    Content-Security-Policy: \"default-src "
      "'self'\"\n");
  ASSERT_THAT(errors_of(good), IsEmpty());
  EXPECT_THAT(good.config->web.response_headers, SizeIs(3));
}

TEST(WebConfigFile, UsersNeedBcryptHashesAndNamesAreNamed) {
  // A PBKDF2 hash is the JSON configuration's format, not the toolkit's.
  EXPECT_EQ(only_error("basic_auth_users:\n  alice: pbkdf2-sha256$1000$00$00\n"),
            "web.yml:2: basic_auth_users.alice: user \"alice\": expected a bcrypt hash ($2a$, "
            "$2b$ or $2y$) as `htpasswd -nBC 10 USER` prints it");
  const std::string cost32 = "$2y$32$" + kAliceHash.substr(7);
  const std::string message = only_error("basic_auth_users:\n  carol: " + cost32 + "\n");
  EXPECT_EQ(message,
            "web.yml:2: basic_auth_users.carol: user \"carol\": bcrypt cost 32 is out of range (4 "
            "to 31)");
  EXPECT_THAT(only_error("basic_auth_users:\n  dave: " + kAliceHash.substr(0, 59) + "\n"),
              AllOf(HasSubstr("user \"dave\""), HasSubstr("expected 60 characters, got 59"),
                    Not(HasSubstr(kAliceHash.substr(7, 20)))));
  EXPECT_EQ(only_error("basic_auth_users:\n  eve:\n"),
            "web.yml:2: basic_auth_users.eve: expected a bcrypt hash, got nothing (null)");
  EXPECT_THAT(only_error("basic_auth_users:\n  'a:b': " + kAliceHash + "\n"),
              StartsWith("web.yml:2: basic_auth_users[\"a:b\"]: a user name must be non-empty"));
  EXPECT_EQ(only_error("basic_auth_users: [alice]\n"),
            "web.yml:1: basic_auth_users: expected a mapping of user names to bcrypt hashes, got "
            "a list");
  EXPECT_EQ(
      only_error("basic_auth_users:\n  alice: " + kAliceHash + "\n  alice: " + kBobHash + "\n"),
      "web.yml:3: basic_auth_users.alice: duplicate user: it is already set above");
}

TEST(WebConfigFile, EveryErrorAtOnce) {
  const ConfigLoadResult result = apply_yaml(
      "tls_server_config:\n  min_version: TLS10\n  key_file: k\nbogus: 1\n"
      "basic_auth_users:\n  alice: nope\n");
  EXPECT_THAT(errors_of(result),
              ElementsAre(StartsWith("web.yml:2: tls_server_config.min_version:"),
                          StartsWith("web.yml:2: tls_server_config: cert_file is missing"),
                          StartsWith("web.yml:4: bogus: unknown key"),
                          StartsWith("web.yml:6: basic_auth_users.alice: user \"alice\"")));
}

TEST(WebConfigFile, SyntaxErrorsAndDocuments) {
  EXPECT_THAT(only_error("tls_server_config:\n  cert_file: [a\n"),
              StartsWith("web.yml:3: YAML syntax error:"));
  EXPECT_THAT(only_error("basic_auth_users:\n\talice: x\n"), StartsWith("web.yml:2: YAML syntax"));
  EXPECT_EQ(only_error("basic_auth_users: {}\n---\nbasic_auth_users: {}\n"),
            "web.yml:3: a second YAML document: the web configuration is one document");
  EXPECT_EQ(only_error("a: &x {b: 1}\nc: *x\n"),
            "web.yml:2: YAML aliases (*name) are not supported in the web configuration; write "
            "the value out");
}

// Deep nesting would recurse in any tree-building parser: refused at 32 levels, in both the
// flow and the block style, and far deeper input (100,000 levels) ends the same way.
TEST(WebConfigFile, DeepInputIsRefusedWithoutRecursingIntoIt) {
  for (std::size_t depth : {40U, 100'000U}) {
    const std::string flow =
        "basic_auth_users: " + std::string(depth, '[') + std::string(depth, ']');
    EXPECT_THAT(only_error(flow), HasSubstr("nested deeper than 32 levels")) << depth;
    const std::string braces = "x: " + std::string(depth, '{');
    EXPECT_THAT(only_error(braces), HasSubstr("nested deeper than 32 levels")) << depth;
  }
  std::string block;
  for (std::size_t i = 0; i < 40; ++i) {
    block += std::string(i * 2, ' ') + "k" + std::to_string(i) + ":\n";
  }
  block += std::string(80, ' ') + "v\n";
  EXPECT_THAT(only_error(block), HasSubstr("web.yml:33: nested deeper than 32 levels"));
}

TEST(WebConfigFile, ManyNodesAreRefused) {
  std::string wide = "basic_auth_users: [";
  for (std::size_t i = 0; i < 150'000; ++i) {
    wide += "0,";
  }
  wide += "]\n";
  EXPECT_THAT(only_error(wide), HasSubstr("more than 100000 YAML nodes"));
}

TEST(WebConfigFile, FilesAreBoundedAndNamed) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("thx_web_config_" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path big = dir / "big.yml";
  {
    std::ofstream out(big, std::ios::binary);
    out << "# " << std::string(std::size_t{1024} * 1024, 'x') << "\n";
  }
  ConfigLoadResult result = load_config_text("{}", "config.json");
  apply_web_config_file(big, "config.json", result);
  EXPECT_FALSE(result.config);
  ASSERT_THAT(result.errors, SizeIs(1));
  const std::u8string name = big.u8string();
  EXPECT_EQ(result.errors[0].path, std::string(name.begin(), name.end()));
  EXPECT_THAT(result.errors[0].message, HasSubstr("larger than 1 MiB"));

  result = load_config_text("{}", "config.json");
  apply_web_config_file(dir / "missing.yml", "config.json", result);
  EXPECT_FALSE(result.config);
  ASSERT_THAT(result.errors, SizeIs(1));
  EXPECT_THAT(result.errors[0].message, StartsWith("cannot read the web configuration file"));

  // A real file: relative names are anchored at its folder.
  const std::filesystem::path good = dir / "web.yml";
  {
    std::ofstream out(good, std::ios::binary);
    out << "tls_server_config:\n  cert_file: tls/c.pem\n  key_file: tls/k.pem\n";
  }
  result = load_config_text("{}", "config.json");
  apply_web_config_file(good, "config.json", result);
  ASSERT_THAT(errors_of(result), IsEmpty());
  EXPECT_EQ(std::filesystem::path(result.config->web.tls_cert_file), dir / "tls" / "c.pem");
  std::filesystem::remove_all(dir);
}

TEST(WebConfigFile, SettingTheSameThingInBothIsAnErrorNamingBoth) {
  const std::string json_users =
      R"({"web": {"basic_auth_users": {"alice": ")" + kAliceHash + R"("}}})";
  EXPECT_EQ(only_error("basic_auth_users:\n  bob: " + kBobHash + "\n", json_users),
            "web.yml:2: basic_auth_users: basic auth users are set in both config.json "
            "$.web.basic_auth_users and web.yml basic_auth_users; keep them in one of the two");
  const std::string json_tls = R"({"web": {"tls_cert_file": "a.crt", "tls_key_file": "a.key"}})";
  EXPECT_EQ(only_error("tls_server_config:\n  cert_file: b.crt\n  key_file: b.key\n", json_tls),
            "web.yml:2: tls_server_config: TLS is set in both config.json $.web.tls_cert_file, "
            "$.web.tls_key_file and web.yml tls_server_config; keep it in one of the two");
  // Every TLS key of the JSON counts, the client certificate ones and max_version too.
  const std::string json_client =
      R"({"web": {"tls_cert_file": "a.crt", "tls_key_file": "a.key", )"
      R"("tls_client_auth_type": "RequireAnyClientCert", "tls_max_version": "TLS1.2"}})";
  EXPECT_EQ(only_error("tls_server_config:\n  cert_file: b.crt\n  key_file: b.key\n"
                       "  client_auth_type: RequireAnyClientCert\n",
                       json_client),
            "web.yml:2: tls_server_config: TLS is set in both config.json $.web.tls_cert_file, "
            "$.web.tls_key_file, $.web.tls_max_version, $.web.tls_client_auth_type and web.yml "
            "tls_server_config; keep it in one of the two");
  EXPECT_EQ(only_error("tls_server_config:\n  cert_file: b.crt\n  key_file: b.key\n"
                       "  max_version: TLS13\n",
                       R"({"web": {"tls_max_version": "TLS1.2"}})"),
            "web.yml:2: tls_server_config: TLS is set in both config.json $.web.tls_max_version "
            "and web.yml tls_server_config; keep it in one of the two");
  // Different things in each file are fine: users in JSON, headers and TLS in YAML.
  const ConfigLoadResult mixed = apply_yaml(
      "tls_server_config:\n  cert_file: b.crt\n  key_file: b.key\nhttp_server_config:\n"
      "  headers:\n    X-Frame-Options: deny\n",
      json_users);
  ASSERT_THAT(errors_of(mixed), IsEmpty());
  EXPECT_EQ(mixed.config->web.basic_auth_users.at("alice"), kAliceHash);
  EXPECT_EQ(std::filesystem::path(mixed.config->web.tls_key_file),
            std::filesystem::path("/etc/thx/b.key"));
}

// The JSON's own errors and the web configuration's are reported together.
TEST(WebConfigFile, JsonAndYamlErrorsTogether) {
  ConfigLoadResult result = load_config_text(R"({"web": {"nope": 1}})", "config.json");
  apply_web_config_text("nope: 2\n", "web.yml", "", "config.json", result);
  EXPECT_FALSE(result.config);
  EXPECT_THAT(errors_of(result), ElementsAre(StartsWith("$.web.nope: unknown key"),
                                             StartsWith("web.yml:1: nope: unknown key")));
}

}  // namespace
}  // namespace thx
