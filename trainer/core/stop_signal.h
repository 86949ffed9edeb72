// Preemption and time limits: Slurm sends SIGUSR1 (with
// --signal=B:USR1@300, forwarded by the batch script) or SIGTERM before killing the job. The
// handler only records the signal; the training loop (once per step) and the evaluation job (once
// per round) ask, the ranks agree through an all-reduced flag, and the job exits with code 3.
#pragma once

namespace sgm::core {

// Installs the handlers for SIGUSR1 and SIGTERM (idempotent).
void install_stop_signals();
// The signal received since installation (or the last clear), 0 if none.
int stop_signal();
void clear_stop_signal();

}  // namespace sgm::core
