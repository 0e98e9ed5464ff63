// Erasure of personal data (API.md "Privacy").
#include "gateway/api/common.h"

namespace roster::api {
namespace json = boost::json;

void RegisterPrivacyRoutes(Router& router, Services& s) {
  router.Add(Method::kPost, "/v1/privacy/erase",
             {.summary = "Erase an email address from the PII vault; appends one SubjectErased "
                         "event without personal data (service only)",
              .auth = gateway::AuthRequirement::kService,
              .tag = "privacy",
              .request_body = "{email}"},
             [&s](const HttpRequest& req, const PathParams&, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::EraseSubject c{in.String("email")};
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               return RunCommand(s, req, ctx, std::move(c), 200,
                                 [](json::object& out, const commands::CommandResult& r) {
                                   out["erased"] = true;
                                   out["subjects"] = r.subjects_erased;
                                 });
             });
}

}  // namespace roster::api
