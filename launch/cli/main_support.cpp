#include "launch/cli/main_support.h"

#include <exception>

#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/memory.h"
#include "trainer/dist/context.h"
#include "trainer/dist/launch_check.h"

namespace sgm::cli {
namespace {

int fail(const std::string& program, const char* what, int code) {
  core::log::write_untagged(core::log::Level::kError, true,
                            fmt::format("{}: error: {}", program, what));
  if (dist::in_multi_rank_job()) dist::abort_job(code);
  return code;
}

}  // namespace

bool is_output_rank() { return dist::read_launch_info(dist::process_env()).rank.value_or(0) == 0; }

int run_main(const std::string& program, const std::function<int()>& body) {
  dist::install_terminate_handler();
  core::keep_freed_memory();
  try {
    // Until the Context knows better, the launcher's environment says which rank this is,
    // so errors found before MPI starts are printed once per rank with a prefix.
    const dist::LaunchInfo launch = dist::read_launch_info(dist::process_env());
    core::log::set_rank(launch.rank.value_or(0), launch.world_size.value_or(1));
    return body();
  } catch (const core::UsageError& e) {
    return fail(program, e.what(), core::kExitUsage);
  } catch (const std::exception& e) {
    return fail(program, e.what(), core::kExitRuntime);
  }
}

}  // namespace sgm::cli
