// What every API route shares, written once: principal → actor, request bodies, running a
// command (Idempotency-Key, If-Match, read-your-writes, the command answer), query
// parameters (at / at_position, limit / cursor, times), and read authorization.
// Internal to gateway/api/.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "base/status.h"
#include "commands/commands.h"
#include "gateway/api/api.h"
#include "gateway/http.h"
#include "gateway/json_body.h"
#include "gateway/router.h"
#include "projections/views.h"

namespace roster::api {

using gateway::HttpRequest;
using gateway::HttpResponse;
using gateway::JsonReader;
using gateway::Method;
using gateway::PathParams;
using gateway::Principal;
using gateway::RequestContext;
using gateway::Router;

// ---------------------------------------------------------------------------------------
// Who acts.

// service → Actor::Service(); a user (JWT, or the service key with Roster-Actor and
// Roster-Actor-Email) → Actor::User(id, email).
commands::Actor ActorOf(const Principal& principal);

// ---------------------------------------------------------------------------------------
// Request bodies.

enum class Body : uint8_t {
  kRequired,  // an empty body is malformed_json (400)
  kOptional,  // an empty body reads as {} (DELETE, resend, suspend, …)
};

// The body as a JSON object: malformed_json (400), or invalid_field when not an object.
Result<boost::json::object> ParseBody(const HttpRequest& request, Body kind);

// An optional member that must be an object of strings ({module: level}); invalid_field
// naming it otherwise.
std::optional<std::map<std::string, std::string>> OptionalStringMap(JsonReader& in,
                                                                    std::string_view name);

// ---------------------------------------------------------------------------------------
// Commands.

// Adds the endpoint's own members to a command answer.
using Render = std::function<void(boost::json::object& body, const commands::CommandResult&)>;

// Idempotency-Key, its fingerprint and If-Match from the request; the request id as the
// correlation id. invalid_field naming If-Match / Idempotency-Key when unparsable.
Result<commands::CommandMeta> MetaOf(const HttpRequest& request, const RequestContext& ctx);

// SHA-256 (hex) of method ‖ path ‖ actor ‖ the body (canonical JSON: object keys sorted,
// no insignificant whitespace; the raw bytes when the body is not JSON).
std::string Fingerprint(std::string_view method, std::string_view path, std::string_view actor,
                        std::string_view body);
std::string CanonicalJson(std::string_view body);

// If-Match: "<n>" or <n> → n; "*" or absent → nullopt. invalid_field naming If-Match.
Result<std::optional<uint64_t>> ParseIfMatch(std::optional<std::string_view> header);

// Runs `command` as the request's principal and answers `success_status` with
//   {events: [{position, type}], position, version, …render(result)}
// after the projections have applied its position (bounded wait, then a logged warning).
// The answer is deferred (gateway::Deferred): the command is decided where the route runs
// and answered from the log's completion (CommandHandler::ExecuteAsync, then
// Engine::WhenApplied), so command routes run inline on the I/O thread
// (.run_inline = gateway::AlwaysInline) — except EraseSubject, which is synchronous.
// A repeat of an Idempotency-Key answers the first response (status and body), plus the
// header Idempotent-Replayed: true. Rejections → problem+json.
HttpResponse RunCommand(Services& services, const HttpRequest& request,
                        const RequestContext& ctx, commands::Command command, int success_status,
                        const Render& render = nullptr);

// ---------------------------------------------------------------------------------------
// Queries.

// Typed, first-error-wins access to query parameters (the JsonReader of the query string).
// Every error is invalid_field (422) naming the parameter. A parameter given twice uses
// its first value. Unknown parameter names are ignored.
class QueryReader {
 public:
  explicit QueryReader(const HttpRequest& request) : request_(request) {}

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  void Fail(Status status);

