#include "exporter/http_server.h"

#include "exporter/access/basic_auth.h"
#include "exporter/access/network.h"
#include "exporter/tls.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

namespace thx {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Request headers larger than this are refused before any handler runs.
constexpr std::size_t kMaxHeaderBytes = std::size_t{16} * 1024;
// A POST to an action may carry a small body (ignored); no other request may carry one.
constexpr std::uint64_t kMaxActionBody = std::uint64_t{4} * 1024;
// Threads that move bytes, and threads that run handlers (handlers may hash passwords or render
// JSON; the byte movers never wait for them).
constexpr unsigned kIoThreads = 1;
constexpr unsigned kWorkerThreads = 4;

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Query strings are form-encoded: %XX and '+' for a space. A malformed escape stays as it is.
std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (!key.empty()) {
      out[url_decode(key)] = url_decode(value);
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return out;
}

// Who may ask: the allowed networks (checked when a connection is accepted) and, when users are
// configured, HTTP basic authentication (checked per request, on the worker pool); and what every
// answer carries besides.
class AccessControl {
 public:
  explicit AccessControl(const WebSettings& web)
      : auth(web.basic_auth_users), headers(web.response_headers) {
    for (const std::string& text : web.allowed_networks) {
      if (auto network = parse_ip_network(text)) {
        networks_.push_back(*network);
      }
    }
  }

  [[nodiscard]] bool address_allowed(const std::optional<IpAddress>& address) const {
    if (networks_.empty()) {
      return true;
    }
    return address && std::any_of(networks_.begin(), networks_.end(),
                                  [&](const IpNetwork& n) { return n.contains(*address); });
  }

  BasicAuth auth;
  // The configured response headers: reloaded with the users, sent with every answer.
  const std::map<std::string, std::string> headers;

 private:
  std::vector<IpNetwork> networks_;
};

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
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

HttpResponse plain(int status, std::string text) {
  return {status, "text/plain; charset=utf-8", std::move(text)};
}

// What a session sends: the status line and headers, and a view of the body kept alive by
// `response` (a shared /metrics text is not copied).
struct Answer {
  HttpResponse response;
  std::vector<std::pair<std::string, std::string>> headers;
  bool use_gzip = false;
  bool head = false;
  bool close = false;
};

std::string_view view(beast::string_view text) {
  return {text.data(), text.size()};
}

std::string remote_text(const tcp::endpoint& endpoint) {
  asio::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

std::optional<IpAddress> to_ip_address(const asio::ip::address& address) {
  IpAddress out;
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
  } else {
    const auto bytes = address.to_v6().to_bytes();
    std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
    out.v6 = true;
  }
  return out;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  std::optional<bool> gzip;
  std::optional<bool> any;
  while (!accept_encoding.empty()) {
    const std::size_t comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    auto trim = [](std::string_view s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
      }
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
      }
      return s;
    };
    const std::size_t semicolon = item.find(';');
    std::string coding(trim(item.substr(0, semicolon)));
    std::transform(coding.begin(), coding.end(), coding.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    bool positive = true;
    std::string_view params =
        semicolon == std::string_view::npos ? std::string_view() : item.substr(semicolon + 1);
    while (!params.empty()) {
      const std::size_t next = params.find(';');
      const std::string_view param = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        // q=0, q=0.0, q=0.000 refuse; anything else above zero accepts.
        const std::string_view value = param.substr(2);
        positive = value.find_first_of("123456789") != std::string_view::npos;
      }
    }
    if (coding == "gzip" || coding == "x-gzip") {
      gzip = positive;
    } else if (coding == "*") {
      any = positive;
    }
  }
  return gzip ? *gzip : any.value_or(false);
}

ListenAddress split_listen_address(const std::string& listen_address) {
  if (listen_address.starts_with('[')) {
    const std::size_t close = listen_address.find(']');
    if (close != std::string::npos) {
      const std::string rest = listen_address.substr(close + 1);
      return {listen_address.substr(1, close - 1), rest.starts_with(':') ? rest.substr(1) : rest};
    }
  }
  const std::size_t colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    return {"", listen_address};
  }
  return {listen_address.substr(0, colon), listen_address.substr(colon + 1)};
}

