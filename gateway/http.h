// The HTTP request and response as plain values, and the helpers every handler uses to
// answer: JSON, RFC 9457 problems, streamed bodies. No Beast or Asio here: this header is
// included by every API handler, and only gateway/server.cc speaks to sockets.
//
// A handler is a function from (HttpRequest, PathParams, RequestContext) to HttpResponse
// (router.h); it runs on a worker thread and may block, or on an I/O thread when its
// route says it never blocks. A handler whose answer comes later (a command waiting for
// its fsync) returns Deferred(start) instead of blocking: no thread waits for it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "base/status.h"

namespace roster::gateway {

enum class Method : uint8_t {
  kGet,
  kHead,
  kPost,
  kPut,
  kPatch,
  kDelete,
  kOptions,
  kOther,  // any other token (TRACE, CONNECT, extension methods): never routed
};

// "GET", "POST", …; "OTHER" for kOther.
std::string_view MethodName(Method method);
// Exact, case-sensitive (RFC 9110 §9.1): "get" is kOther.
Method ParseMethod(std::string_view name);

// Decoded query parameters, in order of appearance per name.
using QueryParams = std::multimap<std::string, std::string, std::less<>>;
// Header names lower-cased; values as received (a repeated header keeps every value).
using Headers = std::multimap<std::string, std::string, std::less<>>;

struct HttpRequest {
  Method method = Method::kGet;
  std::string method_name;  // as on the wire, for logs ("GET", "PROPFIND")
  std::string target;       // as on the wire: "/v1/check?principal=u1&…"
  std::string path;         // target without the query, still percent-encoded
  QueryParams query;        // percent-decoded ('+' is a space)
  Headers headers;          // names lower-cased
  std::string body;
  std::string remote_address;  // "127.0.0.1:53422"
  std::string request_id;      // the X-Request-Id echoed in the response
  int version = 11;            // 10 or 11

  // The first value of a header (name in lower case), or nullopt.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
  // The first value of a query parameter, or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  // Every value of a query parameter, in order.
  std::vector<std::string_view> QueryAll(std::string_view name) const;
};

// Splits an origin-form target into its raw path and decoded query. Errors:
// kInvalidField when the target is not origin-form ("/…") or has a bad %-escape.
Status ParseTarget(std::string_view target, std::string* path, QueryParams* query);

// Percent-decodes `text` (and '+' as a space when plus_is_space). false on a bad escape.
bool PercentDecode(std::string_view text, bool plus_is_space, std::string* out);

// ---------------------------------------------------------------------------------------
// Streamed bodies (Server-Sent Events, exports).

// Where a stream producer writes its chunks. Implemented by the server over a bounded
// queue that the connection drains; thread-safe for the one producer thread.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues one chunk (empty chunks are ignored). Blocks while the queue is full; returns
  // false, and the producer must return, when the client is gone, did not drain the queue
  // within the stall timeout (a slow client is dropped rather than buffered without
  // bound), or the server hit its shutdown deadline.
  virtual bool Write(std::string chunk) = 0;
  // True once the client is gone or the server is shutting down. Producers of unbounded
  // streams (SSE live tail) poll this between waits and return when it turns true;
  // bounded producers (exports) may just keep writing until Write fails.
  virtual bool ShouldStop() const = 0;
};

// Runs on the server's stream pool (its own bounded set of threads, never an I/O thread or
// a request worker). Returning ends the body (the terminating chunk is sent). Any state it
// captures must stay valid until it returns.
using StreamProducer = std::function<void(StreamSink&)>;

struct HttpResponse;
// Hands a deferred response its answer. Call it exactly once, from any thread; the
// dispatcher answers 500 `internal` if the last copy is dropped without a call.
using Respond = std::function<void(HttpResponse)>;
// Starts the work of a deferred response (see Deferred()); runs right after the handler
// returns, on the same thread, and must not block.
using DeferredStart = std::function<void(Respond)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  // Extra headers (e.g. Allow, Location, Retry-After, ETag). Content-Type, Content-Length,
  // Connection and X-Request-Id are set by the server.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, `body` is ignored and the response is sent with chunked transfer encoding,
  // its chunks coming from this producer (see StreamSink).
  StreamProducer stream;
  // When set, the response is not this one but whatever `deferred` later passes to its
  // Respond (see Deferred()); every other member is ignored.
  DeferredStart deferred;

  // The first value of a header (case-insensitive name), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
  HttpResponse& WithHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// `value` serialized, Content-Type application/json.
HttpResponse JsonResponse(int status, const boost::json::value& value);

// A streamed response with the given content type (e.g. "text/event-stream",
// "application/x-ndjson", "text/csv").
HttpResponse StreamResponse(std::string content_type, StreamProducer producer);

// A response that comes later: `start` runs once the handler has returned (on the same
// thread) and passes the real response to its Respond when it has it — from a store's
// completion callback, say — so no thread blocks meanwhile.
HttpResponse Deferred(DeferredStart start);

// The HTTP status for an error code: the one table of API.md ("Status of each rule
// code"), in one function. kOk maps to 200.
int HttpStatusFor(ErrorCode code);

// RFC 9457 problem+json for a non-ok Status:
//   {"type": "https://roster.dev/problems/<code>", "title": "<reason phrase>",
//    "status": <HttpStatusFor>, "code": "<ErrorCodeName>", "detail": "<message>", …extra}
// Each Status::extra() member becomes a top-level member (it never overrides the five
// standard members). An ok Status is a bug (asserted) and renders as a 500.
HttpResponse ProblemResponse(const Status& status);

// A problem for protocol-level failures that have no ErrorCode (malformed request line,
// header block too large): same shape, explicit status and code.
HttpResponse ProblemResponse(int http_status, std::string_view code, std::string_view detail);

// The standard reason phrase ("Not Found"), or "Unknown".
std::string_view ReasonPhrase(int http_status);

}  // namespace roster::gateway
