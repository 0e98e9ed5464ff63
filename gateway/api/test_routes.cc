// Test-only routes, registered with ApiOptions::test_routes (rosterd --enable-test-routes):
// POST /_test/clock moves the server's clock forward so end-to-end tests can let an
// invitation expire without waiting for its TTL. Never in production.
#include "base/clock.h"
#include "gateway/api/common.h"
#include "gateway/api/offset_clock.h"

namespace roster::api {
namespace json = boost::json;

void RegisterTestRoutes(Router& router, Services& s) {
  if (!s.options.test_routes || s.test_clock == nullptr) return;
  router.Add(Method::kPost, "/_test/clock",
             {.summary = "Test only: move the server clock forward by advance_seconds",
              .auth = gateway::AuthRequirement::kService,
              .tag = "test",
              .request_body = "{advance_seconds}"},
             [&s](const HttpRequest& req, const PathParams&, RequestContext&) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               int64_t seconds = in.Int("advance_seconds", 0, 10LL * 365 * 24 * 3600);
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               s.test_clock->Advance(seconds * kMicrosPerSecond);
               return gateway::JsonResponse(
                   200, json::object{{"offset_seconds", s.test_clock->offset() / kMicrosPerSecond},
                                     {"now", FormatRfc3339(s.test_clock->Now())}});
             });
}

}  // namespace roster::api