struct HttpServer::Impl {
  explicit Impl(const WebSettings& settings)
      : web(settings), access(std::make_shared<AccessControl>(settings)) {}

  const WebSettings web;
  std::map<std::string, HttpRoute> routes;

  // Replaced whole by a reload; a request in flight keeps the one it started with.
  mutable std::mutex access_mutex;
  std::shared_ptr<AccessControl> access;
  std::shared_ptr<AccessControl> current_access() const {
    std::lock_guard lock(access_mutex);
    return access;
  }

  // Open connections, overall and per client address.
  std::mutex count_mutex;
  std::size_t open = 0;
  std::unordered_map<std::string, std::size_t> open_per_client;

  bool admit(const std::string& client) {
    std::lock_guard lock(count_mutex);
    std::size_t& mine = open_per_client[client];
    if (open >= web.max_connections || mine >= web.max_connections_per_client) {
      if (mine == 0) {
        open_per_client.erase(client);
      }
      return false;
    }
    ++open;
    ++mine;
    return true;
  }
  void release(const std::string& client) {
    std::lock_guard lock(count_mutex);
    --open;
    auto it = open_per_client.find(client);
    if (it != open_per_client.end() && --it->second == 0) {
      open_per_client.erase(it);
    }
  }

  // HTTPS: the context of the next connections, replaced whole when a reload re-reads the
  // certificates; a connection started with an older one is ended at its next request. Null:
  // plain HTTP.
  mutable std::mutex tls_mutex;
  std::shared_ptr<asio::ssl::context> tls;
  std::shared_ptr<asio::ssl::context> current_tls() const {
    std::lock_guard lock(tls_mutex);
    return tls;
  }
  asio::io_context io{static_cast<int>(kIoThreads)};
  asio::thread_pool workers{kWorkerThreads};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<int> ports;
  std::vector<std::thread> threads;

  void listen();
  void accept(tcp::acceptor& acceptor);
  void start_session(tcp::socket socket, const std::string& client);
  Answer answer(const http::request_header<>& header, const std::string& client);
};

