#include "pbtnas/mpi/mpi_transport.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace pbtnas {
namespace {

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    throw std::runtime_error(std::string("MPI: ") + what + " failed: " + std::string(msg, len));
  }
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

struct MpiTransport::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm node = MPI_COMM_NULL;
  std::size_t max_chunk = 0;
  std::vector<MPI_Request> pending;
};

MpiTransport::MpiTransport(std::size_t max_chunk) : impl_(std::make_unique<Impl>()) {
  if (max_chunk == 0 || max_chunk > static_cast<std::size_t>(INT_MAX))
    throw std::invalid_argument("MpiTransport: max_chunk must be in [1, INT_MAX]");
  impl_->max_chunk = max_chunk;
  check(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->comm), "MPI_Comm_dup");
  check(MPI_Comm_split_type(impl_->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &impl_->node),
        "MPI_Comm_split_type");
}

MpiTransport::~MpiTransport() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (impl_->node != MPI_COMM_NULL) MPI_Comm_free(&impl_->node);
  if (impl_->comm != MPI_COMM_NULL) MPI_Comm_free(&impl_->comm);
}

int MpiTransport::rank() const {
  int r = 0;
  MPI_Comm_rank(impl_->comm, &r);
  return r;
}
int MpiTransport::size() const {
  int s = 0;
  MPI_Comm_size(impl_->comm, &s);
  return s;
}
int MpiTransport::local_rank() const {
  int r = 0;
  MPI_Comm_rank(impl_->node, &r);
  return r;
}
int MpiTransport::local_size() const {
  int s = 0;
  MPI_Comm_size(impl_->node, &s);
  return s;
}

int MpiTransport::local_workers() const {
  int mine = rank(), lowest = 0;
  MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, impl_->node);
  return local_size() - (lowest == 0 ? 1 : 0);
}

void MpiTransport::send(int dest, int tag, const std::string& bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    throw std::runtime_error("MpiTransport::send: control message over INT_MAX bytes; use post_send");
  check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, impl_->comm), "MPI_Send");
}

std::string MpiTransport::recv(int source, int tag, int* from) {
  std::string bytes;
  recv_for(source, tag, -1.0, bytes, from);
  return bytes;
}

bool MpiTransport::recv_for(int source, int tag, double timeout_s, std::string& bytes, int* from) {
  // Poll with a growing sleep instead of a blocking MPI_Recv, which spins a core in Open MPI:
  // the coordinator and idle workers must not steal CPU from ranks that are training.
  const int src = source == kAnySource ? MPI_ANY_SOURCE : source;
  // Spin for the first 50 ms (messages inside an exchange arrive within microseconds to
  // milliseconds), then sleep between probes.
  MPI_Status status;
  int flag = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto spin_until = start + std::chrono::milliseconds(50);
  auto sleep = std::chrono::microseconds(20);
  for (;;) {
    check(MPI_Iprobe(src, tag, impl_->comm, &flag, &status), "MPI_Iprobe");
    if (flag) break;
    const auto now = std::chrono::steady_clock::now();
    if (timeout_s >= 0.0 && std::chrono::duration<double>(now - start).count() >= timeout_s) return false;
    if (now < spin_until) continue;
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::microseconds(5000));
  }
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  bytes.assign(static_cast<std::size_t>(count), '\0');
  check(MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, tag, impl_->comm, MPI_STATUS_IGNORE),
        "MPI_Recv");
  if (from) *from = status.MPI_SOURCE;
  return true;
}

void MpiTransport::post_send(int dest, int tag, const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  do {
    const std::size_t n = std::min(bytes, impl_->max_chunk);
    MPI_Request req;
    check(MPI_Isend(p, static_cast<int>(n), MPI_BYTE, dest, tag, impl_->comm, &req), "MPI_Isend");
    impl_->pending.push_back(req);
    p += n;
    bytes -= n;
  } while (bytes > 0);
}

void MpiTransport::post_recv(int source, int tag, void* data, std::size_t bytes) {
  char* p = static_cast<char*>(data);
  do {
    const std::size_t n = std::min(bytes, impl_->max_chunk);
    MPI_Request req;
    check(MPI_Irecv(p, static_cast<int>(n), MPI_BYTE, source, tag, impl_->comm, &req), "MPI_Irecv");
    impl_->pending.push_back(req);
    p += n;
    bytes -= n;
  } while (bytes > 0);
}

void MpiTransport::wait_all() {
  if (impl_->pending.empty()) return;
  check(MPI_Waitall(static_cast<int>(impl_->pending.size()), impl_->pending.data(), MPI_STATUSES_IGNORE),
        "MPI_Waitall");
  impl_->pending.clear();
}

void MpiTransport::barrier() { check(MPI_Barrier(impl_->comm), "MPI_Barrier"); }

void MpiTransport::sleeping_barrier(int poll_us) {
  MPI_Request req;
  check(MPI_Ibarrier(impl_->comm, &req), "MPI_Ibarrier");
  if (poll_us <= 0) {
    check(MPI_Wait(&req, MPI_STATUS_IGNORE), "MPI_Wait");
    return;
  }
  for (int done = 0;;) {
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(std::chrono::microseconds(poll_us));
  }
}

void MpiTransport::abort(int code) {
  MPI_Abort(impl_->comm, code);
  std::abort();
}

void MpiTransport::raw_send(int dest, int tag, const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  do {
    const std::size_t n = std::min(bytes, impl_->max_chunk);
    check(MPI_Send(p, static_cast<int>(n), MPI_BYTE, dest, tag, impl_->comm), "MPI_Send");
    p += n;
    bytes -= n;
  } while (bytes > 0);
}

void MpiTransport::raw_recv(int source, int tag, void* data, std::size_t bytes) {
  char* p = static_cast<char*>(data);
  do {
    const std::size_t n = std::min(bytes, impl_->max_chunk);
    check(MPI_Recv(p, static_cast<int>(n), MPI_BYTE, source, tag, impl_->comm, MPI_STATUS_IGNORE), "MPI_Recv");
    p += n;
    bytes -= n;
  } while (bytes > 0);
}

}  // namespace pbtnas
