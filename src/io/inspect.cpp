// `pbtnas inspect`: human-readable summaries of index and member files (<= 100 columns).
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <map>
#include <fstream>

#include "pbtnas/index/file_util.hpp"
#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/inspect.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/member_shard.hpp"
#include "pbtnas/index/run_dir.hpp"

namespace fs = std::filesystem;

namespace pbtnas::io {
namespace {

constexpr std::size_t kWidth = 100;

__attribute__((format(printf, 1, 2))) std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

std::string fitness_text(double v) {
  if (std::isnan(v)) return "nan";
  if (v == kFitnessDiverged) return "diverged";
  return fmt("%.4g", v);
}

std::string bytes_text(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return u == 0 ? fmt("%.0f B", b) : fmt("%.1f %s", b, units[u]);
}

// The last (at most `n`) fitness values, oldest first, that fit in `width` columns, with "..."
// in front when some were left out.
std::string recent_fitness(const std::vector<double>& f, std::size_t n, std::size_t width) {
  std::string s;
  for (n = std::min(n, f.size()); n > 0; --n) {
    s = f.size() > n ? "... " : "";
    for (std::size_t i = f.size() - n; i < f.size(); ++i)
      s += fitness_text(f[i]) + (i + 1 < f.size() ? " " : "");
    if (s.size() <= width) return s;
  }
  return f.empty() ? "-" : "...";
}

// Prints `text` after `prefix`, wrapping at word boundaries; continuation lines are indented
// to the width of the prefix.
void print_wrapped(std::ostream& out, const std::string& prefix, const std::string& text) {
  const std::size_t indent = prefix.size();
  const std::size_t room = kWidth > indent + 20 ? kWidth - indent : 20;
  std::string line = prefix;
  std::size_t used = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(' ', pos);
    std::string word = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    if (used > 0 && used + 1 + word.size() > room) {
      out << line << '\n';
      line = std::string(indent, ' ');
      used = 0;
    }
    line += (used > 0 ? " " : "") + word;
    used += (used > 0 ? 1 : 0) + word.size();
  }
  out << line << '\n';
}

std::string shape_text(const std::vector<std::int64_t>& sizes) {
  if (sizes.empty()) return "scalar";
  std::string s;
  for (std::size_t i = 0; i < sizes.size(); ++i) s += (i ? "x" : "") + std::to_string(sizes[i]);
  return s;
}

std::string stats_text(const torch::Tensor& t) {
  if (t.numel() == 0) return "empty";
  if (t.numel() == 1) {
    torch::Tensor v = t.reshape({});
    return "value " + (t.is_floating_point() ? fmt("%.6g", v.item<double>())
                                             : std::to_string(v.item<std::int64_t>()));
  }
  if (!t.is_floating_point()) {
    torch::Tensor l = t.to(torch::kInt64);
    return fmt("min %lld  max %lld", static_cast<long long>(l.min().item<std::int64_t>()),
               static_cast<long long>(l.max().item<std::int64_t>()));
  }
  torch::Tensor d = t.to(torch::kFloat64);
  const std::int64_t bad = (~torch::isfinite(d)).sum().item<std::int64_t>();
  if (bad > 0)
    return fmt("non-finite %lld of %lld", static_cast<long long>(bad),
               static_cast<long long>(t.numel()));
  return fmt("mean %+.2e  std %.2e", d.mean().item<double>(), d.std(false).item<double>());
}

// Fits `s` into `width` columns, keeping its head (e.g. "model.") and its tail.
std::string shorten(const std::string& s, std::size_t width) {
  if (s.size() <= width) return s;
  const std::size_t head = std::min<std::size_t>(s.find('.') + 1, width / 3);
  return s.substr(0, head) + "..." + s.substr(s.size() - (width - 3 - head));
}

// The tensors by group; with `all`, every tensor with its whole name (the lines may be wider
// than 100 columns then).
void print_tensors(std::ostream& out, const MemberFile& m, bool all, const std::string& path) {
  std::size_t bytes = 0, name_w = 4;
  for (const auto& nt : m.state) {
    bytes += nt.tensor.numel() * nt.tensor.element_size();
    name_w = std::max(name_w, nt.name.size());
  }
  // One line per group: the networks, the averaged copy (EMA generator or target critic), the
  // optimizer state and each kind of task state (extra.<name>, e.g. an RL replay buffer).
  std::vector<std::pair<std::string, std::pair<std::size_t, std::int64_t>>> groups;
  for (const auto& nt : m.state) {
    std::string g = nt.name.substr(0, nt.name.find('.'));
    if (g == "extra") g = nt.name.substr(0, nt.name.find('.', 6));
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& e) { return e.first == g; });
    if (it == groups.end()) it = groups.insert(groups.end(), {g, {0, 0}});
    it->second.first += 1;
    it->second.second += nt.tensor.numel() * nt.tensor.element_size();
  }
  out << "groups\n";
  for (const auto& [g, n] : groups) {
    const char* what = g == "model" ? "networks" : g == "average" ? "averaged copy (EMA generator / target critic)"
                     : g == "optim" ? "optimizer state" : "task state";
    out << fmt("  %-16s %4zu tensors %12s  %s\n", g.c_str(), n.first, bytes_text(static_cast<double>(n.second)).c_str(), what);
  }
  if (!all) {
    out << "tensors: " << m.state.size() << ", " << bytes_text(static_cast<double>(bytes))
        << " (pbtnas inspect --tensors " << path << " lists them)\n";
    return;
  }
  out << "\n";
  out << "tensors (" << m.state.size() << ", " << bytes_text(static_cast<double>(bytes)) << ")\n";
  out << fmt("  %-*s %-8s %-12s %9s  %s\n", static_cast<int>(name_w), "name", "dtype", "shape",
             "numel", "statistics");
  for (const auto& nt : m.state) {
    const torch::Tensor& t = nt.tensor;
    const std::string row =
        fmt("  %-*s %-8s %-12s %9lld  ", static_cast<int>(name_w), nt.name.c_str(),
            dtype_name(t.scalar_type()).c_str(), shorten(shape_text(t.sizes().vec()), 12).c_str(),
            static_cast<long long>(t.numel()));
    const std::string stats = stats_text(t);
    if (row.size() + stats.size() <= std::max(kWidth, name_w + 60))
      out << row << stats << "\n";
    else  // very long statistics (extreme int64 values): right-aligned on the next line
      out << row << "\n"
          << std::string(row.size() - std::min(row.size(), stats.size()), ' ') << stats << "\n";
  }
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

