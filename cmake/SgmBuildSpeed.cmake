# What keeps a full build cheap on a small machine (bench/build_bench.sh measures it):
#   - two precompiled headers of LibTorch, fmt and standard headers (ATen with torch::nn, or
#     ATen alone), each built once, and per file the one it needs;
#   - lld instead of the BFD linker when the compiler can use it.
# The default preset's line-tables-only debug info (-g1) is set in CMakePresets.json.

option(SGM_PRECOMPILED_HEADERS "Precompiled headers for LibTorch/ATen, fmt and std (off: check that every file includes what it uses)" ON)
set(SGM_LINKER "AUTO" CACHE STRING "Linker: AUTO (lld when it works, else the compiler's default), lld, default")
set_property(CACHE SGM_LINKER PROPERTY STRINGS AUTO lld default)

# Two precompiled headers, and each file gets the one its includes call for (a header costs every
# file that includes it: loading it and instantiating what it declares takes 2-5 s, more than
# parsing some files' own headers, so a file should not load more than it uses):
#   - full: the ATen header's contents plus the torch::nn module headers; built by sgm_pch_full, for
#     files that reach any <torch/...> header (the models and what builds them).
#   - ATen: the standard headers, <ATen/ATen.h> (every operator), fmt and nlohmann/json; built
#     by sgm_pch_aten, for files that reach <ATen/...> or <c10/...> headers but no <torch/...>
#     one (samplers, optimizer, data, most tests). 3-5 s less per file than the full one.
#   - none: files that reach no LibTorch header parse their own (fmt and json alone are cheaper
#     to parse than a header with LibTorch is to load: 4-7 s less per file).
# Which LibTorch headers a file reaches is read from its includes and those of the repository's
# headers it includes (sgm_apply_precompiled_headers). A precompiled header is only used by
# objects compiled with the same code-generation options, so no target sets
# POSITION_INDEPENDENT_CODE (every object gets the compiler's default, PIE on Debian).
set(SGM_PCH_ATEN_HEADERS
  <algorithm> <cmath> <cstdint> <cstdio> <filesystem> <functional> <map> <memory> <string>
  <utility> <vector>
  <ATen/ATen.h> <fmt/format.h> <nlohmann/json.hpp>)
set(SGM_PCH_HEADERS ${SGM_PCH_ATEN_HEADERS}
  <torch/nn/module.h> <torch/nn/modules/conv.h> <torch/nn/modules/linear.h>)

# sgm_precompiled_headers(target): the target compiles against LibTorch and may use a
# precompiled header (sgm_warnings calls it); the choice per file is made once every target
# exists.
function(sgm_precompiled_headers target)
  set_property(GLOBAL APPEND PROPERTY SGM_PCH_TARGETS ${target})
endfunction()

# Which LibTorch headers a file reaches through its own includes or those of the repository's
# headers it includes ("..." paths from the repo root): 2 for any <torch/...> header, 1 for
# <ATen/...> or <c10/...> headers only, 0 for none.
function(_sgm_torch_level path result)
  get_property(known GLOBAL PROPERTY "_sgm_torch:${path}" SET)
  if(known)
    get_property(value GLOBAL PROPERTY "_sgm_torch:${path}")
    set(${result} ${value} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY "_sgm_torch:${path}" 0)  # an include cycle ends here
  file(STRINGS "${path}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  set(value 0)
  foreach(line IN LISTS lines)
    if(line MATCHES "<torch/")
      set(value 2)
      break()
    elseif(line MATCHES "<(ATen|c10)/")
      set(value 1)
    elseif(line MATCHES "\"([^\"]+)\"" AND EXISTS "${PROJECT_SOURCE_DIR}/${CMAKE_MATCH_1}")
      _sgm_torch_level("${PROJECT_SOURCE_DIR}/${CMAKE_MATCH_1}" sub)
      if(sub GREATER value)
        set(value ${sub})
      endif()
      if(value EQUAL 2)
        break()
      endif()
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY "_sgm_torch:${path}" ${value})
  set(${result} ${value} PARENT_SCOPE)
endfunction()

