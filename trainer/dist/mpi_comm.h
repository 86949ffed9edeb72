// The MPI communicator behind a Context, for code inside trainer/dist and its tests only
// (MPI headers do not leave this library).
#pragma once

#include <mpi.h>

#include "trainer/dist/context.h"

namespace sgm::dist {

// MPI_COMM_WORLD of a Context started under a launcher; throws when MPI is not in use.
MPI_Comm world_comm(const Context& context);

}  // namespace sgm::dist
