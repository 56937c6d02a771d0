#pragma once
// Control messages between the coordinator (rank 0) and the workers, serialized with
// Boost.Serialization (binary archives: ranks of one job share one build). Each message type is
// bound to its own tag (Channel<M>::tag) and travels only through send_message/receive_message,
// so a type can never be read from another type's tag. Weight payloads do not pass through here:
// they go worker-to-worker as raw bytes (run/exchange.hpp), on the tags of kTagManifestBase and
// kTagPayloadBase.
//
// One run (coordinator.hpp has the full sequence):
//   StartOrder -> workers; WorkerReady <- each worker
//   per generation: Order::train -> workers; FitnessReport <- per member (before it, while the
//                   member trains, partial FitnessReports: progress notes);
//                   ExploitPlan -> workers (tasks with shared state, e.g. the RL pool: the
//                   workers first exchange the generation's contributions among themselves,
//                   run/shared_exchange.hpp); ExploitDone <- each worker;
//                   CheckpointOrder -> workers; CheckpointDone <- each worker
//   end: Order::finish + FinalOrder -> workers; FinalReport <- owner of the final best member;
//        BestEverReport <- rank 1 (when there is a best-ever file)
//        SoupReport <- rank 1 (with final_soup)
//   or:  Order::stop(exit code) -> workers (preemption, errors)
#include <cstdint>
#include <sstream>
#include <optional>
#include <string>
#include <vector>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "pbtnas/core/plan.hpp"
#include "pbtnas/core/transport.hpp"

namespace pbtnas {

// Sent once. A fresh run carries the initial genomes (the coordinator draws them); a resumed run
// names the committed generation the workers load; `stop`: the run does not start, exit at once
// with `exit_code` (2: it cannot start; 0: there is nothing to do, a finished run).
struct StartOrder {
  std::int64_t resume_generation = -1;
  std::string out_dir;
  bool stop = false;
  std::vector<Genome> genomes;  // fresh run: one per member, by id
  int exit_code = 2;            // with stop

  static StartOrder fresh(std::string out, std::vector<Genome> genomes) { return {-1, std::move(out), false, std::move(genomes)}; }
  static StartOrder resume(std::string out, std::int64_t generation) { return {generation, std::move(out), false, {}}; }
  static StartOrder abort(int exit_code = 2) { return {-1, "", true, {}, exit_code}; }
  template <class A> void serialize(A& a, unsigned) { a& resume_generation& out_dir& stop& genomes& exit_code; }
};

struct WorkerReady {
  std::string device;  // e.g. "cpu" or "cuda:1"
  int threads = 1;
  std::string error;   // non-empty: the worker could not start (bad data path, bad checkpoint...)
  std::string host;    // the node's host name
  template <class A> void serialize(A& a, unsigned) { a& device& threads& error& host; }
};

// What a worker does next: train a generation, finish (a FinalOrder follows), or stop at once.
struct Order {
  enum class Kind : int { Train = 0, Finish = 1, Stop = 2 };
  Kind kind = Kind::Train;
  std::int64_t generation = 0;  // Train: the generation, epochs [epoch_begin, epoch_begin + epochs)
  int epoch_begin = 0;
  int epochs = 0;
  int exit_code = 0;            // Stop: the worker's exit code (3: checkpointed for a requeue)

