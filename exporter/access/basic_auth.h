// HTTP basic authentication that reveals nothing: an unknown user costs what a known one costs
// (the password is checked against a configured hash either way), failed attempts are limited per
// client address, verified credentials are remembered (scrapes do not pay for hashing), and the
// base64 of the header is decoded strictly.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "exporter/access/password.h"
#include "exporter/access/stored_password.h"

namespace thx {

// RFC 4648 base64 with padding, strictly: the length a multiple of four, '=' only at the end,
// no bits left over, nothing else. nullopt otherwise.
std::optional<std::string> base64_decode_strict(std::string_view text);

class BasicAuth {
 public:
  using Clock = std::chrono::steady_clock;

  // `users`: user -> stored hash, PBKDF2 or bcrypt (exporter/access/stored_password.h).
  // Unparsable hashes are left out (config/ refuses them before they get here).
  explicit BasicAuth(const std::map<std::string, std::string>& users);

  [[nodiscard]] bool enabled() const { return !users_.empty(); }

  enum class Verdict { kAllowed, kRefused, kLimited };
  // `authorization`: the Authorization header's value (empty when absent). kLimited: this client
  // failed too often lately; its attempts are refused without being checked until it waits.
  Verdict check(std::string_view authorization, const std::string& client,
                Clock::time_point now = Clock::now());

  // Password hash computations so far (each costs what PBKDF2 or bcrypt costs): for tests.
  [[nodiscard]] std::size_t hash_checks() const { return hash_checks_.load(); }

  // Failures a client may have within kFailureWindow before it is limited.
  static constexpr unsigned kMaxFailures = 5;
  static constexpr std::chrono::seconds kFailureWindow{30};

 private:
  bool limited(const std::string& client, Clock::time_point now);
  void count_failure(const std::string& client, Clock::time_point now);

  std::map<std::string, StoredPassword, std::less<>> users_;
  std::optional<StoredPassword> decoy_;  // checked for unknown users
  std::atomic<std::size_t> hash_checks_{0};

  std::mutex mutex_;
  std::set<Sha256Digest> verified_;
  struct Failures {
    unsigned count = 0;
    Clock::time_point window_start;
  };
  std::unordered_map<std::string, Failures> failures_;
};

}  // namespace thx