  // Present and non-empty, else "`name`: required".
  std::string Required(std::string_view name);
  // Absent or empty → nullopt.
  std::optional<std::string> Optional(std::string_view name);
  // One of `allowed`; absent → `fallback`.
  std::string Enum(std::string_view name, const std::vector<std::string_view>& allowed,
                   std::string_view fallback);
  // A decimal integer in [min, max].
  std::optional<uint64_t> Uint(std::string_view name, uint64_t min, uint64_t max);
  // An RFC 3339 time.
  std::optional<Micros> Time(std::string_view name);
  // at=<RFC 3339> | at_position=<n> | neither (live); both → invalid_field.
  projections::AsOf AsOf();
  // limit (1..1000, default 100) and cursor (one this server issued).
  projections::PageRequest Page();

 private:
  const HttpRequest& request_;
  Status status_;
};

// Waits (bounded by options.startup_catch_up_timeout) until the projections have applied
// everything that was in the log when they started. A no-op once caught up.
void AwaitStartupCatchUp(Services& services);

// Wraps a query handler: AwaitStartupCatchUp first.
gateway::Handler Query(Services& services, gateway::Handler handler);

// RouteInfo::run_inline for cheap live queries (check): inline once the projections have
// caught up at start-up (no wait left) and the request asks about now (no at /
// at_position, which may read history).
std::function<bool(const HttpRequest&)> LiveQueryInline(Services& services);

// 200 with `to_json(*result)`, or the error as problem+json.
template <class T, class F>
HttpResponse Answer(const Result<T>& result, F&& to_json) {
  if (!result.ok()) return gateway::ProblemResponse(result.error());
  return gateway::JsonResponse(200, to_json(result.value()));
}

inline HttpResponse Problem(ErrorCode code, std::string detail) {
  return gateway::ProblemResponse(Error(code, std::move(detail)));
}

// ---------------------------------------------------------------------------------------
// Read authorization (API.md "Start-up and authentication"). The service reads everything;
// a user (JWT or delegated) reads what their memberships allow. Each returns kOk or
// kForbidden with a detail naming what is missing.

// The service, or the user `user_id` themself.
Status RequireSelf(const Principal& principal, std::string_view user_id, std::string_view field);
// The service, or a user holding `permission` in the workspace (role + module overrides,
// through account or workspace membership; scope is not consulted, as for the deciders'
// team rules). An unknown workspace is forbidden to users (no existence leak).
Status RequireInWorkspace(Services& services, const Principal& principal,
                          std::string_view workspace, std::string_view permission);
bool HoldsInWorkspace(Services& services, std::string_view user, std::string_view workspace,
                      std::string_view permission);
// The user's account-member role in `account`, or nullopt.
std::optional<std::string> AccountRoleOf(Services& services, std::string_view user,
                                         std::string_view account);
// The service, or an account member of `account` whose account role allows `permission`
// (any account member when `permission` is empty).
Status RequireAccountMember(Services& services, const Principal& principal,
                            std::string_view account, std::string_view permission);

// ---------------------------------------------------------------------------------------
// Route registration, one function per file.

void RegisterAccountRoutes(Router& router, Services& services);     // accounts.cc
void RegisterMemberRoutes(Router& router, Services& services);      // members.cc
void RegisterInvitationRoutes(Router& router, Services& services);  // invitations.cc
void RegisterLinkRoutes(Router& router, Services& services);        // links.cc
void RegisterPartnerRoutes(Router& router, Services& services);     // partners.cc
void RegisterShareRoutes(Router& router, Services& services);       // shares.cc
void RegisterAccessRoutes(Router& router, Services& services);      // access.cc
void RegisterAuditRoutes(Router& router, Services& services);       // audit.cc
void RegisterEventRoutes(Router& router, Services& services);       // events.cc
void RegisterPrivacyRoutes(Router& router, Services& services);     // privacy.cc
void RegisterTestRoutes(Router& router, Services& services);        // test_routes.cc

// Documented query parameters shared by several routes (OpenAPI).
std::vector<gateway::ParamDoc> AsOfParams();
std::vector<gateway::ParamDoc> PageParams();

}  // namespace roster::api
