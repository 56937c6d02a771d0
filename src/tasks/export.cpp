#include "pbtnas/tasks/export.hpp"

#include <stdexcept>

namespace pbtnas {

void load_exported_model(torch::nn::Module& net, const NamedState& state) {
  try {
    load_module_state(net, state, "model.");
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string(e.what()) +
                                "; the member file does not fit the network sizes of the config (another channels or "
                                "width setting?): pass the run's own config with --config FILE, or leave --config out");
  }
}

}  // namespace pbtnas