std::string option_name(const GenerationIndex& idx, std::size_t g, int option) {
  if (g < idx.gene_options.size() && option >= 0 &&
      static_cast<std::size_t>(option) < idx.gene_options[g].size())
    return idx.gene_options[g][static_cast<std::size_t>(option)];
  return "?" + std::to_string(option);
}

std::string parents_text(const GenerationIndex& idx, const MemberRecord& m) {
  const Incarnation* inc = nullptr;
  for (const auto& h : idx.history)
    if (h.seq_id == m.incarnation) inc = &h;
  if (!inc) return "?";
  switch (inc->kind) {
    case ChildKind::Initial:
      return "initial";
    case ChildKind::Mix:
      return fmt("mix %d+%d", inc->parent1, inc->parent2);
    case ChildKind::Clone:
      return fmt("clone %d", inc->parent1);
    case ChildKind::WeightMutation:
      return fmt("wmut %d", inc->parent1);
    case ChildKind::ArchMutation:
      return fmt("amut %d", inc->parent1);
  }
  return "?";
}

// "0 -> 3 -> 7", keeping the first and the latest ids when the chain is too long.
std::string chain_text(const std::vector<int>& ids, std::size_t width) {
  std::vector<std::string> parts;
  for (int id : ids) parts.push_back(std::to_string(id));
  std::string s = join(parts, " -> ");
  for (std::size_t keep = parts.size(); s.size() > width && keep > 2; --keep) {
    std::vector<std::string> p(parts.begin(), parts.begin() + 1);
    p.push_back("...");
    p.insert(p.end(), parts.end() - static_cast<std::ptrdiff_t>(keep - 2), parts.end());
    s = join(p, " -> ");
  }
  return s.empty() ? "-" : s;
}

