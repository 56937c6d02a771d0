// The shared replay pool in a node's shared memory and with trimmed contributions (pool.hpp): a
// pool placed in a region holds, exports and samples exactly what a pool in a rank's own memory
// does, a reader of the region sees each commit after refresh(), and committing contributions
// trimmed to what survives gives the same pool as committing them whole.
#include <catch2/catch.hpp>

#include <filesystem>

#include "pbtnas/tasks/rl/pool.hpp"
#include "support/seed.hpp"
#include "support/temp_dir.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {

constexpr int kObs = 3;

// A contribution of episodes of the given lengths; observation = tag + row index.
NamedState episodes(float tag, const std::vector<int>& lengths) {
  int n = 0;
  for (int l : lengths) n += l;
  torch::Tensor obs = torch::empty({n, kObs}), action = torch::empty({n, 1}), reward = torch::empty({n});
  torch::Tensor first = torch::zeros({n}, torch::kUInt8);
  int i = 0;
  for (int l : lengths)
    for (int j = 0; j < l; ++j, ++i) {
      obs[i].fill_(tag + static_cast<float>(i));
      action[i].fill_(tag);
      reward[i] = static_cast<float>(j);
      first[i] = j == 0 ? 1 : 0;
    }
  return {{"obs", obs}, {"action", action}, {"reward", reward}, {"first", first}};
}

NamedState layout() { return ReplayBuffer::create(1, kObs, 1); }

void check_same(const NamedState& a, const NamedState& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].name);
    CHECK(a[i].name == b[i].name);
    CHECK(torch::equal(a[i].tensor, b[i].tensor));
  }
}

std::vector<Contribution> generation(int round) {
  const float t = 1000.0f * static_cast<float>(round);
  return {{0, episodes(t + 100, {10, 10, 10})},
          {1, episodes(t + 200, {15, 15})},
          {2, episodes(t + 300, {7})},
          {3, episodes(t + 400, {6, 6, 6, 6})}};
}

// The contributions trimmed as the workers trim them before sending (shared_exchange.hpp).
std::vector<Contribution> trimmed(const ReplayPool& pool, const std::vector<Contribution>& all,
                                  std::int64_t* rows = nullptr) {
  std::map<int, std::vector<std::int64_t>> outlines;
  for (const auto& c : all) outlines[c.member] = pool.outline(c.state);
  std::vector<Contribution> out;
  for (const auto& c : all) {
    out.push_back({c.member, pool.trim(c.state, c.member, outlines)});
    if (rows) *rows += out.back().state[0].tensor.size(0);
  }
  return out;
}

}  // namespace

TEST_CASE("a generation trimmed to what survives commits the same pool as the whole one", "[rl][pool]") {
  for (std::int64_t capacity : {20, 50, 90, 200}) {
    INFO("capacity " << capacity);
    ReplayPool whole(capacity, layout()), cut(capacity, layout());
    for (int g = 0; g < 3; ++g) {
      INFO("generation " << g);
      const auto all = generation(g);  // 91 rows
      CHECK(whole.outline(all[3].state) == std::vector<std::int64_t>{6, 6, 6, 6});
      std::int64_t sent = 0;
      const auto less = trimmed(cut, all, &sent);
      CHECK(sent == std::min<std::int64_t>(91, capacity));  // at most C rows cross the network
      whole.commit(all);
      cut.commit(less);
      check_same(whole.export_state(), cut.export_state());
      CHECK(whole.row_members() == cut.row_members());
    }
  }
  SECTION("an episode longer than the pool") {
    ReplayPool whole(8, layout()), cut(8, layout());
    const std::vector<Contribution> all{{0, episodes(100, {5})}, {1, episodes(200, {12, 3})}};
    whole.commit(all);
    cut.commit(trimmed(cut, all));
    check_same(whole.export_state(), cut.export_state());
  }
}

TEST_CASE("a pool in a node's shared memory is the pool in a rank's memory, for its writer and readers",
          "[rl][pool]") {
  test::TempDir dir;
  const std::int64_t capacity = 5000;  // grows in chunks of 1,024 rows; wraps in generation 2
  ReplayPool own(capacity, layout()), writer(capacity, layout(), true), reader(capacity, layout(), true);
  CHECK(own.region_bytes() == 0);
  REQUIRE(writer.region_bytes() > 0);
  own.commit(generation(0));
  writer.commit(generation(0));  // already holds rows when it moves into the region
  const std::string path = dir.file("pool-region");
  writer.place(SharedRegion::create(path, writer.region_bytes()));
  reader.place(SharedRegion::open(path, reader.region_bytes()));
  CHECK(reader.placed());
  check_same(own.export_state(), reader.export_state());
  std::filesystem::remove(path);  // the creator unlinks it once every reader has mapped it
  for (int g = 1; g < 60; ++g) {
    auto big = generation(g);
    own.commit(big);
    writer.commit(big);
    reader.refresh();
  }
  check_same(own.export_state(), writer.export_state());
  check_same(own.export_state(), reader.export_state());
  CHECK(own.allocated() == capacity);
  // Readers sample what the rank's own copy samples.
  Rng a(test::test_seed()), b(test::test_seed());
  const Batch x = sample_rings({own.rows()}, 64, 3, 0.9, a), y = sample_rings({reader.rows()}, 64, 3, 0.9, b);
  CHECK(torch::equal(x.obs, y.obs));
  CHECK(torch::equal(x.reward, y.reward));
  // A resumed writer loads a checkpoint into the region; its readers see it.
  ReplayPool small(capacity, layout());
  small.commit(generation(7));
  writer.import_state(small.export_state());
  reader.refresh();
  check_same(small.export_state(), reader.export_state());
  CHECK_THROWS_AS(reader.commit(generation(1)), std::logic_error);
}
