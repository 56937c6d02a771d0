// `pbtnas export FILE.h5 --out DIR`: one member's network as files that plain PyTorch reads
// (docs/export.md):
//   DIR/model.pt           state dict (name -> tensor) of the network: the classifier, or the GAN
//                          generator as pbtnas evaluates it (EMA parameters, live BatchNorm
//                          statistics)
//   DIR/discriminator.pt   GAN only: the live discriminator's state (pbtnas names)
//   DIR/architecture.json  task, space, genome with gene and option names, model settings
//   DIR/example.pt         fixed inputs and pbtnas's own outputs for them (eval mode)
// The run config comes from the run's index.h5 (found from the file's path) or from --config.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "pbtnas/core/config.hpp"
#include "pbtnas/io/checkpoint.hpp"
#include "pbtnas/io/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/run_dir.hpp"
#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/tasks/classify/classify.hpp"
#include "pbtnas/tasks/classify/classify_data.hpp"
#include "pbtnas/tasks/gan/gan_models.hpp"
#include "pbtnas/tasks/gan/gan_options.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr int kExportFormatVersion = 1;
constexpr std::uint64_t kExampleSeed = 20231;  // the fixed example inputs

// A usage error of `pbtnas export` (bad path, wrong file kind, unsupported task): exit code 2.
struct ExportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char* kMemberHint =
    "pbtnas export takes a member file: OUT/best_ever.h5 or OUT/checkpoints/gen_NNNNNN/member_NNN.h5";

// The run config: --config, else the index.h5 of the file's generation directory, else the newest
// readable index.h5 of the run directory the file lies in (OUT/best_ever.h5 -> OUT).
RunConfig find_run_config(const std::string& file, const std::string& config_path, std::string& origin) {
  if (!config_path.empty()) {
    origin = config_path;
    return load_run_config(config_path);
  }
  std::error_code ec;
  const fs::path abs = fs::absolute(file, ec);
  const fs::path dir = abs.parent_path();
  std::vector<std::string> tried;
  auto try_index = [&](const fs::path& index) -> std::optional<RunConfig> {
    if (!fs::exists(index, ec)) {
      tried.push_back(index.string() + " (missing)");
      return std::nullopt;
    }
    try {
      const io::GenerationIndex idx = io::read_index(index.string());
      origin = index.string();
      return parse_run_config(idx.config_yaml, index.string() + " (config_yaml)");
    } catch (const io::CheckpointError& e) {
      tried.push_back(index.string() + " (" + e.what() + ")");
      return std::nullopt;
    }
  };
  // A member file inside a generation directory: that generation's index.
  if (auto cfg = try_index(dir / "index.h5")) return *cfg;
  // The run directory: OUT for OUT/best_ever.h5, OUT for OUT/checkpoints/gen_N/member_M.h5.
  std::vector<fs::path> outs{dir};
  if (dir.parent_path().filename() == "checkpoints") outs.push_back(dir.parent_path().parent_path());
  for (const auto& out : outs) {
    if (!fs::is_directory(fs::path(io::checkpoints_dir(out.string())), ec)) continue;
    const auto gens = io::list_generation_dirs(out.string());
    for (auto it = gens.rbegin(); it != gens.rend(); ++it)
      if (auto cfg = try_index(io::index_file_path(out.string(), *it))) return *cfg;
  }
  std::string why = tried.empty() ? "no OUT/checkpoints/gen_*/index.h5 near it" : "tried " + tried.front();
  if (tried.size() > 1) why += " and " + std::to_string(tried.size() - 1) + " more";
  throw ExportError("cannot find the run's config for " + file + " (" + why +
                    "); keep the file inside its run directory (OUT/best_ever.h5, "
                    "OUT/checkpoints/gen_NNNNNN/member_NNN.h5), or pass the run's YAML config "
                    "with --config FILE");
}

void write_bytes(const fs::path& path, const std::vector<char>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw std::runtime_error("cannot write " + path.string() + "; check that the folder is writable");
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  if (!f) throw std::runtime_error("cannot write " + path.string() + "; check that the folder is writable");
}

// name -> tensor, pickled as torch.save does: torch.load gives a dict (an OrderedDict-like
// mapping that load_state_dict accepts).
std::vector<char> pickle_state(const NamedState& state) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& nt : state) dict.insert(nt.name, nt.tensor.detach().to(torch::kCPU).contiguous());
  return torch::pickle_save(c10::IValue(dict));
}