  static Order train(std::int64_t generation, int epoch_begin, int epochs) {
    return {Kind::Train, generation, epoch_begin, epochs, 0};
  }
  static Order finish() { return {Kind::Finish, 0, 0, 0, 0}; }
  static Order stop(int exit_code) { return {Kind::Stop, 0, 0, 0, exit_code}; }
  template <class A> void serialize(A& a, unsigned) {
    int k = static_cast<int>(kind);
    a& k& generation& epoch_begin& epochs& exit_code;
    kind = static_cast<Kind>(k);
  }
};

// The result of one member's training step, or (partial) a progress note sent while it trains,
// at most every runtime.progress_seconds: samples done so far of total_samples. Notes travel on
// the same tag, so a member's notes always arrive before its result.
struct FitnessReport {
  int member = 0;
  std::int64_t generation = 0;
  double fitness = 0.0;       // -inf when diverged
  double train_loss = 0.0;
  std::int64_t samples = 0;
  double train_seconds = 0.0;
  bool diverged = false;
  std::string error;          // non-empty: the worker failed (not a divergence); the run stops
  bool partial = false;       // a progress note: only member, generation, samples, total_samples
  std::int64_t total_samples = 0;  // partial: the step's samples (0: unknown)
  // Measured only when selection.objectives names them (0 otherwise): the member's scalar
  // parameters, and the median milliseconds of selection.latency_repeats forward passes of a batch.
  std::int64_t parameters = 0;
  double latency_ms = 0.0;
  template <class A> void serialize(A& a, unsigned) {
    a& member& generation& fitness& train_loss& samples& train_seconds& diverged& error& partial& total_samples&
        parameters& latency_ms;
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
  std::vector<std::vector<double>> fitness;  // every member's fitness history (stored per member)
  template <class A> void serialize(A& a, unsigned) { a& generation& fitness; }
};

struct FileInfo {
  int member = 0;     // a member file's member; -1: shared state (pool.h5); -2: a worker's shard
  std::string file;   // name inside the generation directory
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;
  std::vector<int> members;  // a shard's members, each in its group member_NNN (docs/checkpoint-format.md)
  template <class A> void serialize(A& a, unsigned) { a& member& file& bytes& crc32& members; }
};

struct CheckpointDone {
  std::vector<FileInfo> files;
  double seconds = 0.0;
  std::string error;
  std::int64_t peak_rss_bytes = 0;  // the worker's peak resident memory so far (0: unknown)
  std::int64_t pss_bytes = 0;       // its proportional set size now (0: unknown)
  template <class A> void serialize(A& a, unsigned) { a& files& seconds& error& peak_rss_bytes& pss_bytes; }
};

// After Order::finish: the owner of `final_member` re-scores it (FinalReport); rank 1 evaluates
// the best-ever member in `best_ever_file` with Task::final_metrics (BestEverReport), "" = none.
struct FinalOrder {
  int final_member = -1;
  std::string best_ever_file;
  std::int64_t soup_generation = -1;  // the last committed generation (final_soup)
  template <class A> void serialize(A& a, unsigned) { a& final_member& best_ever_file& soup_generation; }
};

struct FinalReport {
  int member = 0;
  double fitness = 0.0;     // validation score, re-measured
  double test_score = 0.0;
  std::int64_t parameters = 0;
  std::string error;
  std::vector<std::string> score_names;  // Task::final_scores: the two above in the task's words
  std::vector<double> score_values;
  template <class A> void serialize(A& a, unsigned) {
    a& member& fitness& test_score& parameters& error& score_names& score_values;
  }
};

struct BestEverReport {
  int member = 0;
  std::int64_t generation = -1;  // of the file
  std::int64_t parameters = 0;
  std::vector<std::string> metric_names;  // Task::final_metrics
  std::vector<double> metric_values;
  std::string preview;      // path of the picture written, "" = none
  std::string error;
  template <class A> void serialize(A& a, unsigned) {
    a& member& generation& parameters& metric_names& metric_values& preview& error;
  }
};

// With `final_soup`, after its BestEverReport, rank 1 builds the greedy soup of the last committed
// generation (run/final_soup.hpp) and reports it. Final metrics only when the soup holds more than
// the best member (else the soup is that member).
struct SoupReport {
  std::int64_t generation = -1;  // the committed generation the soup is made of
  int best_member = -1;
  std::vector<int> candidates;   // members sharing the best member's genome, best first
  std::vector<int> members;      // accepted into the soup, best member first
  std::string fitness_name;
  double best_fitness = 0.0;     // the best member alone, re-measured with the soup's seed
  double fitness = 0.0;          // the soup
  std::vector<std::string> metric_names;  // Task::final_metrics
  std::vector<double> best_values, soup_values;
  std::string file;              // the soup's member file, "" = none written
  std::string error;
  template <class A> void serialize(A& a, unsigned) {
    a& generation& best_member& candidates& members& fitness_name& best_fitness& fitness& metric_names& best_values&
        soup_values& file& error;
  }
};


template <class A> void serialize(A& a, ChildPlan& c, unsigned) {
  int kind = static_cast<int>(c.kind);
  a& c.slot& c.parent1& c.parent2& kind& c.genome& c.swapped_genes& c.fresh_seed;
  c.kind = static_cast<ChildKind>(kind);
}
template <class A> void serialize(A& a, ExploitPlan& p, unsigned) { a& p.generation& p.children& p.owners; }

// ---- tags: one per message type ----------------------------------------------------------------
template <class M> struct Channel;  // no tag: not a message
#define PBTNAS_CHANNEL(M, T) \
  template <> struct Channel<M> { static constexpr int tag = T; }
PBTNAS_CHANNEL(Order, 1);           // rank 0 -> workers
PBTNAS_CHANNEL(FitnessReport, 2);   // workers -> rank 0
PBTNAS_CHANNEL(ExploitPlan, 3);     // rank 0 -> workers
PBTNAS_CHANNEL(CheckpointOrder, 4); // rank 0 -> workers
PBTNAS_CHANNEL(CheckpointDone, 5);  // workers -> rank 0
PBTNAS_CHANNEL(FinalOrder, 6);      // rank 0 -> workers
PBTNAS_CHANNEL(FinalReport, 7);     // owner of the final best -> rank 0
PBTNAS_CHANNEL(ExploitDone, 8);     // workers -> rank 0
PBTNAS_CHANNEL(WorkerReady, 9);     // workers -> rank 0
PBTNAS_CHANNEL(StartOrder, 10);     // rank 0 -> workers
PBTNAS_CHANNEL(BestEverReport, 11); // rank 1 -> rank 0
PBTNAS_CHANNEL(SoupReport, 12);     // rank 1 -> rank 0 (final_soup)
#undef PBTNAS_CHANNEL
constexpr int kTagManifestBase = 1000;  // + transfer index: payload size header, worker -> worker
constexpr int kTagPayloadBase = 16000;  // + transfer index: raw tensor bytes, worker -> worker
constexpr int kMaxTransfers = 14000;
// A task's population-wide state at the end of a generation (run/shared_exchange.hpp), worker to
// every other worker: the size header, then the payload (one of each per pair of workers).
constexpr int kTagSharedHeader = 31000;
constexpr int kTagSharedPayload = 31001;
// The node-shared copy of that state (run/shared_node.hpp): host names and placements at the
// start, each generation's outlines of the new rows, and the node writer's "committed" notes.
constexpr int kTagSharedOutline = 31002;
constexpr int kTagSharedNode = 31003;

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

template <class M>
void send_message(Transport& t, int dest, const M& message) {
  t.send(dest, Channel<M>::tag, encode(message));
}
// To every worker (ranks 1..size-1).
template <class M>
void broadcast_to_workers(Transport& t, const M& message) {
  const std::string bytes = encode(message);
  for (int r = 1; r < t.size(); ++r) t.send(r, Channel<M>::tag, bytes);
}
template <class M>
M receive_message(Transport& t, int source = kAnySource, int* from = nullptr) {
  return decode<M>(t.recv(source, Channel<M>::tag, from));
}
// Waits at most `timeout_s` seconds (< 0: without limit); an empty optional when nothing came.
template <class M>
std::optional<M> receive_message_for(Transport& t, double timeout_s, int source = kAnySource, int* from = nullptr) {
  std::string bytes;
  if (!t.recv_for(source, Channel<M>::tag, timeout_s, bytes, from)) return std::nullopt;
  return decode<M>(bytes);
}

}  // namespace pbtnas
