#include "exporter/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

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
  int port() const { return std::stoi(web.listen_address.substr(web.listen_address.find(':') + 1)); }

  WebConfig web;
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
