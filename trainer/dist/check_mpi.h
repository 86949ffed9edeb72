// SGM_CHECK_MPI(call): throws core::Error "<call> failed: <MPI error string> [file:line]".
// MPI_COMM_WORLD uses MPI_ERRORS_RETURN (set by Context) so failures reach this check.
#pragma once

#include <mpi.h>

#include "trainer/core/error.h"

namespace sgm::dist {

[[noreturn]] void throw_mpi_error(const char* file, int line, const char* call, int code);

}  // namespace sgm::dist

#define SGM_CHECK_MPI(call)                                                 \
  do {                                                                      \
    const int sgm_mpi_rc_ = (call);                                         \
    if (sgm_mpi_rc_ != MPI_SUCCESS) {                                       \
      ::sgm::dist::throw_mpi_error(__FILE__, __LINE__, #call, sgm_mpi_rc_); \
    }                                                                       \
  } while (0)
