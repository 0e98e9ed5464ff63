// HTTP benchmark of the whole stack: the real rosterd (fsync on), keep-alive clients on
// loopback. Not a unit test: labelled "bench" (excluded from `make test`); run with
//   build/tests/api/api_bench            (or: ctest -L bench -R api_bench --verbose)
// Prints one table row per scenario: requests, seconds, requests/s, p50/p90/p99 latency.
// ROSTER_BENCH_SECONDS (default 3) sets each scenario's duration.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "tests/api/api_fixture.h"

namespace roster::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double Seconds() {
  const char* s = std::getenv("ROSTER_BENCH_SECONDS");
  return s != nullptr ? std::max(0.5, std::atof(s)) : 3.0;
}

struct Outcome {
  uint64_t requests = 0, failures = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
};

// Runs `threads` clients for the scenario duration; `request(thread, i, client)` returns
// whether the answer was the expected one.
template <class F>
Outcome RunScenario(uint16_t port, int threads, F request) {
  Outcome out;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      HttpClient client(port, "127.0.0.1", 30s);
      std::vector<double> mine;
      uint64_t failures = 0;
      for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        auto t0 = Clock::now();
        bool ok = request(t, i, client);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!ok) ++failures;
      }
      std::lock_guard lock(mu);
      out.latencies_ms.insert(out.latencies_ms.end(), mine.begin(), mine.end());
      out.failures += failures;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(Seconds()));
  stop = true;
  for (auto& t : pool) t.join();
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.requests = out.latencies_ms.size();
  return out;
}

void Report(const char* name, int threads, Outcome o) {
  std::sort(o.latencies_ms.begin(), o.latencies_ms.end());
  auto pct = [&](double p) {
    if (o.latencies_ms.empty()) return 0.0;
    size_t i = std::min(o.latencies_ms.size() - 1,
                        static_cast<size_t>(p * static_cast<double>(o.latencies_ms.size())));
    return o.latencies_ms[i];
  };
  std::printf("| %-44s | %3d | %7llu | %8.0f | %7.2f | %7.2f | %7.2f | %llu |\n", name, threads,
              static_cast<unsigned long long>(o.requests), static_cast<double>(o.requests) / o.seconds,
              pct(0.5), pct(0.9), pct(0.99), static_cast<unsigned long long>(o.failures));
  std::fflush(stdout);
  EXPECT_EQ(o.failures, 0u) << name;
}

HeaderList JsonService() {
  HeaderList h = Service();
  h.emplace_back("Content-Type", "application/json");
  return h;
}

class ApiBench : public ApiTest {};

TEST_F(ApiBench, CommandsAndQueriesOverHttp) {
  constexpr int kAccounts = 8;
  for (int a = 0; a < kAccounts; ++a) {
    OpenAccount("a" + std::to_string(a));
    CreateWorkspace("a" + std::to_string(a), "w" + std::to_string(a));
  }
  const uint16_t port = server().port();
  std::printf("\n| scenario | clients | requests | req/s | p50 ms | p90 ms | p99 ms | failures |\n"
              "|---|---|---|---|---|---|---|---|\n");

  auto invite = [](const std::string& ws, const std::string& email) {
    return [ws, email](HttpClient& c, int t, int i) {
      json::object body{{"email", email + std::to_string(t) + "-" + std::to_string(i) + "@example.com"},
                        {"role", "viewer"}};
      return c.Request("POST", "/v1/workspaces/" + ws + "/invitations", json::serialize(body),
                       JsonService())
                 .status == 201;
    };
  };
  for (int threads : {1, 8}) {
    auto cmd = invite("w0", "one" + std::to_string(threads) + "-");
    Report("POST invitation, one account (serialized)", threads,
           RunScenario(port, threads, [&](int t, int i, HttpClient& c) { return cmd(c, t, i); }));
  }
  for (int threads : {8, 16}) {
    Report("POST invitation, one account per client", threads,
           RunScenario(port, threads, [&](int t, int i, HttpClient& c) {
             std::string ws = "w" + std::to_string(t % kAccounts);
             return invite(ws, "spread" + std::to_string(threads) + "-")(c, t, i);
           }));
  }
  // Members for the checks.
  for (int i = 0; i < 50; ++i) AddMember("w0", "m" + std::to_string(i), i % 2 ? "editor" : "viewer");
  for (int threads : {1, 4}) {
    Report("GET /v1/check (live)", threads, RunScenario(port, threads, [&](int, int i, HttpClient& c) {
             std::string target = "/v1/check?principal=m" + std::to_string(i % 50) +
                                  "&permission=products.edit&workspace=w0";
             return c.Request("GET", target, {}, Service()).status == 200;
           }));
  }
  uint64_t mid = Head() / 2;
  Report("GET /v1/check (at_position, past)", 4, RunScenario(port, 4, [&](int, int i, HttpClient& c) {
           std::string target = "/v1/check?principal=m" + std::to_string(i % 50) +
                                "&permission=products.edit&workspace=w0&at_position=" +
                                std::to_string(mid);
           return c.Request("GET", target, {}, Service()).status == 200;
         }));
  json::array checks;
  for (int i = 0; i < 1000; ++i) {
    checks.push_back({{"principal", "m" + std::to_string(i % 50)},
                      {"workspace", "w0"},
                      {"permission", i % 3 ? "products.view" : "products.edit"}});
  }
  std::string bulk = json::serialize(json::object{{"checks", checks}});
  Report("POST /v1/check/bulk (1000 checks)", 2, RunScenario(port, 2, [&](int, int, HttpClient& c) {
           return c.Request("POST", "/v1/check/bulk", bulk, JsonService()).status == 200;
         }));
  Report("GET /v1/workspaces/w0/members (limit 100)", 4, RunScenario(port, 4, [&](int, int, HttpClient& c) {
           return c.Request("GET", "/v1/workspaces/w0/members", {}, Service()).status == 200;
         }));
  Report("GET /v1/audit?workspace=w0 (limit 100)", 4, RunScenario(port, 4, [&](int, int, HttpClient& c) {
           return c.Request("GET", "/v1/audit?workspace=w0", {}, Service()).status == 200;
         }));
  std::printf("\nledger head after the run: %llu events\n", static_cast<unsigned long long>(Head()));
}

}  // namespace
}  // namespace roster::testing
