# Use ccache for every C/C++ compile when it is installed (launch/setup installs it). Paths are
# made relative to the source tree and the build directory is not hashed, so a fresh clone in
# another directory (CI) reuses the objects compiled by earlier clones.
# Depend mode hashes the compiler's own dependency list (-MD, which Ninja asks for anyway)
# instead of running the preprocessor a second time, so a cache miss costs nothing extra; the
# sloppiness lets ccache cache translation units that use the precompiled header.
find_program(SGM_CCACHE ccache)
if(SGM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(_launcher ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} CCACHE_NOHASHDIR=1
      CCACHE_DEPEND=1 CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${SGM_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${_launcher})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_launcher})
endif()
