// A minimal HTTP/1.1 client for tests, over loopback only, on Linux and Windows (Winsock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace thx::test {

struct HttpResult {
  int status = 0;
  std::string headers;
  std::string body;
};

// Sends `request_text` verbatim to 127.0.0.1:port and reads until the server closes.
// nullopt when the connection fails.
std::optional<std::string> raw_exchange(int port, const std::string& request_text,
                                        int timeout_ms = 5000);

// GET or POST `path` on 127.0.0.1:port, waiting up to `timeout_ms` for each read.
std::optional<HttpResult> http_request(int port, const std::string& method, const std::string& path,
                                       const std::string& extra_headers = "",
                                       int timeout_ms = 5000);

// A client that connects and sends `partial_request` at once (in the constructor), then never
// finishes it: how a slow or idle client looks to the server.
class SlowClient {
 public:
  SlowClient(int port, const std::string& partial_request);
  ~SlowClient();
  SlowClient(const SlowClient&) = delete;
  SlowClient& operator=(const SlowClient&) = delete;
  // Waits until the server hangs up (true) or `timeout_ms` passes without it (false).
  bool wait_for_hang_up(int timeout_ms);

 private:
  std::intptr_t socket_ = -1;
};

// A port that was free a moment ago on 127.0.0.1.
int free_port();

}  // namespace thx::test