void inspect_index(const std::string& path, std::ostream& out, bool tensors) {
  const GenerationIndex idx = read_index(path);
  const fs::path dir = fs::path(path).parent_path();
  out << "pbtnas generation index  " << path << "\n";
  out << fmt("  generation %lld   next epoch %d   seed %llu\n",
             static_cast<long long>(idx.generation), idx.next_epoch,
             static_cast<unsigned long long>(idx.seed));
  out << fmt("  algorithm %s   search space %s (%zu genes)   format version %d\n",
             idx.algorithm.c_str(), idx.space_name.c_str(), idx.gene_names.size(),
             idx.format_version);
  out << fmt("  population %zu   history %zu incarnations\n", idx.members.size(),
             idx.history.size());
  out << "  best ever: fitness " << fitness_text(idx.best_ever_fitness) << ", member "
      << idx.best_ever_member << " in generation " << idx.best_ever_generation << "\n";
  std::uint64_t total = 0;
  for (const auto& f : idx.files) total += f.bytes;
  try {
    detail::verify_files(dir.string(), idx.generation, idx, /*check_crc=*/true);
    std::size_t member_files = 0, shards = 0;
    std::string shared;
    for (const auto& f : idx.files) {
      if (f.member == kSharedFileMember)
        shared += " and " + f.file;
      else if (f.member == kShardFileMember)
        ++shards;
      else
        ++member_files;
    }
    std::string what = std::to_string(member_files) + " member files";
    if (shards > 0)
      what = std::to_string(idx.members.size()) + " members in " + std::to_string(shards) + " shard files" +
             (member_files > 0 ? " and " + what : std::string());
    out << "  status: committed (" << what << shared << " verified, " << bytes_text(static_cast<double>(total)) << ")\n";
  } catch (const CheckpointError& e) {
    print_wrapped(out, "  status: NOT VALID: ", e.what());
  }
  for (const auto& f : idx.files)
    if (f.member == kSharedFileMember)
      out << "  shared state: " << f.file << " (" << bytes_text(static_cast<double>(f.bytes))
          << "; pbtnas inspect " << (dir / f.file).string() << ")\n";

  out << "\npopulation\n";
  const std::string head =
      fmt("  %3s  %-9s %-40s %-9s ", "id", "last fit", "recent fitness (oldest first)", "parents");
  out << head << "architecture\n";
  const MemberRecord* best = nullptr;
  for (const auto& m : idx.members) {
    if (!best || m.last_fitness() > best->last_fitness()) best = &m;
    std::vector<std::string> arch;
    for (std::size_t g = 0; g < m.genome.size(); ++g)
      arch.push_back((g < idx.gene_names.size() ? idx.gene_names[g] + "=" : std::string()) +
                     option_name(idx, g, m.genome[g]));
    const std::string row =
        fmt("  %3d  %-9s %-40s %-9s ", m.id, fitness_text(m.last_fitness()).c_str(),
            recent_fitness(m.fitness, 5, 40).c_str(), parents_text(idx, m).c_str());
    if (row.size() != head.size()) out << row << "\n";  // a wide cell: architecture below
    print_wrapped(out, row.size() == head.size() ? row : std::string(head.size(), ' '),
                  arch.empty() ? "-" : join(arch, " "));
  }
  if (!best) return;

  const auto where = member_locations(idx);
  const MemberLocation* file = where.count(best->id) ? &where.at(best->id) : nullptr;
  out << "\nbest member " << best->id << " (fitness " << fitness_text(best->last_fitness()) << ")"
      << (file ? ", file " + file->file + (file->group.empty() ? "" : ", group " + file->group) : std::string())
      << "\n";
  out << "  lineage per gene: slot ids the layer passed through, oldest first\n";
  std::size_t gene_w = 4, opt_w = 6;
  for (std::size_t g = 0; g < best->genome.size(); ++g) {
    if (g < idx.gene_names.size()) gene_w = std::max(gene_w, idx.gene_names[g].size());
    opt_w = std::max(opt_w, option_name(idx, g, best->genome[g]).size());
  }
  opt_w = std::min<std::size_t>(opt_w, 16);
  for (std::size_t g = 0; g < best->genome.size(); ++g) {
    const std::string gene = g < idx.gene_names.size() ? idx.gene_names[g] : std::to_string(g);
    const std::vector<int> ids = g < best->lineage.size() ? best->lineage[g] : std::vector<int>{};
    std::string row =
        fmt("  %-*s %-*s ", static_cast<int>(gene_w), gene.c_str(),
            static_cast<int>(opt_w), shorten(option_name(idx, g, best->genome[g]), opt_w).c_str());
    out << row << chain_text(ids, kWidth - row.size()) << "\n";
  }
  if (!file) return;
  out << "\n";
  try {
    // Named as its member file would be: inspect and export read it from the shard by that name.
    const std::string name = (dir / (file->group.empty() ? file->file : member_file_name(best->id))).string();
    MemberReader reader(dir.string());
    print_tensors(out, reader.read(*file), tensors, name);
  } catch (const CheckpointError& e) {
    print_wrapped(out, "  cannot list tensors: ", e.what());
  }
}

// The gene names of a member file's search space: from the index of its generation folder, or,
// for OUT/best_ever.h5 (or a soup), from the run's newest committed generation. Empty when
// neither is there.
std::vector<std::string> gene_names_near(const std::string& path) {
  const fs::path dir = fs::path(path).parent_path();
  std::vector<fs::path> candidates{dir / "index.h5"};
  const fs::path latest_file = dir / "checkpoints" / "LATEST";
  if (fs::exists(latest_file)) {
    std::ifstream in(latest_file);
    long long latest = -1;
    if (in >> latest && latest >= 0) candidates.push_back(index_file_path(dir.string(), latest));
  }
  for (const auto& c : candidates) {
    if (!fs::exists(c)) continue;
    try {
      return read_index(c.string()).gene_names;
    } catch (const CheckpointError&) {
    }
  }
  return {};
}

