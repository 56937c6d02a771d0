#pragma once
#include <string>

namespace pbtnas::cli {

// Prints a backtrace on SIGSEGV/SIGBUS/SIGFPE/SIGILL (re-installed after MPI_Init, which sets
// handlers of its own).
void install_crash_handler();

int run_command(int argc, char** argv, const std::string& config, const std::string& out);
int inspect_command(const std::string& file);
int bench_exchange_command(int argc, char** argv, const std::string& config, int reps);

}  // namespace pbtnas::cli
