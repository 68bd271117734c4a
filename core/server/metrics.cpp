#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>

namespace signet::server {
namespace {

enum MetricType { kCounter = 0, kGauge = 1, kHistogram = 2 };

std::string_view TypeName(int type) {
  switch (type) {
    case kCounter:
      return "counter";
    case kGauge:
      return "gauge";
    default:
      return "histogram";
  }
}

// [a-zA-Z_:][a-zA-Z0-9_:]* (label names: no ':'); other characters become '_'.
std::string SanitizeName(std::string_view name, bool allow_colon) {
  std::string out(name);
  if (out.empty()) out = "_";
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) out[i] = '_';
  }
  return out;
}

void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, r.ptr);
  }
}

void AppendNumber(std::string& out, std::uint64_t v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

// `a="x",b="y"` (escaped), the series key and its rendering.
std::string LabelKey(const MetricLabels& labels) {
  std::string key;
  for (const auto& [name, value] : labels) {
    if (!key.empty()) key += ',';
    key += SanitizeName(name, /*allow_colon=*/false);
    key += "=\"";
    key += EscapeLabelValue(value);
    key += '"';
  }
  return key;
}

std::vector<double> NormalizeBounds(std::vector<double> bounds) {
  std::erase_if(bounds, [](double b) { return std::isnan(b) || std::isinf(b); });
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  return bounds;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
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

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1,     2.5,  5,     10};
  return kBuckets;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(NormalizeBounds(std::move(upper_bounds))),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double value) {
  // The first bucket whose bound is >= value ("le"); NaN goes to +Inf.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  const auto index = static_cast<std::size_t>(it - bounds_.begin());
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<double> bounds;  // histograms
  std::map<std::string, std::unique_ptr<Counter>, std::less<>> counters;
  std::map<std::string, std::unique_ptr<Gauge>, std::less<>> gauges;
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> histograms;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family* MetricsRegistry::FindOrAddFamily(std::string_view name,
                                                          std::string_view help, int type,
                                                          const std::vector<double>* bounds) {
  // Called with mu_ held exclusively.
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->name = std::string(name);
    family->help = std::string(help);
    family->type = type;
    if (bounds != nullptr) family->bounds = NormalizeBounds(*bounds);
    it = families_.emplace(family->name, std::move(family)).first;
  }
  Family* f = it->second.get();
  if (f->type != type) return nullptr;
  if (bounds != nullptr && f->bounds != NormalizeBounds(*bounds)) return nullptr;
  return f;
}

namespace {

// Looks `key` up in the family's map of type T under a shared lock, then
// inserts under an exclusive lock. `make` builds a new series.
template <typename T, typename MapOf, typename Make>
T* FindSeries(std::shared_mutex& mu, const MapOf& find_family, const std::string& key,
              const Make& make) {
  {
    std::shared_lock lock(mu);
    if (auto* map = find_family(/*create=*/false)) {
      auto it = map->find(key);
      if (it != map->end()) return it->second.get();
    }
  }
  std::unique_lock lock(mu);
  auto* map = find_family(/*create=*/true);
  if (map == nullptr) return nullptr;
  auto it = map->find(key);
  if (it == map->end()) it = map->emplace(key, make()).first;
  return it->second.get();
}

}  // namespace

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const MetricLabels& labels) {
  const std::string n = SanitizeName(name, true);
  auto find = [&](bool create) -> std::map<std::string, std::unique_ptr<Counter>, std::less<>>* {
    if (!create) {
      auto it = families_.find(n);
      return it != families_.end() && it->second->type == kCounter ? &it->second->counters
                                                                   : nullptr;
    }
    Family* f = FindOrAddFamily(n, help, kCounter, nullptr);
    return f == nullptr ? nullptr : &f->counters;
  };
  Counter* c =
      FindSeries<Counter>(mu_, find, LabelKey(labels), [] { return std::make_unique<Counter>(); });
  if (c != nullptr) return *c;
  std::unique_lock lock(mu_);
  detached_counters_.push_back(std::make_unique<Counter>());
  return *detached_counters_.back();
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const MetricLabels& labels) {
  const std::string n = SanitizeName(name, true);
  auto find = [&](bool create) -> std::map<std::string, std::unique_ptr<Gauge>, std::less<>>* {
    if (!create) {
      auto it = families_.find(n);
      return it != families_.end() && it->second->type == kGauge ? &it->second->gauges : nullptr;
    }
    Family* f = FindOrAddFamily(n, help, kGauge, nullptr);
    return f == nullptr ? nullptr : &f->gauges;
  };
  Gauge* g =
      FindSeries<Gauge>(mu_, find, LabelKey(labels), [] { return std::make_unique<Gauge>(); });
  if (g != nullptr) return *g;
  std::unique_lock lock(mu_);
  detached_gauges_.push_back(std::make_unique<Gauge>());
  return *detached_gauges_.back();
}

Histogram& MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         const MetricLabels& labels,
                                         const std::vector<double>& upper_bounds) {
  const std::string n = SanitizeName(name, true);
  const std::vector<double> bounds = NormalizeBounds(upper_bounds);
  auto find = [&](bool create) -> std::map<std::string, std::unique_ptr<Histogram>, std::less<>>* {
    if (!create) {
      auto it = families_.find(n);
      return it != families_.end() && it->second->type == kHistogram && it->second->bounds == bounds
                 ? &it->second->histograms
                 : nullptr;
    }
    Family* f = FindOrAddFamily(n, help, kHistogram, &bounds);
    return f == nullptr ? nullptr : &f->histograms;
  };
  Histogram* h = FindSeries<Histogram>(mu_, find, LabelKey(labels),
                                       [&] { return std::make_unique<Histogram>(bounds); });
  if (h != nullptr) return *h;
  std::unique_lock lock(mu_);
  detached_histograms_.push_back(std::make_unique<Histogram>(bounds));
  return *detached_histograms_.back();
}

namespace {

void AppendSeriesName(std::string& out, std::string_view name, std::string_view suffix,
                      std::string_view labels, std::string_view extra_label = {}) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra_label.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra_label.empty()) out += ',';
    out += extra_label;
    out += '}';
  }
  out += ' ';
}

}  // namespace

std::string MetricsRegistry::RenderText() const {
  std::string out;
  std::shared_lock lock(mu_);
  for (const auto& [name, f] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += EscapeHelp(f->help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += TypeName(f->type);
    out += '\n';
    for (const auto& [labels, c] : f->counters) {
      AppendSeriesName(out, name, "", labels);
      AppendNumber(out, c->value());
      out += '\n';
    }
    for (const auto& [labels, g] : f->gauges) {
      AppendSeriesName(out, name, "", labels);
      AppendNumber(out, g->value());
      out += '\n';
    }
    for (const auto& [labels, h] : f->histograms) {
      const Histogram::Snapshot s = h->snapshot();
      for (std::size_t i = 0; i <= s.upper_bounds.size(); ++i) {
        std::string le = "le=\"";
        if (i < s.upper_bounds.size()) {
          AppendNumber(le, s.upper_bounds[i]);
        } else {
          le += "+Inf";
        }
        le += '"';
        AppendSeriesName(out, name, "_bucket", labels, le);
        AppendNumber(out, s.cumulative[i]);
        out += '\n';
      }
      AppendSeriesName(out, name, "_sum", labels);
      AppendNumber(out, s.sum);
      out += '\n';
      AppendSeriesName(out, name, "_count", labels);
      AppendNumber(out, s.count);
      out += '\n';
    }
  }
  return out;
}

}  // namespace signet::server
