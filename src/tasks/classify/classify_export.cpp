// `pbtnas export` of a classify member (docs/export.md): the classifier, standard normal example
// images and the input normalisation.
#include <ATen/CPUGeneratorImpl.h>

#include "pbtnas/tasks/classify/classify.hpp"
#include "pbtnas/tasks/classify/classify_model.hpp"
#include "pbtnas/tasks/export.hpp"

namespace pbtnas {

ExportedNetwork export_classifier(const TaskOptions& options, const Genome& genome, const NamedState& state,
                                  int examples) {
  const auto& cc = options_as<ClassifyConfig>(options, "classify");
  auto net = std::make_shared<ClassifyNetImpl>(genome, cc, kClassifyClasses);
  load_exported_model(*net, state);
  net->eval();
  ExportedNetwork e;
  e.network = "classifier";
  e.model = snapshot_cpu(module_state(*net));
  // Fixed inputs: standard normal images (the scale of normalised pixels), 28 x 28 like
  // Fashion-MNIST (the network pools globally, so any size works).
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kExportExampleSeed);
  e.input = at::normal(0.0, 1.0, {examples, 1, 28, 28}, gen);
  {
    torch::NoGradGuard no_grad;
    e.output = net->forward(e.input).contiguous();
  }
  e.model_json = {{"channels", cc.channels},
                  {"cells_per_stage", cc.cells_per_stage},
                  {"n_classes", kClassifyClasses},
                  {"image_channels", 1},
                  {"input_normalisation", {{"mean", kFashionMnistMean}, {"std", kFashionMnistStd},
                                           {"formula", "(pixel / 255 - mean) / std"}}}};
  return e;
}

}  // namespace pbtnas
