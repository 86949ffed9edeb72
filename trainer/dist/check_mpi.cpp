#include "trainer/dist/check_mpi.h"

#include <cstdio>
#include <string>

namespace sgm::dist {

void throw_mpi_error(const char* file, int line, const char* call, int code) {
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) {
    length = std::snprintf(text, sizeof(text), "MPI error code %d", code);
  }
  throw core::Error(core::call_failure_message(file, line, call, std::string(text, length)));
}

}  // namespace sgm::dist
