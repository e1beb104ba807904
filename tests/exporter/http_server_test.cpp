#include "exporter/http_server.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "exporter/access/password.h"
#include "exporter/metrics.h"
#include "exporter/pages.h"
#include "tests/support/http_client.h"

namespace thx {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    web.listen_address = "127.0.0.1:" + std::to_string(test::free_port());
    metrics->publish(std::make_shared<Aggregate>());
  }
  // The routes under test and the exporter's /metrics page.
  std::map<std::string, HttpRoute> with_metrics(std::map<std::string, HttpRoute> routes = {}) {
    routes["/metrics"] = [metrics = metrics](const HttpRequest&) { return metrics_page(*metrics); };
    return routes;
  }
  int port() const {
    return std::stoi(web.listen_address.substr(web.listen_address.find(':') + 1));
  }

  WebSettings web;
  std::shared_ptr<MetricsCollectable> metrics =
      std::make_shared<MetricsCollectable>(BuildInfo{"1.0", "abc", "test"});
};

TEST_F(HttpServerTest, ServesMetricsAndRoutes) {
  std::map<std::string, HttpRoute> routes;
  routes["/hello"] = [](const HttpRequest& request) {
    return HttpResponse{200, "text/plain", "hi " + request.query.at("who") + "\n"};
  };
  HttpServer server(web, with_metrics(routes));
  auto metrics_response = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(metrics_response);
  EXPECT_EQ(metrics_response->status, 200);
  EXPECT_NE(metrics_response->body.find("toolhelp_build_info"), std::string::npos);
  auto hello = test::http_request(port(), "GET", "/hello?who=a%20b");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->body, "hi a b\n");
  auto missing = test::http_request(port(), "GET", "/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(HttpServerTest, PortAlreadyTakenIsAClearError) {
  HttpServer first(web, with_metrics());
  try {
    HttpServer second(web, with_metrics());
    FAIL() << "a second server on the same port must not start";
  } catch (const HttpServerError& error) {
    EXPECT_NE(std::string(error.what()).find(web.listen_address), std::string::npos)
        << error.what();
  }
  // The first one still answers.
  auto response = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, HandlerExceptionIsA500NotACrash) {
  std::map<std::string, HttpRoute> routes;
  routes["/boom"] = [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("bad"); };
  HttpServer server(web, with_metrics(routes));
  auto response = test::http_request(port(), "GET", "/boom");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
}

TEST_F(HttpServerTest, MalformedRequestsDoNotStopService) {
  HttpServer server(web, with_metrics());
  for (const std::string& garbage :
       {std::string("\r\n\r\n"), std::string("GET\r\n\r\n"), std::string(20000, 'A') + "\r\n\r\n",
        std::string("GET /metrics HTTP/1.1\r\n") + std::string(70000, 'X') + "\r\n\r\n",
        std::string("\0\1\2\3", 4)}) {
    test::raw_exchange(port(), garbage, 2000);
  }
  auto response = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, ConcurrentScrapesAllSucceed) {
  HttpServer server(web, with_metrics());
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  clients.reserve(8);
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto response = test::http_request(port(), "GET", "/metrics");
        if (response && response->status == 200) {
          ++ok;
        }
      }
    });
  }
  for (auto& client : clients) {
    client.join();
  }
  EXPECT_EQ(ok.load(), 160);
}

