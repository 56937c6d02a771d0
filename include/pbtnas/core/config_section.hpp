#pragma once
// Reading one YAML mapping of a config file, strictly: every key must be read by the parser
// that owns the mapping (else "not a known key"), a key given twice is an error naming both
// lines, and a value of the wrong type names the key. Ranges are not checked here: each options
// struct checks its own ranges once, in its validate() (check_range below), so that the same
// rules apply to values from a file and values set in code.
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <type_traits>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "pbtnas/core/config.hpp"  // EffectiveKey

namespace pbtnas {

class ConfigSection {
 public:
  // The whole file; throws std::invalid_argument naming `origin` when it is not valid YAML or
  // holds a key twice in one mapping (anywhere in the file).
  static ConfigSection root(const std::string& yaml_text, const std::string& origin);

  // `record`: where get() notes every key it reads with its value after the read (the default when
  // the key is absent): the effective config (null: not recorded).
  ConfigSection(YAML::Node node, std::string path, std::string origin,
                std::shared_ptr<std::vector<EffectiveKey>> record = nullptr);

  // Reads `key` into `out` when present (out keeps its default otherwise).
  template <typename T>
  void get(const std::string& key, T& out) {
    seen_[key] = true;
    if (node_ && node_[key]) {
      const YAML::Node v = node_[key];
      try {
        out = v.as<T>();
      } catch (const YAML::Exception&) {
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          // An integer that does not fit the key's type: a range error, not a type error. The
          // key's own range is known only to its options' validate(): hold the nearest value of
          // the type and let check_range() name the range with the literal the user wrote
          // (check_overflows() reports the type's range for a key that no check_range() reads).
          if (v.IsScalar() && is_integer_literal(v.Scalar())) {
            const bool negative = v.Scalar()[0] == '-';
            out = negative ? std::numeric_limits<T>::min() : std::numeric_limits<T>::max();
            hold_overflow(this->key(key), v.Scalar(),
                          "an integer in [" + std::to_string(std::numeric_limits<T>::min()) + ", " +
                              std::to_string(std::numeric_limits<T>::max()) + "]");
            note(key, out);
            return;
          }
        }
        fail(this->key(key), "has value '" + YAML::Dump(v) + "' of the wrong type (expected " + type_name<T>() + ")");
      }
    }
    note(key, out);
  }
  // Records `key` of this mapping with `value` in the effective config (replacing an earlier
  // value of the same key); get() does this itself.
  void note(const std::string& key, bool value) { note_text(key, value ? "true" : "false", false); }
  void note(const std::string& key, const std::string& value) { note_text(key, value, true); }
  void note(const std::string& key, double value);
  template <typename I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  void note(const std::string& key, I value) {
    note_text(key, std::to_string(value), false);
  }
  // A value that is not a scalar (e.g. "[0.4, 0.1]"), as YAML text.
  void note_text(const std::string& key, const std::string& text, bool is_string);
  // The effective config recorded so far by this section and every section made from it.
  std::vector<EffectiveKey> recorded() const;
  ConfigSection sub(const std::string& key);  // a nested mapping (empty when absent)
  YAML::Node raw(const std::string& key);     // the node itself, marked as read
  bool has(const std::string& key) const { return node_ && node_[key]; }
  // The keys of this mapping that no get/sub/raw read yet, whose values are mappings.
  std::vector<std::string> unread_sections() const;

  // Throws for every key of this mapping that no get/sub/raw read. `hint` is appended.
  void reject_unknown(const std::string& hint = "") const;

  // Throws "'key' = LITERAL is out of range; expected <the type's range>" for an integer of this
  // section (or below) that did not fit its type and that no check_range() has reported yet. Call
  // it after the options' validate().
  void check_overflows() const;

  // "path.key" for messages.
  std::string key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }
  const std::string& path() const { return path_; }
  const std::string& origin() const { return origin_; }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

 private:
  template <typename T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    else if constexpr (std::is_same_v<T, std::string>) return "a string";
    else if constexpr (std::is_integral_v<T>) return "an integer";
    else return "a number";
  }
  static bool is_integer_literal(const std::string& s);
  static void hold_overflow(const std::string& key, const std::string& literal, const std::string& type_range);
  YAML::Node node_;
  std::string path_, origin_;
  std::map<std::string, bool> seen_;
  std::shared_ptr<std::vector<EffectiveKey>> record_;
};

// The keys of `known` closest to `key` (edit distance at most 2, or a third of the key), for
// "did you mean" hints; empty when none is close.
std::string closest_key(const std::string& key, const std::vector<std::string>& known);

// The `selection:` section (objectives, latency_repeats, scheme, frequencies, migration) into
// `sel`; ranges are checked by SelectionConfig::validate.
void parse_selection_section(ConfigSection& root, SelectionConfig& sel);

// Shortest decimal text that reads back as exactly `value` (0.1, not 0.10000000000000001).
std::string shortest_number(double value);

// Range checks used by the options structs' validate(): throw std::invalid_argument
// "'key' = value is out of range; expected <what>" when value lies outside [lo, hi] (or is not
// finite).
void check_int_range(const std::string& key, std::int64_t value, std::int64_t lo, std::int64_t hi,
                     const std::string& what);
template <typename I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
void check_range(const std::string& key, I value, std::int64_t lo, std::int64_t hi, const std::string& what) {
  check_int_range(key, static_cast<std::int64_t>(value), lo, hi, what);
}
void check_range(const std::string& key, double value, double lo, double hi, const std::string& what);
// Throws "'key' = value is not one of a, b, c".
void check_choice(const std::string& key, const std::string& value,
                  std::initializer_list<const char*> choices);

// Bounds for size-like keys (counts that turn into allocations): generous for real runs, small
// enough that a typo (population_size: 1000000000) is refused before anything is allocated.
inline constexpr std::int64_t kMaxPopulation = 65536;
inline constexpr std::int64_t kMaxWidth = 16384;        // channels, feature dims, latent dims
inline constexpr std::int64_t kMaxBatch = 1 << 20;      // batch sizes
inline constexpr std::int64_t kMaxSamples = 10000000;   // generated samples per evaluation
inline constexpr std::int64_t kMaxCount = 1000000000;   // step/epoch/iteration counts

}  // namespace pbtnas
