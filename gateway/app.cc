#include "gateway/app.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "gateway/json_body.h"

namespace roster::gateway {

App::App(AppOptions options)
    : options_(std::move(options)),
      http_metrics_(registry_),
      auth_(options_.auth),
      dispatcher_(router_, auth_, http_metrics_,
                  DispatcherOptions{.cors_origins = options_.cors_origins,
                                    .access_log = options_.access_log,
                                    .error_log = options_.log}) {
  options_.auth.service_key.clear();  // the Authenticator keeps only its hash
  options_.auth.jwt_secret.clear();
  if (!options_.server.log) options_.server.log = options_.log;
  RegisterOperationsRoutes();
  if (options_.test_routes) RegisterTestRoutes();
}

App::~App() = default;

void App::SetReadiness(std::function<bool()> ready,
                       std::function<boost::json::object()> details) {
  ready_ = std::move(ready);
  ready_details_ = std::move(details);
}

Status App::Listen() {
  server_ = std::make_unique<Server>(options_.server, dispatcher_, http_metrics_);
  return server_->Listen();
}

uint16_t App::port() const { return server_ ? server_->port() : 0; }
std::string App::endpoint() const { return server_ ? server_->endpoint() : std::string(); }

void App::Run() {
  assert(server_ && "App::Run before a successful Listen");
  server_->Run();
}

void App::Stop() {
  if (server_) server_->Stop();
}

void App::RegisterOperationsRoutes() {
  router_.Add(Method::kGet, "/health",
              {.summary = "Liveness: 200 while the process serves",
               .auth = AuthRequirement::kNone,
               .tag = "operations",
               .run_inline = AlwaysInline},
              [](const HttpRequest&, const PathParams&, RequestContext&) {
                return JsonResponse(200, {{"status", "ok"}});
              });

  router_.Add(Method::kGet, "/ready",
              {.summary = "Readiness: 200 once projections have caught up, else 503",
               .auth = AuthRequirement::kNone,
               .tag = "operations",
               .run_inline = AlwaysInline},
              [this](const HttpRequest&, const PathParams&, RequestContext&) {
                bool ready = !ready_ || ready_();
                boost::json::object body;
                body["status"] = ready ? "ready" : "starting";
                if (ready_details_) {
                  for (auto& member : ready_details_()) {
                    if (member.key() != "status") body[member.key()] = member.value();
                  }
                }
                HttpResponse response = JsonResponse(ready ? 200 : 503, body);
                if (!ready) response.headers.emplace_back("Retry-After", "1");
                return response;
              });

  router_.Add(Method::kGet, "/metrics",
              {.summary = "Prometheus metrics (text format 0.0.4)",
               .auth = AuthRequirement::kNone,
               .tag = "operations",
               .response_type = "text/plain"},
              [this](const HttpRequest&, const PathParams&, RequestContext&) {
                HttpResponse response;
                response.content_type = "text/plain; version=0.0.4; charset=utf-8";
                response.body = registry_.Render();
                return response;
              });

  router_.Add(Method::kGet, "/openapi.json",
              {.summary = "This API described in OpenAPI 3.1",
               .auth = AuthRequirement::kNone,
               .tag = "operations"},
              [this](const HttpRequest&, const PathParams&, RequestContext&) {
                // The route table is frozen once the server runs: render it once.
                std::call_once(openapi_once_, [this] {
                  openapi_ = boost::json::serialize(router_.OpenApi(
                      {.title = "Roster API",
                       .version = options_.version,
                       .description = "Event-sourced membership ledger. Errors are RFC 9457 "
                                      "problem documents with a machine-readable `code`."}));
                });
                HttpResponse response;
                response.body = openapi_;
                return response;
              });

  router_.Add(Method::kGet, "/v1/whoami",
              {.summary = "The authenticated caller",
               .tag = "operations",
               .run_inline = AlwaysInline},
              [](const HttpRequest&, const PathParams&, RequestContext& ctx) {
                const Principal& p = ctx.principal;
                boost::json::object body;
                body["actor"] = p.Actor();
                body["kind"] = p.is_service() ? "service" : "user";
                if (p.is_user()) {
                  body["user_id"] = p.user_id;
                  body["email"] = p.email;
                }
                body["delegated"] = p.delegated;
                return JsonResponse(200, body);
              });
}

void App::RegisterTestRoutes() {
  router_.Add(Method::kGet, "/_test/sleep",
              {.summary = "Test only: answers after ?ms= milliseconds (max 60000)",
               .auth = AuthRequirement::kNone,
               .tag = "test"},
              [](const HttpRequest& req, const PathParams&, RequestContext&) {
                int64_t ms = 0;
                if (auto v = req.Query("ms")) ms = std::strtoll(std::string(*v).c_str(), nullptr, 10);
                ms = std::clamp<int64_t>(ms, 0, 60'000);
                std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                return JsonResponse(200, {{"slept_ms", ms}});
              });

  router_.Add(Method::kGet, "/_test/stream",
              {.summary = "Test only: streams ?chunks= lines of ?bytes= bytes every "
                          "?interval_ms=; ?forever=1 streams until the server stops",
               .auth = AuthRequirement::kNone,
               .tag = "test",
               .response_type = "text/plain"},
              [](const HttpRequest& req, const PathParams&, RequestContext&) {
                auto number = [&](std::string_view name, int64_t def, int64_t max) {
                  auto v = req.Query(name);
                  if (!v) return def;
                  return std::clamp<int64_t>(std::strtoll(std::string(*v).c_str(), nullptr, 10),
                                             0, max);
                };
                int64_t chunks = number("chunks", 3, 1'000'000);
                int64_t bytes = number("bytes", 16, 1 << 20);
                int64_t interval = number("interval_ms", 0, 10'000);
                bool forever = req.Query("forever").value_or("") == "1";
                return StreamResponse("text/plain", [=](StreamSink& sink) {
                  for (int64_t i = 0; forever || i < chunks; ++i) {
                    if (forever && sink.ShouldStop()) return;
                    std::string line(static_cast<size_t>(bytes), 'x');
                    line += '\n';
                    if (!sink.Write(std::move(line))) return;
                    if (interval > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval));
                  }
                });
              });

  router_.Add(Method::kPost, "/_test/echo",
              {.summary = "Test only: parses the JSON body and echoes it with the caller",
               .tag = "test",
               .request_body = "any JSON object"},
              [](const HttpRequest& req, const PathParams&, RequestContext& ctx) {
                Result<boost::json::object> body = ParseJsonObject(req.body);
                if (!body) return ProblemResponse(body.error());
                return JsonResponse(200, {{"actor", ctx.principal.Actor()},
                                          {"bytes", req.body.size()},
                                          {"body", *body}});
              });
}

}  // namespace roster::gateway