namespace {

// One connection: read a request's headers, hand the work to the worker pool, write the answer,
// and again while the client keeps the connection alive.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(HttpServer::Impl& server, Stream stream, std::string client,
          std::shared_ptr<const void> tls_context = nullptr)
      : server_(server),
        tls_context_(std::move(tls_context)),
        stream_(std::move(stream)),
        client_(std::move(client)) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&&) = delete;
  Session& operator=(Session&&) = delete;
  ~Session() { server_.release(client_); }

  void start() {
    lowest().expires_after(server_.web.request_timeout);
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code error) {
                                if (!error) {
                                  self->read_header();
                                }
                              });
      return;
    }
    read_header();
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // The headers of a request must arrive within the request timeout of its first byte (of the
  // connection, for the first request).
  void read_header() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxActionBody);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](
                                beast::error_code error, std::size_t) { self->on_header(error); });
  }

  // Between requests: wait up to the idle timeout for the next one to begin.
  void wait_for_next() {
    if (buffer_.size() > 0) {  // pipelined: the next request is already here
      lowest().expires_after(server_.web.request_timeout);
      read_header();
      return;
    }
    lowest().expires_after(server_.web.idle_timeout);
    stream_.async_read_some(buffer_.prepare(1024), [self = this->shared_from_this()](
                                                       beast::error_code error, std::size_t n) {
      if (error) {
        return;
      }
      self->buffer_.commit(n);
      self->lowest().expires_after(self->server_.web.request_timeout);
      self->read_header();
    });
  }

  void on_header(beast::error_code error) {
    if (error == http::error::header_limit) {
      respond(Answer{plain(431, "request headers too large\n"), {}, false, false, true});
      return;
    }
    if (error == http::error::body_limit) {  // a Content-Length beyond any body we take
      respond(Answer{plain(413, "request body too large\n"), {}, false, false, true});
      return;
    }
    if (error) {
      if (error != http::error::end_of_stream && error != beast::error::timeout &&
          error != asio::error::eof && error != asio::error::operation_aborted &&
          error != asio::error::connection_reset) {
        respond(Answer{plain(400, "malformed request\n"), {}, false, false, true});
      }
      return;
    }
    const auto& header = parser_->get();
    const bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    const bool is_action_post = header.method() == http::verb::post;
    if (has_body && !is_action_post) {
      // Not read: the connection is closed after the answer.
      respond(Answer{plain(413, "this request takes no body\n"), {}, false, false, true});
      return;
    }
    if (has_body) {
      http::async_read(
          stream_, buffer_, *parser_,
          [self = this->shared_from_this()](beast::error_code read_error, std::size_t) {
            if (read_error == http::error::body_limit) {
              self->respond(Answer{plain(413, "request body too large\n"), {}, false, false, true});
            } else if (!read_error) {
              self->dispatch();
            }
          });
      return;
    }
    dispatch();
  }

  // The handler (and password hashing) runs on the worker pool; the answer is written back on
  // this connection's strand.
  void dispatch() {
    if (tls_context_ && tls_context_.get() != server_.current_tls().get()) {
      // A reload replaced the TLS settings (client certificates, CA, versions) after this
      // connection's handshake: end it unanswered, and the client reconnects under the new ones.
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    lowest().expires_never();  // the worker's time is not the client's
    asio::post(server_.workers, [self = this->shared_from_this()] {
      Answer answer = self->server_.answer(self->parser_->get(), self->client_);
      if (!self->parser_->get().keep_alive()) {
        answer.close = true;
      }
      asio::post(self->stream_.get_executor(), [self, answer = std::move(answer)]() mutable {
        self->respond(std::move(answer));
      });
    });
  }

  void respond(Answer answer) {
    answer_ = std::move(answer);
    const HttpResponse& response = answer_.response;
    std::string_view body = response.payload();
    if (answer_.use_gzip && response.shared_gzip) {
      body = *response.shared_gzip;
    }
    response_.emplace();
    auto& out = *response_;
    out.version(11);
    out.result(static_cast<unsigned>(response.status));
    out.reason(reason_phrase(response.status));
    out.set(http::field::content_type, response.content_type);
    out.set(http::field::cache_control, "no-store");
    out.set("X-Content-Type-Options", "nosniff");
    if (response.shared_gzip) {
      out.set(http::field::vary, "Accept-Encoding");
    }
    if (answer_.use_gzip && response.shared_gzip) {
      out.set(http::field::content_encoding, "gzip");
    }
    // Held for the loop: a reload may replace the access control meanwhile (a range-for over a
    // member of the temporary pointer would read freed memory then).
    const std::shared_ptr<AccessControl> access = server_.current_access();
    for (const auto& [name, value] : access->headers) {
      out.set(name, value);
    }
    for (const auto& [name, value] : answer_.headers) {
      out.set(name, value);
    }
    out.content_length(body.size());
    out.keep_alive(!answer_.close);
    if (!answer_.head) {
      out.body() = http::span_body<const char>::value_type(body.data(), body.size());
    }
    lowest().expires_after(server_.web.request_timeout);
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this()](beast::error_code error, std::size_t) {
                        self->on_written(error);
                      });
  }

  void on_written(beast::error_code error) {
    response_.reset();
    const bool close = answer_.close;
    answer_ = {};
    if (error || close) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;  // the last handler to hold the session ends it
    }
    parser_.reset();
    wait_for_next();
  }

  HttpServer::Impl& server_;
  std::shared_ptr<const void> tls_context_;  // outlives stream_, which uses it
  Stream stream_;
  const std::string client_;
  beast::flat_buffer buffer_{kMaxHeaderBytes + 1024};
  std::optional<http::request_parser<http::string_body>> parser_;
  Answer answer_;
  std::optional<http::response<http::span_body<const char>>> response_;
};

}  // namespace

