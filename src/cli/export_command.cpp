// `pbtnas export FILE.h5 --out DIR`: one member's network as files that plain PyTorch reads
// (docs/export.md):
//   DIR/model.pt           state dict (name -> tensor) of the network: the classifier, or the GAN
//                          generator as pbtnas evaluates it (EMA parameters, live BatchNorm
//                          statistics)
//   DIR/<extra file>       what else the task exports (GAN: discriminator.pt, the live
//                          discriminator's state in pbtnas names)
//   DIR/architecture.json  task, space, genome with gene and option names, model settings
//   DIR/example.pt         fixed inputs and pbtnas's own outputs for them (eval mode)
// The run config comes from the run's index.h5 (found from the file's path) or from --config.
// The network itself comes from the task's registry entry (TaskEntry::export_member).
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
#include "pbtnas/nn/compute_threads.hpp"
#include "pbtnas/core/config.hpp"
#include "pbtnas/index/checkpoint.hpp"
#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/member_shard.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/tasks/export.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr int kExportFormatVersion = 1;

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

}  // namespace

// An earlier export into DIR may have written files this one does not (another task's extra
// file): its architecture.json lists them under "files"; those not written now are removed.
static void remove_stale_files(const fs::path& out, const ExportedNetwork& now) {
  std::error_code ec;
  std::ifstream f(out / "architecture.json");
  if (!f) return;
  const json old = json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (!old.is_object() || !old.contains("files") || !old["files"].is_object()) return;
  for (const auto& [name, what] : old["files"].items()) {
    (void)what;
    const bool kept = name == "model.pt" || name == "example.pt" || name == "architecture.json" ||
                      (!now.extra.empty() && name == now.extra_file);
    if (!kept && name.find('/') == std::string::npos) fs::remove(out / name, ec);
  }
}

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

// The member file FILE, with the reader's errors worded for export.
static io::MemberFile read_member_for_export(const std::string& file) {
  std::error_code ec;
  const bool in_shard = io::is_member_in_index(file);  // gen_N/member_M.h5 of a format-3 generation
  if (!in_shard && !fs::exists(file, ec)) throw ExportError(file + " does not exist; check the path. " + kMemberHint);
  if (!in_shard && !fs::is_regular_file(file, ec)) throw ExportError(file + " is not a regular file. " + kMemberHint);
  try {
    return io::read_member_path(file);
  } catch (const io::CheckpointError& e) {
    // The reader's advice names index.h5 too, which export does not take.
    std::string what = e.what();
    for (const char* advice : {"; pass a member_NNN.h5 or index.h5 file written by pbtnas",
                               "; pass a member_NNN.h5 or index.h5 file"})
      if (auto at = what.find(advice); at != std::string::npos) what.erase(at, std::strlen(advice));
    throw ExportError(what + ". " + kMemberHint);
  }
}

// The task's entry, when it exports its networks.
static const TaskEntry& exporting_task(const RunConfig& cfg) {
  const TaskEntry& entry = find_task(cfg.task);
  if (entry.export_member) return entry;
  std::string exportable;
  for (const auto& t : task_registry())
    if (t.export_member) exportable += (exportable.empty() ? "" : ", ") + t.name;
  throw ExportError("the run's task is '" + cfg.task + "', whose networks pbtnas export does not write yet; it "
                    "exports the tasks " + exportable);
}

// The member's genome belongs to the config's search space (same options, same names).
static void check_member_fits(const io::MemberFile& m, const SearchSpace& space, const std::string& file,
                              const std::string& origin) {
  try {
    space.validate(m.genome);
  } catch (const std::invalid_argument& e) {
    throw ExportError(file + " does not belong to the run of " + origin + " (" + e.what() +
                      "); pass the run's own config with --config FILE");
  }
  if (!m.genome_options.empty() && m.genome_options != space.option_names(m.genome))
    throw ExportError(file + " names other options than the search space '" + space.name() + "' of " + origin +
                      "; pass the run's own config with --config FILE");
}

// architecture.json: what the files hold and where they come from.
static json architecture_json(const RunConfig& cfg, const SearchSpace& space, const io::MemberFile& m,
                              const ExportedNetwork& e) {
  const auto option_names = space.option_names(m.genome);
  json genes = json::array();
  for (std::size_t g = 0; g < space.size(); ++g)
    genes.push_back({{"name", space.gene(g).name}, {"option", m.genome[g]}, {"option_name", option_names[g]}});
  json evaluation = json::object();
  for (const auto& [name, value] : m.evaluation) evaluation[name] = std::isfinite(value) ? json(value) : json(nullptr);
  json fitness = m.fitness.empty() || !std::isfinite(m.fitness.back()) ? json(nullptr) : json(m.fitness.back());
  json files = {{"model.pt", "state dict of the " + e.network + " (torch.load)"},
                {"example.pt", "dict: input, output (pbtnas's own output for input, eval mode)"}};
  if (!e.extra.empty()) files[e.extra_file] = e.extra_description;
  return {{"format", "pbtnas-export"},
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
}

// Writes the export's files into `dir` (created when absent).
static void write_export(const std::string& dir, const json& arch, const ExportedNetwork& e) {
  std::error_code ec;
  const fs::path out(dir);
  fs::create_directories(out, ec);
  if (!fs::is_directory(out)) throw ExportError("cannot create the folder " + dir + ": " + ec.message());
  remove_stale_files(out, e);
  write_bytes(out / "model.pt", pickle_state(e.model));
  if (!e.extra.empty()) write_bytes(out / e.extra_file, pickle_state(e.extra));
  c10::Dict<std::string, at::Tensor> example;
  example.insert("input", e.input);
  example.insert("output", e.output);
  write_bytes(out / "example.pt", torch::pickle_save(c10::IValue(example)));
  write_text(out / "architecture.json", arch.dump(2) + "\n");
}

int export_command(const ExportOptions& o) {
  try {
    if (o.examples < 1) throw ExportError("--examples must be >= 1");
    const io::MemberFile m = read_member_for_export(o.file);
    set_compute_threads(1);
    std::string origin;
    const RunConfig cfg = find_run_config(o.file, o.config, origin);
    const TaskEntry& entry = exporting_task(cfg);
    const SearchSpace space = task_space(cfg);
    check_member_fits(m, space, o.file, origin);
    check_out_dir(o.out);
    ExportedNetwork e;
    try {
      // The network is the architecture genes' (hyperparameter genes train it, they do not shape it).
      e = entry.export_member(*cfg.task_options, architecture_genome(space, m.genome), m.state, o.examples);
    } catch (const std::invalid_argument& err) {
      throw ExportError(err.what());
    }
    write_export(o.out, architecture_json(cfg, space, m, e), e);

    std::cout << "exported " << e.network << " of member " << m.id << " (generation " << m.generation << ", "
              << cfg.task << ", space " << space.name() << ") to " << o.out << "\n";
    std::cout << "  model.pt: " << e.model.size() << " tensors, " << state_bytes(e.model) << " bytes\n";
    if (!e.extra.empty()) std::cout << "  " << e.extra_file << ": " << e.extra.size() << " tensors\n";
    std::cout << "  example.pt: input " << c10::str(e.input.sizes()) << " -> output " << c10::str(e.output.sizes())
              << "\n  architecture.json: " << space.describe(m.genome) << "\n  config from " << origin << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas export: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
