// The audit trail, its export, a user's activity and notifications (API.md "Audit and
// events").
#include "gateway/api/common.h"
#include "projections/engine.h"
#include "projections/json.h"

namespace roster::api {
namespace json = boost::json;

namespace {

std::vector<gateway::ParamDoc> FilterParams() {
  return {{"account", "Only events of this account"},
          {"workspace", "Only events of this workspace"},
          {"actor", "Only events caused by this actor (user id, user:<id>, service, system)"},
          {"subject", "Only events about this subject (user id, invitation id, partner id, …)"},
          {"type", "Only events of this type, e.g. InviteSent"},
          {"from", "Recorded at or after this RFC 3339 time"},
          {"to", "Recorded at or before this RFC 3339 time"}};
}

projections::AuditFilter ReadFilter(QueryReader& q) {
  projections::AuditFilter f;
  f.account = q.Optional("account").value_or("");
  f.workspace = q.Optional("workspace").value_or("");
  f.actor = q.Optional("actor").value_or("");
  f.subject = q.Optional("subject").value_or("");
  f.type = q.Optional("type").value_or("");
  f.from = q.Time("from");
  f.to = q.Time("to");
  return f;
}

// The service reads every entry. A user must narrow the query to a workspace where they
// hold audit.view, or to an account whose account role grants audit.view.
Status AuthorizeAudit(Services& s, const Principal& principal, const projections::AuditFilter& f) {
  if (!principal.is_user()) return Status::Ok();
  if (!f.workspace.empty()) return RequireInWorkspace(s, principal, f.workspace, "audit.view");
  if (!f.account.empty()) return RequireAccountMember(s, principal, f.account, "audit.view");
  return Error(ErrorCode::kForbidden,
               "workspace: a user's audit query must name a workspace (or account) where they "
               "hold audit.view");
}

// A page only its own user (or the service) may read: activity, notifications.
template <class Fetch, class Render>
void AddOwnPageRoute(Router& router, Services& s, const char* path, const char* summary,
                     Fetch fetch, Render render) {
  router.Add(Method::kGet, path, {.summary = summary, .tag = "audit", .query = PageParams()},
             Query(s, [&s, fetch, render](const HttpRequest& req, const PathParams& p,
                                          RequestContext& ctx) {
               std::string_view u = p.Get("u");
               QueryReader q(req);
               projections::PageRequest page = q.Page();
               if (!q.ok()) return gateway::ProblemResponse(q.status());
               if (Status st = RequireSelf(ctx.principal, u, "user_id"); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return Answer(fetch(s.engine, u, page), render);
             }));
}

}  // namespace

void RegisterAuditRoutes(Router& router, Services& s) {
  router.Add(Method::kGet, "/v1/audit",
             {.summary = "Audit entries in log order, filtered and paginated (audit.view)",
              .tag = "audit",
              .query = [] {
                auto q = FilterParams();
                auto page = PageParams();
                q.insert(q.end(), page.begin(), page.end());
                return q;
              }()},
             Query(s, [&s](const HttpRequest& req, const PathParams&, RequestContext& ctx) {
               QueryReader q(req);
               projections::AuditFilter filter = ReadFilter(q);
               projections::PageRequest page = q.Page();
               if (!q.ok()) return gateway::ProblemResponse(q.status());
               if (Status st = AuthorizeAudit(s, ctx.principal, filter); !st.ok()) {
                 return gateway::ProblemResponse(st);
               }
               return Answer(s.engine.Audit(filter, page), projections::AuditPageToJson);
             }));

  router.Add(
      Method::kGet, "/v1/audit/export",
      {.summary = "The filtered audit trail as a streamed file (JSON Lines or CSV)",
       .tag = "audit",
       .query = [] {
         auto q = FilterParams();
         q.insert(q.begin(), {"format", "jsonl (default) or csv"});
         return q;
       }(),
       .response_type = "application/x-ndjson"},
      Query(s, [&s](const HttpRequest& req, const PathParams&, RequestContext& ctx) {
        QueryReader q(req);
        std::string format = q.Enum("format", {"jsonl", "csv"}, "jsonl");
        projections::AuditFilter filter = ReadFilter(q);
        if (!q.ok()) return gateway::ProblemResponse(q.status());
        if (Status st = AuthorizeAudit(s, ctx.principal, filter); !st.ok()) {
          return gateway::ProblemResponse(st);
        }
        // Errors in the filter (an unknown type) are answered before the stream starts.
        if (auto probe = s.engine.Audit(filter, {1, ""}); !probe.ok()) {
          return gateway::ProblemResponse(probe.error());
        }
        bool csv = format == "csv";
        gateway::HttpResponse response = gateway::StreamResponse(
            csv ? "text/csv; charset=utf-8" : "application/x-ndjson",
            [&s, filter, csv](gateway::StreamSink& sink) {
              Status st = s.engine.ExportAudit(
                  filter, csv ? projections::ExportFormat::kCsv
                              : projections::ExportFormat::kJsonLines,
                  [&sink](std::string_view chunk) { return sink.Write(std::string(chunk)); });
              (void)st;  // mid-stream failures end the body early; nothing else to tell
            });
        response.WithHeader("Content-Disposition",
                            csv ? "attachment; filename=\"audit.csv\""
                                : "attachment; filename=\"audit.jsonl\"");
        return response;
      }));

  AddOwnPageRoute(
      router, s, "/v1/users/{u}/activity",
      "What a user did (as actor), newest first (service, or that user)",
      [](projections::Engine& e, std::string_view u, const projections::PageRequest& page) {
        return e.Activity(u, page);
      },
      projections::AuditPageToJson);
  AddOwnPageRoute(
      router, s, "/v1/users/{u}/notifications",
      "A user's notifications, newest first (service, or that user)",
      [](projections::Engine& e, std::string_view u, const projections::PageRequest& page) {
        return e.Notifications(u, page);
      },
      projections::NotificationsToJson);
}

}  // namespace roster::api
