// The live progress of a generation (run/training_progress.hpp) and the logger's status line.
#include <catch2/catch.hpp>

#include <sstream>

#include "pbtnas/core/log.hpp"
#include "pbtnas/protocol/training_progress.hpp"

using namespace pbtnas;

namespace {
FitnessReport note(int member, std::int64_t done, std::int64_t total) {
  FitnessReport r;
  r.member = member;
  r.partial = true;
  r.samples = done;
  r.total_samples = total;
  return r;
}
FitnessReport result(int member, std::int64_t samples) {
  FitnessReport r;
  r.member = member;
  r.samples = samples;
  return r;
}
}  // namespace

TEST_CASE("training progress: fraction, members done and running, ETAs") {
  TrainingTracker t(2, 5, 4, 0.0);  // generation 2 of 5 steps, 4 members, no finished generation yet
  TrainingProgress p = t.snapshot(1.0);
  CHECK(p.members == 4);
  CHECK(p.members_done == 0);
  CHECK(p.running == 0);
  CHECK(p.fraction == 0.0);
  CHECK(p.eta_generation_seconds < 0.0);  // unknown before any work is reported
  CHECK(p.eta_run_seconds < 0.0);

  t.add(result(0, 100));
  t.add(note(1, 50, 100));
  p = t.snapshot(30.0);
  CHECK(p.members_done == 1);
  CHECK(p.running == 1);
  CHECK(p.samples_done == 150);
  CHECK(p.fraction == Approx(1.5 / 4));  // one member and half of another
  CHECK(p.eta_generation_seconds == Approx(30.0 / 0.375 - 30.0));  // 50 s left of an 80 s generation
  // Generations 3 and 4 remain after this one, each estimated at this one's 80 s.
  CHECK(p.eta_run_seconds == Approx(50.0 + 2 * 80.0));

  // A later note of a finished member changes nothing; notes above the total count as done.
  t.add(note(0, 10, 100));
  t.add(note(2, 300, 100));
  p = t.snapshot(40.0);
  CHECK(p.members_done == 1);
  CHECK(p.running == 2);
  CHECK(p.fraction == Approx(2.5 / 4));

  // With measured generations, the run's ETA uses their mean instead.
  TrainingTracker measured(2, 5, 4, 60.0);
  measured.add(result(0, 1));
  measured.add(result(1, 1));
  p = measured.snapshot(20.0);
  CHECK(p.eta_generation_seconds == Approx(20.0));
  CHECK(p.eta_run_seconds == Approx(20.0 + 2 * 60.0));

  // Reports of unknown members are ignored.
  measured.add(result(9, 1));
  CHECK(measured.snapshot(20.0).members_done == 2);
}

TEST_CASE("logger: a status line is redrawn in place and cleared by the next line") {
  std::ostringstream out, err;
  Logger log(0, out, err);
  log.status("a");
  log.info("b");
  CHECK(out.str() == "a\nb\n");  // no redraw: ordinary lines

  std::ostringstream term;
  Logger tty(0, term, err);
  tty.set_redraw(true);
  tty.status("50%");
  tty.status("75%");
  tty.info("gen 0 [1/2]");
  CHECK(term.str() == "\r\033[K50%\r\033[K75%\r\033[Kgen 0 [1/2]\n");
}
