#include "gateway/api/common.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "base/crypto.h"
#include "commands/handler.h"
#include "events/event_types.h"
#include "policy/policy.h"
#include "projections/engine.h"

namespace roster::api {
namespace json = boost::json;

// ---- who ----

commands::Actor ActorOf(const Principal& principal) {
  if (principal.is_user()) return commands::Actor::User(principal.user_id, principal.email);
  return commands::Actor::Service();
}

// ---- bodies ----

Result<json::object> ParseBody(const HttpRequest& request, Body kind) {
  if (kind == Body::kOptional) {
    bool blank = std::all_of(request.body.begin(), request.body.end(), [](char c) {
      return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    });
    if (blank) return json::object{};
  }
  return gateway::ParseJsonObject(request.body);
}

std::optional<std::map<std::string, std::string>> OptionalStringMap(JsonReader& in,
                                                                    std::string_view name) {
  const json::value* v = in.Raw(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  auto fail = [&](std::string what) {
    in.Fail(Error(ErrorCode::kInvalidField, "field `" + in.FieldName(name) + "` " + what));
    return std::nullopt;
  };
  if (!v->is_object()) return fail("must be an object of strings, e.g. {\"products\": \"view\"}");
  std::map<std::string, std::string> out;
  for (const auto& member : v->get_object()) {
    if (!member.value().is_string()) {
      in.Fail(Error(ErrorCode::kInvalidField, "field `" + in.FieldName(name) + "." +
                                                  std::string(member.key()) +
                                                  "` must be a string"));
      return std::nullopt;
    }
    out[std::string(member.key())] = std::string(member.value().get_string());
  }
  return out;
}

// ---- commands ----

namespace {

void Canonicalize(json::value& v) {
  if (v.is_array()) {
    for (json::value& item : v.get_array()) Canonicalize(item);
    return;
  }
  if (!v.is_object()) return;
  json::object& o = v.get_object();
  std::vector<std::pair<std::string, json::value>> members;
  members.reserve(o.size());
  for (auto& m : o) {
    Canonicalize(m.value());
    members.emplace_back(std::string(m.key()), std::move(m.value()));
  }
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  json::object sorted;
  sorted.reserve(members.size());
  for (auto& [k, val] : members) sorted.emplace(k, std::move(val));
  o = std::move(sorted);
}

std::shared_ptr<spdlog::logger> LogOf(const Services& s) {
  return s.log ? s.log : spdlog::default_logger();
}

}  // namespace

std::string CanonicalJson(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return std::string(body);
  Canonicalize(v);
  return json::serialize(v);
}

std::string Fingerprint(std::string_view method, std::string_view path, std::string_view actor,
                        std::string_view body) {
  std::string input;
  input.reserve(method.size() + path.size() + actor.size() + body.size() + 3);
  input.append(method).append(1, '\n').append(path).append(1, '\n').append(actor).append(1, '\n');
  input.append(CanonicalJson(body));
  return ToHex(Sha256(input));
}

Result<std::optional<uint64_t>> ParseIfMatch(std::optional<std::string_view> header) {
  if (!header) return std::optional<uint64_t>();
  std::string_view v = *header;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v == "*") return std::optional<uint64_t>();
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
    return Error(ErrorCode::kInvalidField,
                 "If-Match: must be an account stream version such as \"3\"");
  }
  return std::optional<uint64_t>(n);
}

Result<commands::CommandMeta> MetaOf(const HttpRequest& request, const RequestContext& ctx) {
  commands::CommandMeta meta;
  meta.correlation_id = ctx.request_id;
  if (auto key = request.Header("idempotency-key")) {
    if (key->empty() || key->size() > 256) {
      return Error(ErrorCode::kInvalidField, "Idempotency-Key: must be 1 to 256 characters");
    }
    meta.idempotency_key = std::string(*key);
    meta.fingerprint = Fingerprint(gateway::MethodName(request.method), request.path,
                                   ctx.principal.Actor(), request.body);
  }
  auto if_match = ParseIfMatch(request.Header("if-match"));
  if (!if_match) return if_match.error();
  meta.if_match = *if_match;
  return meta;
}

