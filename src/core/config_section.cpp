#include "pbtnas/core/config_section.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace pbtnas {
namespace {

// yaml-cpp keeps both entries of a key given twice in one mapping and node[key] returns the
// first, silently; refuse such files.
void reject_duplicates(const YAML::Node& node, const std::string& path, const std::string& origin) {
  if (node.IsMap()) {
    std::map<std::string, int> lines;
    for (const auto& kv : node) {
      const std::string k = kv.first.Scalar();
      const std::string full = path.empty() ? k : path + "." + k;
      const int line = kv.first.Mark().line + 1;
      auto [it, fresh] = lines.emplace(k, line);
      if (!fresh)
        throw std::invalid_argument("config " + origin + ": '" + full + "' is given twice (lines " +
                                    std::to_string(it->second) + " and " + std::to_string(line) +
                                    "); keep one of them");
      reject_duplicates(kv.second, full, origin);
    }
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      reject_duplicates(node[i], path + "[" + std::to_string(i) + "]", origin);
  }
}

template <typename T>
std::string show(T v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

ConfigSection ConfigSection::root(const std::string& yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("config " + origin + ": not valid YAML (" + std::string(e.what()) + ")");
  }
  reject_duplicates(root, "", origin);
  return ConfigSection(root, "", origin);
}

ConfigSection::ConfigSection(YAML::Node node, std::string path, std::string origin)
    : node_(std::move(node)), path_(std::move(path)), origin_(std::move(origin)) {
  if (node_ && !node_.IsNull() && !node_.IsMap())
    fail(path_.empty() ? "the file" : path_, "must be a mapping of keys");
}

void ConfigSection::fail(const std::string& key, const std::string& what) const {
  throw std::invalid_argument("config " + origin_ + ": '" + key + "' " + what);
}

ConfigSection ConfigSection::sub(const std::string& k) {
  seen_[k] = true;
  return ConfigSection(node_ ? node_[k] : YAML::Node(), key(k), origin_);
}

YAML::Node ConfigSection::raw(const std::string& k) {
  seen_[k] = true;
  return node_ ? node_[k] : YAML::Node();
}

std::vector<std::string> ConfigSection::unread_sections() const {
  std::vector<std::string> keys;
  if (!node_ || !node_.IsMap()) return keys;
  for (const auto& kv : node_) {
    const std::string k = kv.first.as<std::string>();
    if (!seen_.count(k) && kv.second.IsMap()) keys.push_back(k);
  }
  return keys;
}

void ConfigSection::reject_unknown(const std::string& hint) const {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    const std::string k = kv.first.as<std::string>();
    if (seen_.count(k)) continue;
    std::string known;
    for (const auto& s : seen_) known += (known.empty() ? "" : ", ") + s.first;
    fail(key(k), "is not a known key; valid keys here: " + known + hint + " (see docs/config.md)");
  }
}

void check_int_range(const std::string& key, std::int64_t value, std::int64_t lo, std::int64_t hi,
                     const std::string& what) {
  if (value < lo || value > hi)
    throw std::invalid_argument("'" + key + "' = " + show(value) + " is out of range; expected " + what);
}

void check_range(const std::string& key, double value, double lo, double hi, const std::string& what) {
  if (!std::isfinite(value) || value < lo || value > hi)
    throw std::invalid_argument("'" + key + "' = " + show(value) + " is out of range; expected " + what);
}

void check_choice(const std::string& key, const std::string& value,
                  std::initializer_list<const char*> choices) {
  std::string list;
  for (const char* c : choices) {
    if (value == c) return;
    list += (list.empty() ? "" : ", ") + std::string(c);
  }
  throw std::invalid_argument("'" + key + "' = '" + value + "' is not valid; expected one of " + list);
}

}  // namespace pbtnas
