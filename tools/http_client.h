// The one synchronous HTTP/1.1 client of the project (library roster_http_client): the CLI
// (`roster import`, `demo`, `verify --against`) and every end-to-end test and benchmark talk
// to rosterd through it. Keep-alive, every step bounded by a timeout, failures reported in
// the reply (status 0 + error) rather than thrown. No Beast in this header: the one Beast
// translation unit is http_client.cc.
//
//   HttpClient raw(8080);                       // plain requests, exactly the given headers
//   HttpReply r = raw.Get("/health");
//   auto api = ApiClient::Create("http://127.0.0.1:8080", key);  // + bearer, JSON bodies
//   HttpReply c = (*api)->Call("POST", "/v1/accounts", R"({"name":"Acme"})");
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "base/status.h"

namespace roster::tools {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  int status = 0;     // 0: no response; see `error`
  std::string error;  // what went wrong (resolve, connect, timeout, parse)
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool keep_alive = false;  // the server will keep the connection open
  bool chunked = false;     // the body came with chunked transfer encoding

  // The first value of a header (any case), "" when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // The body parsed as JSON; null when it is not JSON.
  boost::json::value Json() const;
  // "code" of a problem+json body, or "" when there is none.
  std::string ProblemCode() const;
};

// A keep-alive connection to one host. Sends exactly the headers it is given (plus Host and
// Content-Length). A kept-alive connection the server closed meanwhile is reopened and the
// request sent once more, only when no byte of an answer had arrived. Not thread-safe: one
// per thread.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::string host = "127.0.0.1",
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpReply Request(std::string_view method, std::string_view target,
                    std::string_view body = {}, const HeaderList& headers = {});
  HttpReply Get(std::string_view target, const HeaderList& headers = {}) {
    return Request("GET", target, {}, headers);
  }
  HttpReply Post(std::string_view target, std::string_view body,
                 const HeaderList& headers = {}) {
    return Request("POST", target, body, headers);
  }

  // TCP connections opened so far (1 after many keep-alive requests).
  int connects() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One raw TCP connection, for what a polite client never sends (tests and diagnostics):
// malformed requests, pipelined bursts, slow or never-finished requests.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port, std::string host = "127.0.0.1");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const;
  // Writes every byte (false when the connection failed).
  bool Send(std::string_view bytes);
  // Reads and parses one response (bytes after it stay buffered for the next call).
  HttpReply ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the server closes the connection (EOF or reset) within `timeout`; any bytes
  // read meanwhile are discarded.
  bool WaitClosed(std::chrono::milliseconds timeout);
  // Stops sending (TCP half-close): the server sees end of stream.
  void ShutdownSend();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The API as the CLI uses it: a base URL, the service key as bearer token, JSON bodies.
class ApiClient {
 public:
  using Headers = HeaderList;

  // `url` is "http://host:port" (a path prefix is ignored); only http is supported.
  // kInvalidField for a malformed URL. Connects lazily.
  static Result<std::unique_ptr<ApiClient>> Create(std::string_view url, std::string service_key,
                                                   std::chrono::milliseconds timeout =
                                                       std::chrono::seconds(30));
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // One request with Authorization, User-Agent and (with a body) Content-Type:
  // application/json added; `headers` may override them.
  HttpReply Call(std::string_view method, std::string_view target, std::string_view body = {},
                 const Headers& headers = {});

 private:
  ApiClient(std::unique_ptr<HttpClient> http, std::string service_key);
  std::unique_ptr<HttpClient> http_;
  std::string key_;
};

struct RemoteHead {
  uint64_t position = 0;
  std::string hash;  // hex
};
// GET /v1/ledger/head.
Result<RemoteHead> FetchHead(std::string_view url, const std::string& service_key);
// The hash (hex) of the event at `position`, from GET /v1/events.
Result<std::string> FetchEventHash(std::string_view url, const std::string& service_key,
                                   uint64_t position);

}  // namespace roster::tools
