// `pbtnas export` of a classify member (docs/export.md): the classifier, standard normal example
// images and the input normalisation.
#include <ATen/CPUGeneratorImpl.h>

#include "pbtnas/tasks/classify/classify.hpp"
#include "pbtnas/tasks/classify/classify_data.hpp"
#include "pbtnas/tasks/classify/classify_model.hpp"
#include "pbtnas/tasks/export.hpp"

namespace pbtnas::classify {

namespace {

// The class count and image channels of a classifier member: the shapes of its head and stem.
std::pair<int, int> classifier_io(const NamedState& state) {
  int classes = kClassifyClasses, channels = 1;
  for (const auto& t : state) {
    if (!t.tensor.defined()) continue;
    if (t.name == "model.head.weight") classes = static_cast<int>(t.tensor.size(0));
    if (t.name == "model.stem.conv.weight") channels = static_cast<int>(t.tensor.size(1));
  }
  return {classes, channels};
}

}  // namespace

ExportedNetwork export_classifier(const TaskOptions& options, const Genome& genome, const NamedState& state,
                                  int examples) {
  const auto& cc = options_as<ClassifyOptions>(options, "classify");
  const auto [classes, channels] = classifier_io(state);
  auto net = std::make_shared<ClassifyNetImpl>(genome, cc, classes, channels);
  load_exported_model(*net, state);
  net->eval();
  ExportedNetwork e;
  e.network = "classifier";
  e.model = snapshot_cpu(module_state(*net));
  // Fixed inputs: standard normal images (the scale of normalised pixels), 28 x 28 like
  // Fashion-MNIST (the network pools globally, so any size works).
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kExportExampleSeed);
  e.input = at::normal(0.0, 1.0, {examples, channels, 28, 28}, gen);
  {
    torch::NoGradGuard no_grad;
    e.output = net->forward(e.input).contiguous();
  }
  nlohmann::ordered_json normalisation;
  if (cc.data.format == "idx") {
    normalisation = {{"mean", kFashionMnistMean}, {"std", kFashionMnistStd}, {"formula", "(pixel / 255 - mean) / std"}};
  } else {
    // The statistics the run used: computed from the training data again (or found in the cache).
    const ClassifyData data = load_classify_data(cc.data);
    const InputNormalisation n = input_normalisation(cc.data, data, "");
    normalisation = {{"mean", n.mean}, {"std", n.std}, {"scale", n.scale},
                     {"formula", "(pixel * scale - mean[c]) / std[c] per channel c"},
                     {"class_names", data.class_names}};
  }
  e.model_json = {{"channels", cc.channels},
                  {"cells_per_stage", cc.cells_per_stage},
                  {"n_classes", classes},
                  {"image_channels", channels},
                  {"input_normalisation", normalisation}};
  return e;
}

}  // namespace pbtnas::classify
