#pragma once
// Who owns which member, and which worker-to-worker transfers an exploit plan needs. Pure: every
// rank computes the same answer from (population size, world size, plan).
#include <string>
#include <vector>

#include "pbtnas/core/plan.hpp"

namespace pbtnas {

class Layout {
 public:
  // Rank 0 coordinates; ranks 1..world_size-1 own members round-robin (member m -> 1 + m % W).
  // Throws std::invalid_argument for world_size < 2 or world_size > population + 1.
  Layout(int population, int world_size);
  // Member m lives on rank owners[m] (each in 1..W; a worker may own none). Throws
  // std::invalid_argument naming the first bad entry.
  Layout(int population, int world_size, std::vector<int> owners);
  int population() const { return population_; }
  int workers() const { return workers_; }
  int owner(int member) const;
  std::vector<int> members_of(int rank) const;
  const std::vector<int>& owners() const { return owners_; }

 private:
  int population_, workers_;
  std::vector<int> owners_;  // rank per member
};

// Nodes of the workers (one per host name): `hosts[r]` is worker rank r's host (index 0, the
// coordinator, is ignored). Returns, per rank, its node's leader: the lowest worker rank with the
// same host (0 at index 0). Every rank computes the same answer from the same names.
std::vector<int> node_leaders(const std::vector<std::string>& hosts);

// Where a worker computes (docs/slurm.md, "Multiple nodes"): with `gpus` > 0 GPUs on its node,
// the GPU numbered (rank among the node's processes) mod `gpus`; -1 (the CPU) when the node has
// none. Throws std::invalid_argument for a negative local rank or GPU count.
int gpu_for_local_rank(int local_rank, int gpus);
// CPU threads of a worker: `fixed` (runtime.threads_per_rank) when > 0, else the node's cores
// divided among the workers on that node (at least 1).
int threads_for_worker(int fixed, int node_cores, int node_workers);

// Placement by cost (runtime.balance: measured; docs/performance.md, "Utilisation and
// balancing"): the longest-processing-time rule. Members in descending cost (ties: lower id
// first) each go to the worker with the least cost so far (ties: lower rank). Returns the owner
// rank of each member.
std::vector<int> balanced_owners(const std::vector<double>& cost, int workers);
// The largest total cost of one worker under `owners`.
double max_worker_cost(const std::vector<double>& cost, const std::vector<int>& owners, int workers);

// A member whose owner changes between two layouts; moves are numbered in member order.
struct Move {
  int member = 0;
  int src = 0, dst = 0;
};
std::vector<Move> layout_moves(const Layout& from, const Layout& to);

// One payload of an exploit: parent1's full state (role Full) or the donor's swapped layers
// (role Donor), from the parent's owner to the child's owner.
struct Transfer {
  enum class Role { Full, Donor };
  int index = 0;   // position in the list: message tags derive from it
  int child = 0;   // index into plan.children
  Role role = Role::Full;
  int member = 0;  // the parent whose state is sent
  int src = 0, dst = 0;
  bool local() const { return src == dst; }
};

// The payloads of one child: parent1's full state, and the donor's tensors when it needs them.
struct ChildTransfers {
  Transfer full;
  bool has_donor = false;
  Transfer donor;  // valid when has_donor
};

// Per child of the plan (in plan order): a Full transfer, and a Donor transfer for a Mix child
// with swapped genes, or for every Mix child when `donor_for_every_mix` (the task moves extra
// state from the donor, e.g. a replay buffer). Transfer indices number all transfers in order.
std::vector<ChildTransfers> plan_transfers(const ExploitPlan& plan, const Layout& layout,
                                           bool donor_for_every_mix = false);
// All transfers of plan_transfers, in index order.
std::vector<Transfer> all_transfers(const std::vector<ChildTransfers>& per_child);

}  // namespace pbtnas
