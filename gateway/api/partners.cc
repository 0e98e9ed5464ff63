// Partner organisations (API.md "Partners").
#include "gateway/api/common.h"
#include "projections/engine.h"
#include "projections/json.h"

namespace roster::api {
namespace json = boost::json;

namespace {

void RenderStatus(json::object& out, const commands::CommandResult& r) {
  out["partner_id"] = r.partner_id;
  out["workspace_id"] = r.workspace_id;
  out["status"] = r.status;
}

// POST /v1/partners/{p}/suspend | resume | revoke with {reason?}.
template <class C>
void AddTransition(Router& router, Services& s, std::string_view verb, std::string summary) {
  router.Add(Method::kPost, "/v1/partners/{p}/" + std::string(verb),
             {.summary = std::move(summary), .tag = "partners", .request_body = "{reason?}",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kOptional);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               C c;
               c.partner_id = std::string(p.Get("p"));
               c.reason = in.OptionalString("reason").value_or("");
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               return RunCommand(s, req, ctx, std::move(c), 200, RenderStatus);
             });
}

}  // namespace

void RegisterPartnerRoutes(Router& router, Services& s) {
  router.Add(Method::kPost, "/v1/workspaces/{w}/partners",
             {.summary = "Invite a partner account (plan partner) with an access level and sets",
              .tag = "partners",
              .request_body = "{partner_account_id, access_level: view|download|edit, sets: []}",
              .success_status = 201,
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::InvitePartner c;
               c.workspace_id = std::string(p.Get("w"));
               c.partner_account_id = in.String("partner_account_id");
               c.access_level = in.String("access_level");
               c.sets = in.OptionalStringArray("sets").value_or(std::vector<std::string>{});
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               return RunCommand(s, req, ctx, std::move(c), 201, RenderStatus);
             });

  router.Add(Method::kPost, "/v1/partners/{p}/accept",
             {.summary = "Accept a partnership as a team.manage member of the partner account",
              .tag = "partners",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kOptional);
               if (!body) return gateway::ProblemResponse(body.error());
               return RunCommand(s, req, ctx, commands::AcceptPartner{std::string(p.Get("p"))},
                                 200, RenderStatus);
             });

  router.Add(Method::kGet, "/v1/workspaces/{w}/partners",
             {.summary = "Partner relationships of a workspace (team.view)", .tag = "partners"},
             Query(s, [&s](const HttpRequest&, const PathParams& p, RequestContext& ctx) {
               std::string_view w = p.Get("w");
               if (Status st = RequireInWorkspace(s, ctx.principal, w, "team.view"); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return Answer(s.engine.Partners(w), projections::PartnersToJson);
             }));

  router.Add(Method::kGet, "/v1/partners/{p}",
             {.summary = "A partner relationship with its history (team.view in the workspace, "
                         "or a member of the partner account)",
              .tag = "partners"},
             Query(s, [&s](const HttpRequest&, const PathParams& p, RequestContext& ctx) {
               auto view = s.engine.Partner(p.Get("p"));
               if (!view) {
                 if (ctx.principal.is_user()) {
                   return Problem(ErrorCode::kForbidden,
                                  "partner_id: not a partner this user may read");
                 }
                 return gateway::ProblemResponse(view.error());
               }
               if (ctx.principal.is_user() &&
                   !HoldsInWorkspace(s, ctx.principal.user_id, view->workspace_id, "team.view") &&
                   !AccountRoleOf(s, ctx.principal.user_id, view->partner_account_id)) {
                 return Problem(ErrorCode::kForbidden,
                                "partner_id: user " + ctx.principal.user_id +
                                    " holds no team.view in workspace " + view->workspace_id +
                                    " and is not a member of partner account " +
                                    view->partner_account_id);
               }
               return gateway::JsonResponse(200, projections::PartnerToJson(*view));
             }));

  router.Add(Method::kPatch, "/v1/partners/{p}",
             {.summary = "Change a partner's access level or assigned sets",
              .tag = "partners",
              .request_body = "{access_level?, assign_sets?: [], revoke_sets?: []}",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::UpdatePartner c;
               c.partner_id = std::string(p.Get("p"));
               c.access_level = in.OptionalString("access_level");
               c.assign_sets = in.OptionalStringArray("assign_sets").value_or(std::vector<std::string>{});
               c.revoke_sets = in.OptionalStringArray("revoke_sets").value_or(std::vector<std::string>{});
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               return RunCommand(s, req, ctx, std::move(c), 200, RenderStatus);
             });

  AddTransition<commands::SuspendPartner>(router, s, "suspend",
                                          "Suspend an active partner (access ends, relationship "
                                          "kept)");
  AddTransition<commands::ResumePartner>(router, s, "resume", "Resume a suspended partner");
  AddTransition<commands::RevokePartner>(router, s, "revoke", "Revoke a partner (final)");
}

}  // namespace roster::api
