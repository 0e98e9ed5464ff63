// From a parsed request to a response, with no socket in sight: request id, CORS, routing,
// authentication, the handler call, and — once the server has written the response —
// metrics and the access log. This is Beast's `handle_request`, grown up; the server
// (server.cc) only moves bytes. Tests drive it directly.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/auth.h"
#include "gateway/http.h"
#include "gateway/metrics.h"
#include "gateway/router.h"

namespace spdlog {
class logger;
}

namespace roster::gateway {

struct DispatcherOptions {
  // Origins allowed to call from a browser ("https://app.example.com", exact match). A
  // request from one of them gets Access-Control-Allow-Origin echoed; a preflight OPTIONS
  // is answered 204. Other origins get no CORS headers. Default: none.
  std::vector<std::string> cors_origins;
  // One line per request at info level. nullptr: spdlog's default logger.
  std::shared_ptr<spdlog::logger> access_log;
  // Errors (handler exceptions). nullptr: spdlog's default logger.
  std::shared_ptr<spdlog::logger> error_log;
};

// What Handle() decided, for the server to write and then report back to Complete().
struct Outcome {
  HttpResponse response;
  std::string route = "unmatched";  // pattern label for metrics and logs
  std::string actor = "-";          // for the access log
};

// Thread-safe; borrows `router`, `auth` and `metrics`, which must outlive it.
class Dispatcher {
 public:
  Dispatcher(const Router& router, const Authenticator& auth, HttpMetrics& metrics,
             DispatcherOptions options);

  // Runs on a worker thread (it calls the handler, which may block). Sets
  // request.request_id. Never throws: an exception escaping a handler — or a stream
  // producer — is logged and becomes 500 `internal` (or ends the stream). The outcome may
  // be deferred (outcome.response.deferred set, see http.h Deferred()): then Resume() it.
  Outcome Begin(HttpRequest& request, std::chrono::steady_clock::time_point received);

  // Begin(), then, for a deferred outcome, Resume() and wait for it: the whole answer on
  // this thread. For tests and tools; the server never waits.
  Outcome Handle(HttpRequest& request, std::chrono::steady_clock::time_point received);

  // For the I/O thread: Begin()s the request at once when that cannot block — its route's
  // RouteInfo::run_inline says so, or no route matches (404/405) — else nullopt, and the
  // server hands it to a worker, which calls Begin().
  std::optional<Outcome> TryHandleInline(HttpRequest& request,
                                         std::chrono::steady_clock::time_point received);

  // Completes a deferred outcome: runs its start function here and `done` exactly once
  // with the final outcome (decorated like any other), on whichever thread the answer
  // comes from. An exception from the start function, or a Respond dropped unanswered,
  // becomes 500 `internal` (logged). `request` is only read during this call.
  void Resume(const HttpRequest& request, Outcome pending, std::function<void(Outcome)> done);

  // A response the server produced itself (413, 400, 431, 503): adds the request id and
  // CORS headers like Handle() does. `request` may be partial (no body, maybe no path).
  Outcome Reject(HttpRequest& request, HttpResponse response);

  // After the response's last byte was written, or the connection failed (`aborted`):
  // roster_http_* metrics and one access-log line. Never logs credentials.
  void Complete(const HttpRequest& request, const Outcome& outcome, uint64_t body_bytes,
                double seconds, bool aborted);

  // X-Request-Id: the incoming one when it is 1-128 of [A-Za-z0-9._:-], else a new one.
  static std::string RequestIdFor(const HttpRequest& request);

 private:
  Outcome HandleMatched(HttpRequest& request, std::chrono::steady_clock::time_point received,
                        RouteMatch match);
  std::optional<Outcome> Preflight(HttpRequest& request);
  void Decorate(const HttpRequest& request, HttpResponse* response) const;
  void Decorate(std::string_view request_id, std::optional<std::string_view> origin,
                HttpResponse* response) const;
  // 500 `internal` naming the request id (for handler bugs).
  static HttpResponse InternalError(std::string_view request_id);
  bool OriginAllowed(std::string_view origin) const;

  const Router& router_;
  const Authenticator& auth_;
  HttpMetrics& metrics_;
  DispatcherOptions options_;
};

}  // namespace roster::gateway
