#pragma once
// The monotonic clock of timings (progress lines, benchmarks, time budgets). Torch-free.
#include <chrono>

namespace pbtnas {

using Clock = std::chrono::steady_clock;

// Seconds since t.
inline double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace pbtnas
