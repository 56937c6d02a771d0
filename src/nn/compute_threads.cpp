#include "pbtnas/nn/compute_threads.hpp"

#include <dlfcn.h>

#include <torch/torch.h>

namespace pbtnas {

bool set_compute_threads(int threads) {
  torch::set_num_threads(threads);
  using SetThreads = void (*)(int);
  auto set_blas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set_blas) set_blas(threads);
  return set_blas != nullptr;
}

}  // namespace pbtnas