namespace {

// The command answer: {events, position, version, …render}, ETag and the replay flag.
HttpResponse CommandAnswer(const commands::CommandResult& r, int success_status,
                           const Render& render) {
  json::array appended;
  for (const auto& e : r.events) {
    appended.push_back(json::object{{"position", e.position}, {"type", events::TypeName(e.type)}});
  }
  json::object body;
  body["events"] = std::move(appended);
  body["position"] = r.position;
  body["version"] = r.version;
  if (render) render(body, r);
  HttpResponse response = gateway::JsonResponse(success_status, body);
  if (r.stream != commands::kPrivacyStream) {
    response.WithHeader("ETag", "\"" + std::to_string(r.version) + "\"");
  }
  if (r.deduplicated) response.WithHeader("Idempotent-Replayed", "true");
  return response;
}

}  // namespace

HttpResponse RunCommand(Services& services, const HttpRequest& request,
                        const RequestContext& ctx, commands::Command command, int success_status,
                        const Render& render) {
  auto meta = MetaOf(request, ctx);
  if (!meta) return gateway::ProblemResponse(meta.error());
  // Deferred: the handler decides on this thread and appends asynchronously; the answer
  // is sent from the log's completion once the projections have applied it, and no
  // thread waits meanwhile.
  return gateway::Deferred([&services, command = std::move(command), meta = std::move(*meta),
                            actor = ActorOf(ctx.principal), request_id = ctx.request_id,
                            success_status, render](gateway::Respond respond) {
    services.handler.ExecuteAsync(
        command, actor, meta,
        [&services, request_id, success_status, render,
         respond = std::move(respond)](Result<commands::CommandResult> result) {
          if (!result) return respond(gateway::ProblemResponse(result.error()));
          // Read-your-writes: answer once a query would see the command.
          const uint64_t position = result->position;
          services.engine.WhenApplied(
              position, services.options.read_your_writes_timeout,
              [&services, request_id, success_status, render, respond,
               r = std::move(result).value()](bool applied) {
                if (!applied) {
                  LogOf(services)->warn(
                      "request {}: projections at position {} did not reach {} within {} ms; "
                      "answering anyway",
                      request_id, services.engine.position(), r.position,
                      services.options.read_your_writes_timeout.count());
                }
                respond(CommandAnswer(r, success_status, render));
              });
        });
  });
}

// ---- queries ----

void QueryReader::Fail(Status status) {
  if (status_.ok()) status_ = std::move(status);
}

std::string QueryReader::Required(std::string_view name) {
  auto v = request_.Query(name);
  if (!v || v->empty()) {
    Fail(Error(ErrorCode::kInvalidField, std::string(name) + ": query parameter required"));
    return {};
  }
  return std::string(*v);
}

std::optional<std::string> QueryReader::Optional(std::string_view name) {
  auto v = request_.Query(name);
  if (!v || v->empty()) return std::nullopt;
  return std::string(*v);
}

std::string QueryReader::Enum(std::string_view name, const std::vector<std::string_view>& allowed,
                              std::string_view fallback) {
  auto v = request_.Query(name);
  if (!v) return std::string(fallback);
  if (std::find(allowed.begin(), allowed.end(), *v) != allowed.end()) return std::string(*v);
  std::string list;
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) list += ", ";
    list += allowed[i];
  }
  Fail(Error(ErrorCode::kInvalidField, std::string(name) + ": \"" +
                                           std::string(v->substr(0, 64)) + "\" is not one of " +
                                           list));
  return std::string(fallback);
}

std::optional<uint64_t> QueryReader::Uint(std::string_view name, uint64_t min, uint64_t max) {
  auto v = request_.Query(name);
  if (!v) return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size() || n < min || n > max) {
    Fail(Error(ErrorCode::kInvalidField, std::string(name) + ": must be an integer from " +
                                             std::to_string(min) + " to " + std::to_string(max)));
    return std::nullopt;
  }
  return n;
}

std::optional<Micros> QueryReader::Time(std::string_view name) {
  auto v = request_.Query(name);
  if (!v) return std::nullopt;
  auto t = ParseRfc3339(*v);
  if (!t) {
    Fail(Error(ErrorCode::kInvalidField,
               std::string(name) + ": must be an RFC 3339 time such as 2026-11-22T10:00:00Z"));
  }
  return t;
}

projections::AsOf QueryReader::AsOf() {
  auto at = Time("at");
  auto at_position = Uint("at_position", 0, UINT64_MAX);
  if (at && at_position) {
    Fail(Error(ErrorCode::kInvalidField, "at_position: give either at or at_position, not both"));
    return projections::AsOf::Live();
  }
  if (at) return projections::AsOf::Time(*at);
  if (at_position) return projections::AsOf::Position(*at_position);
  return projections::AsOf::Live();
}

