#pragma once
// Counter-based seeding: every random draw of a run derives from the run seed and the
// coordinates of the decision (generation, member, purpose), never from a global RNG, so a
// result does not depend on how members are spread over ranks or in which order they run.
#include <cstdint>
#include <utility>
#include <vector>

namespace pbtnas {

// What a derived seed is used for; each purpose gets an independent stream.
enum class Purpose : std::uint32_t {
  InitPopulation = 1,  // balanced initial architectures
  Selection = 2,       // parent draws and survivor permutation
  Mixing = 3,          // per-gene swap draws
  Mutation = 4,        // SEARL-like mutation choices (kind, gene, new option)
  FreshInit = 5,       // fresh initialisation used by shrink-perturb / arch mutation
  Train = 6,           // a member's training in one step (init weights at step 0, batches)
  WeightMutation = 7,  // element draws of SEARL weight mutation
  DataSplit = 8,       // train/validation split of a dataset
  HyperMutation = 9,   // explore step of the hyperparameter genes (algorithm mutation)
};

// A 64-bit seed from (run_seed, generation, member, purpose), mixed with splitmix64 finalisers.
std::uint64_t derive_seed(std::uint64_t run_seed, std::int64_t generation, std::int64_t member,
                          Purpose purpose);

// Small, portable generator (xoshiro256**); identical streams on every platform and compiler
// (std:: distributions are not, so we implement the few draws we need ourselves).
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  double uniform();                       // in [0, 1), 53 random bits
  std::uint64_t below(std::uint64_t n);   // uniform in [0, n), unbiased; n > 0
  double normal();                        // standard normal (Box-Muller)

  template <typename T>
  void shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t s_[4];
};

}  // namespace pbtnas
