# Helpers that give every sgm library and test the same shape:
#   sgm_library(NAME sources... DEPS targets...)   one library per folder, explicit deps
#   sgm_test(NAME sources... DEPS ... LABELS ...)   one GoogleTest executable per library
#   sgm_mpi_test(NAME EXE NP n ...)                 the same executable under mpirun -np n

set(SGM_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion
    -Wno-sign-conversion)

# Warnings for our code, and the shared precompiled header (cmake/SgmBuildSpeed.cmake).
function(sgm_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${SGM_WARNINGS}>)
  sgm_precompiled_headers(${target})
endfunction()

function(sgm_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC "${PROJECT_SOURCE_DIR}")
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  sgm_warnings(${name})
endfunction()


function(sgm_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} sgm_test_support)
  sgm_warnings(${name})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}"
    ENVIRONMENT "SGM_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# Runs an existing test executable under mpirun with NP ranks. Root and the 2-core CI machine
# need the allow-root variables and --oversubscribe; --bind-to none lets threaded ranks share.
function(sgm_mpi_test name)
  cmake_parse_arguments(ARG "" "EXE;NP;TIMEOUT" "ARGS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_test(NAME ${name}
    COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ARG_NP} --oversubscribe --bind-to none
            $<TARGET_FILE:${ARG_EXE}> ${ARG_ARGS})
  set_tests_properties(${name} PROPERTIES LABELS "mpi;${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    PROCESSORS ${ARG_NP}
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
endfunction()

# Every test that reserves one processor from ctest (PROCESSORS unset or 1) runs with one
# intra-op thread (OMP_NUM_THREADS=1, which LibTorch, dist::Context and the Python reference
# read), so that the tests ctest runs side by side do not oversubscribe the cores: two OpenMP
# teams of two threads on the 2-core CI machine made a sampler test of small tensors 12x slower
# (24 s alone, 300 s beside another test). A test that reserves more processors divides them
# itself (dist::Context gives each of its ranks cores / local ranks). Called at the end of every
# tests/ CMakeLists.txt, for the tests defined there.
function(sgm_test_thread_budget)
  get_property(tests DIRECTORY PROPERTY TESTS)
  foreach(test IN LISTS tests)
    get_test_property(${test} PROCESSORS processors)
    if(NOT processors OR processors EQUAL 1)
      set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT "OMP_NUM_THREADS=1")
    endif()
  endforeach()
endfunction()
