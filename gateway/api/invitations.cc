// Invitations (API.md "Invitations").
#include "base/clock.h"
#include "gateway/api/common.h"
#include "projections/engine.h"
#include "projections/json.h"

namespace roster::api {
namespace json = boost::json;

namespace {

// {invitation_id, token, expires_at} of SendInvite and ResendInvite: the token is shown
// only in these answers.
void RenderToken(json::object& out, const commands::CommandResult& r) {
  out["invitation_id"] = r.invitation_id;
  out["workspace_id"] = r.workspace_id;
  out["token"] = r.token;
  out["expires_at"] = FormatRfc3339(r.expires_at);
  out["role"] = r.role;
}

}  // namespace

void RegisterInvitationRoutes(Router& router, Services& s) {
  router.Add(Method::kPost, "/v1/workspaces/{w}/invitations",
             {.summary = "Invite an email with a role (and optional access and scope); the "
                         "token is shown only here and on resend",
              .tag = "invitations",
              .request_body = "{email, role, access?: {module: level}, "
                              "scope?: {markets?, sets?, groups?}}",
              .success_status = 201,
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::SendInvite c;
               c.workspace_id = std::string(p.Get("w"));
               c.email = in.String("email");
               c.role = in.String("role");
               c.access = OptionalStringMap(in, "access").value_or(events::AccessMap{});
               if (auto scope = in.OptionalObject("scope")) {
                 c.scope.markets = scope->OptionalStringArray("markets").value_or(events::StringList{});
                 c.scope.sets = scope->OptionalStringArray("sets").value_or(events::StringList{});
                 c.scope.groups = scope->OptionalStringArray("groups").value_or(events::StringList{});
               }
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               return RunCommand(s, req, ctx, std::move(c), 201, RenderToken);
             });

  router.Add(Method::kGet, "/v1/workspaces/{w}/invitations",
             {.summary = "Invitations of a workspace, without tokens (team.view)",
              .tag = "invitations",
              .query = [] {
                auto q = PageParams();
                q.insert(q.begin(),
                         {"status", "pending | expired | accepted | cancelled | superseded | "
                                    "all (default all)"});
                return q;
              }()},
             Query(s, [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               std::string_view w = p.Get("w");
               QueryReader q(req);
               std::string status = q.Enum(
                   "status", {"pending", "expired", "accepted", "cancelled", "superseded", "all"},
                   "all");
               projections::PageRequest page = q.Page();
               if (!q.ok()) return gateway::ProblemResponse(q.status());
               projections::InviteStatusFilter filter = projections::InviteStatusFilter::kAll;
               projections::ParseInviteStatus(status, &filter);
               if (Status st = RequireInWorkspace(s, ctx.principal, w, "team.view"); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return Answer(s.engine.Invitations(w, filter, s.clock.Now(), page),
                             projections::InvitationsToJson);
             }));

  router.Add(Method::kGet, "/v1/invitations/{id}",
             {.summary = "One invitation, without its token (team.view in its workspace)",
              .tag = "invitations"},
             Query(s, [&s](const HttpRequest&, const PathParams& p, RequestContext& ctx) {
               auto view = s.engine.Invitation(p.Get("id"), s.clock.Now());
               if (!view) {
                 if (ctx.principal.is_user()) {
                   return Problem(ErrorCode::kForbidden,
                                  "invitation_id: not an invitation this user may read");
                 }
                 return gateway::ProblemResponse(view.error());
               }
               if (Status st =
                       RequireInWorkspace(s, ctx.principal, view->workspace_id, "team.view");
                   !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               json::object o = projections::InvitationToJson(*view);
               o["position"] = s.engine.position();
               return gateway::JsonResponse(200, o);
             }));

  router.Add(Method::kPost, "/v1/invitations/{id}/resend",
             {.summary = "Resend: a fresh token (the old one stops working) and a new expiry",
              .tag = "invitations",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kOptional);
               if (!body) return gateway::ProblemResponse(body.error());
               return RunCommand(s, req, ctx, commands::ResendInvite{std::string(p.Get("id"))},
                                 200, RenderToken);
             });

  router.Add(Method::kDelete, "/v1/invitations/{id}",
             {.summary = "Cancel an invitation; its token stops working", .tag = "invitations",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kOptional);
               if (!body) return gateway::ProblemResponse(body.error());
               return RunCommand(s, req, ctx, commands::CancelInvite{std::string(p.Get("id"))},
                                 200, [](json::object& out, const commands::CommandResult& r) {
                                   out["invitation_id"] = r.invitation_id;
                                   out["workspace_id"] = r.workspace_id;
                                   out["status"] = "cancelled";
                                 });
             });

  router.Add(Method::kPost, "/v1/invitations/accept",
             {.summary = "Accept an invitation as the joining user (email must match)",
              .tag = "invitations",
              .request_body = "{token}",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams&, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::AcceptInvite c{in.String("token")};
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               return RunCommand(s, req, ctx, std::move(c), 200,
                                 [](json::object& out, const commands::CommandResult& r) {
                                   out["workspace_id"] = r.workspace_id;
                                   out["invitation_id"] = r.invitation_id;
                                   out["role"] = r.role;
                                 });
             });
}

}  // namespace roster::api
