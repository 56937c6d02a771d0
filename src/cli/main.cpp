// pbtnas command line: run, inspect.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  CLI::App app{"pbtnas: neural architecture search by Population Based Training (PBT-NAS) over MPI"};
  app.set_version_flag("--version", std::string("pbtnas ") + PBTNAS_VERSION);
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
