#include "pbtnas/nn/member.hpp"

#include <cstdint>
#include <type_traits>
#include <atomic>
#include <map>
#include <stdexcept>
#include <string>

namespace pbtnas {

struct ModuleIndex {
  const torch::nn::Module* model = nullptr;
  const torch::nn::Module* average = nullptr;
  NamedState entries;  // module_state(model, "model.") then module_state(average, "average.")
};

namespace {

// Adam/AdamW per-parameter state in a form independent of the optimizer class.
struct MomentState {
  std::int64_t step = 0;
  torch::Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;  // max_exp_avg_sq may be undefined
};

// The optimizer's state map is keyed by the parameter's TensorImpl: as a string in LibTorch 1.x,
// as the raw pointer in 2.x. Build whichever key type this LibTorch uses.
using StateKey = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;
template <typename Key = StateKey>
Key param_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    // What LibTorch 1.x uses: the pointer as operator<< prints it ("0x" and lowercase hex
    // digits), formatted here without an ostringstream (this runs once per parameter per export).
    static constexpr char kHex[] = "0123456789abcdef";
    auto v = reinterpret_cast<std::uintptr_t>(p.unsafeGetTensorImpl());
    char digits[2 * sizeof v];
    int n = 0;
    do {
      digits[n++] = kHex[v & 0xf];
      v >>= 4;
    } while (v != 0);
    std::string key = "0x";
    while (n > 0) key += digits[--n];
    return key;
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

bool is_adam(const torch::optim::Optimizer& opt) {
  return dynamic_cast<const torch::optim::Adam*>(&opt) != nullptr;
}

void require_adam_family(const torch::optim::Optimizer& opt, std::size_t k, const char* who) {
  if (!is_adam(opt) && dynamic_cast<const torch::optim::AdamW*>(&opt) == nullptr)
    throw std::runtime_error(std::string(who) + ": optimizer " + std::to_string(k) +
                             " is neither torch::optim::Adam nor AdamW; only their state can be "
                             "transferred (build the member's optimizers as Adam or AdamW)");
}

// The optimizer's parameters in positional order: all param_groups, in order.
std::vector<torch::Tensor> optimizer_params(const torch::optim::Optimizer& opt) {
  std::vector<torch::Tensor> out;
  for (const auto& group : opt.param_groups())
    for (const auto& p : group.params()) out.push_back(p);
  return out;
}

bool group_amsgrad(const torch::optim::OptimizerParamGroup& group) {
  if (!group.has_options()) return false;
  if (auto* o = dynamic_cast<const torch::optim::AdamOptions*>(&group.options())) return o->amsgrad();
  if (auto* o = dynamic_cast<const torch::optim::AdamWOptions*>(&group.options())) return o->amsgrad();
  return false;
}

bool read_state(const torch::optim::Optimizer& opt, const torch::Tensor& p, MomentState& out) {
  const auto it = opt.state().find(param_key(p));
  if (it == opt.state().end() || !it->second) return false;
  if (auto* s = dynamic_cast<const torch::optim::AdamParamState*>(it->second.get())) {
    out = {s->step(), s->exp_avg(), s->exp_avg_sq(), s->max_exp_avg_sq()};
    return true;
  }
  if (auto* s = dynamic_cast<const torch::optim::AdamWParamState*>(it->second.get())) {
    out = {s->step(), s->exp_avg(), s->exp_avg_sq(), s->max_exp_avg_sq()};
    return true;
  }
  throw std::runtime_error("export_member_state: a parameter's optimizer state is not Adam/AdamW "
                           "state; build the member's optimizers as Adam or AdamW");
}

void write_state(torch::optim::Optimizer& opt, const torch::Tensor& p, const MomentState& s) {
  if (is_adam(opt)) {
    auto st = std::make_unique<torch::optim::AdamParamState>();
    st->step(s.step).exp_avg(s.exp_avg).exp_avg_sq(s.exp_avg_sq);
    if (s.max_exp_avg_sq.defined()) st->max_exp_avg_sq(s.max_exp_avg_sq);
    opt.state()[param_key(p)] = std::move(st);
  } else {
    auto st = std::make_unique<torch::optim::AdamWParamState>();
    st->step(s.step).exp_avg(s.exp_avg).exp_avg_sq(s.exp_avg_sq);
    if (s.max_exp_avg_sq.defined()) st->max_exp_avg_sq(s.max_exp_avg_sq);
    opt.state()[param_key(p)] = std::move(st);
  }
}

torch::Tensor cpu_copy(const torch::Tensor& t) {
  return t.detach().to(torch::kCPU, t.scalar_type(), /*non_blocking=*/false, /*copy=*/true,
                       torch::MemoryFormat::Contiguous);
}

// A private copy of a saved moment, placed like the parameter (device and dtype).
torch::Tensor like_param(const torch::Tensor& saved, const torch::Tensor& p) {
  return saved.detach().to(p.device(), p.scalar_type(), /*non_blocking=*/false, /*copy=*/true,
                           torch::MemoryFormat::Contiguous);
}

// Saved state of one optimizer, parsed from "optim.<k>.*" entries.
struct SavedParam {
  const torch::Tensor* step = nullptr;
  const torch::Tensor* exp_avg = nullptr;
  const torch::Tensor* exp_avg_sq = nullptr;
  const torch::Tensor* max_exp_avg_sq = nullptr;
};
struct SavedOptimizer {
  const torch::Tensor* count = nullptr;
  std::map<std::int64_t, SavedParam> params;
};

bool parse_index(const std::string& s, std::int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  out = std::stoll(s);
  return true;
}

[[noreturn]] void bad_key(const std::string& name, const std::string& why) {
  throw std::runtime_error("import_member_state: optimizer entry '" + name + "' " + why +
                           "; expected optim.<k>.count or optim.<k>.<i>.{step,exp_avg,exp_avg_sq,"
                           "max_exp_avg_sq} as written by export_member_state");
}

std::map<std::int64_t, SavedOptimizer> parse_optim(const NamedState& state) {
  std::map<std::int64_t, SavedOptimizer> out;
  const std::string prefix = "optim.";
  for (const auto& nt : state) {
    if (nt.name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = nt.name.substr(prefix.size());
    const auto dot = rest.find('.');
    std::int64_t k = 0;
    if (dot == std::string::npos || !parse_index(rest.substr(0, dot), k)) bad_key(nt.name, "has no optimizer index");
    const std::string tail = rest.substr(dot + 1);
    SavedOptimizer& so = out[k];
    if (tail == "count") {
      so.count = &nt.tensor;
      continue;
    }
    const auto dot2 = tail.find('.');
    std::int64_t i = 0;
    if (dot2 == std::string::npos || !parse_index(tail.substr(0, dot2), i)) bad_key(nt.name, "has no parameter index");
    const std::string field = tail.substr(dot2 + 1);
    SavedParam& sp = so.params[i];
    if (field == "step") sp.step = &nt.tensor;
    else if (field == "exp_avg") sp.exp_avg = &nt.tensor;
    else if (field == "exp_avg_sq") sp.exp_avg_sq = &nt.tensor;
    else if (field == "max_exp_avg_sq") sp.max_exp_avg_sq = &nt.tensor;
    else bad_key(nt.name, "has an unknown field '" + field + "'");
  }
  return out;
}

// The rule of docs/algorithm.md, "Optimizer state of a child".
void import_optimizer(torch::optim::Optimizer& opt, std::size_t k, const SavedOptimizer& saved) {
  const std::string where = "import_member_state: optimizer " + std::to_string(k);
  if (saved.count == nullptr || saved.count->numel() != 1)
    throw std::runtime_error(where + " has state entries but no scalar 'optim." + std::to_string(k) +
                             ".count'; the state is incomplete (export it with export_member_state)");
  opt.state().clear();  // every parameter starts fresh unless it receives its saved state below
  const std::vector<torch::Tensor> params = optimizer_params(opt);
  const std::int64_t count = saved.count->item<std::int64_t>();
  if (count != static_cast<std::int64_t>(params.size())) return;  // count mismatch => all fresh

  std::vector<bool> amsgrad;
  for (const auto& group : opt.param_groups())
    for (std::size_t j = 0; j < group.params().size(); ++j) amsgrad.push_back(group_amsgrad(group));

  for (const auto& [i, sp] : saved.params) {
    const std::string entry = "optim." + std::to_string(k) + "." + std::to_string(i);
    if (i < 0 || i >= count)
      throw std::runtime_error(where + ": entry '" + entry + "' lies beyond the saved count " +
                               std::to_string(count) + "; the state is corrupt");
    if (sp.step == nullptr || sp.exp_avg == nullptr || sp.exp_avg_sq == nullptr)
      throw std::runtime_error(where + ": entry '" + entry + "' lacks step, exp_avg or exp_avg_sq; "
                               "the state is incomplete (export it with export_member_state)");
    const torch::Tensor& p = params[static_cast<std::size_t>(i)];
    if (sp.exp_avg->sizes() != p.sizes()) continue;  // shape mismatch => this one fresh
    if (sp.exp_avg_sq->sizes() != p.sizes() ||
        (sp.max_exp_avg_sq != nullptr && sp.max_exp_avg_sq->sizes() != p.sizes()))
      throw std::runtime_error(where + ": entry '" + entry + "' has exp_avg_sq/max_exp_avg_sq shaped "
                               "unlike its exp_avg; the state is corrupt");
    MomentState ms;
    ms.step = sp.step->item<std::int64_t>();
    ms.exp_avg = like_param(*sp.exp_avg, p);
    ms.exp_avg_sq = like_param(*sp.exp_avg_sq, p);
    if (sp.max_exp_avg_sq != nullptr) ms.max_exp_avg_sq = like_param(*sp.max_exp_avg_sq, p);
    else if (amsgrad[static_cast<std::size_t>(i)]) ms.max_exp_avg_sq = torch::zeros_like(p, torch::MemoryFormat::Contiguous);
    write_state(opt, p, ms);
  }
}

}  // namespace

NamedState export_member_state(const Member& member, Snapshot snapshot) {
  if (!member.model)
    throw std::runtime_error("export_member_state: the member has no model; build it before exporting");
  auto take = [snapshot](const torch::Tensor& t) {
    return snapshot == Snapshot::Borrow && t.device().is_cpu() && t.is_contiguous() ? t : cpu_copy(t);
  };
  std::shared_ptr<const ModuleIndex> index = std::atomic_load(&member.module_index);
  if (!index || index->model != member.model.get() || index->average != member.average.get()) {
    auto fresh = std::make_shared<ModuleIndex>();
    fresh->model = member.model.get();
    fresh->average = member.average.get();
    fresh->entries = module_state(*member.model, "model.");
    if (member.average) {
      NamedState avg = module_state(*member.average, "average.");
      fresh->entries.insert(fresh->entries.end(), avg.begin(), avg.end());
    }
    index = fresh;
    std::atomic_store(&member.module_index, index);
  }
  NamedState out;
  out.reserve(4 * index->entries.size() + member.extra.size() + 2);  // optimizer entries: up to 3 per parameter
  for (const auto& nt : index->entries) out.push_back({nt.name, take(nt.tensor)});
  // (the extra state is appended at the end, after the optimizers)
  for (std::size_t k = 0; k < member.optimizers.size(); ++k) {
    const auto& opt = member.optimizers[k];
    if (!opt) throw std::runtime_error("export_member_state: optimizer " + std::to_string(k) + " is null");
    require_adam_family(*opt, k, "export_member_state");
    const std::string base = "optim." + std::to_string(k) + ".";
    const std::vector<torch::Tensor> params = optimizer_params(*opt);
    // The count and every parameter's step are 0-dim int64 views into one block (one allocation
    // instead of one dispatched scalar_tensor each).
    const torch::Tensor ints = torch::empty({static_cast<std::int64_t>(params.size()) + 1}, torch::kLong);
    auto* values = ints.data_ptr<std::int64_t>();
    values[0] = static_cast<std::int64_t>(params.size());
    out.push_back({base + "count", storage_view(ints, 0, torch::kLong, {})});
    for (std::size_t i = 0; i < params.size(); ++i) {
      MomentState s;
      if (!read_state(*opt, params[i], s)) continue;
      if (!s.exp_avg.defined() || !s.exp_avg_sq.defined()) continue;  // state never stepped
      const std::string pre = base + std::to_string(i) + ".";
      values[i + 1] = s.step;
      out.push_back({pre + "step", storage_view(ints, (i + 1) * sizeof(std::int64_t), torch::kLong, {})});
      out.push_back({pre + "exp_avg", take(s.exp_avg)});
      out.push_back({pre + "exp_avg_sq", take(s.exp_avg_sq)});
      if (s.max_exp_avg_sq.defined() && s.max_exp_avg_sq.numel() > 0)
        out.push_back({pre + "max_exp_avg_sq", take(s.max_exp_avg_sq)});
    }
  }
  for (const auto& e : member.extra) {
    if (!e.tensor.defined())
      throw std::runtime_error("export_member_state: extra state '" + e.name + "' is undefined");
    out.push_back({"extra." + e.name, take(e.tensor)});
  }
  return out;
}

ExtraInherit extra_rule(const std::vector<ExtraState>& extras, const std::string& entry_name) {
  const std::string prefix = "extra.";
  if (entry_name.compare(0, prefix.size(), prefix) != 0) return ExtraInherit::Parent1;
  for (const auto& e : extras) {
    const std::string p = prefix + e.name + ".";
    if (entry_name.compare(0, p.size(), p) == 0 || entry_name == prefix + e.name) return e.on_mix;
  }
  return ExtraInherit::Parent1;
}

void import_member_state(Member& member, const NamedState& state) {
  if (!member.model)
    throw std::runtime_error("import_member_state: the member has no model; build it before importing");
  bool has_average = false;
  for (const auto& nt : state) {
    const bool model = nt.name.compare(0, 6, "model.") == 0;
    const bool average = nt.name.compare(0, 8, "average.") == 0;
    const bool optim = nt.name.compare(0, 6, "optim.") == 0;
    const bool extra = nt.name.compare(0, 6, "extra.") == 0;
    if (!model && !average && !optim && !extra)
      throw std::runtime_error("import_member_state: entry '" + nt.name + "' belongs to no group; "
                               "names must start with model., average., optim. or extra.");
    has_average = has_average || average;
  }
  load_module_state(*member.model, state, "model.");
  if (member.average) {
    load_module_state(*member.average, state, "average.");
  } else if (has_average) {
    throw std::runtime_error("import_member_state: the state holds average.* tensors but the member "
                             "keeps no averaged copy; build the member with its average (EMA/target)");
  }

  NamedState extra;
  for (const auto& nt : state)
    if (nt.name.compare(0, 6, "extra.") == 0)
      extra.push_back({nt.name.substr(6), nt.tensor.to(member.device).clone(torch::MemoryFormat::Contiguous)});
  member.extra = std::move(extra);

  const auto saved = parse_optim(state);
  for (const auto& [k, so] : saved)
    if (k < 0 || k >= static_cast<std::int64_t>(member.optimizers.size()))
      throw std::runtime_error("import_member_state: the state holds optimizer " + std::to_string(k) +
                               " but the member has " + std::to_string(member.optimizers.size()) +
                               " optimizer(s); the state was made for another task");
  for (std::size_t k = 0; k < member.optimizers.size(); ++k) {
    auto& opt = member.optimizers[k];
    if (!opt) throw std::runtime_error("import_member_state: optimizer " + std::to_string(k) + " is null");
    require_adam_family(*opt, k, "import_member_state");
    const auto it = saved.find(static_cast<std::int64_t>(k));
    if (it == saved.end())
      throw std::runtime_error("import_member_state: the state has no entries for optimizer " +
                               std::to_string(k) + " (no 'optim." + std::to_string(k) +
                               ".count'); the state was made for another task or is incomplete");
    import_optimizer(*opt, k, it->second);
  }
}

std::int64_t count_parameters(const torch::nn::Module& net) {
  std::int64_t n = 0;
  for (const auto& p : net.parameters()) n += p.numel();
  return n;
}

}  // namespace pbtnas
