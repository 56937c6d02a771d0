// Under `mpirun -n 3`: an exploit through MpiTransport (tiny chunks, so payloads are split),
// checked on the receiving rank against states rebuilt locally from the same seeds:
// swapped tensors == lambda * w_donor + gamma * w_fresh, all others bit-equal to parent1's.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <map>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/mixing.hpp"
#include "pbtnas/mpi/mpi_transport.hpp"
#include "pbtnas/nn/member.hpp"
#include "pbtnas/core/population.hpp"
#include "pbtnas/run/exchange.hpp"
#include "pbtnas/tasks/registry.hpp"

using namespace pbtnas;

static std::string g_config;

namespace {

Member parent(const Task& task, const Genome& g, int id) {
  Member m = task.create(g, 100 + id, torch::kCPU);
  task.train(m, 0, 1, 200 + id);  // real optimizer moments and BatchNorm statistics
  return m;
}

}  // namespace

TEST_CASE("exploit over MPI: swapped layers shrink-perturbed, the rest bit-equal to parent1") {
  MpiTransport transport(/*max_chunk=*/4096);
  REQUIRE(transport.size() == 3);
  RunConfig cfg = load_run_config(g_config);
  cfg.selection.population_size = 4;
  cfg.shrink = 0.4;
  cfg.perturb = 0.1;
  torch::set_num_threads(1);
  const Layout layout(4, 3);  // members 0, 2 on rank 1; 1, 3 on rank 2
  const auto task = make_task(cfg);
  const SearchSpace& space = task->space();
  const Population initial(space, 4, cfg.seed);

  ChildPlan c;
  c.slot = 3;     // rank 2
  c.parent1 = 0;  // rank 1
  c.parent2 = 2;  // rank 1
  c.kind = ChildKind::Mix;
  for (std::size_t g = 0; g < space.size(); g += 2) c.swapped_genes.push_back(static_cast<int>(g));
  c.genome = mix_genomes(initial.members()[0].genome, initial.members()[2].genome, c.swapped_genes);
  c.fresh_seed = 4242;
  ExploitPlan plan{5, {c}};

  std::map<int, Member> members;
  for (int m : layout.members_of(transport.rank())) members[m] = parent(*task, initial.members()[m].genome, m);
  const auto stats = execute_exploit(transport, layout, plan, cfg, *task, torch::kCPU, members);

  if (transport.rank() == 1) CHECK(stats.bytes_sent > 0);
  if (transport.rank() != 2) return;
  CHECK(stats.bytes_received > 0);
  const NamedState child = export_member_state(members.at(3));
  const NamedState p1 = export_member_state(parent(*task, initial.members()[0].genome, 0));
  const NamedState p2 = export_member_state(parent(*task, initial.members()[2].genome, 2));
  const NamedState fresh = export_member_state(task->create(c.genome, c.fresh_seed, torch::kCPU));
  int swapped = 0, kept = 0;
  for (const auto& nt : child) {
    if (nt.name.rfind("model.", 0) != 0) continue;
    const std::string local = nt.name.substr(6);
    if (space.owned_by_any(c.swapped_genes, local)) {
      const torch::Tensor* d = find_tensor(p2, nt.name);
      const torch::Tensor* f = find_tensor(fresh, nt.name);
      REQUIRE(d);
      REQUIRE(f);
      if (nt.tensor.is_floating_point()) {
        INFO(nt.name);
        CHECK(torch::allclose(nt.tensor, 0.4 * *d + 0.1 * *f, 1e-6, 1e-7));
      } else {
        CHECK(torch::equal(nt.tensor, *d));
      }
      ++swapped;
    } else {
      const torch::Tensor* t = find_tensor(p1, nt.name);
      REQUIRE(t);
      INFO(nt.name);
      CHECK(torch::equal(nt.tensor, *t));
      ++kept;
    }
  }
  CHECK(swapped > 0);
  CHECK(kept > 0);
}

int main(int argc, char** argv) {
  MpiSession mpi(&argc, &argv);
  Catch::Session session;
  using namespace Catch::clara;
  session.cli(session.cli() | Opt(g_config, "config")["--config"]("YAML config for the task"));
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  return session.run();
}
