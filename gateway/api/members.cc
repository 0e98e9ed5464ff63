// Workspace members (API.md "Members").
#include "gateway/api/common.h"
#include "projections/engine.h"
#include "projections/json.h"

namespace roster::api {
namespace json = boost::json;

void RegisterMemberRoutes(Router& router, Services& s) {
  router.Add(Method::kGet, "/v1/workspaces/{w}/members",
             {.summary = "Members of a workspace with role, access, scope and source "
                         "(team.view)",
              .tag = "members",
              .query = PageParams()},
             Query(s, [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               std::string_view w = p.Get("w");
               QueryReader q(req);
               projections::PageRequest page = q.Page();
               if (!q.ok()) return gateway::ProblemResponse(q.status());
               if (Status st = RequireInWorkspace(s, ctx.principal, w, "team.view"); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return Answer(s.engine.Members(w, page), projections::MembersToJson);
             }));

  router.Add(Method::kPatch, "/v1/workspaces/{w}/members/{user_id}",
             {.summary = "Change a member's role, per-module access or scope",
              .tag = "members",
              .request_body = "{role?, access?: {module: none|view|edit|manage|inherit}, "
                              "scope?: {markets?: [], sets?: [], groups?: []}}",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::UpdateMember c;
               c.workspace_id = std::string(p.Get("w"));
               c.user_id = std::string(p.Get("user_id"));
               c.role = in.OptionalString("role");
               c.access = OptionalStringMap(in, "access");
               if (auto scope = in.OptionalObject("scope")) {
                 c.scope = commands::ScopePatch{scope->OptionalStringArray("markets"),
                                                scope->OptionalStringArray("sets"),
                                                scope->OptionalStringArray("groups")};
               }
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               std::string user = c.user_id;
               return RunCommand(s, req, ctx, std::move(c), 200,
                                 [user](json::object& out, const commands::CommandResult& r) {
                                   out["workspace_id"] = r.workspace_id;
                                   out["user_id"] = user;
                                   out["role"] = r.role;
                                 });
             });

  router.Add(Method::kDelete, "/v1/workspaces/{w}/members/{user_id}",
             {.summary = "Remove a member (access ends at once; history stays)",
              .tag = "members",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kOptional);
               if (!body) return gateway::ProblemResponse(body.error());
               commands::RemoveMember c;
               c.workspace_id = std::string(p.Get("w"));
               c.user_id = std::string(p.Get("user_id"));
               std::string user = c.user_id;
               return RunCommand(s, req, ctx, std::move(c), 200,
                                 [user](json::object& out, const commands::CommandResult& r) {
                                   out["workspace_id"] = r.workspace_id;
                                   out["user_id"] = user;
                                 });
             });
}

}  // namespace roster::api
