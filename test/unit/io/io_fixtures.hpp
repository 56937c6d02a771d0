#pragma once
// Shared helpers of the checkpoint tests: a per-test temporary directory and small populations.
#include <catch2/catch.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/inspect.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "support/seed.hpp"
#include "support/temp_dir.hpp"

namespace pbtnas::test {

// The message of the CheckpointError that f throws ("(no CheckpointError)" when it throws none).
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const io::CheckpointError& e) {
    return e.what();
  }
  return "(no CheckpointError)";
}

// Bitwise equality of two tensors (same dtype, shape and bytes; NaNs compare by bits).
inline bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  torch::Tensor x = a.cpu().contiguous(), y = b.cpu().contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
}

// A small member with a model, an averaged copy and optimizer-like state.
inline io::MemberFile make_member(int id, std::int64_t gen, std::uint64_t salt = 0) {
  torch::manual_seed(static_cast<std::uint64_t>(test_seed()) + salt * 7919 + id);
  io::MemberFile m;
  m.id = id;
  m.generation = gen;
  m.genome = {id % 3, 1, 0};
  const char* gene0[] = {"conv3x3", "sep5x5", "skip"};  // the options of make_index
  m.genome_options = {gene0[id % 3], "sep5x5", "skip"};
  m.fitness = {0.5 + 0.01 * id, 0.6 + 0.01 * id};
  m.train_seed = 0xfedcba9876543210ULL + id;
  m.state = {
      {"model.stem.conv.weight", torch::randn({8, 1, 3, 3})},
      {"model.stem.bn.running_mean", torch::randn({8})},
      {"model.stem.bn.num_batches_tracked", torch::tensor(std::int64_t{42})},
      {"model.cells.0.op.weight", torch::randn({8, 8})},
      {"average.stem.conv.weight", torch::randn({8, 1, 3, 3})},
      {"optim.0.count", torch::tensor(std::int64_t{2})},
      {"optim.0.0.step", torch::tensor(std::int64_t{100})},
      {"optim.0.0.exp_avg", torch::randn({8, 1, 3, 3})},
  };
  return m;
}

// Every field and tensor (bit for bit) of two members agree.
inline void check_same_member(const io::MemberFile& a, const io::MemberFile& b) {
  CHECK(a.id == b.id);
  CHECK(a.generation == b.generation);
  CHECK(a.genome == b.genome);
  CHECK(a.genome_options == b.genome_options);
  CHECK(a.fitness == b.fitness);
  CHECK(a.train_seed == b.train_seed);
  CHECK(a.evaluation == b.evaluation);
  REQUIRE(a.state.size() == b.state.size());
  for (std::size_t i = 0; i < a.state.size(); ++i) {
    CHECK(a.state[i].name == b.state[i].name);
    CHECK(same_bits(a.state[i].tensor, b.state[i].tensor));
  }
}

inline io::GenerationIndex make_index(std::int64_t gen, int n_members) {
  io::GenerationIndex idx;
  idx.generation = gen;
  idx.next_epoch = static_cast<int>(10 * (gen + 1));
  idx.seed = 31173;
  idx.algorithm = "pbt-nas";
  idx.config_yaml = "seed: 31173\npopulation_size: " + std::to_string(n_members) + "\n";
  idx.space_name = "tiny";
  idx.gene_names = {"cell0.op", "cell1.op", "cell2.op"};
  idx.gene_options = {{"conv3x3", "sep5x5", "skip"}, {"conv3x3", "sep5x5"}, {"skip"}};
  for (int i = 0; i < n_members; ++i) {
    MemberRecord r;
    r.id = i;
    r.genome = {i % 3, 1, 0};
    r.fitness = {0.5 + 0.01 * i, 0.6 + 0.01 * i};
    r.lineage = {{i}, {i, (i + 1) % n_members}, {}};
    r.incarnation = i;
    idx.members.push_back(r);
    Incarnation h;
    h.seq_id = i;
    h.slot = i;
    h.birth_generation = -1;
    idx.history.push_back(h);
  }
  idx.best_ever_fitness = 0.6 + 0.01 * (n_members - 1);
  idx.best_ever_member = n_members - 1;
  idx.best_ever_generation = gen;
  return idx;
}

// Writes every member file of generation `gen`, then commits it.
inline io::GenerationIndex write_generation(const std::string& out, std::int64_t gen, int n_members,
                                            int keep) {
  io::GenerationIndex idx = make_index(gen, n_members);
  for (int i = 0; i < n_members; ++i) {
    const std::string path = io::member_file_path(out, gen, i);
    io::write_member_file(path, make_member(i, gen));
    idx.files.push_back(io::describe_file(i, path));
  }
  io::commit_generation(out, idx, keep);
  return idx;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

}  // namespace pbtnas::test
