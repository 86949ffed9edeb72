# Use ccache for every C/C++ compile when it is installed (launch/setup installs it).
find_program(SGM_CCACHE ccache)
if(SGM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER "${SGM_CCACHE}")
  set(CMAKE_CXX_COMPILER_LAUNCHER "${SGM_CCACHE}")
  set(CMAKE_CUDA_COMPILER_LAUNCHER "${SGM_CCACHE}")
endif()
