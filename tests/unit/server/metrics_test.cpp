#include "server/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace signet::server {
namespace {

TEST(MetricsTest, CounterRendersHelpTypeAndLabels) {
  MetricsRegistry m;
  Counter& allowed = m.GetCounter("signet_requests_total", "Requests by route and outcome.",
                                  {{"route", "/v1/sign"}, {"outcome", "allowed"}});
  Counter& denied = m.GetCounter("signet_requests_total", "ignored: first help wins",
                                 {{"route", "/v1/sign"}, {"outcome", "denied"}});
  allowed.Increment();
  allowed.Increment(4);
  denied.Increment();
  // The same series is the same object.
  EXPECT_EQ(&allowed, &m.GetCounter("signet_requests_total", "",
                                    {{"route", "/v1/sign"}, {"outcome", "allowed"}}));
  EXPECT_EQ(m.RenderText(),
            "# HELP signet_requests_total Requests by route and outcome.\n"
            "# TYPE signet_requests_total counter\n"
            "signet_requests_total{route=\"/v1/sign\",outcome=\"allowed\"} 5\n"
            "signet_requests_total{route=\"/v1/sign\",outcome=\"denied\"} 1\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry m;
  m.GetCounter("x_total", "a \\ help\nwith newline", {{"v", "quote\" back\\ nl\n"}}).Increment();
  EXPECT_EQ(m.RenderText(),
            "# HELP x_total a \\\\ help\\nwith newline\n"
            "# TYPE x_total counter\n"
            "x_total{v=\"quote\\\" back\\\\ nl\\n\"} 1\n");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(MetricsTest, InvalidNamesAreSanitized) {
  MetricsRegistry m;
  m.GetGauge("bad-name.x", "h", {{"bad label", "v"}}).Set(1);
  const std::string text = m.RenderText();
  EXPECT_NE(text.find("bad_name_x{bad_label=\"v\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, GaugeSetAddAndUnlabelled) {
  MetricsRegistry m;
  Gauge& g = m.GetGauge("signet_open", "Open things.");
  g.Set(3);
  g.Increment();
  g.Add(0.5);
  g.Decrement();
  EXPECT_DOUBLE_EQ(g.value(), 3.5);
  EXPECT_EQ(m.RenderText(),
            "# HELP signet_open Open things.\n# TYPE signet_open gauge\nsignet_open 3.5\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry m;
  Histogram& h = m.GetHistogram("lat_seconds", "Latency.", {{"route", "/s"}}, {0.1, 0.5, 1});
  for (double v : {0.05, 0.1, 0.2, 0.7, 3.0}) h.Observe(v);
  const Histogram::Snapshot s = h.snapshot();
  ASSERT_EQ(s.cumulative.size(), 4u);
  EXPECT_EQ(s.cumulative[0], 2u);  // 0.05 and 0.1 (le is inclusive)
  EXPECT_EQ(s.cumulative[1], 3u);
  EXPECT_EQ(s.cumulative[2], 4u);
  EXPECT_EQ(s.cumulative[3], 5u);
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 4.05);
  EXPECT_EQ(m.RenderText(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{route=\"/s\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{route=\"/s\",le=\"0.5\"} 3\n"
            "lat_seconds_bucket{route=\"/s\",le=\"1\"} 4\n"
            "lat_seconds_bucket{route=\"/s\",le=\"+Inf\"} 5\n"
            "lat_seconds_sum{route=\"/s\"} 4.05\n"
            "lat_seconds_count{route=\"/s\"} 5\n");
}

TEST(MetricsTest, DefaultLatencyBucketsAndDurations) {
  MetricsRegistry m;
  Histogram& h = m.GetHistogram("d_seconds", "D.");
  h.ObserveDuration(std::chrono::milliseconds(3));
  const auto s = h.snapshot();
  EXPECT_EQ(s.upper_bounds, DefaultLatencyBuckets());
  EXPECT_EQ(s.cumulative[1], 0u);  // le 0.0025
  EXPECT_EQ(s.cumulative[2], 1u);  // le 0.005
  EXPECT_NE(m.RenderText().find("d_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos);
}

TEST(MetricsTest, TypeMismatchGetsADetachedMetric) {
  MetricsRegistry m;
  m.GetCounter("thing", "A counter.").Increment();
  Gauge& g = m.GetGauge("thing", "Not a gauge.");
  g.Set(42);
  const std::string text = m.RenderText();
  EXPECT_EQ(text.find("42"), std::string::npos) << text;
  EXPECT_NE(text.find("thing 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry m;
  Histogram& h = m.GetHistogram("c_seconds", "C.", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&m, &h, t] {
      for (int i = 0; i < 10000; ++i) {
        m.GetCounter("c_total", "C.", {{"outcome", i % 2 ? "a" : "b"}}).Increment();
        h.Observe(t % 2 ? 0.5 : 2.0);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.GetCounter("c_total", "", {{"outcome", "a"}}).value(), 40000u);
  EXPECT_EQ(m.GetCounter("c_total", "", {{"outcome", "b"}}).value(), 40000u);
  const auto s = h.snapshot();
  EXPECT_EQ(s.count, 80000u);
  EXPECT_EQ(s.cumulative[0], 40000u);
  EXPECT_DOUBLE_EQ(s.sum, 40000 * 0.5 + 40000 * 2.0);
}

}  // namespace
}  // namespace signet::server
