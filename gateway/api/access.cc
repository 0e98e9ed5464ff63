// Access queries (API.md "Access queries"): check (live or as of a past moment), bulk
// checks, who holds a permission, a user's access, access history and access reviews.
#include <unordered_map>

#include <boost/json/array.hpp>

#include "gateway/api/common.h"
#include "policy/policy.h"
#include "projections/engine.h"
#include "projections/json.h"

namespace roster::api {
namespace json = boost::json;

namespace {

constexpr size_t kMaxBulkChecks = 1000;

// A user may ask about themselves; about others only with team.view in the workspace
// (workspace form) or as an account member (account form).
Status AuthorizeCheck(Services& s, const Principal& principal, std::string_view subject,
                      std::string_view workspace, std::string_view account) {
  if (!principal.is_user() || principal.user_id == subject) return Status::Ok();
  if (!workspace.empty()) return RequireInWorkspace(s, principal, workspace, "team.view");
  return RequireAccountMember(s, principal, account, "");
}

projections::Where WhereOf(const std::optional<std::string>& market,
                           const std::optional<std::string>& set,
                           const std::optional<std::string>& group) {
  projections::Where where;
  if (market) where.market = *market;
  if (set) where.set = *set;
  if (group) where.group = *group;
  return where;
}

std::vector<gateway::ParamDoc> WhereParams() {
  return {{"market", "Ask for this market (members with a market scope need it)"},
          {"set", "Ask for this set (partners and set-scoped members need it)"},
          {"group", "Ask for this group"}};
}

template <class... Lists>
std::vector<gateway::ParamDoc> Concat(std::vector<gateway::ParamDoc> first, Lists... rest) {
  (first.insert(first.end(), rest.begin(), rest.end()), ...);
  return first;
}

}  // namespace

void RegisterAccessRoutes(Router& router, Services& s) {
  router.Add(
      Method::kGet, "/v1/check",
      {.summary = "May principal do permission here (now, or at a past moment)? With the "
                  "reason: membership, role and the event that granted it",
       .tag = "access",
       .query = Concat(
           std::vector<gateway::ParamDoc>{
               {"principal", "The user id asked about", true},
               {"permission", "module.action, e.g. products.edit", true},
               {"workspace", "Workspace form: the workspace"},
               {"account", "Account form (shared access, billing): the account"},
               {"resource", "Account form: the container id"}},
           WhereParams(), AsOfParams()),
       .run_inline = LiveQueryInline(s)},
      Query(s, [&s](const HttpRequest& req, const PathParams&, RequestContext& ctx) {
        QueryReader q(req);
        std::string principal = q.Required("principal");
        std::string permission = q.Required("permission");
        auto workspace = q.Optional("workspace");
        auto account = q.Optional("account");
        auto resource = q.Optional("resource");
        auto market = q.Optional("market");
        auto set = q.Optional("set");
        auto group = q.Optional("group");
        projections::AsOf at = q.AsOf();
        if (q.ok() && !permission.empty()) {
          q.Fail(policy::ValidatePermission(permission, "permission"));
        }
        if (q.ok() && workspace && account) {
          q.Fail(Error(ErrorCode::kInvalidField,
                       "account: give either workspace (workspace form) or account (account "
                       "form), not both"));
        }
        if (q.ok() && !workspace && !account) {
          q.Fail(Error(ErrorCode::kInvalidField,
                       "workspace: query parameter required (or account for the account form)"));
        }
        if (q.ok() && workspace && resource) {
          q.Fail(Error(ErrorCode::kInvalidField,
                       "resource: only with account (the account form)"));
        }
        if (!q.ok()) return gateway::ProblemResponse(q.status());
        if (Status st = AuthorizeCheck(s, ctx.principal, principal, workspace.value_or(""),
                                       account.value_or(""));
            !st.ok()) {
          return gateway::ProblemResponse(st);
        }
        projections::Decision d =
            workspace ? s.engine.Check(principal, permission, *workspace,
                                       WhereOf(market, set, group), at)
                      : s.engine.CheckAccount(principal, permission, *account,
                                              resource.value_or(""), at);
        return gateway::JsonResponse(200, projections::DecisionToJson(d));
      }));

  router.Add(
      Method::kPost, "/v1/check/bulk",
      {.summary = "Up to 1000 workspace checks answered at one position",
       .tag = "access",
       .query = AsOfParams(),
       .request_body = "{checks: [{principal, workspace, permission, market?, set?, group?}]}"},
      Query(s, [&s](const HttpRequest& req, const PathParams&, RequestContext& ctx) {
        QueryReader q(req);
        projections::AsOf at = q.AsOf();
        if (!q.ok()) return gateway::ProblemResponse(q.status());
        auto body = ParseBody(req, Body::kRequired);
        if (!body) return gateway::ProblemResponse(body.error());
        JsonReader in(*body);
        const json::value* checks = in.Raw("checks");
        if (checks == nullptr || !checks->is_array()) {
          return Problem(ErrorCode::kInvalidField, "field `checks` must be an array of checks");
        }
        const json::array& list = checks->get_array();
        if (list.size() > kMaxBulkChecks) {
          return Problem(ErrorCode::kInvalidField,
                         "field `checks` has more than 1000 items (" +
                             std::to_string(list.size()) + ")");
        }
        struct Item {
          std::string principal, workspace, permission;
          std::optional<std::string> market, set, group;
        };
        std::vector<Item> items;
        items.reserve(list.size());
        for (size_t i = 0; i < list.size(); ++i) {
          std::string field = "checks[" + std::to_string(i) + "]";
          if (!list[i].is_object()) {
            return Problem(ErrorCode::kInvalidField, "field `" + field + "` must be an object");
          }
          JsonReader c(list[i].get_object());
          Item item;
          item.principal = c.String("principal");
          item.workspace = c.String("workspace");
          item.permission = c.String("permission");
          item.market = c.OptionalString("market");
          item.set = c.OptionalString("set");
          item.group = c.OptionalString("group");
          if (c.ok()) c.Fail(policy::ValidatePermission(item.permission, "permission"));
          if (!c.ok()) {
            std::string detail = c.status().message();
            // Name the element: "field `checks[3].principal` …" / "checks[3].permission: …".
            size_t tick = detail.find('`');
            if (tick != std::string::npos) {
              detail.insert(tick + 1, field + ".");
            } else {
              detail = field + "." + detail;
            }
            return Problem(ErrorCode::kInvalidField, detail);
          }
          items.push_back(std::move(item));
        }
        // A user asks about themselves, or about workspaces where they hold team.view.
        if (ctx.principal.is_user()) {
          std::unordered_map<std::string, bool> allowed_ws;
          for (size_t i = 0; i < items.size(); ++i) {
            const Item& item = items[i];
            if (item.principal == ctx.principal.user_id) continue;
            auto [it, fresh] = allowed_ws.try_emplace(item.workspace, false);
            if (fresh) {
              it->second = HoldsInWorkspace(s, ctx.principal.user_id, item.workspace, "team.view");
            }
            if (!it->second) {
              return Problem(ErrorCode::kForbidden,
                             "checks[" + std::to_string(i) + "].workspace: user " +
                                 ctx.principal.user_id + " does not hold team.view in workspace " +
                                 item.workspace.substr(0, 128));
            }
          }
        }
        // One position for every answer.
        if (at.live()) at = projections::AsOf::Position(s.engine.position());
        json::array results;
        results.reserve(items.size());
        uint64_t position = 0;
        for (const Item& item : items) {
          projections::Decision d = s.engine.Check(item.principal, item.permission, item.workspace,
                                                   WhereOf(item.market, item.set, item.group), at);
          position = d.position;
          results.push_back(json::object{{"allowed", d.allowed}});
        }
        if (items.empty()) position = s.engine.Check("", "team.view", "", {}, at).position;
        return gateway::JsonResponse(200,
                                     json::object{{"results", std::move(results)}, {"position", position}});
      }));

  router.Add(Method::kGet, "/v1/workspaces/{w}/access",
             {.summary = "Everyone who holds a permission in a workspace (team.view)",
              .tag = "access",
              .query = Concat(std::vector<gateway::ParamDoc>{{"permission", "module.action", true}},
                              WhereParams(), AsOfParams())},
             Query(s, [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               std::string_view w = p.Get("w");
               QueryReader q(req);
               std::string permission = q.Required("permission");
               auto market = q.Optional("market");
               auto set = q.Optional("set");
               auto group = q.Optional("group");
               projections::AsOf at = q.AsOf();
               if (q.ok()) q.Fail(policy::ValidatePermission(permission, "permission"));
               if (!q.ok()) return gateway::ProblemResponse(q.status());
               if (Status st = RequireInWorkspace(s, ctx.principal, w, "team.view"); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return Answer(s.engine.WhoHas(w, permission, WhereOf(market, set, group), at),
                             projections::WhoHasToJson);
             }));

  router.Add(Method::kGet, "/v1/users/{u}/access",
             {.summary = "Every workspace a user reaches, with role, path and permissions "
                         "(service, or that user)",
              .tag = "access",
              .query = AsOfParams()},
             Query(s, [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               std::string_view u = p.Get("u");
               QueryReader q(req);
               projections::AsOf at = q.AsOf();
               if (!q.ok()) return gateway::ProblemResponse(q.status());
               if (Status st = RequireSelf(ctx.principal, u, "user_id"); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return gateway::JsonResponse(200,
                                            projections::UserAccessToJson(s.engine.UserAccess(u, at)));
             }));

  router.Add(Method::kGet, "/v1/workspaces/{w}/access-history",
             {.summary = "The intervals in which a user held access to a workspace (team.view, "
                         "or the user themself)",
              .tag = "access",
              .query = Concat(std::vector<gateway::ParamDoc>{{"user_id", "The user", true}},
                              AsOfParams())},
             Query(s, [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               std::string_view w = p.Get("w");
               QueryReader q(req);
               std::string user = q.Required("user_id");
               projections::AsOf at = q.AsOf();
               if (!q.ok()) return gateway::ProblemResponse(q.status());
               if (ctx.principal.is_user() && ctx.principal.user_id != user) {
                 if (Status st = RequireInWorkspace(s, ctx.principal, w, "team.view"); !st.ok()) {
                   return gateway::ProblemResponse(st);
                 }
               }
               return Answer(s.engine.AccessHistory(w, user, at), [&](const auto& r) {
                 json::object o = projections::AccessHistoryToJson(r);
                 o["workspace_id"] = w;
                 o["user_id"] = user;
                 return o;
               });
             }));

  router.Add(Method::kGet, "/v1/workspaces/{w}/access-review",
             {.summary = "Who gained, lost or changed access between two moments (audit.view)",
              .tag = "access",
              .query = {{"from", "Start moment (RFC 3339)"},
                        {"to", "End moment (RFC 3339)"},
                        {"from_position", "Start moment as a log position (instead of from)",
                         false, "integer"},
                        {"to_position", "End moment as a log position (instead of to)", false,
                         "integer"}}},
             Query(s, [&s](const HttpRequest& req, const PathParams& p, RequestContext& ctx) {
               std::string_view w = p.Get("w");
               QueryReader q(req);
               auto from = q.Time("from");
               auto to = q.Time("to");
               auto from_position = q.Uint("from_position", 0, UINT64_MAX);
               auto to_position = q.Uint("to_position", 0, UINT64_MAX);
               if (q.ok() && from && from_position) {
                 q.Fail(Error(ErrorCode::kInvalidField,
                              "from_position: give either from or from_position, not both"));
               }
               if (q.ok() && to && to_position) {
                 q.Fail(Error(ErrorCode::kInvalidField,
                              "to_position: give either to or to_position, not both"));
               }
               if (q.ok() && !from && !from_position) {
                 q.Fail(Error(ErrorCode::kInvalidField, "from: query parameter required"));
               }
               if (q.ok() && !to && !to_position) {
                 q.Fail(Error(ErrorCode::kInvalidField, "to: query parameter required"));
               }
               if (q.ok() && from && to && *to < *from) {
                 q.Fail(Error(ErrorCode::kInvalidField, "to: must not be before from"));
               }
               if (q.ok() && from_position && to_position && *to_position < *from_position) {
                 q.Fail(Error(ErrorCode::kInvalidField,
                              "to_position: must not be before from_position"));
               }
               if (!q.ok()) return gateway::ProblemResponse(q.status());
               if (Status st = RequireInWorkspace(s, ctx.principal, w, "audit.view"); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               projections::AsOf a = from ? projections::AsOf::Time(*from)
                                          : projections::AsOf::Position(*from_position);
               projections::AsOf b = to ? projections::AsOf::Time(*to)
                                        : projections::AsOf::Position(*to_position);
               return Answer(s.engine.AccessReview(w, a, b), [&](const auto& r) {
                 json::object o = projections::AccessReviewToJson(r);
                 o["workspace_id"] = w;
                 return o;
               });
             }));
}

}  // namespace roster::api
