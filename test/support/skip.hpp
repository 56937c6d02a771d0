#pragma once
// The one way a Catch2 test of pbtnas says that it cannot run here (no data set, no GPU, no
// Python package): a warning that starts with "SKIPPED: ", which ctest reports as a skipped test
// (SKIP_REGULAR_EXPRESSION, set for every test binary in test/CMakeLists.txt). Test scripts exit
// with code 77 instead (SKIP_RETURN_CODE). A skip must name what is missing and how to get it.
#include <catch2/catch.hpp>

#define PBTNAS_SKIP(why)         \
  do {                           \
    WARN("SKIPPED: " << why);    \
    return;                      \
  } while (0)
