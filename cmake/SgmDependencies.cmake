# Finds every third-party dependency once, for the whole tree.
# LibTorch comes from CMAKE_PREFIX_PATH / Torch_DIR (any LibTorch 2.x); launch/setup passes the
# pinned PyPI wheel's copy when nothing else is given. The CUDA/NCCL parts are built when the
# LibTorch found has CUDA and NCCL is found (beside LibTorch first, then the CUDA toolkit).

if(NOT DEFINED CUDAToolkit_ROOT AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CUDAToolkit_ROOT /usr/local/cuda)
endif()
find_package(Torch REQUIRED)
get_filename_component(SGM_TORCH_DIR "${TORCH_INSTALL_PREFIX}" ABSOLUTE)
if(Torch_VERSION VERSION_LESS 2.0)
  message(WARNING "sgm is written against LibTorch 2.x; found ${Torch_VERSION} (CPU fallback only)")
endif()

# The PyPI LibTorch's libtorch.so exports its own copy of std::filesystem whose calls into
# recursive_directory_iterator are unresolved weak symbols: std::filesystem::remove_all through
# it jumps to address 0. Putting libstdc++ first among the needed libraries makes the dynamic
# linker bind every std::filesystem call to libstdc++ (tests/trainer/core catches a regression).
add_link_options("LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")

# LibTorch's own INTERFACE compile options and include directories stay, but its headers are
# SYSTEM so our warnings are not drowned by theirs.
foreach(tgt torch torch_cpu torch_cpu_library torch_cuda torch_cuda_library c10 c10_cuda)
  if(TARGET ${tgt})
    get_target_property(_inc ${tgt} INTERFACE_INCLUDE_DIRECTORIES)
    if(_inc)
      set_target_properties(${tgt} PROPERTIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_inc}")
    endif()
  endif()
endforeach()

