// The `selection:` section of a run config (docs/config.md): the keys beyond the paper.
#include <string>
#include <vector>

#include "pbtnas/core/config_section.hpp"

namespace pbtnas {
namespace {

std::string yaml_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return "[" + out + "]";
}

}  // namespace

void parse_selection_section(ConfigSection& root, SelectionConfig& sel) {
  ConfigSection s = root.sub("selection");
  std::vector<std::string> names;
  for (Objective o : sel.objectives) names.push_back(to_string(o));
  if (s.has("objectives")) {
    const YAML::Node node = s.raw("objectives");
    const std::string what = "must be a list of objectives beginning with fitness, e.g. [fitness, -parameters] or "
                             "[fitness, -latency_ms]";
    if (!node.IsSequence() || node.size() == 0) s.fail(s.key("objectives"), what);
    names.clear();
    sel.objectives.clear();
    for (const auto& item : node) {
      std::string name;
      try {
        name = item.as<std::string>();
      } catch (const YAML::Exception&) {
        s.fail(s.key("objectives"), what);
      }
      try {
        sel.objectives.push_back(parse_objective(name));
      } catch (const std::invalid_argument& e) {
        s.fail(s.key("objectives"), std::string("holds ") + e.what());
      }
      names.push_back(name);
    }
  }
  s.note_text("objectives", yaml_list(names), false);
  s.get("latency_repeats", sel.latency_repeats);
  s.get("scheme", sel.scheme);
  std::vector<std::string> freq_text;
  if (s.has("frequencies")) {
    const YAML::Node node = s.raw("frequencies");
    const std::string what = "must be a list of integers >= 1, one per sub-population, e.g. [1, 2, 4]";
    if (!node.IsSequence()) s.fail(s.key("frequencies"), what);
    sel.frequencies.clear();
    for (const auto& item : node) {
      try {
        sel.frequencies.push_back(item.as<int>());
      } catch (const YAML::Exception&) {
        s.fail(s.key("frequencies"), what);
      }
    }
  }
  for (int f : sel.frequencies) freq_text.push_back(std::to_string(f));
  s.note_text("frequencies", yaml_list(freq_text), false);
  s.get("migration", sel.migration);
  s.reject_unknown();
}

}  // namespace pbtnas
