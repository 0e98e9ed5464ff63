#include "gateway/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <variant>

#include <fmt/format.h>

namespace roster::gateway {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  assert(std::is_sorted(bounds_.begin(), bounds_.end()));
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // Prometheus buckets are "less than or equal": the first bound >= v.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = acc;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string EscapeLabelValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

std::string EscapeHelp(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"} (empty when there are no labels), plus an optional extra pair (le).
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(i < values.size() ? values[i] : std::string());
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

[[noreturn]] void BadMetric(std::string_view name, std::string_view why) {
  std::fprintf(stderr, "metrics: %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
               static_cast<int>(why.size()), why.data());
  std::abort();
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

struct Callback {
  std::vector<std::string> label_names;
  std::vector<std::string> label_values;
  std::function<double()> read;
};

}  // namespace

struct MetricsRegistry::Entry {
  std::string name;
  MetricType type;
  std::string help;
  std::variant<std::monostate, std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
               std::unique_ptr<HistogramFamily>>
      family;
  std::vector<Callback> callbacks;  // for callback metrics
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry* MetricsRegistry::FindOrAdd(const std::string& name, MetricType type,
                                                   const std::string& help,
                                                   bool allow_existing) {
  // Metric names are code: a bad or duplicate one is a bug, caught at start-up.
  if (!ValidName(name)) BadMetric(name, "invalid name");
  for (auto& e : entries_) {
    if (e->name == name) {
      if (!allow_existing) BadMetric(name, "registered twice");
      if (e->type != type) BadMetric(name, "re-registered with another type");
      return e.get();
    }
  }
  auto entry = std::make_unique<Entry>();
  entry->name = name;
  entry->type = type;
  entry->help = help;
  entries_.push_back(std::move(entry));
  return entries_.back().get();
}

CounterFamily& MetricsRegistry::AddCounter(std::string name, std::string help,
                                           std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  Entry* e = FindOrAdd(name, MetricType::kCounter, help, false);
  auto family = std::unique_ptr<CounterFamily>(
      new CounterFamily(std::move(label_names), [] { return std::make_unique<Counter>(); }));
  CounterFamily& ref = *family;
  e->family = std::move(family);
  return ref;
}

GaugeFamily& MetricsRegistry::AddGauge(std::string name, std::string help,
                                       std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  Entry* e = FindOrAdd(name, MetricType::kGauge, help, false);
  auto family = std::unique_ptr<GaugeFamily>(
      new GaugeFamily(std::move(label_names), [] { return std::make_unique<Gauge>(); }));
  GaugeFamily& ref = *family;
  e->family = std::move(family);
  return ref;
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  Entry* e = FindOrAdd(name, MetricType::kHistogram, help, false);
  auto family = std::unique_ptr<HistogramFamily>(new HistogramFamily(
      std::move(label_names), [bounds] { return std::make_unique<Histogram>(bounds); }));
  HistogramFamily& ref = *family;
  e->family = std::move(family);
  return ref;
}

void MetricsRegistry::AddCallback(MetricType type, std::string name, std::string help,
                                  std::vector<std::pair<std::string, std::string>> labels,
                                  std::function<double()> read) {
  assert(type != MetricType::kHistogram && "callback histograms are not supported");
  std::lock_guard lock(mu_);
  Entry* e = FindOrAdd(name, type, help, true);
  Callback cb;
  for (auto& [k, v] : labels) {
    cb.label_names.push_back(std::move(k));
    cb.label_values.push_back(std::move(v));
  }
  cb.read = std::move(read);
  e->callbacks.push_back(std::move(cb));
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    out += "# HELP " + e->name + " " + EscapeHelp(e->help) + "\n";
    out += "# TYPE " + e->name + " " + std::string(TypeName(e->type)) + "\n";
    for (const Callback& cb : e->callbacks) {
      out += e->name + LabelSet(cb.label_names, cb.label_values) + " " + FormatValue(cb.read()) +
             "\n";
    }
    if (auto* counters = std::get_if<std::unique_ptr<CounterFamily>>(&e->family)) {
      const CounterFamily& f = **counters;
      std::shared_lock flock(f.mu_);
      for (const auto& [key, child] : f.children_) {
        out += e->name + LabelSet(f.label_names_, child.first) + " " +
               std::to_string(child.second->Value()) + "\n";
      }
    } else if (auto* gauges = std::get_if<std::unique_ptr<GaugeFamily>>(&e->family)) {
      const GaugeFamily& f = **gauges;
      std::shared_lock flock(f.mu_);
      for (const auto& [key, child] : f.children_) {
        out += e->name + LabelSet(f.label_names_, child.first) + " " +
               FormatValue(child.second->Value()) + "\n";
      }
    } else if (auto* hists = std::get_if<std::unique_ptr<HistogramFamily>>(&e->family)) {
      const HistogramFamily& f = **hists;
      std::shared_lock flock(f.mu_);
      for (const auto& [key, child] : f.children_) {
        Histogram::Snapshot s = child.second->Take();
        for (size_t i = 0; i < s.bounds.size(); ++i) {
          out += e->name + "_bucket" +
                 LabelSet(f.label_names_, child.first, "le", FormatValue(s.bounds[i])) + " " +
                 std::to_string(s.cumulative[i]) + "\n";
        }
        uint64_t count = s.cumulative.back();
        out += e->name + "_bucket" + LabelSet(f.label_names_, child.first, "le", "+Inf") + " " +
               std::to_string(count) + "\n";
        out += e->name + "_sum" + LabelSet(f.label_names_, child.first) + " " +
               FormatValue(s.sum) + "\n";
        out += e->name + "_count" + LabelSet(f.label_names_, child.first) + " " +
               std::to_string(count) + "\n";
      }
    }
  }
  return out;
}

HttpMetrics::HttpMetrics(MetricsRegistry& registry)
    : open_connections(
          registry.AddGauge("roster_http_open_connections", "Open HTTP connections").Labels()),
      rejected_connections(registry
                               .AddCounter("roster_http_rejected_connections_total",
                                           "Connections refused over the connection cap")
                               .Labels()),
      overloaded_requests(registry
                              .AddCounter("roster_http_overloaded_requests_total",
                                          "Requests answered 503 because the worker queue was full")
                              .Labels()),
      dropped_streams(registry
                          .AddCounter("roster_http_dropped_streams_total",
                                      "Streamed responses cut because the client did not keep up")
                          .Labels()),
      requests_(registry.AddCounter("roster_http_requests_total", "HTTP requests answered",
                                    {"route", "method", "status"})),
      duration_(registry.AddHistogram("roster_http_request_duration_seconds",
                                      "Time from a request's last byte read to its response's "
                                      "last byte written",
                                      {"route"})) {}

void HttpMetrics::ObserveRequest(std::string_view route, std::string_view method, int status,
                                 double seconds) {
  char status_text[8];
  auto r = fmt::format_to_n(status_text, sizeof(status_text), "{}", status);
  requests_.Labels({route, method, std::string_view(status_text, r.size)}).Inc();
  duration_.Labels({route}).Observe(seconds);
}

}  // namespace roster::gateway
