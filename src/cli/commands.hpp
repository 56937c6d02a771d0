#pragma once
#include <string>

namespace pbtnas::cli {

int run_command(int argc, char** argv, const std::string& config, const std::string& out);
int inspect_command(const std::string& file);
int bench_exchange_command(int argc, char** argv, const std::string& config, int reps);

}  // namespace pbtnas::cli
