// The HTTP endpoint: prometheus-cpp's Exposer (on civetweb) serves the metrics path; the other
// routes (/, /snapshot, /healthz, /-/reload) and access control run in civetweb's begin_request
// hook, before the Exposer sees a request.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>

#include "exporter/web_settings.h"

namespace thx {

struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;  // decoded; the last value of a repeated key wins
  std::string remote_address;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // A large body shared instead of copied (the /metrics text of a cycle): sent in place of
  // `body` when set.
  std::shared_ptr<const std::string> shared_body = nullptr;

  [[nodiscard]] std::string_view payload() const {
    return shared_body ? std::string_view(*shared_body) : std::string_view(body);
  }
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Startup failures (a port already taken, a malformed address) name the address and the reason.
class HttpServerError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class HttpServer {
 public:
  // Binds and starts serving. `routes` maps exact paths to handlers; the telemetry path is served
  // from `metrics` through the Exposer unless `routes` serves it (the exporter serves its
  // pre-rendered text that way). Throws HttpServerError when it cannot listen.
  HttpServer(const WebSettings& web, const std::shared_ptr<prometheus::Collectable>& metrics,
             std::map<std::string, HttpHandler> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  HttpServer(HttpServer&&) = delete;
  HttpServer& operator=(HttpServer&&) = delete;

  [[nodiscard]] std::vector<int> listening_ports() const;

  // A reload: allowed networks and basic-auth users from `web` apply to the next request. The
  // rest of `web` (address, path, TLS, workers, timeouts) is fixed while the server runs.
  void set_access(const WebSettings& web);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ":9835" -> "9835", "127.0.0.1:9835" as is, "[::1]:9835" as is: civetweb's listening_ports.
std::string civetweb_listening_port(const std::string& listen_address);

}  // namespace thx
