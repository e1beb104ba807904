#include "exporter/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "exporter/access/password.h"
#include "exporter/metrics.h"
#include "tests/support/http_client.h"

namespace thx {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    web.listen_address = "127.0.0.1:" + std::to_string(test::free_port());
    metrics->publish(std::make_shared<Aggregate>());
  }
  int port() const {
    return std::stoi(web.listen_address.substr(web.listen_address.find(':') + 1));
  }

  WebSettings web;
  std::shared_ptr<MetricsCollectable> metrics =
      std::make_shared<MetricsCollectable>(BuildInfo{"1.0", "abc", "test"});
};

TEST_F(HttpServerTest, ServesMetricsAndRoutes) {
  std::map<std::string, HttpHandler> routes;
  routes["/hello"] = [](const HttpRequest& request) {
    return HttpResponse{200, "text/plain", "hi " + request.query.at("who") + "\n"};
  };
  HttpServer server(web, metrics, routes);
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
  HttpServer first(web, metrics, {});
  try {
    HttpServer second(web, metrics, {});
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
  std::map<std::string, HttpHandler> routes;
  routes["/boom"] = [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("bad"); };
  HttpServer server(web, metrics, routes);
  auto response = test::http_request(port(), "GET", "/boom");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
}

TEST_F(HttpServerTest, MalformedRequestsDoNotStopService) {
  HttpServer server(web, metrics, {});
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
  HttpServer server(web, metrics, {});
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

}  // namespace
}  // namespace thx

namespace thx {
namespace {

TEST_F(HttpServerTest, AllowedNetworksRefuseOtherClients) {
  web.allowed_networks = {"10.0.0.0/8"};
  HttpServer server(web, metrics, {});
  auto refused = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(refused->body.find("toolhelp"), std::string::npos);
}

TEST_F(HttpServerTest, LoopbackNetworkIsAllowed) {
  web.allowed_networks = {"10.0.0.0/8", "127.0.0.0/8"};
  HttpServer server(web, metrics, {});
  auto allowed = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
}

TEST_F(HttpServerTest, BasicAuthenticationProtectsEveryPath) {
  web.basic_auth_users["prometheus"] =
      hash_password("s3cret", "0123456789abcdef", 1000).to_string();
  std::map<std::string, HttpHandler> routes;
  routes["/"] = [](const HttpRequest&) { return HttpResponse{200, "text/plain", "landing\n"}; };
  HttpServer server(web, metrics, routes);
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
  web.max_connections = 2;
  HttpServer server(web, metrics, {});
  constexpr int kSlowClients = 6;      // three times the workers
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
      HttpServer server(web, metrics, {});
    } catch (const HttpServerError& error) {
      return error.what();
    }
    return "started";
  }

  std::filesystem::path folder;
};

// The Windows build's refusal of TLS is tested on the .exe under Wine (exporter_e2e.py,
// WindowsTlsTest): this program does not run there.
#ifndef _WIN32
TEST_F(HttpServerTlsTest, StartsAndRefusesPlainHttp) {
  make_certificate("server");
  web.tls_cert_file = path("server.crt");
  web.tls_key_file = path("server.key");
  HttpServer server(web, metrics, {});
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

TEST_F(HttpServerTlsTest, PlainServerStillStartsAfterATlsOne) {
  make_certificate("server");
  {
    WebSettings tls = web;
    tls.tls_cert_file = path("server.crt");
    tls.tls_key_file = path("server.key");
    HttpServer server(tls, metrics, {});
  }
  HttpServer plain(web, metrics, {});
  auto response = test::http_request(port(), "GET", "/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}
#endif

}  // namespace
}  // namespace thx
