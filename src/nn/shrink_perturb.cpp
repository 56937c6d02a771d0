#include "pbtnas/nn/shrink_perturb.hpp"

#include <stdexcept>
#include <string>

namespace pbtnas {

torch::Tensor shrink_perturb(const torch::Tensor& donor, const torch::Tensor& fresh,
                             const ShrinkPerturb& sp) {
  if (!donor.defined() || !fresh.defined())
    throw std::invalid_argument("shrink_perturb: the donor or fresh tensor is undefined; pass the "
                                "same-named tensor of parent2 and of the fresh child network");
  if (donor.sizes() != fresh.sizes())
    throw std::invalid_argument("shrink_perturb: donor shape " + c10::str(donor.sizes()) +
                                " differs from fresh shape " + c10::str(fresh.sizes()) +
                                "; both must come from networks with the child's architecture");
  torch::NoGradGuard no_grad;
  const torch::Tensor d = donor.detach();
  if (!d.is_floating_point()) return d.clone(torch::MemoryFormat::Contiguous);
  if (fresh.scalar_type() != d.scalar_type())
    throw std::invalid_argument("shrink_perturb: donor dtype " + std::string(c10::toString(d.scalar_type())) +
                                " differs from fresh dtype " +
                                std::string(c10::toString(fresh.scalar_type())) +
                                "; build the fresh network with the same dtype as the population");
  if (sp.shrink == 1.0 && sp.perturb == 0.0) return d.clone(torch::MemoryFormat::Contiguous);
  // A private copy of fresh on donor's device.
  const torch::Tensor f = fresh.detach().to(d.device(), d.scalar_type(), /*non_blocking=*/false,
                                            /*copy=*/true, torch::MemoryFormat::Contiguous);
  if (sp.shrink == 0.0 && sp.perturb == 1.0) return f;
  return (d * sp.shrink + f * sp.perturb).contiguous();
}

}  // namespace pbtnas