projections::PageRequest QueryReader::Page() {
  projections::PageRequest page;
  page.limit = Uint("limit", 1, projections::kMaxLimit).value_or(projections::kDefaultLimit);
  if (auto cursor = request_.Query("cursor"); cursor && !cursor->empty()) {
    uint64_t ignored = 0;
    if (!projections::DecodeCursor(*cursor, &ignored)) {
      Fail(Error(ErrorCode::kInvalidField, "cursor: not a cursor this server issued"));
    } else {
      page.cursor = std::string(*cursor);
    }
  }
  return page;
}

void AwaitStartupCatchUp(Services& services) {
  if (services.engine.position() >= services.head_at_start) return;
  services.engine.WaitFor(services.head_at_start, services.options.startup_catch_up_timeout);
}

gateway::Handler Query(Services& services, gateway::Handler handler) {
  return [&services, handler = std::move(handler)](const HttpRequest& request,
                                                   const PathParams& params,
                                                   RequestContext& ctx) {
    AwaitStartupCatchUp(services);
    return handler(request, params, ctx);
  };
}

std::function<bool(const HttpRequest&)> LiveQueryInline(Services& services) {
  return [&services](const HttpRequest& request) {
    return services.engine.position() >= services.head_at_start && !request.Query("at") &&
           !request.Query("at_position");
  };
}

std::vector<gateway::ParamDoc> AsOfParams() {
  return {{"at", "Past moment: the state after the last event recorded at or before this "
                 "RFC 3339 time"},
          {"at_position", "Past moment: the state right after the event at this position",
           false, "integer"}};
}

std::vector<gateway::ParamDoc> PageParams() {
  return {{"limit", "Page size, 1..1000 (default 100)", false, "integer"},
          {"cursor", "Opaque cursor from a previous answer's next_cursor"}};
}

// ---- read authorization ----

namespace {
Status Forbidden(std::string detail) { return Error(ErrorCode::kForbidden, std::move(detail)); }
}  // namespace

Status RequireSelf(const Principal& principal, std::string_view user_id, std::string_view field) {
  if (!principal.is_user() || principal.user_id == user_id) return Status::Ok();
  return Forbidden(std::string(field) + ": user " + principal.user_id +
                   " may only read their own " + "data, not " + std::string(user_id) + "'s");
}

bool HoldsInWorkspace(Services& services, std::string_view user, std::string_view workspace,
                      std::string_view permission) {
  // TODO(perf): UserAccess lists every workspace of the user with its permissions; a
  // scope-free Engine::Holds(user, workspace, permission) would answer in O(1).
  projections::UserAccessResult access = services.engine.UserAccess(user);
  for (const projections::WorkspaceAccess& w : access.workspaces) {
    if (w.workspace_id != workspace) continue;
    if (std::find(w.permissions.begin(), w.permissions.end(), permission) != w.permissions.end()) {
      return true;
    }
  }
  return false;
}

Status RequireInWorkspace(Services& services, const Principal& principal,
                          std::string_view workspace, std::string_view permission) {
  if (!principal.is_user()) return Status::Ok();
  if (HoldsInWorkspace(services, principal.user_id, workspace, permission)) return Status::Ok();
  return Forbidden("workspace_id: user " + principal.user_id + " does not hold " +
                   std::string(permission) + " in workspace " +
                   std::string(workspace.substr(0, 128)));
}

std::optional<std::string> AccountRoleOf(Services& services, std::string_view user,
                                         std::string_view account) {
  auto view = services.engine.Account(account);
  if (!view) return std::nullopt;
  for (const auto& m : view->members) {
    if (m.user_id == user) return m.role;
  }
  return std::nullopt;
}

Status RequireAccountMember(Services& services, const Principal& principal,
                            std::string_view account, std::string_view permission) {
  if (!principal.is_user()) return Status::Ok();
  auto role = AccountRoleOf(services, principal.user_id, account);
  if (role) {
    if (permission.empty()) return Status::Ok();
    const policy::Patterns* patterns = policy::AccountRole(*role);
    if (patterns != nullptr && policy::PatternsAllow(*patterns, permission)) return Status::Ok();
  }
  return Forbidden("account_id: user " + principal.user_id + " is not an account member of " +
                   std::string(account.substr(0, 128)) +
                   (permission.empty() ? "" : " holding " + std::string(permission)));
}

}  // namespace roster::api
