#include "pbtnas/tasks/hyper_apply.hpp"

#include <stdexcept>
#include <tuple>

namespace pbtnas {

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

namespace {
template <class F>
void for_adam_groups(torch::optim::Optimizer& optimizer, const char* what, F f) {
  for (auto& group : optimizer.param_groups()) {
    if (auto* w = dynamic_cast<torch::optim::AdamWOptions*>(&group.options())) {
      f(*w);
    } else if (auto* a = dynamic_cast<torch::optim::AdamOptions*>(&group.options())) {
      f(*a);
    } else {
      throw std::logic_error(std::string("hyperparameter gene ") + what +
                             ": the optimizer is not Adam or AdamW; the task cannot apply it");
    }
  }
}
}  // namespace

void set_weight_decay(torch::optim::Optimizer& optimizer, double weight_decay) {
  for_adam_groups(optimizer, "weight_decay", [&](auto& o) { o.weight_decay(weight_decay); });
}

void set_beta1(torch::optim::Optimizer& optimizer, double beta1) {
  for_adam_groups(optimizer, "beta1", [&](auto& o) { o.betas({beta1, std::get<1>(o.betas())}); });
}

double hyper_or(const SearchSpace& space, const Genome& genome, const std::string& name, double fallback) {
  return hyper_value(space, genome, name).value_or(fallback);
}

}  // namespace pbtnas
