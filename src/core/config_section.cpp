#include "pbtnas/core/config_section.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

// Integers that did not fit their key's type, by full key: the literal and the type's range. Held
// between ConfigSection::get() and the check_range() of the same key (one parse at a time per thread).
struct Overflow {
  std::string literal, type_range;
};
std::map<std::string, Overflow>& overflows() {
  thread_local std::map<std::string, Overflow> held;
  return held;
}

void throw_if_overflowed(const std::string& key, const std::string& what) {
  auto it = overflows().find(key);
  if (it == overflows().end()) return;
  const std::string literal = it->second.literal;
  overflows().erase(it);
  throw std::invalid_argument("'" + key + "' = " + literal + " is out of range; expected " + what);
}

template <typename T>
std::string show(T v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

std::string shortest_number(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  std::string s = buf;
  // A whole number stays a number of a floating-point key when read back ("1.0", not "1").
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string closest_key(const std::string& key, const std::vector<std::string>& known) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = up;
      }
    }
    return row[b.size()];
  };
  const std::size_t limit = std::max<std::size_t>(2, key.size() / 3);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const auto& k : known) {
    const std::size_t d = distance(key, k);
    if (d < best_distance) best = k, best_distance = d;
  }
  return best;
}

ConfigSection ConfigSection::root(const std::string& yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("config " + origin + ": not valid YAML (" + std::string(e.what()) + ")");
  }
  reject_duplicates(root, "", origin);
  overflows().clear();
  return ConfigSection(root, "", origin, std::make_shared<std::vector<EffectiveKey>>());
}

ConfigSection::ConfigSection(YAML::Node node, std::string path, std::string origin,
                             std::shared_ptr<std::vector<EffectiveKey>> record)
    : node_(std::move(node)), path_(std::move(path)), origin_(std::move(origin)), record_(std::move(record)) {
  if (node_ && !node_.IsNull() && !node_.IsMap())
    fail(path_.empty() ? "the file" : path_, "must be a mapping of keys");
}

void ConfigSection::fail(const std::string& key, const std::string& what) const {
  throw std::invalid_argument("config " + origin_ + ": '" + key + "' " + what);
}

ConfigSection ConfigSection::sub(const std::string& k) {
  seen_[k] = true;
  return ConfigSection(node_ ? node_[k] : YAML::Node(), key(k), origin_, record_);
}

void ConfigSection::note(const std::string& k, double value) { note_text(k, shortest_number(value), false); }

void ConfigSection::note_text(const std::string& k, const std::string& text, bool is_string) {
  if (!record_) return;
  const std::string full = key(k);
  for (auto& e : *record_)
    if (e.key == full) {
      e.value = text;
      e.is_string = is_string;
      return;
    }
  record_->push_back({full, text, is_string});
}

std::vector<EffectiveKey> ConfigSection::recorded() const {
  return record_ ? *record_ : std::vector<EffectiveKey>{};
}

bool ConfigSection::is_integer_literal(const std::string& s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
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
    std::vector<std::string> names;
    for (const auto& s : seen_) {
      known += (known.empty() ? "" : ", ") + s.first;
      names.push_back(s.first);
    }
    const std::string near = closest_key(k, names);
    fail(key(k), "is not a known key" + (near.empty() ? std::string() : " (did you mean '" + key(near) + "'?)") +
                     "; valid keys here: " + known + hint + " (see docs/config.md)");
  }
}

void ConfigSection::hold_overflow(const std::string& key, const std::string& literal, const std::string& type_range) {
  overflows()[key] = Overflow{literal, type_range};
}

void ConfigSection::check_overflows() const {
  for (auto it = overflows().begin(); it != overflows().end(); ++it)
    if (path_.empty() || it->first.rfind(path_ + ".", 0) == 0) {
      const std::string k = it->first, message = "= " + it->second.literal + " is out of range; expected " + it->second.type_range;
      overflows().erase(it);
      throw std::invalid_argument("'" + k + "' " + message);  // the caller names the file, as for validate()
    }
}

void check_int_range(const std::string& key, std::int64_t value, std::int64_t lo, std::int64_t hi,
                     const std::string& what) {
  throw_if_overflowed(key, what);
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
