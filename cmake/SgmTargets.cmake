# Helpers that give every sgm library and test the same shape:
#   sgm_library(NAME sources... DEPS targets...)   one library per folder, explicit deps
#   sgm_test(NAME sources... DEPS ... LABELS ...)   one GoogleTest executable per library
#   sgm_mpi_test(NAME EXE NP n ...)                 the same executable under mpirun -np n

set(SGM_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion
    -Wno-sign-conversion)

function(sgm_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${SGM_WARNINGS}>)
endfunction()

function(sgm_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC "${PROJECT_SOURCE_DIR}")
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
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
