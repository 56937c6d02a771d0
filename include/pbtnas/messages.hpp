#pragma once
// Control messages between the coordinator (rank 0) and the workers, serialized with
// Boost.Serialization (binary archives: ranks of one job share one build). Each message type
// travels on its own tag. Weight payloads do not pass through here: they go worker-to-worker
// as raw bytes (see worker.hpp), described by a TensorManifest sent just before them.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "pbtnas/plan.hpp"

namespace pbtnas {

enum Tag : int {
  kTagOrder = 1,            // TrainOrder            rank 0 -> workers
  kTagReport = 2,           // FitnessReport         workers -> rank 0
  kTagPlan = 3,             // ExploitPlan           rank 0 -> workers
  kTagCheckpoint = 4,       // CheckpointOrder       rank 0 -> workers
  kTagCheckpointDone = 5,   // CheckpointDone        workers -> rank 0
  kTagFinalReport = 7,      // FinalReport           owner -> rank 0
  kTagExploitDone = 8,      // ExploitDone           workers -> rank 0
  kTagReady = 9,            // WorkerReady           workers -> rank 0 (after StartOrder)
  kTagStart = 10,           // StartOrder            rank 0 -> workers
  kTagManifestBase = 1000,  // + transfer index: TensorManifest, worker -> worker
  kTagPayloadBase = 16000,  // + transfer index: raw tensor bytes, worker -> worker
};
constexpr int kMaxTransfers = 14000;

// Sent once: start from scratch (resume_generation -1) or load the committed generation.
struct StartOrder {
  std::int64_t resume_generation = -1;
  std::string out_dir;
  bool stop = false;  // the run cannot start (e.g. a corrupted checkpoint): exit without work
  template <class A> void serialize(A& a, unsigned) { a& resume_generation& out_dir& stop; }
};

struct WorkerReady {
  std::string device;  // e.g. "cpu" or "cuda:1"
  int threads = 1;
  std::string error;   // non-empty: the worker could not start (bad data path, bad checkpoint...)
  template <class A> void serialize(A& a, unsigned) { a& device& threads& error; }
};

struct TrainOrder {
  std::int64_t generation = 0;
  int epoch_begin = 0;
  int epochs = 0;
  bool stop = false;       // no more training: the worker leaves its loop
  int final_member = -1;   // with stop: the owner of this member sends a FinalReport first
  int exit_code = 0;       // with stop: the worker's exit code (3: checkpointed for a requeue)
  // with stop: rank 1 evaluates the member in this file (OUT/best_ever.h5) with
  // Task::final_metrics and sends a FinalReport with best_ever set ("" = none)
  std::string best_ever_file;
  template <class A> void serialize(A& a, unsigned) {
    a& generation& epoch_begin& epochs& stop& final_member& exit_code& best_ever_file;
  }
};

struct FitnessReport {
  int member = 0;
  std::int64_t generation = 0;
  double fitness = 0.0;       // -inf when diverged
  double train_loss = 0.0;
  std::int64_t samples = 0;
  double train_seconds = 0.0;
  bool diverged = false;
  std::string error;          // non-empty: the worker failed (not a divergence); the run stops
  template <class A> void serialize(A& a, unsigned) {
    a& member& generation& fitness& train_loss& samples& train_seconds& diverged& error;
  }
};

struct ExploitDone {
  double seconds = 0.0;          // snapshot + transfer + assembly on this worker
  std::uint64_t bytes_sent = 0;  // payload bytes this worker sent to other workers
  std::string error;
  template <class A> void serialize(A& a, unsigned) { a& seconds& bytes_sent& error; }
};

struct CheckpointOrder {
  std::int64_t generation = 0;
  std::string out_dir;
  std::vector<std::vector<double>> fitness;  // every member's fitness history (stored per member)
  template <class A> void serialize(A& a, unsigned) { a& generation& out_dir& fitness; }
};

struct FileInfo {
  int member = 0;
  std::string file;   // name inside the generation directory
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;
  template <class A> void serialize(A& a, unsigned) { a& member& file& bytes& crc32; }
};

struct CheckpointDone {
  std::vector<FileInfo> files;
  double seconds = 0.0;
  std::string error;
  template <class A> void serialize(A& a, unsigned) { a& files& seconds& error; }
};

struct FinalReport {
  int member = 0;
  double fitness = 0.0;     // validation score, re-measured
  double test_score = 0.0;
  std::int64_t parameters = 0;
  std::string error;
  // The best-ever member's final evaluation (TrainOrder::best_ever_file) instead of the final
  // population's best: generation of the file, Task::final_metrics, the preview picture.
  bool best_ever = false;
  std::int64_t generation = -1;
  std::vector<std::string> metric_names;
  std::vector<double> metric_values;
  std::string preview;      // path of the picture written, "" = none
  template <class A> void serialize(A& a, unsigned) {
    a& member& fitness& test_score& parameters& error& best_ever& generation& metric_names& metric_values& preview;
  }
};

// Names, dtypes (c10::ScalarType codes) and shapes of the tensors that follow, in order.
struct TensorManifest {
  std::vector<std::string> names;
  std::vector<int> dtypes;
  std::vector<std::vector<std::int64_t>> shapes;
  template <class A> void serialize(A& a, unsigned) { a& names& dtypes& shapes; }
};

template <class A> void serialize(A& a, ChildPlan& c, unsigned) {
  int kind = static_cast<int>(c.kind);
  a& c.slot& c.parent1& c.parent2& kind& c.genome& c.swapped_genes& c.fresh_seed;
  c.kind = static_cast<ChildKind>(kind);
}
template <class A> void serialize(A& a, ExploitPlan& p, unsigned) { a& p.generation& p.children; }

template <class M>
std::string encode(const M& message) {
  std::ostringstream os(std::ios::binary);
  {
    boost::archive::binary_oarchive ar(os, boost::archive::no_header);
    ar << message;
  }
  return os.str();
}

template <class M>
M decode(const std::string& bytes) {
  std::istringstream is(bytes, std::ios::binary);
  boost::archive::binary_iarchive ar(is, boost::archive::no_header);
  M message;
  ar >> message;
  return message;
}

}  // namespace pbtnas
