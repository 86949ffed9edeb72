# Use ccache for every C/C++ compile when it is installed (launch/setup installs it). Paths are
# made relative to the source tree and the build directory is not hashed, so a fresh clone in
# another directory (CI) reuses the objects compiled by earlier clones.
find_program(SGM_CCACHE ccache)
if(SGM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(_launcher ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} CCACHE_NOHASHDIR=1
      ${SGM_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${_launcher})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_launcher})
endif()