struct Exported {
  NamedState model;          // -> model.pt
  NamedState extra;          // -> discriminator.pt (GAN), empty otherwise
  torch::Tensor input, output;  // -> example.pt
  json model_json;           // "model" of architecture.json
  std::string network;       // "classifier" | "generator"
};

// The member's model weights into `net`, built from the config: a config of the same task and
// search space but other sizes (channels, widths) does not fit the file.
void load_model(torch::nn::Module& net, const io::MemberFile& m) {
  try {
    load_module_state(net, m.state, "model.");
  } catch (const std::exception& e) {
    throw ExportError(std::string(e.what()) +
                      "; the member file does not fit the network sizes of the config (another channels or "
                      "width setting?): pass the run's own config with --config FILE, or leave --config out");
  }
}

// The class count and image channels of a classifier member: the shapes of its head and stem.
std::pair<int, int> classifier_io(const io::MemberFile& m) {
  int classes = kClassifyClasses, channels = 1;
  for (const auto& t : m.state) {
    if (!t.tensor.defined()) continue;
    if (t.name == "model.head.weight") classes = static_cast<int>(t.tensor.size(0));
    if (t.name == "model.stem.conv.weight") channels = static_cast<int>(t.tensor.size(1));
  }
  return {classes, channels};
}

Exported export_classifier(const RunConfig& cfg, const io::MemberFile& m, int examples) {
  const auto& cc = cfg.options<ClassifyConfig>();
  const auto [classes, channels] = classifier_io(m);
  auto net = std::make_shared<ClassifyNetImpl>(m.genome, cc, classes, channels);
  load_model(*net, m);
  net->eval();
  Exported e;
  e.network = "classifier";
  e.model = snapshot_cpu(module_state(*net));
  // Fixed inputs: standard normal images (the scale of normalised pixels), 28 x 28 like
  // Fashion-MNIST (the network pools globally, so any size works).
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kExampleSeed);
  e.input = at::normal(0.0, 1.0, {examples, channels, 28, 28}, gen);
  {
    torch::NoGradGuard no_grad;
    e.output = net->forward(e.input).contiguous();
  }
  json normalisation;
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

Exported export_generator(const RunConfig& cfg, const io::MemberFile& m, int examples) {
  const auto& gc = cfg.options<gan::GanTaskConfig>();
  const gan::GanSpaceKind kind = gan::gan_space_kind(gc.space);
  auto net = std::make_shared<gan::GanNetImpl>(kind, m.genome, gc.model);
  load_model(*net, m);
  // As pbtnas samples (GanTask::sample_ema): the EMA parameters ("average.generator.*") in the
  // live generator, whose BatchNorm running statistics stay (docs/algorithm.md, Q12); eval mode.
  {
    torch::NoGradGuard no_grad;
    for (auto& item : net->generator->named_parameters()) {
      const std::string name = "average.generator." + item.key();
      const torch::Tensor* avg = find_tensor(m.state, name);
      if (!avg)
        throw ExportError("the member file lacks " + name +
                          " (the EMA generator); it was not written by the GAN task of this pbtnas");
      if (avg->sizes() != item.value().sizes())
        throw ExportError(name + " has shape " + c10::str(avg->sizes()) + " but the generator expects " +
                          c10::str(item.value().sizes()));
      item.value().detach().copy_(*avg);
    }
  }
  net->eval();
  Exported e;
  e.network = "generator";
  e.model = snapshot_cpu(module_state(*net->generator));
  e.extra = snapshot_cpu(module_state(*net->discriminator));
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(kExampleSeed);
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

}  // namespace

// DIR must be new, empty, or an earlier export (it has architecture.json): files that are not
// pbtnas's are never replaced or removed.
static void check_out_dir(const std::string& dir) {
  std::error_code ec;
  const fs::path out(dir);
  if (!fs::exists(out, ec)) return;
  if (!fs::is_directory(out, ec))
    throw ExportError("--out " + dir + " is a file; pass a folder (new, empty, or an earlier export)");
  if (fs::exists(out / "architecture.json", ec)) return;
  if (fs::directory_iterator(out, ec) != fs::directory_iterator())
    throw ExportError("--out " + dir + " holds other files and no earlier pbtnas export (architecture.json); pass a "
                      "new or empty folder, so that nothing in it is replaced");
}

