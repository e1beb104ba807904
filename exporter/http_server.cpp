#include "exporter/http_server.h"

#include "exporter/access/network.h"
#include "exporter/access/password.h"
#ifdef __linux__
#include "exporter/civetweb_tls.h"
#endif

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/exposer.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

namespace thx {
namespace {

// civetweb calls begin_request with its own context; the servers of this process are found by
// the port a request came in on.
std::mutex g_servers_mutex;
std::map<int, HttpServer::Impl*> g_servers;

// civetweb reports why it could not start only through its log callback. Only what it says while
// a server starts on this thread is kept: its worker threads log every failed request (a plain
// HTTP request to the HTTPS port, for one), and nothing would ever read or trim that.
thread_local bool t_starting = false;
thread_local std::string t_start_log;

int log_message(const mg_connection* /*conn*/, const char* message) {
  if (t_starting && message != nullptr) {
    if (!t_start_log.empty()) {
      t_start_log += "; ";
    }
    t_start_log += message;
  }
  return 1;  // handled: civetweb must not print to stderr itself
}

std::string url_decode(const char* text, std::size_t length) {
  std::string out(length + 1, '\0');
  const int n =
      mg_url_decode(text, static_cast<int>(length), out.data(), static_cast<int>(out.size()), 1);
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::map<std::string, std::string> parse_query(const char* query) {
  std::map<std::string, std::string> out;
  if (query == nullptr) {
    return out;
  }
  std::string_view rest(query);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (!key.empty()) {
      out[url_decode(key.data(), key.size())] = url_decode(value.data(), value.size());
    }
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return out;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

void send(mg_connection* conn, const HttpResponse& response, const char* extra_headers = "") {
  // Built as a string: mingw's printf family does not take %zu.
  const std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                           reason_phrase(response.status) +
                           "\r\nContent-Type: " + response.content_type +
                           "\r\nContent-Length: " + std::to_string(response.payload().size()) +
                           "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n" +
                           extra_headers + "Connection: close\r\n\r\n";
  mg_write(conn, head.data(), head.size());
  const std::string_view body = response.payload();
  mg_write(conn, body.data(), body.size());
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    unsigned value = 0;
    if (c >= 'A' && c <= 'Z') {
      value = static_cast<unsigned>(c - 'A');
    } else if (c >= 'a' && c <= 'z') {
      value = static_cast<unsigned>(c - 'a' + 26);
    } else if (c >= '0' && c <= '9') {
      value = static_cast<unsigned>(c - '0' + 52);
    } else if (c == '+') {
      value = 62;
    } else if (c == '/') {
      value = 63;
    } else if (c == '=') {
      break;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 6U) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
    }
  }
  return out;
}

// Who may ask: the allowed networks and, when users are configured, HTTP basic authentication.
// Verified credentials are remembered by their SHA-256 so that a scrape every few seconds does
// not pay for PBKDF2 each time.
class AccessControl {
 public:
  explicit AccessControl(const WebSettings& web) {
    for (const std::string& text : web.allowed_networks) {
      if (auto network = parse_ip_network(text)) {
        networks_.push_back(*network);
      }
    }
    for (const auto& [user, hash] : web.basic_auth_users) {
      if (auto parsed = PasswordHash::parse(hash)) {
        users_.emplace(user, *parsed);
      }
    }
  }

  [[nodiscard]] bool address_allowed(const char* remote_address) const {
    if (networks_.empty()) {
      return true;
    }
    auto address = parse_ip_address(remote_address);
    return address && std::any_of(networks_.begin(), networks_.end(),
                                  [&](const IpNetwork& n) { return n.contains(*address); });
  }

  [[nodiscard]] bool needs_credentials() const { return !users_.empty(); }

