#include <gtest/gtest.h>

#include <thread>

#include "gateway/metrics.h"

namespace roster::gateway {
namespace {

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(Metrics, RendersCountersGaugesAndLabels) {
  MetricsRegistry r;
  CounterFamily& requests = r.AddCounter("t_requests_total", "Requests", {"route", "status"});
  requests.Labels({"/a", "200"}).Inc();
  requests.Labels({"/a", "200"}).Inc(2);
  requests.Labels({"/b \"q\"\\\n", "500"}).Inc();
  r.AddGauge("t_open", "Open things").Labels().Set(3.5);
  std::string text = r.Render();
  EXPECT_TRUE(Contains(text, "# HELP t_requests_total Requests\n# TYPE t_requests_total counter\n"));
  EXPECT_TRUE(Contains(text, "t_requests_total{route=\"/a\",status=\"200\"} 3\n"));
  EXPECT_TRUE(Contains(text, "t_requests_total{route=\"/b \\\"q\\\"\\\\\\n\",status=\"500\"} 1\n"));
  EXPECT_TRUE(Contains(text, "# TYPE t_open gauge\nt_open 3.5\n"));
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry r;
  Histogram& h = r.AddHistogram("t_seconds", "Latency", {"route"}, {0.125, 1}).Labels({"/x"});
  h.Observe(0.0625);
  h.Observe(0.125);  // le is inclusive
  h.Observe(0.5);
  h.Observe(7);
  std::string text = r.Render();
  EXPECT_TRUE(Contains(text, "# TYPE t_seconds histogram\n"));
  EXPECT_TRUE(Contains(text, "t_seconds_bucket{route=\"/x\",le=\"0.125\"} 2\n"));
  EXPECT_TRUE(Contains(text, "t_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"));
  EXPECT_TRUE(Contains(text, "t_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"));
  EXPECT_TRUE(Contains(text, "t_seconds_sum{route=\"/x\"} 7.6875\n"));
  EXPECT_TRUE(Contains(text, "t_seconds_count{route=\"/x\"} 4\n"));
}

TEST(Metrics, CallbacksAreReadAtScrapeTime) {
  MetricsRegistry r;
  double lag = 1;
  r.AddCallback(MetricType::kGauge, "t_lag", "Projection lag", {{"projection", "access"}},
                [&] { return lag; });
  r.AddCallback(MetricType::kGauge, "t_lag", "Projection lag", {{"projection", "audit"}},
                [] { return 0.0; });
  r.AddCallback(MetricType::kCounter, "t_fsyncs_total", "Fsyncs", {}, [] { return 12.0; });
  lag = 5;
  std::string text = r.Render();
  EXPECT_TRUE(Contains(text, "t_lag{projection=\"access\"} 5\n"));
  EXPECT_TRUE(Contains(text, "t_lag{projection=\"audit\"} 0\n"));
  EXPECT_TRUE(Contains(text, "# TYPE t_fsyncs_total counter\nt_fsyncs_total 12\n"));
  // One HELP/TYPE block per name.
  EXPECT_EQ(text.find("# TYPE t_lag"), text.rfind("# TYPE t_lag"));
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry r;
  CounterFamily& c = r.AddCounter("t_total", "n", {"k"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, t] {
      for (int i = 0; i < 10000; ++i) c.Labels({i % 2 == 0 ? "even" : "odd"}).Inc();
      (void)t;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Labels({"even"}).Value() + c.Labels({"odd"}).Value(), 40000u);
}

TEST(Metrics, HttpMetricsNamesAndLabels) {
  MetricsRegistry r;
  HttpMetrics http(r);
  http.ObserveRequest("/v1/workspaces/{w}", "GET", 200, 0.003);
  http.open_connections.Add(1);
  std::string text = r.Render();
  EXPECT_TRUE(Contains(
      text, "roster_http_requests_total{route=\"/v1/workspaces/{w}\",method=\"GET\",status=\"200\"} 1\n"));
  EXPECT_TRUE(Contains(
      text, "roster_http_request_duration_seconds_bucket{route=\"/v1/workspaces/{w}\",le=\"0.005\"} 1\n"));
  EXPECT_TRUE(Contains(text, "roster_http_open_connections 1\n"));
}

TEST(MetricsDeathTest, DuplicateNameAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        MetricsRegistry r;
        r.AddCounter("dup_total", "a");
        r.AddCounter("dup_total", "b");
      },
      "registered twice");
}

}  // namespace
}  // namespace roster::gateway
