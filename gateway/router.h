// Routes: (method, path pattern) → handler, with the metadata that documents the route in
// /openapi.json and decides its authentication.
//
//   router.Add(Method::kGet, "/v1/workspaces/{w}/members/{user_id}",
//              {.summary = "One member of a workspace", .tag = "members"},
//              [&](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
//                std::string_view w = p.Get("w");
//                ... ctx.principal ...
//                return JsonResponse(200, {{"user_id", p.Get("user_id")}});
//              });
//
// Matching splits the raw path on '/', then percent-decodes each segment (so "%2F" stays
// inside one id). A literal segment beats a parameter ("/v1/invitations/accept" wins over
// "/v1/invitations/{id}" for POST). Unknown path → not_found (404); known path, other
// method → method_not_allowed (405) with an Allow header; HEAD is served by GET routes.
// Build the router before the server starts; it is read-only (and thread-safe) afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "base/status.h"
#include "gateway/auth.h"
#include "gateway/http.h"

namespace roster::gateway {

enum class AuthRequirement : uint8_t {
  kNone,     // no credentials asked (operations endpoints)
  kAny,      // the service key (as itself or delegated) or a user JWT
  kService,  // the service key only (delegation allowed: the credential decides)
};

// A documented query parameter (OpenAPI only; handlers read req.Query()).
struct ParamDoc {
  std::string name;
  std::string description;
  bool required = false;
  std::string type = "string";  // JSON Schema type: string, integer, boolean
};

struct RouteInfo {
  std::string summary;                          // one line for /openapi.json
  AuthRequirement auth = AuthRequirement::kAny;
  std::string tag;                              // groups routes in the docs: "members"
  std::vector<ParamDoc> query;                  // documented query parameters
  std::string request_body;                     // description of the JSON body; empty: none
  int success_status = 200;                     // the documented success status
  std::string response_type = "application/json";
  // When it returns true for a request, the handler runs on the connection's I/O thread
  // instead of a worker: for handlers that never block and answer in microseconds (health,
  // live checks). It saves the hand-off to a worker and back — two thread wake-ups, which
  // cost more than such a handler. null (the default): always on a worker.
  std::function<bool(const HttpRequest&)> run_inline;
};

// RouteInfo::run_inline for handlers that are always cheap.
inline bool AlwaysInline(const HttpRequest&) { return true; }

inline constexpr size_t kMaxPathParamBytes = 256;

// Decoded path parameters of the matched route.
class PathParams {
 public:
  // The value of a parameter the pattern declares (asserted); "" otherwise.
  std::string_view Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return params_; }
  void Add(std::string name, std::string value) {
    params_.emplace_back(std::move(name), std::move(value));
  }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// Per-request state the dispatcher fills before calling a handler.
struct RequestContext {
  std::string request_id;
  std::string route = "unmatched";  // the matched pattern, for metrics and logs
  Principal principal;              // kAnonymous on AuthRequirement::kNone routes
  std::chrono::steady_clock::time_point received;  // when the request's last byte arrived
};

// Runs on a worker thread; may block (e.g. waiting for a command's fsync). Business
// outcomes are values: return ProblemResponse(status) for rejections. An escaping
// exception is a bug: the dispatcher answers 500 `internal` and logs it.
using Handler =
    std::function<HttpResponse(const HttpRequest&, const PathParams&, RequestContext&)>;

struct Route {
  Method method;
  std::string pattern;
  RouteInfo info;
  Handler handler;
};

struct RouteMatch {
  const Route* route = nullptr;  // set when a route matched path and method
  PathParams params;
  // not_found, method_not_allowed or invalid_field (a bad path parameter) otherwise.
  Status error;
  std::string allow;    // for method_not_allowed: "GET, HEAD, POST"
  std::string pattern;  // the most specific pattern matching the path, or "unmatched"
};

struct OpenApiInfo {
  std::string title = "Roster API";
  std::string version = "0.0.0";
  std::string description;
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Aborts on a malformed pattern or a duplicate (method, pattern): route tables are code.
  // Method::kHead and kOther cannot be registered (HEAD follows GET).
  void Add(Method method, std::string_view pattern, RouteInfo info, Handler handler);

  RouteMatch Match(Method method, std::string_view raw_path) const;

  // Methods routable for this path (empty when the path is unknown), e.g. for CORS.
  std::vector<Method> AllowedMethods(std::string_view raw_path) const;

  // Every route, in registration order.
  std::vector<const Route*> routes() const;

  // An OpenAPI 3.1 document: every route with its path and query parameters, security,
  // and a shared problem+json error schema.
  boost::json::object OpenApi(const OpenApiInfo& info) const;

 private:
  struct Pattern;
  std::vector<std::unique_ptr<Pattern>> patterns_;  // most specific first
  std::vector<const Route*> order_;
};

}  // namespace roster::gateway
