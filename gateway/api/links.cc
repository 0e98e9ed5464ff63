// The workspace invite link (API.md "Invite link").
#include "gateway/api/common.h"
#include "projections/engine.h"
#include "projections/json.h"

namespace roster::api {
namespace json = boost::json;

void RegisterLinkRoutes(Router& router, Services& s) {
  router.Add(Method::kPut, "/v1/workspaces/{w}/invite-link",
             {.summary = "Create the invite link (token returned once) or change its role",
              .tag = "invite-link",
              .request_body = "{role, confirm_admin?: bool}",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::PutInviteLink c;
               c.workspace_id = std::string(p.Get("w"));
               c.role = in.String("role");
               c.confirm_admin = in.OptionalBool("confirm_admin").value_or(false);
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               return RunCommand(s, req, ctx, std::move(c), 200,
                                 [](json::object& out, const commands::CommandResult& r) {
                                   out["workspace_id"] = r.workspace_id;
                                   out["role"] = r.role;
                                   if (!r.token.empty()) out["token"] = r.token;
                                   out["enabled"] = true;
                                 });
             });

  router.Add(Method::kGet, "/v1/workspaces/{w}/invite-link",
             {.summary = "The invite link card, without its token (team.view); 404 when none",
              .tag = "invite-link"},
             Query(s, [&s](const HttpRequest&, const PathParams& p, RequestContext& ctx) {
               std::string_view w = p.Get("w");
               if (Status st = RequireInWorkspace(s, ctx.principal, w, "team.view"); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return Answer(s.engine.InviteLink(w), projections::LinkToJson);
             }));

  router.Add(Method::kPost, "/v1/workspaces/{w}/invite-link/regenerate",
             {.summary = "Replace the link's token; the old one stops working at once",
              .tag = "invite-link",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kOptional);
               if (!body) return gateway::ProblemResponse(body.error());
               return RunCommand(s, req, ctx,
                                 commands::RegenerateInviteLink{std::string(p.Get("w"))}, 200,
                                 [](json::object& out, const commands::CommandResult& r) {
                                   out["workspace_id"] = r.workspace_id;
                                   out["role"] = r.role;
                                   out["token"] = r.token;
                                 });
             });

  router.Add(Method::kDelete, "/v1/workspaces/{w}/invite-link",
             {.summary = "Disable the link; members who joined keep their access",
              .tag = "invite-link",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kOptional);
               if (!body) return gateway::ProblemResponse(body.error());
               return RunCommand(s, req, ctx, commands::DisableInviteLink{std::string(p.Get("w"))},
                                 200, [](json::object& out, const commands::CommandResult& r) {
                                   out["workspace_id"] = r.workspace_id;
                                   out["role"] = r.role;
                                   out["enabled"] = false;
                                 });
             });

  router.Add(Method::kPost, "/v1/invite-links/join",
             {.summary = "Join a workspace by its link as the joining user (no duplicate for "
                         "someone who already has access)",
              .tag = "invite-link",
              .request_body = "{token}",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams&, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::JoinByLink c{in.String("token")};
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               return RunCommand(s, req, ctx, std::move(c), 200,
                                 [](json::object& out, const commands::CommandResult& r) {
                                   out["workspace_id"] = r.workspace_id;
                                   out["role"] = r.role;
                                   out["joined"] = r.joined;
                                 });
             });
}

}  // namespace roster::api
