// A small synchronous HTTP/1.1 client for the CLI (`roster import`, `demo`,
// `verify --against`): keep-alive, bounded by timeouts, bearer auth. No Beast here: the one
// Beast translation unit is http_client.cc. Not thread-safe: one ApiClient per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "base/status.h"

namespace roster::tools {

struct HttpReply {
  int status = 0;     // 0: no response (see error)
  std::string error;  // connect/timeout/parse failure
  std::string body;
  std::string content_type;
  // The body as JSON, null when it is not JSON.
  boost::json::value Json() const;
  // "code" of a problem+json body, or "" when there is none.
  std::string ProblemCode() const;
};

class ApiClient {
 public:
  // `url` is "http://host:port" (a path prefix is ignored); only http is supported.
  // kInvalidField for a malformed URL. Connects lazily.
  static Result<std::unique_ptr<ApiClient>> Create(std::string_view url, std::string service_key,
                                                   std::chrono::milliseconds timeout =
                                                       std::chrono::seconds(30));
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  using Headers = std::vector<std::pair<std::string, std::string>>;
  // One request; reconnects once when a kept-alive connection was closed by the server.
  HttpReply Call(std::string_view method, std::string_view target, std::string_view body = {},
                 const Headers& headers = {});

 private:
  struct Impl;
  explicit ApiClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
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