find_package(MPI REQUIRED COMPONENTS C)
# MPI through its C API only: no C++ bindings (Open MPI's would need libmpi_cxx).
add_library(sgm_mpi INTERFACE)
target_link_libraries(sgm_mpi INTERFACE MPI::MPI_C)
target_compile_definitions(sgm_mpi INTERFACE OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
# HDF5: an installation with HDF5's own CMake package first (launch/setup builds 1.14 from source
# and passes HDF5_ROOT), else FindHDF5 (Debian's libhdf5-dev). sgm_hdf5 is the one target to link.
# Versions before 1.14.1 read past their buffers while decoding some damaged object headers.
find_package(ZLIB REQUIRED)
add_library(sgm_hdf5 INTERFACE)
find_package(HDF5 CONFIG QUIET)
if(HDF5_FOUND AND (TARGET hdf5-static OR TARGET hdf5-shared))
  if(TARGET hdf5-static)
    set(_hdf5_target hdf5-static)
  else()
    set(_hdf5_target hdf5-shared)
  endif()
  # The package asks its users for the feature macros HDF5 itself is compiled with (_GNU_SOURCE,
  # _FILE_OFFSET_BITS=64, ...): they would make every file of sgm_data skip the precompiled
  # headers, and off_t is 64 bits on a 64-bit Linux without them.
  if(CMAKE_SIZEOF_VOID_P EQUAL 8)
    set_target_properties(${_hdf5_target} PROPERTIES INTERFACE_COMPILE_DEFINITIONS "")
  endif()
  target_link_libraries(sgm_hdf5 INTERFACE ${_hdf5_target})
  set(SGM_HDF5_VERSION "${HDF5_VERSION_STRING}")
  set(_hdf5_from "${HDF5_DIR}")
else()
  find_package(HDF5 REQUIRED MODULE COMPONENTS C)
  target_link_libraries(sgm_hdf5 INTERFACE hdf5::hdf5)
  set(SGM_HDF5_VERSION "${HDF5_VERSION}")
  set(_hdf5_from "${HDF5_C_LIBRARY_hdf5}")
endif()
message(STATUS "sgm: HDF5 ${SGM_HDF5_VERSION} (${_hdf5_from})")
if(SGM_HDF5_VERSION VERSION_LESS 1.14.1)
  message(WARNING "HDF5 ${SGM_HDF5_VERSION} reads out of bounds on some damaged files; launch/setup "
                  "builds 1.14 (or pass HDF5_ROOT)")
endif()
find_package(Boost 1.71 REQUIRED COMPONENTS program_options)
find_package(fmt REQUIRED)
# LibTorch 2.x ships its own (newer) fmt headers, and its include directory comes before
# /usr/include, so <fmt/format.h> resolves to them: the system libfmt's compiled symbols would
# not match. sgm_fmt compiles the engine of whichever headers win, once, with LibTorch's options
# (trainer/core/fmt_library.cpp); header-only fmt would compile it again in every file that
# formats a string (about 3 s per file).
add_library(sgm_fmt STATIC "${PROJECT_SOURCE_DIR}/trainer/core/fmt_library.cpp")
target_link_libraries(sgm_fmt PRIVATE torch)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
if(SGM_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
# stb (Debian libstb-dev): PNG/JPEG decoding, resizing and PNG writing, from libstb.so.
find_path(SGM_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)
find_library(SGM_STB_LIBRARY stb REQUIRED)
add_library(sgm_stb INTERFACE)
target_include_directories(sgm_stb SYSTEM INTERFACE "${SGM_STB_INCLUDE_DIR}")
target_link_libraries(sgm_stb INTERFACE "${SGM_STB_LIBRARY}")

# --- CUDA and NCCL ---------------------------------------------------------------------------
set(SGM_HAVE_CUDA OFF)
set(_torch_has_cuda OFF)
if(TARGET torch_cuda OR TARGET torch_cuda_library OR CAFFE2_USE_CUDA)
  set(_torch_has_cuda ON)
endif()
if(SGM_WITH_CUDA STREQUAL "OFF")
  message(STATUS "sgm: CUDA/NCCL parts disabled (SGM_WITH_CUDA=OFF)")
elseif(NOT _torch_has_cuda)
  if(SGM_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SGM_WITH_CUDA=ON but the LibTorch found (${SGM_TORCH_DIR}) has no CUDA")
  endif()
  message(STATUS "sgm: LibTorch without CUDA: CPU configuration")
else()
  find_package(CUDAToolkit)
  get_filename_component(_site "${SGM_TORCH_DIR}/.." ABSOLUTE)
  find_path(SGM_NCCL_INCLUDE_DIR nccl.h
    HINTS "${_site}/nvidia/nccl/include" ${CUDAToolkit_INCLUDE_DIRS} ENV NCCL_HOME
    PATH_SUFFIXES include NO_DEFAULT_PATH)
  find_path(SGM_NCCL_INCLUDE_DIR nccl.h)
  find_library(SGM_NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR
    HINTS "${_site}/nvidia/nccl/lib" ${CUDAToolkit_LIBRARY_DIR} ENV NCCL_HOME
    PATH_SUFFIXES lib lib64 NO_DEFAULT_PATH)
  find_library(SGM_NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR)
  if(CUDAToolkit_FOUND AND SGM_NCCL_INCLUDE_DIR AND SGM_NCCL_LIBRARY)
    set(SGM_HAVE_CUDA ON)
    add_library(sgm_nccl INTERFACE)
    target_include_directories(sgm_nccl SYSTEM INTERFACE "${SGM_NCCL_INCLUDE_DIR}")
    target_link_libraries(sgm_nccl INTERFACE "${SGM_NCCL_LIBRARY}" CUDA::cudart)
    message(STATUS "sgm: NCCL ${SGM_NCCL_LIBRARY} (${SGM_NCCL_INCLUDE_DIR})")
  elseif(SGM_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SGM_WITH_CUDA=ON but CUDA toolkit or NCCL not found (set NCCL_HOME)")
  else()
    message(STATUS "sgm: LibTorch has CUDA but NCCL/CUDA toolkit not found: CPU configuration")
  endif()
endif()
