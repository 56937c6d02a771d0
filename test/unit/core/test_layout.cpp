#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "pbtnas/core/layout.hpp"
#include "pbtnas/core/messages.hpp"

using namespace pbtnas;

TEST_CASE("members are spread round-robin over the worker ranks, rank 0 owns none") {
  const Layout l(10, 4);  // 3 workers
  CHECK(l.workers() == 3);
  CHECK(l.members_of(0).empty());
  CHECK(l.members_of(1) == std::vector<int>{0, 3, 6, 9});
  CHECK(l.members_of(2) == std::vector<int>{1, 4, 7});
  CHECK(l.members_of(3) == std::vector<int>{2, 5, 8});
  std::set<int> all;
  for (int r = 1; r < 4; ++r)
    for (int m : l.members_of(r)) {
      CHECK(l.owner(m) == r);
      all.insert(m);
    }
  CHECK(all.size() == 10);
}

TEST_CASE("balancing by cost: the longest-processing-time placement, explicit owners, and the moves") {
  // Costs 1..8 over 2 workers: 8 -> w1, 7 -> w2, 6 -> w2, 5 -> w1, 4 -> w1, 3 -> w2, 2 -> w2, 1 -> w1.
  const std::vector<double> cost{1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<int> owners = balanced_owners(cost, 2);
  CHECK(owners == std::vector<int>{1, 2, 2, 1, 1, 2, 2, 1});
  CHECK(max_worker_cost(cost, owners, 2) == 18.0);  // 8+5+4+1 = 18, 7+6+3+2 = 18
  const Layout round_robin(8, 3);
  CHECK(max_worker_cost(cost, round_robin.owners(), 2) == 20.0);  // 2+4+6+8
  // Equal costs: ties go to the lower rank and the lower id, so the placement is round-robin.
  CHECK(balanced_owners(std::vector<double>(6, 1.0), 3) == std::vector<int>{1, 2, 3, 1, 2, 3});
  const Layout balanced(8, 3, owners);
  CHECK(balanced.members_of(1) == std::vector<int>{0, 3, 4, 7});
  CHECK(balanced.owner(2) == 2);
  const auto moves = layout_moves(round_robin, balanced);
  REQUIRE(moves.size() == 4);  // members 2, 3, 6 and 7 change rank
  CHECK(moves[0].member == 2);
  CHECK(moves[0].src == 1);
  CHECK(moves[0].dst == 2);
  CHECK(moves[3].member == 7);
  CHECK(moves[3].src == 2);
  CHECK(layout_moves(balanced, balanced).empty());
  CHECK_THROWS_WITH(Layout(4, 3, {1, 2, 3, 1}), Catch::Contains("member 2 placed on rank 3"));
  CHECK_THROWS_WITH(Layout(4, 3, {1, 2}), Catch::Contains("2 owners for 4 members"));
}

TEST_CASE("rank counts outside 2..N+1 are rejected with the fix") {
  CHECK_THROWS_WITH(Layout(8, 1), Catch::Contains("at least 2 MPI ranks"));
  CHECK_THROWS_WITH(Layout(8, 10), Catch::Contains("at most population_size + 1 = 9"));
  CHECK_NOTHROW(Layout(8, 9));
  CHECK_NOTHROW(Layout(8, 2));
}

TEST_CASE("an exploit needs a full transfer per child and a donor transfer per mixed child") {
  const Layout l(8, 3);  // even members on rank 1, odd on rank 2
  ExploitPlan p;
  ChildPlan mix{5, 0, 2, ChildKind::Mix, {}, {1, 3}, 1};
  ChildPlan noswap{7, 0, 1, ChildKind::Mix, {}, {}, 2};
  ChildPlan clone{3, 4, 4, ChildKind::Clone, {}, {}, 3};
  p.children = {mix, noswap, clone};
  const auto per_child = plan_transfers(p, l);
  REQUIRE(per_child.size() == 3);
  CHECK(per_child[0].has_donor);
  CHECK(per_child[0].donor.index == 1);
  CHECK_FALSE(per_child[1].has_donor);
  CHECK_FALSE(per_child[2].has_donor);
  const auto t = all_transfers(per_child);
  REQUIRE(t.size() == 4);
  CHECK(t[0].role == Transfer::Role::Full);
  CHECK(t[0].member == 0);
  CHECK(t[0].src == 1);
  CHECK(t[0].dst == 2);
  CHECK(t[1].role == Transfer::Role::Donor);
  CHECK(t[1].member == 2);
  CHECK(t[1].child == 0);
  CHECK(t[2].child == 1);  // nothing swapped: no donor payload
  CHECK(t[3].member == 4);
  CHECK(t[3].src == 1);
  CHECK(t[3].dst == 2);
  for (std::size_t i = 0; i < t.size(); ++i) CHECK(t[i].index == static_cast<int>(i));
  const Layout one(8, 2);
  for (const auto& x : all_transfers(plan_transfers(p, one))) CHECK(x.local());

  // A task that moves extra state from the donor: every Mix child gets a donor payload, clones
  // still do not.
  const auto with_extras = plan_transfers(p, l, true);
  CHECK(with_extras[0].has_donor);
  CHECK(with_extras[1].has_donor);
  CHECK(with_extras[1].donor.member == 1);
  CHECK(with_extras[1].donor.src == 2);
  CHECK(with_extras[1].donor.index == 3);
  CHECK_FALSE(with_extras[2].has_donor);
  CHECK(all_transfers(with_extras).size() == 5);
}

TEST_CASE("GPU placement: node-local rank mod the node's GPU count, on uneven nodes") {
  // Three nodes holding ranks {0}, {1, 2, 3}, {4, 5} (rank 0, the coordinator, alone on nodea),
  // with 1, 2 and 4 GPUs: the local rank counts from 0 on every node.
  const std::vector<std::string> host_of{"nodea", "nodeb", "nodeb", "nodeb", "nodec", "nodec"};
  const std::map<std::string, int> gpus{{"nodea", 1}, {"nodeb", 2}, {"nodec", 4}};
  std::map<std::string, int> seen;
  std::vector<int> gpu;
  for (const auto& h : host_of) gpu.push_back(gpu_for_local_rank(seen[h]++, gpus.at(h)));
  CHECK(gpu == std::vector<int>{0, 0, 1, 0, 0, 1});
  // The coordinator's node: worker ranks 1..3 beside rank 0 on a node with 2 GPUs use 1, 0, 1.
  CHECK(gpu_for_local_rank(1, 2) == 1);
  CHECK(gpu_for_local_rank(2, 2) == 0);
  CHECK(gpu_for_local_rank(3, 2) == 1);
  CHECK(gpu_for_local_rank(3, 0) == -1);  // no GPU: the CPU
  CHECK_THROWS_AS(gpu_for_local_rank(-1, 2), std::invalid_argument);
  CHECK_THROWS_AS(gpu_for_local_rank(0, -1), std::invalid_argument);
}

TEST_CASE("threads per worker: fixed, or the node's cores divided among its workers") {
  CHECK(threads_for_worker(3, 64, 8) == 3);
  CHECK(threads_for_worker(0, 64, 8) == 8);
  CHECK(threads_for_worker(0, 64, 3) == 21);  // uneven nodes divide their own cores
  CHECK(threads_for_worker(0, 2, 4) == 1);    // never 0
  CHECK(threads_for_worker(0, 0, 0) == 1);
}

TEST_CASE("workers are grouped into nodes by host name, led by their lowest rank", "[layout]") {
  CHECK(pbtnas::node_leaders({"", "a", "a", "a"}) == std::vector<int>{0, 1, 1, 1});
  CHECK(pbtnas::node_leaders({"", "a", "b", "a", "b", "c"}) == std::vector<int>{0, 1, 2, 1, 2, 5});
  CHECK(pbtnas::node_leaders({"coordinator"}) == std::vector<int>{0});
}
