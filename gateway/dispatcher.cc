#include "gateway/dispatcher.h"

#include <atomic>
#include <exception>

#include <spdlog/spdlog.h>

#include "base/crypto.h"
#include "base/latch.h"

namespace roster::gateway {
namespace {

constexpr std::string_view kAllowHeaders =
    "Authorization, Content-Type, Idempotency-Key, If-Match, Roster-Actor, Roster-Actor-Email, "
    "X-Request-Id";
constexpr std::string_view kExposeHeaders = "X-Request-Id, Location, ETag, Retry-After";

bool SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string JoinMethods(const std::vector<Method>& methods) {
  std::string out;
  for (size_t i = 0; i < methods.size(); ++i) {
    if (i > 0) out += ", ";
    out += MethodName(methods[i]);
  }
  return out;
}

std::string ActorLabel(const Principal& p) {
  if (p.kind == Principal::Kind::kAnonymous) return "-";
  if (p.delegated) return "service/" + p.Actor();
  return p.Actor();
}

}  // namespace

Dispatcher::Dispatcher(const Router& router, const Authenticator& auth, HttpMetrics& metrics,
                       DispatcherOptions options)
    : router_(router), auth_(auth), metrics_(metrics), options_(std::move(options)) {
  if (!options_.access_log) options_.access_log = spdlog::default_logger();
  if (!options_.error_log) options_.error_log = spdlog::default_logger();
}

std::string Dispatcher::RequestIdFor(const HttpRequest& request) {
  if (auto id = request.Header("x-request-id"); id && SaneRequestId(*id)) {
    return std::string(*id);
  }
  return Base64UrlEncode(BufferedRandomBytes(12));  // 16 characters
}

bool Dispatcher::OriginAllowed(std::string_view origin) const {
  for (const std::string& o : options_.cors_origins) {
    if (o == origin) return true;
  }
  return false;
}

void Dispatcher::Decorate(const HttpRequest& request, HttpResponse* response) const {
  Decorate(request.request_id, request.Header("origin"), response);
}

void Dispatcher::Decorate(std::string_view request_id, std::optional<std::string_view> origin,
                          HttpResponse* response) const {
  response->headers.emplace_back("X-Request-Id", std::string(request_id));
  if (!options_.cors_origins.empty()) {
    if (origin && OriginAllowed(*origin) && !response->Header("Access-Control-Allow-Origin")) {
      response->headers.emplace_back("Access-Control-Allow-Origin", std::string(*origin));
      response->headers.emplace_back("Access-Control-Expose-Headers",
                                     std::string(kExposeHeaders));
    }
    response->headers.emplace_back("Vary", "Origin");
  }
  if (!response->Header("Cache-Control")) {
    response->headers.emplace_back("Cache-Control", "no-store");
  }
}

std::optional<Outcome> Dispatcher::Preflight(HttpRequest& request) {
  // CORS preflight from an allowed origin, for a path we serve.
  if (request.method != Method::kOptions || options_.cors_origins.empty()) return std::nullopt;
  auto origin = request.Header("origin");
  auto wanted = request.Header("access-control-request-method");
  if (!origin || !wanted || !OriginAllowed(*origin)) return std::nullopt;
  std::vector<Method> methods = router_.AllowedMethods(request.path);
  if (methods.empty()) return std::nullopt;
  Outcome out;
  out.route = "preflight";
  out.response.status = 204;
  out.response.content_type.clear();
  out.response.headers = {
      {"Access-Control-Allow-Origin", std::string(*origin)},
      {"Access-Control-Allow-Methods", JoinMethods(methods)},
      {"Access-Control-Allow-Headers", std::string(kAllowHeaders)},
      {"Access-Control-Max-Age", "600"},
  };
  Decorate(request, &out.response);
  return out;
}

Outcome Dispatcher::Begin(HttpRequest& request, std::chrono::steady_clock::time_point received) {
  request.request_id = RequestIdFor(request);
  if (std::optional<Outcome> preflight = Preflight(request)) return std::move(*preflight);
  return HandleMatched(request, received, router_.Match(request.method, request.path));
}

Outcome Dispatcher::Handle(HttpRequest& request, std::chrono::steady_clock::time_point received) {
  Outcome out = Begin(request, received);
  if (!out.response.deferred) return out;
  Latch<Outcome> answered;
  Resume(request, std::move(out), [&answered](Outcome o) { answered.Set(std::move(o)); });
  return answered.Wait();
}

HttpResponse Dispatcher::InternalError(std::string_view request_id) {
  return ProblemResponse(Error(ErrorCode::kInternal,
                               "internal error (request id " + std::string(request_id) + ")"));
}

void Dispatcher::Resume(const HttpRequest& request, Outcome pending,
                        std::function<void(Outcome)> done) {
  // Shared by every copy of the Respond: answers once, and 500 if the last copy is
  // dropped unanswered (a bug in the deferred work must not hang the connection).
  struct Answer {
    const Dispatcher* dispatcher;
    std::string request_id;
    std::optional<std::string> origin;
    Outcome outcome;
    std::function<void(Outcome)> done;
    std::atomic<bool> answered{false};

    void Give(HttpResponse response) {
      if (answered.exchange(true)) {
        dispatcher->options_.error_log->error("deferred response answered twice: route={} rid={}",
                                              outcome.route, request_id);
        return;
      }
      if (response.deferred) {
        dispatcher->options_.error_log->error("deferred response answered with another: "
                                              "route={} rid={}", outcome.route, request_id);
        response = InternalError(request_id);
      }
      outcome.response = std::move(response);
      dispatcher->Decorate(request_id, origin, &outcome.response);
      done(std::move(outcome));
    }
    ~Answer() {
      if (answered.load()) return;
      try {
        dispatcher->options_.error_log->error("deferred response dropped unanswered: route={} "
                                              "rid={}", outcome.route, request_id);
        Give(InternalError(request_id));
      } catch (...) {
      }
    }
  };
  auto answer = std::make_shared<Answer>();
  answer->dispatcher = this;
  answer->request_id = request.request_id;
  if (auto origin = request.Header("origin")) answer->origin = std::string(*origin);
  DeferredStart start = std::move(pending.response.deferred);
  answer->outcome = std::move(pending);
  answer->outcome.response = HttpResponse{};
  answer->done = std::move(done);
  Respond respond = [answer](HttpResponse response) { answer->Give(std::move(response)); };
  try {
    start(std::move(respond));
  } catch (const std::exception& e) {
    options_.error_log->error("deferred start threw: route={} rid={} what={}",
                              answer->outcome.route, answer->request_id, e.what());
    if (!answer->answered.load()) answer->Give(InternalError(answer->request_id));
  } catch (...) {
    options_.error_log->error("deferred start threw a non-standard exception: route={} rid={}",
                              answer->outcome.route, answer->request_id);
    if (!answer->answered.load()) answer->Give(InternalError(answer->request_id));
  }
}

std::optional<Outcome> Dispatcher::TryHandleInline(
    HttpRequest& request, std::chrono::steady_clock::time_point received) {
  if (request.method == Method::kOptions) return std::nullopt;  // rare: the worker decides
  RouteMatch match = router_.Match(request.method, request.path);
  if (match.route != nullptr &&
      !(match.route->info.run_inline && match.route->info.run_inline(request))) {
    return std::nullopt;
  }
  request.request_id = RequestIdFor(request);
  return HandleMatched(request, received, std::move(match));
}

Outcome Dispatcher::HandleMatched(HttpRequest& request,
                                  std::chrono::steady_clock::time_point received,
                                  RouteMatch match) {
  Outcome out;
  out.route = match.pattern;
  if (match.route == nullptr) {
    out.response = ProblemResponse(match.error);
    if (!match.allow.empty()) out.response.headers.emplace_back("Allow", match.allow);
    Decorate(request, &out.response);
    return out;
  }

  RequestContext ctx;
  ctx.request_id = request.request_id;
  ctx.route = match.pattern;
  ctx.received = received;
  if (match.route->info.auth != AuthRequirement::kNone) {
    Result<Principal> principal = auth_.Authenticate(request);
    if (!principal) {
      out.response = ProblemResponse(principal.error());
      if (principal.error().code() == ErrorCode::kUnauthenticated) {
        out.response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"roster\"");
      }
      Decorate(request, &out.response);
      return out;
    }
    ctx.principal = std::move(*principal);
    out.actor = ActorLabel(ctx.principal);
    if (match.route->info.auth == AuthRequirement::kService &&
        !ctx.principal.has_service_credential()) {
      out.response =
          ProblemResponse(Error(ErrorCode::kForbidden, "this endpoint requires the service key"));
      Decorate(request, &out.response);
      return out;
    }
  }

