// A small Prometheus registry: counters, gauges and fixed-bucket histograms with labels,
// plus metrics read through callbacks at scrape time (for other layers: appends, fsyncs,
// projection lag). Render() produces the text exposition format 0.0.4.
//
// Hot path: a labelled child is found under a shared (reader) lock, then updated with a
// relaxed atomic; callers on hot paths may keep the child's reference, which stays valid
// for the registry's lifetime. Registration takes an exclusive lock and is meant for
// start-up. Every method is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roster::gateway {

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: strictly increasing upper bounds; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (= count)
    double sum = 0;
  };
  Snapshot Take() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Default latency buckets (seconds): 0.5 ms … 10 s.
std::vector<double> DefaultLatencyBuckets();

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

// One metric name with its label names, and one child per distinct label-value tuple.
template <class M>
class Family {
 public:
  // The child for these label values (one per label name, in order); created on first
  // use. The reference stays valid for the registry's lifetime.
  M& Labels(const std::vector<std::string_view>& values);
  M& Labels() { return Labels(std::vector<std::string_view>{}); }

 private:
  friend class MetricsRegistry;
  Family(std::vector<std::string> label_names, std::function<std::unique_ptr<M>()> make)
      : label_names_(std::move(label_names)), make_(std::move(make)) {}

  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<M>()> make_;
  mutable std::shared_mutex mu_;
  // Key: label values joined by '\x1f'; value: (values, child).
  std::map<std::string, std::pair<std::vector<std::string>, std::unique_ptr<M>>, std::less<>>
      children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering a name twice is a bug (asserted); names match [a-zA-Z_:][a-zA-Z0-9_:]*.
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names,
                                std::vector<double> bounds = DefaultLatencyBuckets());

  // A counter or gauge whose value `read` returns at scrape time (on the scraping thread;
  // it must be thread-safe, quick, and valid for the registry's lifetime). Several
  // callbacks may share a name with different labels ({name, value} pairs); they must
  // agree on the type and help.
  void AddCallback(MetricType type, std::string name, std::string help,
                   std::vector<std::pair<std::string, std::string>> labels,
                   std::function<double()> read);

  // Text format 0.0.4, families in registration order.
  std::string Render() const;

 private:
  struct Entry;
  mutable std::mutex mu_;  // guards entries_ (registration vs. render)
  std::vector<std::unique_ptr<Entry>> entries_;
  Entry* FindOrAdd(const std::string& name, MetricType type, const std::string& help,
                   bool allow_existing);
};

// The gateway's own metrics.
class HttpMetrics {
 public:
  explicit HttpMetrics(MetricsRegistry& registry);

  // One finished request: roster_http_requests_total{route,method,status} and
  // roster_http_request_duration_seconds{route}.
  void ObserveRequest(std::string_view route, std::string_view method, int status,
                      double seconds);

  Gauge& open_connections;         // roster_http_open_connections
  Counter& rejected_connections;   // roster_http_rejected_connections_total (over the cap)
  Counter& overloaded_requests;    // roster_http_overloaded_requests_total (worker queue full)
  Counter& dropped_streams;        // roster_http_dropped_streams_total (slow stream clients)

 private:
  CounterFamily& requests_;
  HistogramFamily& duration_;
};

// `text` with backslash, double quote and newline escaped for a label value.
std::string EscapeLabelValue(std::string_view text);

// ---------------------------------------------------------------------------------------

template <class M>
M& Family<M>::Labels(const std::vector<std::string_view>& values) {
  std::string key;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) key += '\x1f';
    key += values[i];
  }
  {
    std::shared_lock lock(mu_);
    auto it = children_.find(key);
    if (it != children_.end()) return *it->second.second;
  }
  std::unique_lock lock(mu_);
  auto it = children_.find(key);
  if (it != children_.end()) return *it->second.second;
  std::vector<std::string> owned(values.begin(), values.end());
  owned.resize(label_names_.size());  // a wrong arity is a bug; keep rendering sane
  auto [pos, inserted] = children_.emplace(std::move(key), std::make_pair(std::move(owned), make_()));
  return *pos->second.second;
}

}  // namespace roster::gateway
