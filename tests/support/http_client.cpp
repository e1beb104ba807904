#include "tests/support/http_client.h"

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace thx::test {
namespace {

#ifdef _WIN32
using Socket = SOCKET;
constexpr Socket kInvalid = INVALID_SOCKET;
void close_socket(Socket s) {
  closesocket(s);
}
struct WinsockInit {
  WinsockInit() {
    WSADATA data;
    WSAStartup(MAKEWORD(2, 2), &data);
  }
};
void ensure_winsock() {
  static WinsockInit init;
}
#else
using Socket = int;
constexpr Socket kInvalid = -1;
void close_socket(Socket s) {
  close(s);
}
void ensure_winsock() {}
#endif

sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

void set_timeout(Socket s, int timeout_ms) {
#ifdef _WIN32
  DWORD value = static_cast<DWORD>(timeout_ms);
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, reinterpret_cast<const char*>(&value), sizeof value);
#else
  timeval value{timeout_ms / 1000, static_cast<suseconds_t>(timeout_ms % 1000) * 1000};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
#endif
}

}  // namespace

std::optional<std::string> raw_exchange(int port, const std::string& request_text, int timeout_ms) {
  ensure_winsock();
  Socket s = socket(AF_INET, SOCK_STREAM, 0);
  if (s == kInvalid) {
    return std::nullopt;
  }
  sockaddr_in address = loopback(port);
  if (connect(s, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close_socket(s);
    return std::nullopt;
  }
  set_timeout(s, timeout_ms);
  std::size_t sent = 0;
  while (sent < request_text.size()) {
    const auto n =
        send(s, request_text.data() + sent, static_cast<int>(request_text.size() - sent), 0);
    if (n <= 0) {
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string response;
  char buffer[16384];
  for (;;) {
    const auto n = recv(s, buffer, sizeof buffer, 0);
    if (n <= 0) {
      break;
    }
    response.append(buffer, static_cast<std::size_t>(n));
  }
  close_socket(s);
  return response;
}

std::optional<HttpResult> http_request(int port, const std::string& method, const std::string& path,
                                       const std::string& extra_headers, int timeout_ms) {
  const std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                              extra_headers + "Content-Length: 0\r\nConnection: close\r\n\r\n";
  auto response = raw_exchange(port, request, timeout_ms);
  if (!response || response->compare(0, 5, "HTTP/") != 0) {
    return std::nullopt;
  }
  HttpResult result;
  const std::size_t space = response->find(' ');
  result.status = std::atoi(response->c_str() + space + 1);
  const std::size_t end = response->find("\r\n\r\n");
  result.headers = response->substr(0, end);
  result.body = end == std::string::npos ? "" : response->substr(end + 4);
  // Chunked bodies (the Exposer's) are de-chunked so tests can compare text.
  if (result.headers.find("Transfer-Encoding: chunked") != std::string::npos) {
    std::string body;
    std::size_t pos = 0;
    while (pos < result.body.size()) {
      const std::size_t line_end = result.body.find("\r\n", pos);
      const std::size_t size = std::stoul(result.body.substr(pos, line_end - pos), nullptr, 16);
      if (size == 0) {
        break;
      }
      body += result.body.substr(line_end + 2, size);
      pos = line_end + 2 + size + 2;
    }
    result.body = body;
  }
  return result;
}

SlowClient::SlowClient(int port, const std::string& partial_request) {
  ensure_winsock();
  Socket s = socket(AF_INET, SOCK_STREAM, 0);
  if (s == kInvalid) {
    throw std::runtime_error("SlowClient: no socket");
  }
  sockaddr_in address = loopback(port);
  if (connect(s, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close_socket(s);
    throw std::runtime_error("SlowClient: cannot connect");
  }
  send(s, partial_request.data(), static_cast<int>(partial_request.size()), 0);
  socket_ = static_cast<std::intptr_t>(s);
}

SlowClient::~SlowClient() {
  close_socket(static_cast<Socket>(socket_));
}

bool SlowClient::wait_for_hang_up(int timeout_ms) {
  const auto s = static_cast<Socket>(socket_);
  set_timeout(s, timeout_ms);
  char buffer[4096];
  for (;;) {
    const auto n = recv(s, buffer, sizeof buffer, 0);
    if (n > 0) {
      continue;  // whatever the server says before it hangs up (a 408, say)
    }
    if (n == 0) {
      return true;
    }
#ifdef _WIN32
    return WSAGetLastError() != WSAETIMEDOUT;  // a reset is a hang-up too
#else
    return errno != EAGAIN;  // the receive timeout (EWOULDBLOCK is EAGAIN on Linux)
#endif
  }
}

int free_port() {
  ensure_winsock();
  Socket s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = loopback(0);
  if (bind(s, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close_socket(s);
    throw std::runtime_error("free_port: cannot bind a socket to 127.0.0.1");
  }
  socklen_t length = sizeof address;
  getsockname(s, reinterpret_cast<sockaddr*>(&address), &length);
  close_socket(s);
  return ntohs(address.sin_port);
}

}  // namespace thx::test
