# cmake -DROOT=<source dir> -P CheckCorePurity.cmake
# Layering rules on #include lines (headers of a layer may only include its own layer or lower
# ones, so checking each file's direct includes is enough):
#   core (include/pbtnas/core, src/core, and the coordinator with its interfaces): no LibTorch,
#     MPI, HDF5 or JSON headers, nothing of a higher layer;
#   nn and tasks: no io (HDF5), run or MPI;
#   run: no MPI (it is written against Transport);
#   util (include/pbtnas/util, src/util): no LibTorch, MPI, HDF5 or JSON, no other pbtnas layer.
set(bad "")
# check_includes(<files> <regex> <why>): every include line of <files> matching <regex> is a violation.
function(check_includes files regex why)
  foreach(f IN LISTS files)
    file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS lines)
      if(line MATCHES "${regex}")
        list(APPEND bad "${f}: ${line} (${why})")
      endif()
    endforeach()
  endforeach()
  set(bad "${bad}" PARENT_SCOPE)
endfunction()

file(GLOB core_files ${ROOT}/include/pbtnas/core/*.hpp ${ROOT}/src/core/*.cpp)
list(APPEND core_files ${ROOT}/include/pbtnas/run/coordinator.hpp ${ROOT}/include/pbtnas/run/run_store.hpp
     ${ROOT}/include/pbtnas/run/run_report.hpp ${ROOT}/src/run/coordinator.cpp
     ${ROOT}/include/pbtnas/run/training_progress.hpp ${ROOT}/src/run/training_progress.cpp)
file(GLOB_RECURSE nn_files ${ROOT}/include/pbtnas/nn/* ${ROOT}/include/pbtnas/tasks/* ${ROOT}/src/nn/*
     ${ROOT}/src/tasks/*)
file(GLOB_RECURSE run_files ${ROOT}/include/pbtnas/run/* ${ROOT}/src/run/*)
list(LENGTH core_files n)
if(n EQUAL 0)
  message(FATAL_ERROR "core_is_pure: no core files found under ${ROOT}")
endif()

check_includes("${core_files}"
  "[<\"](torch/|ATen/|c10/|mpi\\.h|hdf5|H5[A-Za-z]*\\.h|nlohmann/|pbtnas/(nn|io|mpi|tasks|report)/|pbtnas/run/(worker|exchange|build_child))"
  "pbtnas_core must not include torch/MPI/HDF5/JSON or a higher layer - move this code to pbtnas_nn, pbtnas_io or pbtnas_mpi")
check_includes("${nn_files};${run_files}" "[<\"](mpi\\.h|pbtnas/mpi/)" "MPI belongs to pbtnas_mpi only")
file(GLOB util_files ${ROOT}/include/pbtnas/util/*.hpp ${ROOT}/src/util/*.cpp)
check_includes("${util_files}"
  "[<\"](torch/|ATen/|c10/|mpi\\.h|hdf5|H5[A-Za-z]*\\.h|nlohmann/|pbtnas/(core|nn|io|mpi|tasks|run|report)/)"
  "pbtnas_util is torch-, MPI- and HDF5-free and below every other layer")
check_includes("${nn_files}" "[<\"](hdf5|H5[A-Za-z]*\\.h|pbtnas/io/|pbtnas/run/)" "nn and tasks must not include io or run")
if(bad)
  string(REPLACE ";" "\n  " msg "${bad}")
  message(FATAL_ERROR "core_is_pure / layering:\n  ${msg}")
endif()
message(STATUS "core_is_pure: ${n} core files checked; nn/tasks/run layering checked")