  // The session boundary for handler code: an exception here is a bug, answered 500.
  try {
    out.response = match.route->handler(request, match.params, ctx);
  } catch (const std::exception& e) {
    options_.error_log->error("handler threw: route={} rid={} what={}", out.route,
                              request.request_id, e.what());
    out.response = InternalError(request.request_id);
  } catch (...) {
    options_.error_log->error("handler threw a non-standard exception: route={} rid={}",
                              out.route, request.request_id);
    out.response = InternalError(request.request_id);
  }
  if (out.response.deferred) return out;  // Resume() decorates the final answer

  if (out.response.stream) {
    // A producer that throws ends its stream early (the status is already on the wire).
    StreamProducer inner = std::move(out.response.stream);
    std::shared_ptr<spdlog::logger> log = options_.error_log;
    out.response.stream = [inner = std::move(inner), log, route = out.route,
                           rid = request.request_id](StreamSink& sink) {
      try {
        inner(sink);
      } catch (const std::exception& e) {
        log->error("stream producer threw: route={} rid={} what={}", route, rid, e.what());
      } catch (...) {
        log->error("stream producer threw a non-standard exception: route={} rid={}", route,
                   rid);
      }
    };
  }
  Decorate(request, &out.response);
  return out;
}

Outcome Dispatcher::Reject(HttpRequest& request, HttpResponse response) {
  request.request_id = RequestIdFor(request);
  Outcome out;
  if (!request.path.empty()) out.route = router_.Match(request.method, request.path).pattern;
  out.response = std::move(response);
  Decorate(request, &out.response);
  return out;
}

void Dispatcher::Complete(const HttpRequest& request, const Outcome& outcome,
                          uint64_t body_bytes, double seconds, bool aborted) {
  std::string_view method = request.method == Method::kOther ? std::string_view("OTHER")
                                                             : MethodName(request.method);
  metrics_.ObserveRequest(outcome.route, method, outcome.response.status, seconds);
  options_.access_log->info("{} {} {} {:.3f}ms actor={} rid={} bytes={} remote={}{}",
                            request.method_name.empty() ? method : request.method_name,
                            outcome.route, outcome.response.status, seconds * 1000.0,
                            outcome.actor, request.request_id, body_bytes,
                            request.remote_address, aborted ? " aborted" : "");
}

}  // namespace roster::gateway
