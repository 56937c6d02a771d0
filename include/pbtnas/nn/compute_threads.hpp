#pragma once
// The number of threads LibTorch's CPU kernels use.

namespace pbtnas {

// Sets LibTorch's intra-op threads and, when the process uses OpenBLAS (Debian's libtorch calls
// whatever libblas.so.3 points to), OpenBLAS's own thread count too (its pthread build would
// otherwise start a thread per core, and those threads spin on cores that other ranks use).
// Returns true when OpenBLAS was found.
bool set_compute_threads(int threads);

}  // namespace pbtnas