  bool credentials_valid(const char* authorization) {
    constexpr std::string_view kBasic = "Basic ";
    if (authorization == nullptr || !std::string_view(authorization).starts_with(kBasic)) {
      return false;
    }
    auto decoded = base64_decode(std::string_view(authorization).substr(kBasic.size()));
    const std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return false;
    }
    const Sha256Digest fingerprint = sha256(*decoded);
    {
      std::lock_guard lock(mutex_);
      if (verified_.contains(fingerprint)) {
        return true;
      }
    }
    auto user = users_.find(decoded->substr(0, colon));
    if (user == users_.end() || !user->second.verify(decoded->substr(colon + 1))) {
      return false;
    }
    std::lock_guard lock(mutex_);
    if (verified_.size() >= 64) {
      verified_.clear();  // bounded: a handful of scrapers use a handful of credentials
    }
    verified_.insert(fingerprint);
    return true;
  }

 private:
  std::vector<IpNetwork> networks_;
  std::map<std::string, PasswordHash, std::less<>> users_;
  std::mutex mutex_;
  std::set<Sha256Digest> verified_;
};

// civetweb's listener polls with a 2 s timeout and checks its stop flag only between polls, so
// stopping could take 2 s. A connection to our own port wakes it at once.
void knock(int port) {
#ifdef _WIN32
  using Socket = SOCKET;
  const Socket invalid = INVALID_SOCKET;
  auto close_socket = [](Socket s) { closesocket(s); };
#else
  using Socket = int;
  const Socket invalid = -1;
  auto close_socket = [](Socket s) { close(s); };
#endif
  Socket s = socket(AF_INET, SOCK_STREAM, 0);
  if (s == invalid) {
    return;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Whether it connects does not matter: a refused knock means nothing is left to wake.
  (void)connect(s, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  close_socket(s);
}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(const WebSettings& web) : access(std::make_shared<AccessControl>(web)) {}

  // Replaced whole by a reload; a request in flight keeps the one it started with.
  std::shared_ptr<AccessControl> access;
  mutable std::mutex access_mutex;
  std::map<std::string, HttpHandler> routes;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::vector<int> ports;

  std::shared_ptr<AccessControl> current_access() const {
    std::lock_guard lock(access_mutex);
    return access;
  }

  // Returns non-zero when the request was answered here; zero hands it to the Exposer.
  int handle(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    const std::shared_ptr<AccessControl> gate = current_access();
    if (!gate->address_allowed(info->remote_addr)) {
      send(conn, {403, "text/plain; charset=utf-8", "forbidden\n"});
      return 403;
    }
    if (gate->needs_credentials() &&
        !gate->credentials_valid(mg_get_header(conn, "Authorization"))) {
      send(conn, {401, "text/plain; charset=utf-8", "unauthorized\n"},
           "WWW-Authenticate: Basic realm=\"toolhelp_exporter\", charset=\"UTF-8\"\r\n");
      return 401;
    }
    const char* uri = info->local_uri != nullptr ? info->local_uri : "";
    auto route = routes.find(uri);
    if (route == routes.end()) {
      return 0;
    }
    HttpRequest request{info->request_method, uri, parse_query(info->query_string),
                        info->remote_addr};
    HttpResponse response;
    try {
      response = route->second(request);
    } catch (const std::exception& error) {
      response = {500, "text/plain; charset=utf-8", std::string("internal error: ") + error.what()};
    }
    send(conn, response);
    return response.status;
  }
};

namespace {

int begin_request(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  HttpServer::Impl* server = nullptr;
  {
    std::lock_guard lock(g_servers_mutex);
    auto it = g_servers.find(info->server_port);
    server = it == g_servers.end() ? nullptr : it->second;
  }
  if (server == nullptr) {
    send(conn, {503, "text/plain; charset=utf-8", "starting\n"});
    return 503;
  }
  return server->handle(conn);
}

#ifdef __linux__
// civetweb calls init_ssl inside mg_start, on the thread that starts the server, and gives it no
// pointer of ours: the configuration being started travels in thread-locals.
thread_local const WebSettings* t_tls_web = nullptr;
thread_local std::string t_tls_error;

// Returns 1: the certificate, key and protocol floor are set, civetweb must not load any itself.
int init_ssl(void* ssl_ctx, void* /*user_data*/) {
  if (t_tls_web == nullptr) {
    t_tls_error = "TLS set-up was called outside a server start";
    return -1;
  }
  if (auto problem = configure_tls_context(ssl_ctx, *t_tls_web)) {
    t_tls_error = std::move(*problem);
    return -1;
  }
  return 1;
}
#endif

}  // namespace

std::string civetweb_listening_port(const std::string& listen_address) {
  if (!listen_address.empty() && listen_address.front() == ':') {
    return listen_address.substr(1);
  }
  return listen_address;
}

HttpServer::HttpServer(const WebSettings& web,
                       const std::shared_ptr<prometheus::Collectable>& metrics,
                       std::map<std::string, HttpHandler> routes)
    : impl_(std::make_unique<Impl>(web)) {
  impl_->routes = std::move(routes);
  static const CivetCallbacks callbacks = [] {
    CivetCallbacks c;
    c.begin_request = begin_request;
    c.log_message = log_message;
#ifdef __linux__
    c.init_ssl = init_ssl;
#endif
    return c;
  }();
  std::vector<std::string> options = {
      "listening_ports",
      civetweb_listening_port(web.listen_address),
      "num_threads",
      std::to_string(std::max<std::size_t>(web.max_connections, 1)),
      "request_timeout_ms",
      std::to_string(web.request_timeout.count()),
      // Bounded header size: a larger request is refused before any handler runs.
      "max_request_size",
      "16384",
      "enable_keep_alive",
      "no",
  };
  const bool tls = !web.tls_cert_file.empty();
  if (tls) {
#ifdef __linux__
    if (auto problem = prepare_civetweb_tls()) {
      throw HttpServerError("cannot listen on " + web.listen_address + " with TLS: " + *problem);
    }
    options[1] += 's';  // civetweb's mark of an HTTPS port
    options.insert(options.end(), {"ssl_protocol_version", "4"});  // TLS 1.2 and later
#else
    // The Windows build's civetweb is built without TLS: refused rather than half-working.
    throw HttpServerError("cannot listen on " + web.listen_address +
                          " with TLS: the Windows build serves plain HTTP only; terminate TLS "
                          "in a reverse proxy and bind the exporter to 127.0.0.1");
#endif
  }
  t_start_log.clear();
  t_starting = true;
#ifdef __linux__
  t_tls_web = &web;
  t_tls_error.clear();
#endif
  try {
    impl_->exposer = std::make_unique<prometheus::Exposer>(options, &callbacks);
  } catch (const std::exception& error) {
    t_starting = false;
    std::string reason = t_start_log.empty() ? error.what() : t_start_log;
#ifdef __linux__
    t_tls_web = nullptr;
    if (!t_tls_error.empty()) {
      reason = t_tls_error;
    }
#endif
    throw HttpServerError("cannot listen on " + web.listen_address + (tls ? " with TLS: " : ": ") +
                          reason);
  }
  t_starting = false;
#ifdef __linux__
  t_tls_web = nullptr;
#endif
  if (!impl_->routes.contains(web.telemetry_path)) {
    impl_->exposer->RegisterCollectable(metrics, web.telemetry_path);
  }
  impl_->ports = impl_->exposer->GetListeningPorts();
  std::lock_guard lock(g_servers_mutex);
  for (int port : impl_->ports) {
    g_servers[port] = impl_.get();
  }
}

HttpServer::~HttpServer() {
  {
    std::lock_guard lock(g_servers_mutex);
    for (int port : impl_->ports) {
      g_servers.erase(port);
    }
  }
  // Joins civetweb's threads: no request runs after this. Knock until it has stopped (a knock
  // that arrives before the stop flag is set is just served).
  std::atomic<bool> stopped{false};
  std::thread knocker([&stopped, ports = impl_->ports] {
    for (int i = 0; i < 200 && !stopped; ++i) {
      for (int port : ports) {
        knock(port);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  impl_->exposer.reset();
  stopped = true;
  knocker.join();
}

void HttpServer::set_access(const WebSettings& web) {
  auto access = std::make_shared<AccessControl>(web);
  std::lock_guard lock(impl_->access_mutex);
  impl_->access = std::move(access);
}

std::vector<int> HttpServer::listening_ports() const {
  return impl_->ports;
}

}  // namespace thx
