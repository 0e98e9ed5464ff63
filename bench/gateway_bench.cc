// Gateway throughput and latency, measured two ways:
//   1. Router::Match over an API-sized route table (no sockets).
//   2. GET round trips over keep-alive connections to an in-process server on loopback:
//      requests/s and latency percentiles for 1 and 8 client threads.
// Numbers depend on the machine; the point is to notice regressions.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "gateway/app.h"
#include "tests/gateway/http_client.h"

namespace roster::gateway {
namespace {

using Clock = std::chrono::steady_clock;

void BenchRouter() {
  Router router;
  const char* patterns[] = {
      "/v1/accounts", "/v1/accounts/{a}", "/v1/accounts/{a}/members",
      "/v1/accounts/{a}/members/{user_id}", "/v1/accounts/{a}/workspaces", "/v1/workspaces/{w}",
      "/v1/workspaces/{w}/roles/{role}", "/v1/workspaces/{w}/members",
      "/v1/workspaces/{w}/members/{user_id}", "/v1/workspaces/{w}/invitations",
      "/v1/invitations/{id}/resend", "/v1/invitations/{id}", "/v1/invitations/accept",
      "/v1/workspaces/{w}/invite-link", "/v1/workspaces/{w}/invite-link/regenerate",
      "/v1/invite-links/join", "/v1/workspaces/{w}/partners", "/v1/partners/{p}",
      "/v1/partners/{p}/accept", "/v1/partners/{p}/suspend", "/v1/accounts/{a}/shares",
      "/v1/users/{u}/shares", "/v1/check", "/v1/check/bulk", "/v1/workspaces/{w}/access",
      "/v1/users/{u}/access", "/v1/workspaces/{w}/access-history", "/v1/audit",
      "/v1/audit/export", "/v1/users/{u}/activity", "/v1/events", "/v1/events/stream",
      "/v1/ledger/head", "/v1/ledger/verify", "/health", "/ready", "/metrics"};
  for (const char* p : patterns) {
    router.Add(Method::kGet, p, {}, [](const HttpRequest&, const PathParams&, RequestContext&) {
      return HttpResponse{};
    });
  }
  const char* paths[] = {"/v1/workspaces/w_123/members/u_456", "/v1/check", "/health",
                         "/v1/invitations/accept", "/v1/nope/nothing"};
  constexpr int kIterations = 500'000;
  size_t matched = 0;
  auto start = Clock::now();
  for (int i = 0; i < kIterations; ++i) {
    RouteMatch m = router.Match(Method::kGet, paths[i % 5]);
    matched += m.route != nullptr;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("router: %d matches over %zu routes in %.3f s: %.0f ns/match (%zu matched)\n",
              kIterations, std::size(patterns), seconds, seconds * 1e9 / kIterations, matched);
}

void BenchHttp(App& app, int threads, std::chrono::seconds duration) {
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(threads);
  std::atomic<int> errors{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      testing::HttpClient client(app.port());
      while (!stop.load(std::memory_order_relaxed)) {
        auto begin = Clock::now();
        testing::HttpResult r = client.Get("/health");
        if (r.status != 200) errors.fetch_add(1);
        latencies[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - begin).count());
      }
    });
  }
  std::this_thread::sleep_for(duration);
  stop.store(true);
  for (auto& c : clients) c.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0 : all[static_cast<size_t>(p * (all.size() - 1))]; };
  std::printf("http GET /health, %d keep-alive client thread(s): %.0f req/s, p50 %.0f us, "
              "p99 %.0f us, max %.0f us, errors %d\n",
              threads, all.size() / static_cast<double>(duration.count()), pct(0.5), pct(0.99),
              all.empty() ? 0 : all.back(), errors.load());
}

}  // namespace
}  // namespace roster::gateway

int main() {
  using namespace roster::gateway;
  BenchRouter();
  auto quiet = std::make_shared<spdlog::logger>("quiet", std::make_shared<spdlog::sinks::null_sink_mt>());
  App app({.server = {.address = "127.0.0.1", .port = 0, .io_threads = 2, .log = quiet},
           .auth = {.service_key = "bench"},
           .log = quiet,
           .access_log = quiet});
  if (roster::Status st = app.Listen(); !st.ok()) {
    std::fprintf(stderr, "listen: %s\n", st.ToString().c_str());
    return 1;
  }
  std::thread server([&] { app.Run(); });
  BenchHttp(app, 1, std::chrono::seconds(3));
  BenchHttp(app, 8, std::chrono::seconds(3));
  app.Stop();
  server.join();
  return 0;
}