std::string gunzip(const std::string& data) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out(data.size() * 20 + 1024, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

TEST_F(HttpServerTest, HeadGetsTheHeadersWithoutTheBody) {
  HttpServer server(web, with_metrics());
  // HEAD first, then GET on the same connection: a body after the HEAD answer would be read as
  // the start of the next answer.
  auto text = test::raw_exchange(port(),
                                 "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                                 "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(text);
  const std::size_t first_end = text->find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos);
  EXPECT_TRUE(text->starts_with("HTTP/1.1 200")) << *text;
  EXPECT_EQ(text->compare(first_end + 4, 12, "HTTP/1.1 200"), 0) << *text;
  const std::string expected = *metrics->text();
  EXPECT_TRUE(text->ends_with(expected));
  EXPECT_NE(text->substr(0, first_end).find("Content-Length: " + std::to_string(expected.size())),
            std::string::npos);
}

TEST_F(HttpServerTest, OtherMethodsGet405WithAllow) {
  std::map<std::string, HttpRoute> routes;
  std::atomic<int> actions{0};
  routes["/-/act"] = HttpRoute::action([&](const HttpRequest& request) {
    ++actions;
    return HttpResponse{200, "text/plain", request.method + "\n"};
  });
  HttpServer server(web, with_metrics(routes));
  for (const char* method : {"PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "POST"}) {
    auto response = test::http_request(port(), method, "/metrics");
    ASSERT_TRUE(response) << method;
    EXPECT_EQ(response->status, 405) << method;
    EXPECT_NE(response->headers.find("Allow: GET, HEAD"), std::string::npos) << method;
  }
  for (const char* method : {"GET", "HEAD", "PUT"}) {
    auto response = test::http_request(port(), method, "/-/act");
    ASSERT_TRUE(response) << method;
    EXPECT_EQ(response->status, 405) << method;
    EXPECT_NE(response->headers.find("Allow: POST"), std::string::npos) << method;
  }
  EXPECT_EQ(actions.load(), 0);
  auto posted = test::http_request(port(), "POST", "/-/act");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 200);
  EXPECT_EQ(posted->body, "POST\n");
}

TEST_F(HttpServerTest, BodyWhereNoneIsExpectedIsRefusedAndClosed) {
  HttpServer server(web, with_metrics());
  // The server answers without waiting for a gigabyte and hangs up (raw_exchange reads until the
  // server closes; it would otherwise wait its 5 s and return what it had).
  auto text = test::raw_exchange(
      port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nabc");
  ASSERT_TRUE(text);
  EXPECT_TRUE(text->starts_with("HTTP/1.1 413")) << *text;
  EXPECT_NE(text->find("Connection: close"), std::string::npos) << *text;
  auto chunked = test::raw_exchange(
      port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n");
  ASSERT_TRUE(chunked);
  EXPECT_TRUE(chunked->starts_with("HTTP/1.1 413")) << *chunked;
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpServer server(web, with_metrics());
  auto text = test::raw_exchange(port(),
                                 "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                                 "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
                                 "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(text);
  std::vector<std::string> statuses;
  for (std::size_t at = text->find("HTTP/1.1 "); at != std::string::npos;
       at = text->find("HTTP/1.1 ", at + 1)) {
    statuses.push_back(text->substr(at + 9, 3));
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"200", "404", "200"})) << *text;
}

TEST_F(HttpServerTest, GzipWhenAcceptedIdentityWhenRefused) {
  HttpServer server(web, with_metrics());
  const std::string expected = *metrics->text();
  auto gzipped = test::http_request(port(), "GET", "/metrics", "Accept-Encoding: gzip\r\n");
  ASSERT_TRUE(gzipped);
  EXPECT_EQ(gzipped->status, 200);
  EXPECT_NE(gzipped->headers.find("Content-Encoding: gzip"), std::string::npos);
  EXPECT_NE(gzipped->headers.find("Vary: Accept-Encoding"), std::string::npos);
  EXPECT_EQ(gunzip(gzipped->body), expected);
  for (const char* refusal : {"gzip;q=0", "gzip; q=0.000, deflate", "identity", "*;q=0"}) {
    auto plain = test::http_request(port(), "GET", "/metrics",
                                    std::string("Accept-Encoding: ") + refusal + "\r\n");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->headers.find("Content-Encoding"), std::string::npos) << refusal;
    EXPECT_NE(plain->headers.find("Vary: Accept-Encoding"), std::string::npos) << refusal;
    EXPECT_EQ(plain->body, expected) << refusal;
  }
}

TEST(AcceptsGzip, FollowsQValues) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("GZIP"));
  EXPECT_TRUE(accepts_gzip("deflate, gzip;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("gzip;q=1.0, identity; q=0.5, *;q=0"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.00"));
  EXPECT_FALSE(accepts_gzip("*;q=0.1, gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
}

TEST(SplitListenAddress, AllForms) {
  EXPECT_EQ(split_listen_address(":9835").host, "");
  EXPECT_EQ(split_listen_address(":9835").port, "9835");
  EXPECT_EQ(split_listen_address("127.0.0.1:80").host, "127.0.0.1");
  EXPECT_EQ(split_listen_address("[::1]:80").host, "::1");
  EXPECT_EQ(split_listen_address("[::1]:80").port, "80");
  EXPECT_EQ(split_listen_address("[::]:0").host, "::");
}

TEST_F(HttpServerTest, DualStackListenerServesIpv4Clients) {
  const int p = port();
  web.listen_address = "[::]:" + std::to_string(p);
  web.allowed_networks = {"127.0.0.1/32"};  // an IPv4 client arrives as ::ffff:127.0.0.1
  HttpServer server(web, with_metrics());
  auto response = test::http_request(p, "GET", "/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, ConnectionsPerClientAreCapped) {
  web.max_connections_per_client = 2;
  web.request_timeout = std::chrono::milliseconds(3000);
  HttpServer server(web, with_metrics());
  // Two half-sent requests hold this client's two connections; a third is closed when accepted
  // (raw_exchange returns nothing long before the 3 s the first two wait).
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back(
        [this] { test::raw_exchange(port(), "GET /metrics HTTP/1.1\r\nHost: x", 5000); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto third = test::raw_exchange(port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 5000);
  EXPECT_TRUE(!third || third->empty()) << *third;
  for (auto& holder : holders) {
    holder.join();
  }
  // Once they are gone (timed out), the client is served again.
  auto response = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}
}  // namespace
}  // namespace thx

namespace thx {
namespace {

TEST_F(HttpServerTest, AllowedNetworksRefuseOtherClientsAtAccept) {
  web.allowed_networks = {"10.0.0.0/8"};
  HttpServer server(web, with_metrics());
  // Closed when accepted: not a byte of an answer.
  auto refused = test::raw_exchange(port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(!refused || refused->empty()) << *refused;
  // A reload that allows loopback applies to the next connection.
  web.allowed_networks = {"127.0.0.1/32"};
  server.set_access(web);
  auto allowed = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
}

TEST_F(HttpServerTest, LoopbackNetworkIsAllowed) {
  web.allowed_networks = {"10.0.0.0/8", "127.0.0.0/8"};
  HttpServer server(web, with_metrics());
  auto allowed = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
}

TEST_F(HttpServerTest, BasicAuthenticationProtectsEveryPath) {
  web.basic_auth_users["prometheus"] =
      hash_password("s3cret", "0123456789abcdef", 1000).to_string();
  std::map<std::string, HttpRoute> routes;
  routes["/"] = [](const HttpRequest&) { return HttpResponse{200, "text/plain", "landing\n"}; };
  HttpServer server(web, with_metrics(routes));
  for (const char* path : {"/metrics", "/"}) {
    auto anonymous = test::http_request(port(), "GET", path);
    ASSERT_TRUE(anonymous);
    EXPECT_EQ(anonymous->status, 401) << path;
    EXPECT_NE(anonymous->headers.find("WWW-Authenticate: Basic"), std::string::npos);
    // "prometheus:wrong" and "prometheus:s3cret" in base64.
    auto wrong = test::http_request(port(), "GET", path,
                                    "Authorization: Basic cHJvbWV0aGV1czp3cm9uZw==\r\n");
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401) << path;
    for (int i = 0; i < 2; ++i) {  // the second time from the verified-credentials cache
      auto right = test::http_request(port(), "GET", path,
                                      "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n");
      ASSERT_TRUE(right);
      EXPECT_EQ(right->status, 200) << path;
    }
  }
}

// More slow clients than workers, each holding a connection with a request it never finishes.
// A server that waited on them without a timeout would have no worker left for the scrape until
// they gave up; here the scrape is answered while they still wait, and the server hangs up on
// every one of them. Server-neutral: it holds for a worker pool or a thread per connection.
TEST_F(HttpServerTest, SlowAndIdleClientsDoNotBlockOthers) {
  web.request_timeout = std::chrono::milliseconds(500);
  HttpServer server(web, with_metrics());
  constexpr int kSlowClients = 6;      // within the per-client cap (8), with the scrape
  constexpr int kPatienceMs = 60'000;  // how long a slow client waits: far past the timeout
  std::vector<std::unique_ptr<test::SlowClient>> clients;
  for (int i = 0; i < kSlowClients; ++i) {  // connected before the scrape: first in the queue
    clients.push_back(
        std::make_unique<test::SlowClient>(port(), "GET /metrics HTTP/1.1\r\nHost: x"));
  }
  std::atomic<int> hung_up{0};
  std::atomic<int> gave_up{0};
  std::vector<std::thread> waiting;
  waiting.reserve(clients.size());
  for (auto& client : clients) {
    waiting.emplace_back(
        [&, raw = client.get()] { ++(raw->wait_for_hang_up(kPatienceMs) ? hung_up : gave_up); });
  }
  auto response = test::http_request(port(), "GET", "/metrics", "", kPatienceMs);
  const int gave_up_before_the_answer = gave_up.load();
  for (auto& thread : waiting) {
    thread.join();
  }
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(gave_up_before_the_answer, 0) << "the scrape waited for the slow clients to give up";
  EXPECT_EQ(hung_up.load(), kSlowClients) << "requests that never finish must time out";
}

// Starting with TLS, and why it may not start. The handshakes themselves are tested on the real
// binary (tests/e2e/exporter_e2e.py, TlsTest).
class HttpServerTlsTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerTest::SetUp();
    folder = std::filesystem::temp_directory_path() /
             ("thx-tls-test-" + std::to_string(test::free_port()));
    std::filesystem::create_directories(folder);
  }
  void TearDown() override { std::filesystem::remove_all(folder); }

  // A self-signed certificate and its key, made by the openssl command.
  void make_certificate(const std::string& name) {
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=localhost -keyout '" +
        path(name + ".key") + "' -out '" + path(name + ".crt") + "' >/dev/null 2>&1 </dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  std::string path(const std::string& name) const { return (folder / name).string(); }

  // The start failure's message, or "started".
  std::string start_error() {
    try {
      HttpServer server(web, with_metrics());
    } catch (const HttpServerError& error) {
      return error.what();
    }
    return "started";
  }

  std::filesystem::path folder;
};

// These make certificates with the openssl command; HTTPS on Windows is tested on the .exe under
// Wine with clients on Linux (exporter_e2e.py, TlsTest).
#ifndef _WIN32
TEST_F(HttpServerTlsTest, StartsAndRefusesPlainHttp) {
  make_certificate("server");
  web.tls_cert_file = path("server.crt");
  web.tls_key_file = path("server.key");
  HttpServer server(web, with_metrics());
  // A plain HTTP request gets no HTTP answer, and the server stays up for the next ones.
  for (int i = 0; i < 3; ++i) {
    auto response = test::http_request(port(), "GET", "/metrics");
    EXPECT_TRUE(!response || response->status == 0) << response->status;
  }
  EXPECT_EQ(server.listening_ports(), std::vector<int>{port()});
}

TEST_F(HttpServerTlsTest, MissingCertificateNamesTheKeyAndFile) {
  make_certificate("server");
  web.tls_cert_file = path("absent.crt");
  web.tls_key_file = path("server.key");
  const std::string error = start_error();
  EXPECT_NE(error.find("with TLS: web.tls_cert_file " + path("absent.crt")), std::string::npos)
      << error;
}

TEST_F(HttpServerTlsTest, KeyOfAnotherCertificateIsRefused) {
  make_certificate("server");
  make_certificate("other");
  web.tls_cert_file = path("server.crt");
  web.tls_key_file = path("other.key");
  const std::string error = start_error();
  EXPECT_NE(error.find("web.tls_key_file " + path("other.key") + " does not belong"),
            std::string::npos)
      << error;
}

TEST_F(HttpServerTlsTest, EncryptedKeyFailsWithoutAPrompt) {
  make_certificate("server");
  const std::string command = "openssl pkey -in '" + path("server.key") + "' -aes128 -passout " +
                              "pass:secret -out '" + path("encrypted.key") + "' 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  web.tls_cert_file = path("server.crt");
  web.tls_key_file = path("encrypted.key");
  const std::string error = start_error();
  EXPECT_NE(error.find("not encrypted"), std::string::npos) << error;
}

// A reload re-reads the files into a new context; one it cannot use is reported, naming the
// setting, and the running context stays (the e2e test shows which certificate is served).
TEST_F(HttpServerTlsTest, ReloadNamesTheUnusableSetting) {
  make_certificate("server");
  make_certificate("renewed");
  web.tls_cert_file = path("server.crt");
  web.tls_key_file = path("server.key");
  HttpServer server(web, with_metrics());

  WebSettings broken = web;
  broken.tls_cert_file = path("absent.crt");
  auto problem = server.reload_tls(broken);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->setting, "tls_cert_file");
  EXPECT_NE(problem->message.find("web.tls_cert_file " + path("absent.crt")), std::string::npos)
      << problem->message;

  WebSettings mismatched = web;
  mismatched.tls_key_file = path("renewed.key");
  problem = server.reload_tls(mismatched);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->setting, "tls_key_file");

  WebSettings no_ca = web;
  no_ca.tls_client_auth_type = "RequireAndVerifyClientCert";
  no_ca.tls_client_ca_file = path("absent-ca.crt");
  problem = server.reload_tls(no_ca);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->setting, "tls_client_ca_file");

  WebSettings not_a_ca = web;
  not_a_ca.tls_client_auth_type = "RequireAndVerifyClientCert";
  not_a_ca.tls_client_ca_file = path("server.key");  // PEM, but no certificate in it
  problem = server.reload_tls(not_a_ca);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->setting, "tls_client_ca_file");
  EXPECT_EQ(problem->where, "$.web.tls_client_ca_file");

  // Settings from --web.config.file are named as that file names them, not by the JSON keys.
  not_a_ca.tls_setting_names["tls_client_ca_file"] = "web.yml:5: tls_server_config.client_ca_file";
  problem = server.reload_tls(not_a_ca);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->where, "web.yml:5: tls_server_config.client_ca_file");
  EXPECT_EQ(problem->message.rfind(
                "web.yml:5: tls_server_config.client_ca_file " + path("server.key") + ": ", 0),
            0U)
      << problem->message;
  EXPECT_EQ(problem->message.find("web.tls_"), std::string::npos) << problem->message;

  WebSettings renewed = web;
  renewed.tls_cert_file = path("renewed.crt");
  renewed.tls_key_file = path("renewed.key");
  EXPECT_FALSE(server.reload_tls(renewed));
  // Still serving: plain HTTP gets no HTTP answer from the HTTPS port.
  auto response = test::http_request(port(), "GET", "/metrics");
  EXPECT_TRUE(!response || response->status == 0);
}

TEST_F(HttpServerTlsTest, PlainServerIgnoresATlsReload) {
  make_certificate("server");
  HttpServer server(web, with_metrics());
  WebSettings tls = web;
  tls.tls_cert_file = path("server.crt");
  tls.tls_key_file = path("server.key");
  EXPECT_FALSE(server.reload_tls(tls));
  auto response = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTlsTest, PlainServerStillStartsAfterATlsOne) {
  make_certificate("server");
  {
    WebSettings tls = web;
    tls.tls_cert_file = path("server.crt");
    tls.tls_key_file = path("server.key");
    HttpServer server(tls, with_metrics());
  }
  HttpServer plain(web, with_metrics());
  auto response = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}
#endif

}  // namespace
}  // namespace thx
