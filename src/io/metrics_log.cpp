#include "pbtnas/io/metrics_log.hpp"

#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

namespace pbtnas::io {
namespace {

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

MetricsLog::MetricsLog(const std::string& path, std::int64_t keep_up_to) : path_(path) {
  std::vector<std::string> kept;
  if (keep_up_to >= 0 && std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      try {
        if (nlohmann::json::parse(line).at("generation").get<std::int64_t>() <= keep_up_to) kept.push_back(line);
      } catch (const std::exception&) {
        // A line cut by a crash: drop it.
      }
    }
  }
  out_.open(path, std::ios::trunc);
  if (!out_) throw std::runtime_error("metrics log: cannot write '" + path + "'; check that the output folder is writable");
  for (const auto& line : kept) out_ << line << '\n';
  out_.flush();
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
  append_json(j.dump());
}

void MetricsLog::append_json(const std::string& json_object) {
  out_ << json_object << '\n';
  out_.flush();
}

}  // namespace pbtnas::io
