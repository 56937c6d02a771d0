#include "pbtnas/io/metrics_log.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "pbtnas/index/run_dir.hpp"

namespace pbtnas::io {
namespace {

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// The generation of a line, or nothing for a line cut by a crash (or any line that is not a row).
std::optional<std::int64_t> generation_of(const std::string& line, nlohmann::json* parsed = nullptr) {
  try {
    nlohmann::json j = nlohmann::json::parse(line);
    const auto g = j.at("generation").get<std::int64_t>();
    if (parsed) *parsed = std::move(j);
    return g;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

MetricsLog::MetricsLog(const std::string& path, std::int64_t keep_up_to) : path_(path) {
  auto cannot = [&](const std::string& why) {
    return std::runtime_error("metrics log: cannot write '" + path + "' (" + why +
                              "); check that the output folder is writable");
  };
  if (keep_up_to >= 0 && std::filesystem::exists(path)) {
    // Rows of generations after the committed one (and lines cut by a crash) are dropped; the
    // rest replaces the file atomically.
    std::string kept;
    {
      std::ifstream in(path);
      std::string line;
      while (std::getline(in, line)) {
        const auto g = line.empty() ? std::nullopt : generation_of(line);
        if (!g || *g > keep_up_to) continue;
        last_kept_ = std::max(last_kept_, *g);
        kept += line + '\n';
      }
      if (in.bad()) throw cannot("reading it failed");
    }
    try {
      write_text_file_atomic(path, kept);  // PATH.tmp, fsync, rename
    } catch (const std::exception& e) {
      throw cannot(e.what());
    }
    out_.open(path, std::ios::app);
  } else {
    out_.open(path, std::ios::trunc);
  }
  if (!out_) throw cannot("open failed");
}

void MetricsLog::append(const MetricsRow& row) {
  nlohmann::json j;
  j["generation"] = row.generation;
  j["epoch"] = row.epoch;
  j["member"] = row.member;
  j["fitness"] = number_or_null(row.fitness);
  j["train_loss"] = number_or_null(row.train_loss);
  j["samples"] = row.samples;
  j["train_seconds"] = row.train_seconds;
  j["diverged"] = row.diverged;
  j["architecture"] = row.architecture;
  if (row.parameters >= 0) j["parameters"] = row.parameters;
  if (row.latency_ms >= 0.0) j["latency_ms"] = row.latency_ms;
  append_json(j.dump());
}

void MetricsLog::append_json(const std::string& json_object) {
  out_ << json_object << '\n';
  out_.flush();
}

std::vector<WorkerTotals> worker_totals(const std::string& workers_path) {
  std::vector<WorkerTotals> totals;
  std::ifstream in(workers_path);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j;
    if (line.empty() || !generation_of(line, &j)) continue;
    try {
      const int rank = j.at("rank").get<int>();
      const double busy = j.at("busy_seconds").get<double>(), wait = j.at("wait_seconds").get<double>();
      if (rank < 1) continue;
      if (totals.size() < static_cast<std::size_t>(rank)) totals.resize(static_cast<std::size_t>(rank));
      WorkerTotals& t = totals[static_cast<std::size_t>(rank - 1)];
      t.rank = rank;
      t.busy_seconds += busy;
      t.wait_seconds += wait;
    } catch (const std::exception&) {
      // Not a worker row: skipped.
    }
  }
  // Ranks without any row (a resumed run with more workers than before has rows for all of them).
  totals.erase(std::remove_if(totals.begin(), totals.end(), [](const WorkerTotals& t) { return t.rank == 0; }),
               totals.end());
  return totals;
}

std::optional<std::string> recovered_generation_row(const std::string& metrics_path, std::int64_t generation) {
  std::ifstream in(metrics_path);
  std::vector<std::pair<int, double>> fitness;  // (member, fitness) of the generation's rows
  int epoch = 0;
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j;
    if (line.empty() || generation_of(line, &j) != generation || !j.contains("member")) continue;
    const auto& f = j["fitness"];
    fitness.emplace_back(j["member"].get<int>(),
                         f.is_number() && !std::isnan(f.get<double>()) ? f.get<double>()
                                                                      : -std::numeric_limits<double>::infinity());
    epoch = j.value("epoch", 0);
  }
  if (fitness.empty()) return std::nullopt;
  // By member id; a member that appears twice (an edited file) counts with its later row.
  std::stable_sort(fitness.begin(), fitness.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<int, double>> unique;
  for (const auto& mf : fitness) {
    if (!unique.empty() && unique.back().first == mf.first) unique.back() = mf;
    else unique.push_back(mf);
  }
  const auto best = std::max_element(unique.begin(), unique.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
  std::vector<double> sorted;
  for (const auto& mf : unique) sorted.push_back(mf.second);
  std::sort(sorted.begin(), sorted.end());
  return nlohmann::json{{"generation", generation},
                        {"epoch", epoch},
                        {"best_member", best->first},
                        {"best_fitness", number_or_null(best->second)},
                        {"median_fitness", number_or_null(sorted[sorted.size() / 2])},
                        {"recovered", true}}
      .dump();
}

}  // namespace pbtnas::io
