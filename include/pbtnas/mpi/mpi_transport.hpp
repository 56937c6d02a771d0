#pragma once
// The MPI implementation of Transport, on a private duplicate of MPI_COMM_WORLD.
// This header does not include <mpi.h>; only src/mpi/ does.
#include <cstddef>
#include <memory>
#include <string>

#include "pbtnas/core/transport.hpp"

namespace pbtnas {

// RAII MPI_Init / MPI_Finalize for main().
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

class MpiTransport final : public Transport {
 public:
  // `max_chunk` bytes per MPI message of a bulk payload (default 1 GiB, below INT_MAX).
  explicit MpiTransport(std::size_t max_chunk = std::size_t{1} << 30);
  ~MpiTransport() override;

  int rank() const override;
  int size() const override;
  int local_rank() const;   // rank among the processes of this node
  int local_size() const;   // processes on this node
  int local_workers() const;  // worker processes on this node (local_size, minus rank 0 if here)

  void send(int dest, int tag, const std::string& bytes) override;
  std::string recv(int source, int tag, int* from = nullptr) override;
  bool recv_for(int source, int tag, double timeout_s, std::string& bytes, int* from = nullptr) override;
  void post_send(int dest, int tag, const void* data, std::size_t bytes) override;
  void post_recv(int source, int tag, void* data, std::size_t bytes) override;
  void wait_all() override;
  void barrier() override;
  [[noreturn]] void abort(int code) override;

  // A barrier that waits by sleeping between tests of a non-blocking MPI_Ibarrier instead of
  // spinning in MPI_Barrier: for a rank with nothing to do while others work on shared cores
  // (the benchmarks' rank 0). Leaves it up to `poll_us` microseconds after the last arrival;
  // `poll_us` <= 0 waits in MPI_Wait (spinning). Every rank must call this one, not barrier().
  void sleeping_barrier(int poll_us = 200);

  // A plain blocking MPI_Send/MPI_Recv of `bytes` bytes, for benchmarks (the raw baseline).
  void raw_send(int dest, int tag, const void* data, std::size_t bytes);
  void raw_recv(int source, int tag, void* data, std::size_t bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pbtnas
