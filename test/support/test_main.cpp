// Catch2 main for every pbtnas test binary: prints the seed it runs with (stderr, so that test
// listing stays clean). Re-run a failure with the same seed: `<binary> --rng-seed <N>`.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  if (session.configData().rngSeed == 0) session.configData().rngSeed = 20230727u;
  std::fprintf(stderr, "pbtnas test seed: %u\n", session.configData().rngSeed);
  return session.run();
}
