// The HTTP endpoint: an event-driven HTTP/1.1 server (Boost.Beast on Asio: epoll on Linux, I/O
// completion ports on Windows) whose cost per open connection is a socket and a small buffer, not
// a thread. Connections from outside the allowed networks are closed when accepted, before a byte
// is read; open connections are capped overall and per client address; a request's headers must
// arrive within the request timeout and an idle keep-alive connection is closed after the idle
// timeout. Handlers run on a small worker pool, never on the threads that move bytes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

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
  // The same body compressed with gzip, made once beside it: sent instead when the request's
  // Accept-Encoding allows gzip (and then the answer says Vary: Accept-Encoding).
  std::shared_ptr<const std::string> shared_gzip = nullptr;

  [[nodiscard]] std::string_view payload() const {
    return shared_body ? std::string_view(*shared_body) : std::string_view(body);
  }
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// A page and the methods it answers: GET and HEAD (HEAD gets the headers without the body) unless
// it is an action (POST only). Other methods get 405 with an Allow header.
struct HttpRoute {
  HttpRoute() = default;
  // A plain handler is a GET/HEAD page.
  template <class Handler>
  requires std::is_invocable_r_v<HttpResponse, Handler&, const HttpRequest&>
  // NOLINTNEXTLINE(google-explicit-constructor,bugprone-forwarding-reference-overload)
  HttpRoute(Handler page) : handler(std::move(page)) {}
  static HttpRoute action(HttpHandler post) {
    HttpRoute route(std::move(post));
    route.post_only = true;
    return route;
  }

  HttpHandler handler;
  bool post_only = false;
};

// A TLS setting that could not be used: the setting ("tls_cert_file"), where the configuration
// sets it ("$.web.tls_cert_file", or "web.yml:3: tls_server_config.cert_file" from
// --web.config.file) and what went wrong, naming it and the file ("web.tls_cert_file /etc/x.pem:
// no such file").
struct TlsProblem {
  std::string setting;
  std::string where;
  std::string message;
};

// Startup failures (a port already taken, a malformed address) name the address and the reason.
class HttpServerError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class HttpServer {
 public:
  // Binds and starts serving `routes` (exact paths). Throws HttpServerError when it cannot
  // listen.
  HttpServer(const WebSettings& web, std::map<std::string, HttpRoute> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  HttpServer(HttpServer&&) = delete;
  HttpServer& operator=(HttpServer&&) = delete;

  [[nodiscard]] std::vector<int> listening_ports() const;

  // A reload: allowed networks, basic-auth users and response headers from `web` apply to the
  // next connection and request. The address, path, limits and timeouts are fixed while the
  // server runs, and so is whether it serves HTTPS at all.
  void set_access(const WebSettings& web);

  // A reload of an HTTPS server: the certificate, key, client CA file, protocol versions and
  // client certificate policy of `web` are read into a new TLS context for the connections
  // accepted next. When that fails the running context stays and the problem is returned. A
  // plain HTTP server ignores the call.
  std::optional<TlsProblem> reload_tls(const WebSettings& web);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Whether an Accept-Encoding header value accepts gzip: "gzip" or "*" with a non-zero q-value
// ("gzip;q=0" refuses it, and an explicit gzip entry overrides "*").
bool accepts_gzip(std::string_view accept_encoding);

// A listen address split for binding: ":9835" -> every interface (IPv6 and IPv4 where the host
// has IPv6), "127.0.0.1:9835", "[::1]:9835", "[::]:9835" (dual stack), "name:9835".
struct ListenAddress {
  std::string host;  // empty: every interface; IPv6 without brackets
  std::string port;
};
ListenAddress split_listen_address(const std::string& listen_address);

}  // namespace thx
