#include "exporter/access/basic_auth.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace thx {
namespace {

constexpr std::size_t kMaxVerified = 64;  // a handful of scrapers use a handful of credentials
constexpr std::size_t kMaxTrackedClients = 4096;  // failure counters kept at once

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

bool scheme_is_basic(std::string_view scheme) {
  constexpr std::string_view kBasic = "basic";
  return scheme.size() == kBasic.size() &&
         std::equal(scheme.begin(), scheme.end(), kBasic.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

std::optional<std::string> base64_decode_strict(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t buffer = 0;
  unsigned bits = 0;
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    const int value = base64_value(text[i]);
    if (value < 0) {
      return std::nullopt;  // '=' in the middle, or a character outside the alphabet
    }
    buffer = (buffer << 6U) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFFU);
    }
  }
  // What the padding stands for must be zero bits (the one canonical spelling).
  if ((buffer & ((1U << bits) - 1U)) != 0) {
    return std::nullopt;
  }
  return out;
}

BasicAuth::BasicAuth(const std::map<std::string, std::string>& users) {
  for (const auto& [user, hash] : users) {
    if (auto parsed = StoredPassword::parse(hash)) {
      // The decoy is the costliest configured hash: an unknown user never answers sooner.
      if (!decoy_ || parsed->work() > decoy_->work()) {
        decoy_ = *parsed;
      }
      users_.emplace(user, *parsed);
    }
  }
}

bool BasicAuth::limited(const std::string& client, Clock::time_point now) {
  auto it = failures_.find(client);
  if (it == failures_.end()) {
    return false;
  }
  if (now - it->second.window_start >= kFailureWindow) {
    failures_.erase(it);
    return false;
  }
  return it->second.count >= kMaxFailures;
}

void BasicAuth::count_failure(const std::string& client, Clock::time_point now) {
  if (failures_.size() >= kMaxTrackedClients && !failures_.contains(client)) {
    // Forget the windows that have ended; if every one is current, the oldest goes.
    std::erase_if(failures_, [&](const auto& entry) {
      return now - entry.second.window_start >= kFailureWindow;
    });
    if (failures_.size() >= kMaxTrackedClients) {
      failures_.erase(
          std::min_element(failures_.begin(), failures_.end(), [](const auto& a, const auto& b) {
            return a.second.window_start < b.second.window_start;
          }));
    }
  }
  Failures& failures = failures_[client];
  if (failures.count == 0 || now - failures.window_start >= kFailureWindow) {
    failures = {0, now};
  }
  ++failures.count;
}

BasicAuth::Verdict BasicAuth::check(std::string_view authorization, const std::string& client,
                                    Clock::time_point now) {
  const std::size_t space = authorization.find(' ');
  std::optional<std::string> decoded;
  if (space != std::string_view::npos && scheme_is_basic(authorization.substr(0, space))) {
    decoded = base64_decode_strict(authorization.substr(space + 1));
  }
  const std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
  const std::optional<Sha256Digest> fingerprint =
      colon == std::string::npos ? std::nullopt : std::optional(sha256(*decoded));
  {
    std::lock_guard lock(mutex_);
    if (fingerprint && verified_.contains(*fingerprint)) {
      return Verdict::kAllowed;  // remembered: no hashing, not even for a limited client
    }
    if (limited(client, now)) {
      return Verdict::kLimited;
    }
  }
  bool valid = false;
  if (fingerprint) {
    const std::string_view user = std::string_view(*decoded).substr(0, colon);
    const std::string_view password = std::string_view(*decoded).substr(colon + 1);
    auto known = users_.find(user);
    ++hash_checks_;
    if (known != users_.end()) {
      valid = known->second.verify(password);
    } else if (decoy_) {
      (void)decoy_->verify(password);  // the same work for a user who does not exist
    }
  }
  std::lock_guard lock(mutex_);
  if (!valid) {
    count_failure(client, now);
    return Verdict::kRefused;
  }
  if (verified_.size() >= kMaxVerified) {
    verified_.clear();
  }
  verified_.insert(*fingerprint);
  return Verdict::kAllowed;
}

}  // namespace thx