# A target that builds one precompiled header and nothing else (an empty file of its own), with
# the usage requirements every sgm library has (LibTorch, fmt, json) and the libraries' options:
# not the tests' -O1 that the top directory adds after the libraries (an -O1 file can use an -O2
# header; the converse is refused), and the same warnings (-Wpedantic changes what the compiler
# predefines). Sets <name>_options (what a file adds to use the header) and <name>_gch.
function(_sgm_pch_owner name)
  set(empty "${CMAKE_CURRENT_BINARY_DIR}/${name}.cpp")
  file(CONFIGURE OUTPUT "${empty}" CONTENT "// The owner of a precompiled header.\n")
  add_library(${name} OBJECT "${empty}")
  set_property(TARGET ${name} PROPERTY COMPILE_OPTIONS "")
  target_compile_options(${name} PRIVATE ${SGM_WARNINGS})
  target_link_libraries(${name} PRIVATE torch sgm_fmt nlohmann_json::nlohmann_json)
  target_precompile_headers(${name} PRIVATE ${ARGN})
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/CMakeFiles/${name}.dir")
  set(${name}_options "-Winvalid-pch" "-include" "${dir}/cmake_pch.hxx" PARENT_SCOPE)
  set(${name}_gch "${dir}/cmake_pch.hxx.gch" PARENT_SCOPE)
endfunction()

# Called once at the end of the top-level CMakeLists.txt: builds the two headers and gives every
# file of the registered targets the one it needs, or none. Per file, not per target (CMake's
# REUSE_FROM): a target's files need different ones.
function(sgm_apply_precompiled_headers)
  if(NOT SGM_PRECOMPILED_HEADERS)
    return()
  endif()
  _sgm_pch_owner(sgm_pch_aten ${SGM_PCH_ATEN_HEADERS})
  _sgm_pch_owner(sgm_pch_full ${SGM_PCH_HEADERS})
  set(owner_1 sgm_pch_aten)
  set(owner_2 sgm_pch_full)
  get_property(targets GLOBAL PROPERTY SGM_PCH_TARGETS)
  set(count_2 0)
  set(count_1 0)
  set(count_0 0)
  foreach(target IN LISTS targets)
    # The headers bring fmt and nlohmann/json into every file that uses them, so
    # the target needs their usage requirements too.
    target_link_libraries(${target} PRIVATE sgm_fmt nlohmann_json::nlohmann_json)
    get_target_property(dir ${target} SOURCE_DIR)
    get_target_property(sources ${target} SOURCES)
    foreach(source IN LISTS sources)
      if(NOT source MATCHES "\\.(cpp|cc|cxx)$")
        continue()
      endif()
      get_filename_component(path "${source}" ABSOLUTE BASE_DIR "${dir}")
      _sgm_torch_level("${path}" level)
      math(EXPR count_${level} "${count_${level}} + 1")
      if(level GREATER 0)
        # By absolute path: a relative one would be read against this (the top) directory and
        # name no source of the target.
        set(owner ${owner_${level}})
        set_source_files_properties("${path}" TARGET_DIRECTORY ${target} PROPERTIES
          COMPILE_OPTIONS "${${owner}_options}" OBJECT_DEPENDS "${${owner}_gch}")
        add_dependencies(${target} ${owner})
      endif()
    endforeach()
  endforeach()
  message(STATUS "sgm: precompiled headers: full for ${count_2} files, ATen for ${count_1}; "
                 "${count_0} reach no LibTorch header and parse their own")
endfunction()

if(SGM_LINKER STREQUAL "AUTO" OR SGM_LINKER STREQUAL "lld")
  include(CheckLinkerFlag)
  check_linker_flag(CXX "-fuse-ld=lld" SGM_LLD_WORKS)
  if(SGM_LLD_WORKS)
    add_link_options("-fuse-ld=lld")
    set(SGM_LINKER_USED lld)
  elseif(SGM_LINKER STREQUAL "lld")
    message(FATAL_ERROR "SGM_LINKER=lld but the compiler cannot link with -fuse-ld=lld (Debian: apt-get install lld)")
  else()
    set(SGM_LINKER_USED "compiler default")
  endif()
else()
  set(SGM_LINKER_USED "compiler default")
endif()
