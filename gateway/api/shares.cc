// Account-level shared access (API.md "Shared access").
#include "gateway/api/common.h"
#include "projections/engine.h"
#include "projections/json.h"

namespace roster::api {
namespace json = boost::json;

namespace {

// `containers: "all" | [ids]`.
void ReadContainers(JsonReader& in, commands::GrantShare& c) {
  const json::value* v = in.Raw("containers");
  auto fail = [&] {
    in.Fail(Error(ErrorCode::kInvalidField,
                  "field `containers` must be \"all\" or an array of container ids"));
  };
  if (v == nullptr || v->is_null()) {
    in.Fail(Error(ErrorCode::kInvalidField, "field `containers` is required"));
    return;
  }
  if (v->is_string()) {
    if (v->get_string() != "all") return fail();
    c.all_containers = true;
    return;
  }
  if (!v->is_array() || v->get_array().size() > 1000) return fail();
  for (const json::value& item : v->get_array()) {
    if (!item.is_string()) return fail();
    c.containers.emplace_back(item.get_string());
  }
}

// Remove and retire name the same grant the same way and answer alike; only the command
// (who may run it, what it records) differs.
template <class ShareCommand>
void AddGrantCommandRoute(Router& router, Services& s, Method method, const char* path,
                          const char* summary) {
  router.Add(method, path,
             {.summary = summary, .tag = "shares", .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kOptional);
               if (!body) return gateway::ProblemResponse(body.error());
               ShareCommand c{std::string(p.Get("a")), std::string(p.Get("grantee_user_id"))};
               std::string grantee = c.grantee_user_id;
               return RunCommand(s, req, ctx, std::move(c), 200,
                                 [grantee](json::object& out, const commands::CommandResult& r) {
                                   out["account_id"] = r.account_id;
                                   out["grantee_user_id"] = grantee;
                                 });
             });
}

}  // namespace

void RegisterShareRoutes(Router& router, Services& s) {
  router.Add(Method::kPost, "/v1/accounts/{a}/shares",
             {.summary = "Share containers (and billing) with a user of another standard "
                         "account in the same region",
              .tag = "shares",
              .request_body = "{grantee_user_id, grantee_account_id, containers: \"all\" | [ids], "
                              "billing: bool}",
              .success_status = 201,
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::GrantShare c;
               c.account_id = std::string(p.Get("a"));
               c.grantee_user_id = in.String("grantee_user_id");
               c.grantee_account_id = in.String("grantee_account_id");
               ReadContainers(in, c);
               c.billing = in.OptionalBool("billing").value_or(false);
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               std::string grantee = c.grantee_user_id;
               return RunCommand(s, req, ctx, std::move(c), 201,
                                 [grantee](json::object& out, const commands::CommandResult& r) {
                                   out["account_id"] = r.account_id;
                                   out["grantee_user_id"] = grantee;
                                 });
             });

  router.Add(Method::kGet, "/v1/accounts/{a}/shares",
             {.summary = "Shared-access grants an account gave (service, or an account member)",
              .tag = "shares"},
             Query(s, [&s](const HttpRequest&, const PathParams& p, RequestContext& ctx) {
               std::string_view a = p.Get("a");
               if (Status st = RequireAccountMember(s, ctx.principal, a, ""); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return Answer(s.engine.SharesGiven(a), projections::SharesToJson);
             }));

  router.Add(Method::kGet, "/v1/users/{u}/shares",
             {.summary = "Shared-access grants a user received (service, or that user)",
              .tag = "shares"},
             Query(s, [&s](const HttpRequest&, const PathParams& p, RequestContext& ctx) {
               std::string_view u = p.Get("u");
               if (Status st = RequireSelf(ctx.principal, u, "user_id"); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return gateway::JsonResponse(200,
                                            projections::SharesToJson(s.engine.SharesReceived(u)));
             }));

  AddGrantCommandRoute<commands::RemoveShare>(router, s, Method::kDelete,
                                              "/v1/accounts/{a}/shares/{grantee_user_id}",
                                              "The owner removes a grant");
  AddGrantCommandRoute<commands::RetireShare>(
      router, s, Method::kPost, "/v1/accounts/{a}/shares/{grantee_user_id}/retire",
      "The grantee steps away from a grant");
}

}  // namespace roster::api
