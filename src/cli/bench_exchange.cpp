// `pbtnas bench-exchange CONFIG` under `mpirun -n 3`: measures one exploit transfer of a real,
// trained member state (parameters, buffers, optimizer moments) from rank 1 to rank 2 through
// the production exchange code, next to a raw blocking MPI_Send of the same number of bytes in
// the same run, and prints both with their ratio. Exchange and raw repetitions alternate (each
// raw send follows a child's build, as each exchange does); the raw sends are then also timed
// back to back, with hot caches, and that best case is printed beside the ratios.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "pbtnas/util/clock.hpp"
#include "cli/commands.hpp"
#include "pbtnas/core/config.hpp"
#include "pbtnas/core/mixing.hpp"
#include "pbtnas/mpi/mpi_transport.hpp"
#include "pbtnas/core/population.hpp"
#include "pbtnas/run/exchange.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int bench_exchange_on(MpiTransport& transport, const std::string& config_path, int reps);

int bench_exchange_command(int argc, char** argv, const std::string& config_path, int reps) {
  MpiSession mpi(&argc, &argv);
  MpiTransport transport;
  if (transport.size() != 3) {
    if (transport.rank() == 0) std::cerr << "bench-exchange needs exactly 3 ranks: mpirun -n 3 pbtnas bench-exchange CONFIG\n";
    return 2;
  }
  try {
    return bench_exchange_on(transport, config_path, reps);
  } catch (const std::exception& e) {
    // Every rank reads the config, so each one fails alike; the others may wait in a message.
    std::cerr << "pbtnas bench-exchange (rank " << transport.rank() << "): " << e.what() << std::endl;
    transport.abort(2);
  }
}

