#include "pbtnas/run/shared_node.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "pbtnas/core/hash.hpp"
#include "pbtnas/core/layout.hpp"
#include "pbtnas/core/messages.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/util/files.hpp"

namespace pbtnas {
namespace {

// `mine` to every other worker and theirs back: posted first, so no send waits for a receive.
std::vector<std::string> all_workers(Transport& t, const std::string& mine) {
  std::vector<std::string> got(static_cast<std::size_t>(t.size()));
  got[static_cast<std::size_t>(t.rank())] = mine;
  for (int r = 1; r < t.size(); ++r)
    if (r != t.rank()) t.post_send(r, kTagSharedNode, mine.data(), mine.size());
  for (int r = 1; r < t.size(); ++r)
    if (r != t.rank()) got[static_cast<std::size_t>(r)] = t.recv(r, kTagSharedNode);
  t.wait_all();
  return got;
}

// The run's regions on this node start with this name (the stale ones of a crash too).
std::string region_prefix(const std::string& dir, const std::string& state, const std::string& out_dir,
                          const std::string& host) {
  std::error_code ec;
  const std::string abs = std::filesystem::absolute(out_dir, ec).lexically_normal().string();
  char key[17];
  std::snprintf(key, sizeof key, "%016llx", static_cast<unsigned long long>(fnv1a(ec ? out_dir : abs)));
  std::string node = host;
  for (char& c : node)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  return dir + "/" + state + "-" + key + "-" + node + "-";
}

void load_checkpoint(SharedState& shared, const std::string& out_dir, std::int64_t generation) {
  if (generation < 0) return;
  // Every copy loads the same committed state, whatever the number of ranks or nodes that wrote it.
  shared.import_state(io::read_shared_file(io::shared_file_path(out_dir, generation, shared.name())).state);
}

// What a node's workers need to place the state: the context of the start protocol.
struct NodeStart {
  Transport& t;
  SharedState& shared;
  const std::string& host;
  const std::string& out_dir;
  std::int64_t resume_generation;
  Logger& log;
  std::size_t bytes;  // the region's size
};

// The leader: creates the region (removing the run's stale ones first); "" when it cannot.
std::string create_region(const NodeStart& n, SharedPlacement& p) {
  try {
    const std::string dir = node_scratch_dir("TMPDIR");
    const std::string prefix = region_prefix(dir, n.shared.name(), n.out_dir, n.host);
    if (const int stale = remove_stale_regions(dir, prefix.substr(dir.size() + 1)); stale > 0)
      n.log.warn("shared " + n.shared.name() + ": removed " + std::to_string(stale) +
                 " stale shared-memory file(s) of this run on node " + n.host + " (left by a crash)");
    char gen[32];
    std::snprintf(gen, sizeof gen, "from_gen_%06lld", static_cast<long long>(n.resume_generation));
    const std::string path = prefix + (n.resume_generation < 0 ? std::string("fresh") : std::string(gen));
    p.region = SharedRegion::create(path, n.bytes);
    n.shared.place(p.region);
    return path;
  } catch (const std::exception& e) {
    p.region.reset();
    n.log.warn("shared " + n.shared.name() + ": no shared memory on node " + n.host + " (" + e.what() +
               "); every worker of this node keeps its own copy");
    return "";
  }
}

// The leader: makes the node's copy, loads it, tells the node's other workers where it is and
// removes its name once they have answered. Throws (after that) when the checkpoint cannot be read.
void lead_node(const NodeStart& n, const std::vector<int>& node, SharedPlacement& p) {
  const std::string path = create_region(n, p);
  std::string load_error;  // reported after the readers have had their answer
  try {
    load_checkpoint(n.shared, n.out_dir, n.resume_generation);
  } catch (const std::exception& e) {
    load_error = e.what();
  }
  const std::string note = path.empty() ? std::string("R") : "P" + path;
  for (int r : node) n.t.post_send(r, kTagSharedNode, note.data(), note.size());
  int mapped = 0;
  for (int r : node) mapped += n.t.recv(r, kTagSharedNode) == "A" ? 1 : 0;  // or keeping a replica
  n.t.wait_all();
  if (p.region) {
    p.region->unlink();  // the mappings live on; a crash from now on leaves no file
    n.log.info("shared " + n.shared.name() + ": one copy in shared memory on node " + n.host + " (" +
               std::to_string(n.bytes >> 20) + " MiB reserved, pages used as it fills), written by rank " +
               std::to_string(n.t.rank()) + ", read by " + std::to_string(mapped) + " other worker(s)");
  }
  if (!load_error.empty()) throw std::runtime_error(load_error);
}

// Another worker of the node: maps the leader's copy read-only, or keeps (and loads) its own.
void read_node(const NodeStart& n, int leader, SharedPlacement& p) {
  const std::string note = n.t.recv(leader, kTagSharedNode);
  std::string answer = "R";
  if (!note.empty() && note[0] == 'P') {
    try {
      p.region = SharedRegion::open(note.substr(1), n.bytes);
      n.shared.place(p.region);
      answer = "A";
    } catch (const std::exception& e) {
      p.region.reset();
      n.log.warn("shared " + n.shared.name() + ": cannot map the node's copy (" + e.what() +
                 "); this worker keeps its own copy");
    }
  }
  n.t.post_send(leader, kTagSharedNode, answer.data(), answer.size());
  n.t.wait_all();
  if (!p.region) load_checkpoint(n.shared, n.out_dir, n.resume_generation);
}

}  // namespace

std::vector<int> SharedPlacement::readers_of(int rank) const {
  std::vector<int> r;
  for (std::size_t q = 1; q < leader.size(); ++q)
    if (leader[q] == rank && static_cast<int>(q) != rank && !holder[q]) r.push_back(static_cast<int>(q));
  return r;
}

int SharedPlacement::writer_of(int rank) const { return holds(rank) ? rank : leader.at(static_cast<std::size_t>(rank)); }

SharedPlacement place_shared_state(Transport& t, SharedState* shared, const std::string& host,
                                   const std::string& out_dir, std::int64_t resume_generation, Logger& log,
                                   std::string& error) {
  SharedPlacement p;
  const int me = t.rank();
  // 0. Host names (and whether each worker has the state): the nodes.
  const std::vector<std::string> hello = all_workers(t, std::string(shared ? "1" : "0") + host);
  std::vector<std::string> hosts(hello.size());
  p.active = true;
  for (std::size_t r = 1; r < hello.size(); ++r) {
    hosts[r] = hello[r].substr(1);
    p.active = p.active && !hello[r].empty() && hello[r][0] == '1';
  }
  p.leader = node_leaders(hosts);
  p.holder.assign(hello.size(), 1);
  if (!p.active) return p;
  const int leader = p.leader[static_cast<std::size_t>(me)];
  const std::size_t bytes = shared->region_bytes();
  std::vector<int> node;  // the other workers of this node
  for (std::size_t r = 1; r < hosts.size(); ++r)
    if (p.leader[r] == leader && static_cast<int>(r) != me) node.push_back(static_cast<int>(r));
  const NodeStart n{t, *shared, host, out_dir, resume_generation, log, bytes};
  try {
    if (bytes == 0)  // 1. per rank by choice
      load_checkpoint(*shared, out_dir, resume_generation);
    else if (leader == me)  // 1. and 2.
      lead_node(n, node, p);
    else
      read_node(n, leader, p);
  } catch (const std::exception& e) {
    error = e.what();
  }
  // 3. Who writes a copy of its own.
  const bool reader = p.region && !p.region->writable();
  const std::vector<std::string> roles = all_workers(t, reader ? "r" : "w");
  for (std::size_t r = 1; r < roles.size(); ++r) p.holder[r] = roles[r] != "r";
  return p;
}

}  // namespace pbtnas