void inspect_member(const std::string& path, std::ostream& out, bool tensors) {
  const MemberFile m = read_member_path(path);
  out << "pbtnas member file  " << path << (is_member_in_index(path) ? "  (in its generation's shard)" : "") << "\n";
  out << fmt("  member %d   generation %lld   train seed %llu   format version %d\n", m.id,
             static_cast<long long>(m.generation), static_cast<unsigned long long>(m.train_seed),
             m.format_version);
  std::vector<std::string> genome;
  for (int v : m.genome) genome.push_back(std::to_string(v));
  const std::vector<std::string> genes = gene_names_near(path);
  std::vector<std::string> arch;
  for (std::size_t g = 0; g < m.genome_options.size(); ++g)
    arch.push_back((genes.size() == m.genome_options.size() ? genes[g] + "=" : std::string()) + m.genome_options[g]);
  print_wrapped(out, "  architecture: ", arch.empty() ? "-" : join(arch, " "));
  print_wrapped(out, "  genome: ", genome.empty() ? "-" : join(genome, " "));
  out << "  fitness (" << m.fitness.size() << " values): " << recent_fitness(m.fitness, 8, 60)
      << "\n";
  if (!m.evaluation.empty()) {
    out << "  final evaluation:";
    for (const auto& [name, value] : m.evaluation) out << fmt("  %s %.6g", name.c_str(), value);
    out << "\n";
  }
  out << "\n";
  print_tensors(out, m, tensors, path);
}

// A task's population-wide state (pool.h5). For a replay pool ("shared.<name>.state" =
// {next, stored, capacity}, ".member", ".first"): how many steps and episodes of each member it holds.
void inspect_shared(const std::string& path, std::ostream& out, bool tensors) {
  const SharedFile f = read_shared_file(path);
  out << "pbtnas shared state file  " << path << "\n";
  out << fmt("  name %s   generation %lld   format version %d\n", f.name.c_str(),
             static_cast<long long>(f.generation), f.format_version);
  const std::string p = "shared." + f.name + ".";
  const torch::Tensor* state = find_tensor(f.state, p + "state");
  const torch::Tensor* member = find_tensor(f.state, p + "member");
  const torch::Tensor* first = find_tensor(f.state, p + "first");
  if (state && member && first && state->numel() == 3 && member->dim() == 1 &&
      first->numel() == member->numel()) {
    const torch::Tensor st = state->to(torch::kLong).contiguous();
    const std::int64_t next = st[0].item<std::int64_t>(), size = st[1].item<std::int64_t>(),
                       capacity = st[2].item<std::int64_t>();
    out << fmt("  replay pool: %lld steps stored of capacity %lld (%.1f%%), %lld rows allocated\n",
               static_cast<long long>(size), static_cast<long long>(capacity),
               capacity > 0 ? 100.0 * static_cast<double>(size) / static_cast<double>(capacity) : 0.0,
               static_cast<long long>(member->size(0)));
    const torch::Tensor m = member->to(torch::kInt).contiguous();
    const torch::Tensor fr = first->to(torch::kUInt8).contiguous();
    std::map<int, std::pair<std::int64_t, std::int64_t>> per;  // member -> steps, episodes
    for (std::int64_t j = 0; j < size && capacity > 0; ++j) {
      const std::int64_t k = ((next - size + j) % capacity + capacity) % capacity;
      if (k >= m.numel()) break;
      auto& e = per[m.data_ptr<std::int32_t>()[k]];
      ++e.first;
      e.second += fr.data_ptr<std::uint8_t>()[k] ? 1 : 0;
    }
    out << "  per member (whose environment produced the steps; an episode counts where its first\n"
           "  step is still stored):\n";
    out << fmt("  %6s %12s %9s\n", "member", "steps", "episodes");
    for (const auto& [id, e] : per)
      out << fmt("  %6d %12lld %9lld\n", id, static_cast<long long>(e.first), static_cast<long long>(e.second));
  }
  out << "\n";
  MemberFile as_member;
  as_member.state = f.state;
  print_tensors(out, as_member, tensors, path);
}

}  // namespace

void inspect(const std::string& path, std::ostream& out, bool tensors) {
  h5::Lock lock(h5::library_mutex());
  if (is_member_in_index(path)) return inspect_member(path, out, tensors);
  std::string format;
  { detail::open_checkpoint(path, "", &format); }
  if (format == kShardFormat)
    inspect_shard(path, out);
  else if (format == kIndexFormat)
    inspect_index(path, out, tensors);
  else if (format == kSharedFormat)
    inspect_shared(path, out, tensors);
  else
    inspect_member(path, out, tensors);
}

}  // namespace pbtnas::io
