#pragma once
// The exact points of a run at which the signal testing hooks act (config.hpp, RunPoint and
// SignalHook): the coordinator and the workers call at() there, and the command line's
// implementation raises a signal or waits for one (testing.raise_signal, testing.wait_for_signal).
// Nothing is called where the pointer handed to them is null (tests, production without hooks).
#include <cstdint>

#include "pbtnas/core/config.hpp"

namespace pbtnas {

class RunPoints {
 public:
  virtual ~RunPoints() = default;
  // Once the run has started: after the committed generation `resumed_after` (-1: fresh).
  virtual void started(std::int64_t resumed_after) = 0;
  virtual void at(RunPoint point, std::int64_t generation) = 0;
};

}  // namespace pbtnas
