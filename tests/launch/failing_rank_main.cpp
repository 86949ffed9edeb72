// Helper for failing_rank_test: an entry point whose rank 1 fails with a usage error while
// rank 0 waits in a collective (Context::describe gathers on rank 0). cli::run_main must end the
// whole job with the usage exit code instead of letting rank 0 wait forever.
#include "launch/cli/main_support.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/dist/context.h"

int main() {
  return sgm::cli::run_main("failing-rank", [] {
    sgm::dist::ContextOptions options;
    options.device = "cpu";
    sgm::dist::Context context(options);
    if (context.rank() == 1) throw sgm::core::UsageError("injected failure on rank 1");
    sgm::core::log::info("{}", context.describe());
    return 0;
  });
}
