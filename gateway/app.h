// The HTTP application assembled: router, authenticator, metrics, dispatcher and server,
// with the operations endpoints already registered. main() builds one App, registers the
// API routes on router(), wires readiness and metrics callbacks, then Listen() and Run().
//
//   gateway::App app({.server = {...}, .auth = {...}, .version = "0.1.0"});
//   api::RegisterRoutes(app.router(), ...);            // before Listen()
//   app.SetReadiness([&] { return projections.CaughtUp(); });
//   if (Status st = app.Listen(); !st.ok()) ...;
//   app.Run();                                          // until Stop()
//
// Operations endpoints (no authentication):
//   GET /health        200 {"status":"ok"} while the process serves
//   GET /ready         200 {"status":"ready", …details} when the readiness callback says so,
//                      else 503 {"status":"starting", …details} with Retry-After: 1
//   GET /metrics       Prometheus text format 0.0.4
//   GET /openapi.json  OpenAPI 3.1 of every registered route
// And, authenticated: GET /v1/whoami → the caller's principal.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "base/status.h"
#include "gateway/auth.h"
#include "gateway/dispatcher.h"
#include "gateway/metrics.h"
#include "gateway/router.h"
#include "gateway/server.h"

namespace roster::gateway {

struct AppOptions {
  ServerOptions server;
  AuthOptions auth;
  std::vector<std::string> cors_origins;  // see DispatcherOptions::cors_origins
  std::string version = "0.0.0";          // shown in /openapi.json and /health
  // Application log and access log. nullptr: spdlog's default logger.
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<spdlog::logger> access_log;
  // Registers /_test/* routes (sleep, stream, echo) for the end-to-end tests. Never in
  // production: they let anyone hold a worker or a stream thread.
  bool test_routes = false;
};

class App {
 public:
  explicit App(AppOptions options);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Register routes here before Listen(); read-only afterwards.
  Router& router() { return router_; }
  MetricsRegistry& metrics() { return registry_; }
  const Authenticator& authenticator() const { return auth_; }
  Dispatcher& dispatcher() { return dispatcher_; }

  // Decides /ready. Called on worker threads: must be thread-safe and quick. `details`,
  // when set, adds members to the /ready answer (e.g. {"position": 42, "lag": 0}).
  // Default: always ready. Set before Listen().
  void SetReadiness(std::function<bool()> ready,
                    std::function<boost::json::object()> details = nullptr);

  // Builds the server and binds. kIoError (address in use, …) or kInvalidField (bad address).
  Status Listen();
  uint16_t port() const;
  std::string endpoint() const;
  // Serves until Stop() completes. Requires a successful Listen().
  void Run();
  // Graceful stop from any thread; see Server::Stop.
  void Stop();

 private:
  void RegisterOperationsRoutes();
  void RegisterTestRoutes();

  AppOptions options_;
  MetricsRegistry registry_;
  HttpMetrics http_metrics_;
  Authenticator auth_;
  Router router_;
  Dispatcher dispatcher_;
  std::function<bool()> ready_;
  std::function<boost::json::object()> ready_details_;
  std::once_flag openapi_once_;
  std::string openapi_;  // rendered on first request, when the route table is final
  std::unique_ptr<Server> server_;
};

}  // namespace roster::gateway