int export_command(const ExportOptions& o) {
  try {
    if (o.examples < 1) throw ExportError("--examples must be >= 1");
    std::error_code ec;
    if (!fs::exists(o.file, ec)) throw ExportError(o.file + " does not exist; check the path. " + kMemberHint);
    if (!fs::is_regular_file(o.file, ec)) throw ExportError(o.file + " is not a regular file. " + kMemberHint);
    io::MemberFile m;
    try {
      m = io::read_member_file(o.file);
    } catch (const io::CheckpointError& e) {
      // The reader's advice names index.h5 too, which export does not take.
      std::string what = e.what();
      for (const char* advice : {"; pass a member_NNN.h5 or index.h5 file written by pbtnas",
                                 "; pass a member_NNN.h5 or index.h5 file"})
        if (auto at = what.find(advice); at != std::string::npos) what.erase(at, std::strlen(advice));
      throw ExportError(what + ". " + kMemberHint);
    }
    set_compute_threads(1);

    std::string origin;
    const RunConfig cfg = find_run_config(o.file, o.config, origin);
    if (cfg.task != "classify" && cfg.task != "gan")
      throw ExportError("the run's task is '" + cfg.task +
                        "'; pbtnas export covers the classify and gan tasks (RL networks are not exported yet)");
    const SearchSpace space = task_space(cfg);
    try {
      space.validate(m.genome);
    } catch (const std::invalid_argument& e) {
      throw ExportError(o.file + " does not belong to the run of " + origin + " (" + e.what() +
                        "); pass the run's own config with --config FILE");
    }
    const auto option_names = space.option_names(m.genome);
    if (!m.genome_options.empty() && m.genome_options != option_names)
      throw ExportError(o.file + " names other options than the search space '" + space.name() + "' of " +
                        origin + "; pass the run's own config with --config FILE");

    check_out_dir(o.out);
    Exported e = cfg.task == "classify" ? export_classifier(cfg, m, o.examples) : export_generator(cfg, m, o.examples);

    const fs::path out(o.out);
    fs::create_directories(out, ec);
    if (!fs::is_directory(out)) throw ExportError("cannot create the folder " + o.out + ": " + ec.message());
    write_bytes(out / "model.pt", pickle_state(e.model));
    if (!e.extra.empty())
      write_bytes(out / "discriminator.pt", pickle_state(e.extra));
    else
      fs::remove(out / "discriminator.pt", ec);  // a stale one of an earlier GAN export into DIR
    {
      c10::Dict<std::string, at::Tensor> example;
      example.insert("input", e.input);
      example.insert("output", e.output);
      write_bytes(out / "example.pt", torch::pickle_save(c10::IValue(example)));
    }

    json genes = json::array();
    for (std::size_t g = 0; g < space.size(); ++g)
      genes.push_back({{"name", space.gene(g).name}, {"option", m.genome[g]}, {"option_name", option_names[g]}});
    json evaluation = json::object();
    for (const auto& [name, value] : m.evaluation) evaluation[name] = std::isfinite(value) ? json(value) : json(nullptr);
    json fitness = m.fitness.empty() || !std::isfinite(m.fitness.back()) ? json(nullptr) : json(m.fitness.back());
    json files = {{"model.pt", "state dict of the " + e.network + " (torch.load)"},
                  {"example.pt", "dict: input, output (pbtnas's own output for input, eval mode)"}};
    if (!e.extra.empty()) files["discriminator.pt"] = "state dict of the live discriminator (pbtnas names; not rebuilt by pbtnas_models.py)";
    const json arch = {
        {"format", "pbtnas-export"},
        {"format_version", kExportFormatVersion},
        {"pbtnas_version", PBTNAS_VERSION},
        {"torch_version", TORCH_VERSION},
        {"task", cfg.task},
        {"space", space.name()},
        {"network", e.network},
        {"genome", m.genome},
        {"genes", genes},
        {"model", e.model_json},
        {"source", {{"member", m.id}, {"generation", m.generation}, {"fitness", fitness},
                    {"evaluation", evaluation}, {"seed", cfg.seed}}},
        {"example", {{"input_shape", e.input.sizes().vec()}, {"output_shape", e.output.sizes().vec()}}},
        {"files", files}};
    write_text(out / "architecture.json", arch.dump(2) + "\n");

    std::cout << "exported " << e.network << " of member " << m.id << " (generation " << m.generation << ", "
              << cfg.task << ", space " << space.name() << ") to " << o.out << "\n";
    std::cout << "  model.pt: " << e.model.size() << " tensors, " << state_bytes(e.model) << " bytes\n";
    if (!e.extra.empty()) std::cout << "  discriminator.pt: " << e.extra.size() << " tensors\n";
    std::cout << "  example.pt: input " << c10::str(e.input.sizes()) << " -> output " << c10::str(e.output.sizes())
              << "\n  architecture.json: " << space.describe(m.genome) << "\n  config from " << origin << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas export: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
