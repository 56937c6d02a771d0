// `pbtnas export` of a GAN member (docs/export.md): the generator as pbtnas samples it (EMA
// parameters in the live generator, whose BatchNorm running statistics stay), the live
// discriminator, and latent example inputs.
#include <ATen/CPUGeneratorImpl.h>

#include "pbtnas/tasks/export.hpp"
#include "pbtnas/tasks/gan/gan_entry.hpp"
#include "pbtnas/tasks/gan/gan_models.hpp"
#include "pbtnas/tasks/gan/gan_options.hpp"

namespace pbtnas::gan {

ExportedNetwork export_generator(const TaskOptions& options, const Genome& genome, const NamedState& state,
                                 int examples) {
  const auto& gc = options_as<GanOptions>(options, "gan");
  auto net = std::make_shared<GanNetImpl>(gan_space_kind(gc.space), genome, gc.model);
  load_exported_model(*net, state);
  // As pbtnas samples (GanTask::sample_ema): the EMA parameters ("average.generator.*") in the
  // live generator, whose BatchNorm running statistics stay (docs/algorithm.md, Q12); eval mode.
  {
    torch::NoGradGuard no_grad;
    for (auto& item : net->generator->named_parameters()) {
      const std::string name = "average.generator." + item.key();
      const torch::Tensor* avg = find_tensor(state, name);
      if (!avg)
        throw std::invalid_argument("the member file lacks " + name +
                                    " (the EMA generator); it was not written by the GAN task of this pbtnas");
      if (avg->sizes() != item.value().sizes())
        throw std::invalid_argument(name + " has shape " + c10::str(avg->sizes()) + " but the generator expects " +
                                    c10::str(item.value().sizes()));
      item.value().detach().copy_(*avg);
    }
  }
  net->eval();
  ExportedNetwork e;
  e.network = "generator";
  e.model = snapshot_cpu(module_state(*net->generator));
  e.extra = snapshot_cpu(module_state(*net->discriminator));
  e.extra_file = "discriminator.pt";
  e.extra_description = "state dict of the live discriminator (pbtnas names; not rebuilt by pbtnas_models.py)";
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kExportExampleSeed);
  e.input = at::normal(0.0, 1.0, {examples, gc.model.latent_dim}, gen);
  {
    torch::NoGradGuard no_grad;
    e.output = net->generate(e.input).contiguous();
  }
  const int side = gc.model.bottom_width * 8;
  e.model_json = {{"gf_dim", gc.model.gf_dim},
                  {"df_dim", gc.model.df_dim},
                  {"latent_dim", gc.model.latent_dim},
                  {"bottom_width", gc.model.bottom_width},
                  {"image_channels", gc.model.image_channels},
                  {"stl_projections", gc.model.stl_projections},
                  {"image_size", side},
                  {"faithful_d_block", gc.model.faithful_d_block},
                  {"dataset", gc.dataset},
                  {"weights", "EMA generator parameters with the live generator's BatchNorm running statistics"},
                  {"output_range", "[-1, 1] (tanh)"}};
  return e;
}

}  // namespace pbtnas::gan
