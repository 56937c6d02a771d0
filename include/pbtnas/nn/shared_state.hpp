#pragma once
// Population-wide state of a task (e.g. the RL task's shared replay pool, docs/rl.md "Shared
// replay pool"): state that belongs to no member. Every worker has an object of it, made by
// Task::make_shared_state, whose data lives once per node in shared memory (region_bytes, place:
// run/shared_node.hpp) or in the worker's own memory. It changes only at the end of a generation,
// the same way on every copy: each member's contribution of the generation (what it collected while it trained) is
// taken out of the member on its worker, the contributions of the whole population are exchanged
// between the workers (run/shared_exchange.hpp) and committed in member order. So during
// generation g every member sees the state as committed at the end of generation g-1 (plus what it
// keeps itself while it trains), wherever it lives. The state is checkpointed once per generation
// (one file next to the member files) and restored on resume.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pbtnas/nn/member.hpp"
#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/util/shared_region.hpp"

namespace pbtnas {

// One member's contribution of one generation, tagged with the member's id.
struct Contribution {
  int member = 0;
  NamedState state;
};

class SharedState {
 public:
  virtual ~SharedState() = default;
  // Its name: the checkpoint file is "<name>.h5" in the generation's folder; a dotted-name
  // component (letters, digits, '_').
  virtual std::string name() const = 0;
  // Takes the member's contribution of the generation it just trained out of it (the member
  // keeps none). Contiguous CPU tensors; empty when the member collected nothing.
  virtual NamedState take_contribution(Member& member) = 0;
  // Appends the population's contributions of one generation; they come in member order.
  virtual void commit(const std::vector<Contribution>& contributions) = 0;
  // The whole state for a checkpoint (CPU tensors, possibly views of the live ones; names are
  // dotted and start with "shared.<name>.").
  virtual NamedState export_state() const = 0;
  // Replaces the state with one exported before (resume). Throws std::runtime_error naming the
  // problem when `state` does not fit this task's settings.
  virtual void import_state(const NamedState& state) = 0;
  // Short facts for log lines, e.g. {"steps", 12000}, {"capacity", 1000000}.
  virtual std::vector<std::pair<std::string, std::int64_t>> facts() const = 0;

  // One copy per node in shared memory (run/shared_node.hpp). The bytes of a region that holds the
  // state at its largest; 0 (the default): the state stays in each rank's own memory.
  virtual std::size_t region_bytes() const { return 0; }
  // Moves the state into `region` (region_bytes() long). A writable region makes this process the
  // node's writer: the state is copied in (a new region is zero-filled), and commit and
  // import_state write there. A read-only one makes it a reader, which reads what the writer
  // committed after refresh() and never calls commit or import_state.
  virtual void place(std::shared_ptr<SharedRegion> region) { (void)region; }
  // A reader: takes up what the writer committed last (sizes, positions kept in the region).
  virtual void refresh() {}

  // Less traffic (optional): the sizes of a contribution's units in commit order (e.g. episodes),
  // small enough to send to every worker; empty (the default): nothing is trimmed.
  virtual std::vector<std::int64_t> outline(const NamedState& contribution) const {
    (void)contribution;
    return {};
  }
  // What of `member`'s contribution the next commit keeps, knowing every contributing member's
  // outline (by id): committing the trimmed contributions gives the same state as committing
  // whole ones. The default keeps everything.
  virtual NamedState trim(NamedState contribution, int member,
                          const std::map<int, std::vector<std::int64_t>>& outlines) const {
    (void)member;
    (void)outlines;
    return contribution;
  }
};

}  // namespace pbtnas
