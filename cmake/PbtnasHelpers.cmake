# Helper functions shared by the project's targets.

# ccache, when present, makes rebuilds of the LibTorch translation units cheap.
find_program(PBTNAS_CCACHE ccache)
if(PBTNAS_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${PBTNAS_CCACHE} CACHE STRING "" FORCE)
endif()

# Torch's exported flags (e.g. the C++11 ABI define) as a list usable in target_compile_options.
set(PBTNAS_TORCH_CXX_FLAGS "")
if(TORCH_CXX_FLAGS)
  separate_arguments(PBTNAS_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")
endif()

function(pbtnas_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()

# One precompiled <torch/torch.h> for the LibTorch targets: a torch translation unit costs
# ~20 s to parse on its own; with the PCH most of that is paid once.
function(pbtnas_torch_pch target)
  target_precompile_headers(${target} PRIVATE <torch/torch.h> <string> <vector> <memory>)
endfunction()

# pbtnas_header_only(<package> <target> <header>): find_package(<package>) or, failing that, an
# INTERFACE target <target> on the directory that holds <header>.
function(pbtnas_header_only package target header)
  find_package(${package} QUIET)
  if(TARGET ${target})
    return()
  endif()
  find_path(_pbtnas_${package}_dir ${header} REQUIRED)
  add_library(${target} INTERFACE IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_pbtnas_${package}_dir})
  message(STATUS "${package}: using headers in ${_pbtnas_${package}_dir}")
endfunction()

# pbtnas_folder(<target> <folder>): the target's sources must all lie in <folder> (relative to
# the source tree; subfolders allowed): folders are libraries (docs/architecture.md). Also turns
# on the project's warnings for the target.
function(pbtnas_folder target folder)
  get_target_property(sources ${target} SOURCES)
  foreach(src IN LISTS sources)
    if(NOT src MATCHES "^${folder}/")
      message(FATAL_ERROR "${target}: source ${src} is outside its folder ${folder}/ - "
                          "move it there or add it to the library of the folder it is in")
    endif()
  endforeach()
  pbtnas_warnings(${target})
endfunction()
