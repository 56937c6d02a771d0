#pragma once
// What this process uses of the machine, for per-generation figures (generations.jsonl).
#include <cstdint>

namespace pbtnas {

// Peak resident set size of this process in bytes (Linux VmHWM), 0 when not available.
std::int64_t peak_resident_bytes();
// Proportional set size in bytes (Linux Pss: private pages plus each shared page divided by the
// processes sharing it), 0 when not available. Summed over the ranks of a node it is the node's
// memory, which resident sizes overstate when pages are shared.
std::int64_t proportional_resident_bytes();

}  // namespace pbtnas