Answer HttpServer::Impl::answer(const http::request_header<>& header, const std::string& client) {
  Answer answer;
  answer.head = header.method() == http::verb::head;  // whatever the answer, no body
  const std::shared_ptr<AccessControl> gate = current_access();
  if (gate->auth.enabled()) {
    const auto authorization = header.find(http::field::authorization);
    const std::string_view value =
        authorization == header.end() ? std::string_view() : view(authorization->value());
    const BasicAuth::Verdict verdict = gate->auth.check(value, client);
    if (verdict == BasicAuth::Verdict::kLimited) {
      answer.response = plain(429, "too many failed attempts; wait and try again\n");
      answer.headers.emplace_back("Retry-After", std::to_string(BasicAuth::kFailureWindow.count()));
      return answer;
    }
    if (verdict != BasicAuth::Verdict::kAllowed) {
      answer.response = plain(401, "unauthorized\n");
      answer.headers.emplace_back("WWW-Authenticate",
                                  "Basic realm=\"toolhelp_exporter\", charset=\"UTF-8\"");
      return answer;
    }
  }
  const std::string_view target = view(header.target());
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const auto route = routes.find(std::string(path));
  if (route == routes.end()) {
    answer.response = plain(404, "not found\n");
    return answer;
  }
  const http::verb method = header.method();
  const bool allowed = route->second.post_only
                           ? method == http::verb::post
                           : (method == http::verb::get || method == http::verb::head);
  if (!allowed) {
    answer.response = plain(405, "method not allowed\n");
    answer.headers.emplace_back("Allow", route->second.post_only ? "POST" : "GET, HEAD");
    return answer;
  }
  HttpRequest request{std::string(view(header.method_string())), std::string(path),
                      question == std::string_view::npos ? std::map<std::string, std::string>()
                                                         : parse_query(target.substr(question + 1)),
                      client};
  try {
    answer.response = route->second.handler(request);
  } catch (const std::exception& error) {
    answer.response = plain(500, std::string("internal error: ") + error.what() + "\n");
  }
  if (answer.response.shared_gzip) {
    const auto accept = header.find(http::field::accept_encoding);
    answer.use_gzip = accept != header.end() && accepts_gzip(view(accept->value()));
  }
  return answer;
}

void HttpServer::Impl::start_session(tcp::socket socket, const std::string& client) {
  beast::tcp_stream stream(std::move(socket));
  if (auto context = current_tls()) {
    auto tls_stream = beast::ssl_stream<beast::tcp_stream>(std::move(stream), *context);
    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, std::move(tls_stream),
                                                                    client, std::move(context))
        ->start();
    return;
  }
  std::make_shared<Session<beast::tcp_stream>>(*this, std::move(stream), client)->start();
}

void HttpServer::Impl::accept(tcp::acceptor& acceptor) {
  acceptor.async_accept(
      asio::make_strand(io), [this, &acceptor](beast::error_code error, tcp::socket socket) {
        if (error == asio::error::operation_aborted || !acceptor.is_open()) {
          return;
        }
        if (error) {
          // Out of descriptors or memory: wait a moment rather than spin.
          auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
          timer->async_wait([this, &acceptor, timer](beast::error_code) { accept(acceptor); });
          return;
        }
        beast::error_code ignored;
        const tcp::endpoint remote = socket.remote_endpoint(ignored);
        const std::string client = remote_text(remote);
        // Closed before a byte is read: outside the allowed networks, or one connection too many.
        // A reset (linger 0) leaves no TIME_WAIT behind on this side.
        if (ignored || !current_access()->address_allowed(to_ip_address(remote.address())) ||
            !admit(client)) {
          socket.set_option(asio::socket_base::linger(true, 0), ignored);
          socket.close(ignored);
        } else {
          socket.set_option(tcp::no_delay(true), ignored);
          start_session(std::move(socket), client);
        }
        accept(acceptor);
      });
}

