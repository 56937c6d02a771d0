#pragma once
// Applying hyperparameter genes (core/hyper_genes.hpp) to a member's optimizers: only the
// options of the parameter groups change; the optimizer state (Adam moments, step counts) is
// kept, so a rate that changes between generations continues the same optimizer.
#include <optional>
#include <string>

#include <torch/torch.h>

#include "pbtnas/core/hyper_genes.hpp"

namespace pbtnas {

// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);
// Sets the weight decay of every parameter group of an Adam or AdamW optimizer (throws
// std::logic_error for another optimizer).
void set_weight_decay(torch::optim::Optimizer& optimizer, double weight_decay);
// Sets beta1 of every parameter group of an Adam or AdamW optimizer, keeping beta2.
void set_beta1(torch::optim::Optimizer& optimizer, double beta1);

// The value of hyperparameter `name` in the member's genome, else `fallback` (the task's key).
double hyper_or(const SearchSpace& space, const Genome& genome, const std::string& name, double fallback);

}  // namespace pbtnas
