// The wrapper every sgm main runs in: one line per error, documented exit codes, and a whole
// job brought down (MPI_Abort) when one rank fails.
#pragma once

#include <functional>
#include <string>

namespace sgm::cli {

// Runs `body` and returns its exit code. core::UsageError -> "<program>: error: <msg>", exit 2;
// any other exception -> exit 1. Inside a multi-rank MPI job the failing rank calls MPI_Abort
// with that code so no other rank waits forever. Also installs the std::terminate handler and
// keeps freed memory for reuse (core::keep_freed_memory).
int run_main(const std::string& program, const std::function<int()>& body);

// True on the process that should print program output (rank 0, or the only process).
bool is_output_rank();

}  // namespace sgm::cli