void HttpServer::Impl::listen() {
  const ListenAddress where = split_listen_address(web.listen_address);
  std::vector<tcp::endpoint> endpoints;
  beast::error_code error;
  if (where.host.empty()) {
    endpoints.emplace_back(tcp::v6(), 0);  // dual stack where possible, else IPv4 below
  } else {
    tcp::resolver resolver(io);
    const auto results = resolver.resolve(
        where.host, where.port, tcp::resolver::passive | tcp::resolver::numeric_service, error);
    if (error) {
      throw HttpServerError("cannot listen on " + web.listen_address + ": " + error.message());
    }
    for (const auto& result : results) {
      if (std::find(endpoints.begin(), endpoints.end(), result.endpoint()) == endpoints.end()) {
        endpoints.push_back(result.endpoint());
      }
    }
  }
  unsigned short port = 0;
  {
    const auto [end, parsed] =
        std::from_chars(where.port.data(), where.port.data() + where.port.size(), port);
    if (parsed != std::errc() || end != where.port.data() + where.port.size()) {
      throw HttpServerError("cannot listen on " + web.listen_address +
                            ": the port is not a number");
    }
  }
  // Opens, binds and listens on one endpoint; returns what failed, or nothing.
  auto bind_one = [&](tcp::endpoint endpoint) -> std::optional<std::string> {
    endpoint.port(port);
    auto acceptor = std::make_unique<tcp::acceptor>(io);
    auto failed = [&](const char* what) {
      return std::string(what) + " [" + endpoint.address().to_string() +
             "]:" + std::to_string(endpoint.port()) + ": " + error.message();
    };
    acceptor->open(endpoint.protocol(), error);
    if (error) {
      return failed("cannot open a socket for");
    }
    if (endpoint.address().is_v6()) {
      // [::] and ":port" serve IPv4 clients too (as IPv4-mapped addresses); [::1] only IPv6.
      acceptor->set_option(asio::ip::v6_only(!endpoint.address().is_unspecified()), error);
    }
#ifndef _WIN32
    // Restart right away after a stop (TIME_WAIT); on Windows this option would let a second
    // program take the port, so Windows keeps its exclusive default.
    acceptor->set_option(asio::socket_base::reuse_address(true), error);
#endif
    acceptor->bind(endpoint, error);
    if (error) {
      return failed("cannot bind");
    }
    acceptor->listen(asio::socket_base::max_listen_connections, error);
    if (error) {
      return failed("cannot listen on");
    }
    port = acceptor->local_endpoint().port();  // port 0: the others take the same one
    acceptors.push_back(std::move(acceptor));
    return std::nullopt;
  };
  for (const tcp::endpoint& endpoint : endpoints) {
    auto problem = bind_one(endpoint);
    if (problem && where.host.empty()) {
      // No IPv6 on this host (or no dual stack): every IPv4 interface.
      problem = bind_one(tcp::endpoint(tcp::v4(), port));
    }
    if (problem) {
      throw HttpServerError("cannot listen on " + web.listen_address + ": " + *problem);
    }
  }
  ports.push_back(port);
}

HttpServer::HttpServer(const WebSettings& web, std::map<std::string, HttpRoute> routes)
    : impl_(std::make_unique<Impl>(web)) {
  impl_->routes = std::move(routes);
  if (!web.tls_cert_file.empty()) {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    if (auto problem = configure_tls_context(context->native_handle(), web)) {
      throw HttpServerError("cannot listen on " + web.listen_address +
                            " with TLS: " + problem->message);
    }
    impl_->tls = std::move(context);
  }
  impl_->listen();
  for (auto& acceptor : impl_->acceptors) {
    impl_->accept(*acceptor);
  }
  for (unsigned i = 0; i < kIoThreads; ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

HttpServer::~HttpServer() {
  // No request runs after this: the byte movers stop, then the workers finish what they hold.
  impl_->io.stop();
  for (std::thread& thread : impl_->threads) {
    thread.join();
  }
  impl_->workers.join();
}

void HttpServer::set_access(const WebSettings& web) {
  auto access = std::make_shared<AccessControl>(web);
  std::lock_guard lock(impl_->access_mutex);
  impl_->access = std::move(access);
}

std::optional<TlsProblem> HttpServer::reload_tls(const WebSettings& web) {
  if (!impl_->current_tls()) {
    return std::nullopt;  // plain HTTP: HTTPS starts with a restart
  }
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  if (auto problem = configure_tls_context(context->native_handle(), web)) {
    return problem;  // the running context stays
  }
  std::lock_guard lock(impl_->tls_mutex);
  impl_->tls = std::move(context);
  return std::nullopt;
}

std::vector<int> HttpServer::listening_ports() const {
  return impl_->ports;
}

}  // namespace thx
