#pragma once
// Transport: how ranks talk. The protocol (coordinator.hpp, worker.hpp) is written against this
// interface; MpiTransport (pbtnas/mpi) is the real one, LocalTransport (test/support) runs ranks
// as threads of one process for fast tests.
//
// Two kinds of traffic:
//  * control messages: small serialized structs (messages.hpp), blocking send/recv by tag;
//  * bulk payloads: raw tensor bytes between workers, posted non-blocking and waited on together.
#include <cstddef>
#include <string>
#include <vector>

namespace pbtnas {

constexpr int kAnySource = -1;

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  virtual void send(int dest, int tag, const std::string& bytes) = 0;
  // Blocks until a message with `tag` arrives from `source` (or any source); sets *from.
  // Waiting does not spin a core (ranks may share cores with training workers).
  virtual std::string recv(int source, int tag, int* from = nullptr) = 0;
  // Like recv, but waits at most `timeout_s` seconds (< 0: as long as it takes): false when
  // nothing came. This default waits without limit (in-process transports of the tests).
  virtual bool recv_for(int source, int tag, double timeout_s, std::string& bytes, int* from = nullptr) {
    bytes = recv(source, tag, from);
    return true;
  }

  // Non-blocking bulk transfer of `bytes` bytes; chunked internally below INT_MAX.
  // Buffers must stay valid until wait_all returns. Messages between one pair of ranks with one
  // tag are matched in posting order.
  virtual void post_send(int dest, int tag, const void* data, std::size_t bytes) = 0;
  virtual void post_recv(int source, int tag, void* data, std::size_t bytes) = 0;
  virtual void wait_all() = 0;  // completes everything posted so far

  virtual void barrier() = 0;
  // Ends the whole job (all ranks) with `code` after a fatal error on this rank.
  [[noreturn]] virtual void abort(int code) = 0;
};

}  // namespace pbtnas
