# What keeps a full build cheap on a small machine (bench/build_bench.sh measures it):
#   - one precompiled header of the LibTorch/ATen, fmt and standard headers, built once for
#     sgm_core and reused by every translation unit that reaches a LibTorch header;
#   - lld instead of the BFD linker when the compiler can use it.
# The default preset's line-tables-only debug info (-g1) is set in CMakePresets.json.

option(SGM_PRECOMPILED_HEADERS "One precompiled header for LibTorch/ATen, fmt and std (off: check that every file includes what it uses)" ON)
set(SGM_LINKER "AUTO" CACHE STRING "Linker: AUTO (lld when it works, else the compiler's default), lld, default")
set_property(CACHE SGM_LINKER PROPERTY STRINGS AUTO lld default)

# What goes into the precompiled header. Parsing <ATen/ATen.h> and <torch/nn/module.h> costs
# 15-25 s per file at -O2; loading the precompiled header costs about 3 s, so a file that reaches
# no LibTorch header is compiled without it (sgm_apply_precompiled_headers). A precompiled header
# is only used by objects compiled with the same code-generation options, so no target sets
# POSITION_INDEPENDENT_CODE (every object gets the compiler's default, PIE on Debian).
set(SGM_PCH_HEADERS
  <algorithm> <cmath> <cstdint> <cstdio> <filesystem> <functional> <map> <memory> <string>
  <utility> <vector>
  <ATen/ATen.h> <torch/nn/module.h> <torch/nn/modules/conv.h> <torch/nn/modules/linear.h>
  <fmt/format.h> <nlohmann/json.hpp>)

# sgm_precompiled_headers(target): the target compiles against LibTorch and may reuse the header
# (sgm_warnings calls it); the decision per file is taken once every target exists.
function(sgm_precompiled_headers target)
  set_property(GLOBAL APPEND PROPERTY SGM_PCH_TARGETS ${target})
endfunction()

# Whether a file reaches a LibTorch header (<ATen/...>, <torch/...>, <c10/...>) through its own
# includes or those of the repository's headers it includes ("..." paths from the repo root).
function(_sgm_reaches_torch path result)
  get_property(known GLOBAL PROPERTY "_sgm_torch:${path}" SET)
  if(known)
    get_property(value GLOBAL PROPERTY "_sgm_torch:${path}")
    set(${result} ${value} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY "_sgm_torch:${path}" OFF)  # an include cycle ends here
  file(STRINGS "${path}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  set(value OFF)
  foreach(line IN LISTS lines)
    if(line MATCHES "<(ATen|torch|c10)/")
      set(value ON)
      break()
    elseif(line MATCHES "\"([^\"]+)\"" AND EXISTS "${PROJECT_SOURCE_DIR}/${CMAKE_MATCH_1}")
      _sgm_reaches_torch("${PROJECT_SOURCE_DIR}/${CMAKE_MATCH_1}" sub)
      if(sub)
        set(value ON)
        break()
      endif()
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY "_sgm_torch:${path}" ${value})
  set(${result} ${value} PARENT_SCOPE)
endfunction()

# Called once at the end of the top-level CMakeLists.txt: sgm_core builds the header, every
# other registered target reuses it, and files that reach no LibTorch header skip it.
function(sgm_apply_precompiled_headers)
  if(NOT SGM_PRECOMPILED_HEADERS)
    return()
  endif()
  target_precompile_headers(sgm_core PRIVATE ${SGM_PCH_HEADERS})
  get_property(targets GLOBAL PROPERTY SGM_PCH_TARGETS)
  set(with 0)
  set(without 0)
  foreach(target IN LISTS targets)
    if(NOT target STREQUAL "sgm_core")
      target_precompile_headers(${target} REUSE_FROM sgm_core)
    endif()
    # The header brings fmt (header-only) and nlohmann/json into every file that uses it, so
    # the target needs their compile definitions too (FMT_HEADER_ONLY must match).
    target_link_libraries(${target} PRIVATE sgm_fmt nlohmann_json::nlohmann_json)
    get_target_property(dir ${target} SOURCE_DIR)
    get_target_property(sources ${target} SOURCES)
    foreach(source IN LISTS sources)
      if(NOT source MATCHES "\\.(cpp|cc|cxx)$")
        continue()
      endif()
      get_filename_component(path "${source}" ABSOLUTE BASE_DIR "${dir}")
      _sgm_reaches_torch("${path}" torch)
      if(torch)
        math(EXPR with "${with} + 1")
      else()
        set_source_files_properties("${source}" TARGET_DIRECTORY ${target}
          PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
        math(EXPR without "${without} + 1")
      endif()
    endforeach()
  endforeach()
  message(STATUS "sgm: precompiled header for ${with} files; ${without} reach no LibTorch header and parse their own")
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