int bench_exchange_on(MpiTransport& transport, const std::string& config_path, int reps) {
  RunConfig cfg = load_run_config(config_path);
  cfg.selection.population_size = 4;  // members 0, 2 on rank 1; 1, 3 on rank 2
  const Layout layout(4, 3);
  torch::set_num_threads(1);
  const int me = transport.rank();
  std::unique_ptr<Task> task = me == 0 ? nullptr : make_task(cfg);
  const SearchSpace space = task_space(cfg);
  const Population initial(space, 4, cfg.seed);

  // A Mix child in slot 1 (rank 2) of parents 0 and 2 (rank 1), every gene swapped with p=0.25.
  ExploitPlan plan;
  ChildPlan c;
  c.slot = 1;
  c.parent1 = 0;
  c.parent2 = 2;
  c.kind = ChildKind::Mix;
  Rng rng(cfg.seed);
  c.swapped_genes = draw_swapped_genes(space.size(), cfg.swap_probability, rng);
  c.genome = mix_genomes(initial.members()[0].genome, initial.members()[2].genome, c.swapped_genes);
  c.fresh_seed = 1;
  plan.children.push_back(c);

  std::map<int, Member> members;
  if (me > 0)
    for (int m : layout.members_of(me)) {
      members[m] = task->create(initial.members()[m].genome, 10 + m, torch::kCPU);
      if (me == 1) task->train(members[m], 0, 1, 99);  // real optimizer moments
    }

  // Rank 0 has no part in a transfer: it sleeps in a barrier until ranks 1 and 2 are done, so
  // that on a node with fewer cores than ranks it does not take a core from the two that work.
  // Ranks 1 and 2 start each repetition together: a ping-pong, after which rank 1 (the sender)
  // is at most one small message ahead of rank 2.
  transport.sleeping_barrier(me == 0 ? 1000 : 0);
  auto barrier = [&] {
    if (me == 2) transport.send(1, 80, "ping");
    if (me == 1) (void)transport.recv(2, 80), transport.send(2, 81, "pong");
    if (me == 2) (void)transport.recv(1, 81);
  };
  std::vector<double> exploit_s, transfer_s, raw_s;
  std::vector<ExchangeStats> runs;
  auto exchange = [&] {
    std::map<int, Member> copy;
    // Rank 2's child slot is rebuilt each repetition; parents on rank 1 are untouched.
    return execute_exploit(transport, layout, plan, cfg, *task, torch::kCPU, me == 1 ? members : copy);
  };
  // One exchange that is not timed: it sizes the raw baseline and maps the payload blocks.
  std::uint64_t total = 0;
  if (me > 0) {
    barrier();
    const ExchangeStats s = exchange();
    total = s.bytes_sent + s.bytes_received;
    if (me == 1) transport.send(2, 77, std::to_string(total));
    if (me == 2 && std::stoull(transport.recv(1, 77)) != total)
      throw std::runtime_error("bench-exchange: the sender and the receiver count different payload bytes");
  }
  // Raw baseline: the same number of bytes, one blocking MPI_Send / MPI_Recv, each side timed
  // on its own clock from the barrier to its call's return, as the exchange is. Exchange and
  // raw repetitions alternate, so that both see the same machine: the same caches (each raw
  // send follows a child's build, as each exchange does) and the same clock speed.
  std::vector<char> buf(me > 0 ? total : 0, 1);
  for (int r = 0; r < reps && me > 0; ++r) {
    barrier();
    const ExchangeStats s = exchange();
    runs.push_back(s);
    exploit_s.push_back(s.seconds);
    // The sender's snapshots are not part of its clock (the raw send has nothing to prepare);
    // the receiver's clock includes them, as it waits for the first head.
    transfer_s.push_back(s.transfer_seconds - s.snapshot_seconds);
    barrier();
    const auto t0 = Clock::now();
    if (me == 1) transport.raw_send(2, 78, buf.data(), buf.size());
    if (me == 2) transport.raw_recv(1, 78, buf.data(), buf.size());
    raw_s.push_back(since(t0));
  }
  // The same raw sends back to back, with nothing between them: hot caches on both sides, the
  // transport's best case (printed beside the ratios, not used for them).
  std::vector<double> hot_s;
  for (int r = 0; r < reps && me > 0; ++r) {
    barrier();
    const auto t0 = Clock::now();
    if (me == 1) transport.raw_send(2, 78, buf.data(), buf.size());
    if (me == 2) transport.raw_recv(1, 78, buf.data(), buf.size());
    hot_s.push_back(since(t0));
  }
  // The sender's clock covers packing, posting and completion of the sends (which, for
  // messages this size, completes only once the receiver has matched and taken the data); the
  // receiver's clock also includes the sender's snapshot before anything is sent.
  auto med = [&runs](double ExchangeStats::*field) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.*field);
    return v.empty() ? 0.0 : median(v);
  };
  double tx_send = 0.0, raw_send = 0.0, hot_send = 0.0, snap = 0.0, enc = 0.0, wait = 0.0;
  if (me == 1) {
    std::ostringstream out;
    out.precision(9);
    out << median(transfer_s) << ' ' << median(raw_s) << ' ' << median(hot_s) << ' ' << med(&ExchangeStats::snapshot_seconds) << ' '
        << med(&ExchangeStats::encode_seconds) << ' ' << med(&ExchangeStats::wait_seconds);
    transport.send(2, 79, out.str());
  }
  if (me == 2) {
    std::istringstream in(transport.recv(1, 79));
    in >> tx_send >> raw_send >> hot_send >> snap >> enc >> wait;
  }
  transport.sleeping_barrier(me == 0 ? 1000 : 0);
  if (me == 2) {
    const double mib = total / 1048576.0;
    const double tx = median(transfer_s), raw = median(raw_s), ex = median(exploit_s);
    std::printf("bench-exchange: member state %.2f MiB (parent1 full + donor layers), %d reps, medians\n", mib, reps);
    const double hot = median(hot_s);
    std::printf("  raw MPI_Send, same bytes, each after a child's build: sender %8.3f ms, receiver %8.3f ms  %8.1f MiB/s\n",
                raw_send * 1e3, raw * 1e3, mib / raw);
    std::printf("  (raw, back to back with hot caches: sender %8.3f ms, receiver %8.3f ms  %8.1f MiB/s)\n", hot_send * 1e3,
                hot * 1e3, mib / hot);
    std::printf("  exchange, sender (encode + send)  %8.3f ms  %8.1f MiB/s  (%.2fx the raw sender; %.2fx back to back)\n",
                tx_send * 1e3, mib / tx_send, tx_send / raw_send, tx_send / hot_send);
    std::printf("  exchange, receiver (incl. the sender's snapshot) %8.3f ms  (%.2fx the raw receiver; %.2fx back to back)\n",
                tx * 1e3, tx / raw, tx / hot);
    std::printf("  where the time goes (medians, ms): sender: snapshot %.3f (not on its clock), encode + post %.3f, "
                "wait for the receiver %.3f; receiver: wait for the heads %.3f, decode + post %.3f, wait %.3f, "
                "tensors %.3f\n",
                snap * 1e3, enc * 1e3, wait * 1e3, med(&ExchangeStats::head_wait_seconds) * 1e3,
                med(&ExchangeStats::decode_seconds) * 1e3, med(&ExchangeStats::wait_seconds) * 1e3,
                med(&ExchangeStats::finish_seconds) * 1e3);
    std::printf("  whole exploit on the receiver (transfer + fresh init + shrink-perturb + load) %8.3f ms  (%.2fx raw)\n",
                ex * 1e3, ex / raw);
    // Other processes share the cores with the 3 ranks: their load says how noisy the figures are.
    if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
      double l1 = 0, l5 = 0, l15 = 0;
      if (std::fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
        std::printf("  load average %.2f %.2f %.2f on %u cores\n", l1, l5, l15, std::thread::hardware_concurrency());
      std::fclose(f);
    }
  }
  return 0;
}

}  // namespace pbtnas::cli
