// Prometheus metrics for the Signet server (issue 4, "Operations": requests
// by outcome, latency histogram, denials, backend errors): a small registry
// of counters, gauges and histograms with labels, rendered in the Prometheus
// text exposition format 0.0.4:
//
//   # HELP signet_requests_total Requests by route and outcome.
//   # TYPE signet_requests_total counter
//   signet_requests_total{route="/v1/sign",outcome="allowed"} 12
//
//   MetricsRegistry metrics;
//   Counter& allowed = metrics.GetCounter("signet_requests_total", "Requests by outcome.",
//                                         {{"route", "/v1/sign"}, {"outcome", "allowed"}});
//   allowed.Increment();
//   std::string text = metrics.RenderText();  // serve with kPrometheusContentType
//
// Thread-safety: everything is thread-safe. Increments and observations are
// relaxed atomics (no lock); Get* looks the series up under a shared lock
// and returns a reference that stays valid for the registry's lifetime, so
// hot paths may look a series up once and keep the reference. RenderText()
// takes the lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signet::server {

// Label names and values, in the order they are rendered.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

class Counter {
 public:
  void Increment(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Increment() { Add(1); }
  void Decrement() { Add(-1); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Seconds: 1 ms .. 10 s, the buckets of the request latency histogram.
const std::vector<double>& DefaultLatencyBuckets();

class Histogram {
 public:
  // `upper_bounds`: increasing bucket bounds (the +Inf bucket is implicit);
  // unsorted or duplicate bounds are sorted and merged.
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);
  void ObserveDuration(std::chrono::steady_clock::duration d) {
    Observe(std::chrono::duration<double>(d).count());
  }

  struct Snapshot {
    std::vector<double> upper_bounds;       // without +Inf
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    std::uint64_t count = 0;
    double sum = 0;
  };
  // A consistent-enough view: count is the sum of the bucket counts read.
  [[nodiscard]] Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The series `name{labels}`, created on first use. `help` is taken from
  // the first call for a name. Names and label names that are not valid
  // Prometheus identifiers have their invalid characters replaced by '_'.
  // REQUIRES: a name is used with one metric type only, and a histogram
  // name with one set of buckets; a mismatched call returns a detached
  // metric that is never rendered.
  Counter& GetCounter(std::string_view name, std::string_view help,
                      const MetricLabels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help,
                          const MetricLabels& labels = {},
                          const std::vector<double>& upper_bounds = DefaultLatencyBuckets());

  // Every family, sorted by name, in the text exposition format 0.0.4.
  [[nodiscard]] std::string RenderText() const;

 private:
  struct Family;
  Family* FindOrAddFamily(std::string_view name, std::string_view help, int type,
                          const std::vector<double>* bounds);

  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
  std::vector<std::unique_ptr<Counter>> detached_counters_;
  std::vector<std::unique_ptr<Gauge>> detached_gauges_;
  std::vector<std::unique_ptr<Histogram>> detached_histograms_;
};

// Escapes a label value (backslash, double quote, newline) for the text format.
std::string EscapeLabelValue(std::string_view value);
// Escapes HELP text (backslash, newline).
std::string EscapeHelp(std::string_view help);

}  // namespace signet::server
