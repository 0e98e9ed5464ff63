// Accounts and workspaces (API.md "Accounts and workspaces").
#include "commands/account_state.h"
#include "gateway/api/common.h"
#include "projections/engine.h"
#include "projections/json.h"
#include "storage/event_store.h"

namespace roster::api {
namespace json = boost::json;

namespace {

// The account stream's current version, so a reader can send If-Match.
uint64_t AccountVersion(Services& s, std::string_view account_id) {
  return s.store.StreamVersion(commands::AccountStream(account_id));
}

}  // namespace

void RegisterAccountRoutes(Router& router, Services& s) {
  router.Add(
      Method::kPost, "/v1/accounts",
      {.summary = "Open an account; the owner becomes an account member with role owner",
       .auth = gateway::AuthRequirement::kService,
       .tag = "accounts",
       .request_body = "{account_id?, name, plan: standard|agency|partner|enterprise, "
                       "region: global|eu, owner: {user_id, email}}",
       .success_status = 201,
       .run_inline = gateway::AlwaysInline},
      [&s](const HttpRequest& req, const PathParams&, RequestContext& ctx) {
        auto body = ParseBody(req, Body::kRequired);
        if (!body) return gateway::ProblemResponse(body.error());
        JsonReader in(*body);
        commands::OpenAccount c;
        c.account_id = in.OptionalString("account_id").value_or("");
        c.name = in.String("name");
        c.plan = in.String("plan");
        c.region = in.String("region");
        JsonReader owner = in.Object("owner");
        c.owner_user_id = owner.String("user_id");
        c.owner_email = owner.String("email");
        if (!in.ok()) return gateway::ProblemResponse(in.status());
        return RunCommand(s, req, ctx, std::move(c), 201,
                          [](json::object& out, const commands::CommandResult& r) {
                            out["account_id"] = r.account_id;
                          });
      });

  router.Add(Method::kGet, "/v1/accounts/{a}",
             {.summary = "An account: plan, region, account members and workspaces "
                         "(service, or an account member)",
              .tag = "accounts"},
             Query(s, [&s](const HttpRequest&, const PathParams& p, RequestContext& ctx) {
               std::string_view a = p.Get("a");
               if (Status st = RequireAccountMember(s, ctx.principal, a, ""); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return Answer(s.engine.Account(a), [&](const projections::AccountView& v) {
                 json::object o = projections::AccountToJson(v);
                 o["version"] = AccountVersion(s, a);
                 return o;
               });
             }));

  router.Add(Method::kPost, "/v1/accounts/{a}/members",
             {.summary = "Add an account member (reaches every workspace with that role)",
              .tag = "accounts",
              .request_body = "{user_id, email, role: owner|admin|viewer}",
              .success_status = 201,
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::AddAccountMember c;
               c.account_id = std::string(p.Get("a"));
               c.user_id = in.String("user_id");
               c.email = in.String("email");
               c.role = in.String("role");
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               std::string user = c.user_id;
               return RunCommand(s, req, ctx, std::move(c), 201,
                                 [user](json::object& out, const commands::CommandResult& r) {
                                   out["account_id"] = r.account_id;
                                   out["user_id"] = user;
                                   out["role"] = r.role;
                                 });
             });

  router.Add(Method::kPatch, "/v1/accounts/{a}/members/{user_id}",
             {.summary = "Change an account member's role",
              .tag = "accounts",
              .request_body = "{role: owner|admin|viewer}",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::ChangeAccountMember c;
               c.account_id = std::string(p.Get("a"));
               c.user_id = std::string(p.Get("user_id"));
               c.role = in.String("role");
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               std::string user = c.user_id;
               return RunCommand(s, req, ctx, std::move(c), 200,
                                 [user](json::object& out, const commands::CommandResult& r) {
                                   out["account_id"] = r.account_id;
                                   out["user_id"] = user;
                                   out["role"] = r.role;
                                 });
             });

  router.Add(Method::kDelete, "/v1/accounts/{a}/members/{user_id}",
             {.summary = "Remove an account member", .tag = "accounts",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kOptional);
               if (!body) return gateway::ProblemResponse(body.error());
               commands::RemoveAccountMember c;
               c.account_id = std::string(p.Get("a"));
               c.user_id = std::string(p.Get("user_id"));
               std::string user = c.user_id;
               return RunCommand(s, req, ctx, std::move(c), 200,
                                 [user](json::object& out, const commands::CommandResult& r) {
                                   out["account_id"] = r.account_id;
                                   out["user_id"] = user;
                                 });
             });

  router.Add(
      Method::kPost, "/v1/accounts/{a}/workspaces",
      {.summary = "Create a workspace from a role template",
       .tag = "workspaces",
       .request_body = "{workspace_id?, name, template: standard|orders|partner_program, "
                       "invite_ttl_seconds?}",
       .success_status = 201,
       .run_inline = gateway::AlwaysInline},
      [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
        auto body = ParseBody(req, Body::kRequired);
        if (!body) return gateway::ProblemResponse(body.error());
        JsonReader in(*body);
        commands::CreateWorkspace c;
        c.account_id = std::string(p.Get("a"));
        c.workspace_id = in.OptionalString("workspace_id").value_or("");
        c.name = in.String("name");
        c.template_name = in.String("template");
        c.invite_ttl_seconds = in.OptionalInt("invite_ttl_seconds");
        if (!in.ok()) return gateway::ProblemResponse(in.status());
        return RunCommand(s, req, ctx, std::move(c), 201,
                          [](json::object& out, const commands::CommandResult& r) {
                            out["workspace_id"] = r.workspace_id;
                            out["account_id"] = r.account_id;
                          });
      });

  router.Add(Method::kGet, "/v1/workspaces/{w}",
             {.summary = "A workspace: template, invite TTL and its roles (team.view)",
              .tag = "workspaces"},
             Query(s, [&s](const HttpRequest&, const PathParams& p, RequestContext& ctx) {
               std::string_view w = p.Get("w");
               if (Status st = RequireInWorkspace(s, ctx.principal, w, "team.view"); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return Answer(s.engine.Workspace(w), [&](const projections::WorkspaceView& v) {
                 json::object o = projections::WorkspaceToJson(v);
                 o["version"] = AccountVersion(s, v.account_id);
                 return o;
               });
             }));

  router.Add(Method::kPut, "/v1/workspaces/{w}/roles/{role}",
             {.summary = "Define or redefine a custom role",
              .tag = "workspaces",
              .request_body = "{permissions: [patterns]}",
              .run_inline = gateway::AlwaysInline},
             [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               auto body = ParseBody(req, Body::kRequired);
               if (!body) return gateway::ProblemResponse(body.error());
               JsonReader in(*body);
               commands::DefineRole c;
               c.workspace_id = std::string(p.Get("w"));
               c.role = std::string(p.Get("role"));
               c.permissions = in.StringArray("permissions");
               if (!in.ok()) return gateway::ProblemResponse(in.status());
               std::string role = c.role;
               std::vector<std::string> permissions = c.permissions;
               return RunCommand(
                   s, req, ctx, std::move(c), 200,
                   [role, permissions](json::object& out, const commands::CommandResult& r) {
                     out["workspace_id"] = r.workspace_id;
                     out["role"] = role;
                     json::array a;
                     for (const auto& perm : permissions) a.emplace_back(perm);
                     out["permissions"] = std::move(a);
                   });
             });
}

}  // namespace roster::api
