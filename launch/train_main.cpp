// sgm-train: trains a score model; resumes from the newest valid checkpoint in --workdir.
#include <fmt/format.h>

#include "launch/cli/main_support.h"
#include "launch/cli/options.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/dist/context.h"
#include "trainer/models/registry.h"

namespace {

const sgm::cli::Program kProgram{
    "sgm-train",
    "--config FILE [--section.key=value ...] --workdir DIR",
    "Trains a score-based generative model (NCSN++/DDPM++ under VE, VP, sub-VP SDEs) on one\n"
    "process or under mpirun/srun; resumes from the newest valid checkpoint in DIR.",
    {}};

}  // namespace

int main(int argc, char** argv) {
  using namespace sgm;
  return cli::run_main(kProgram.name, [&] {
    const cli::Parsed parsed = cli::parse_command_line(kProgram, argc, argv);
    if (parsed.invocation.help) {
      if (cli::is_output_rank()) fmt::print("{}", cli::help_text(kProgram));
      return core::kExitOk;
    }
    if (parsed.invocation.dump_config) {
      if (cli::is_output_rank()) fmt::print("{}", cli::to_ini(parsed.config));
      return core::kExitOk;
    }
    if (parsed.invocation.dry_run) {
      auto model = models::make_model(parsed.config.model, cli::data_shape(parsed.config));
      if (cli::is_output_rank()) {
        fmt::print("{}\nmodel: {}\n{}", cli::to_ini(parsed.config), parsed.config.model.name,
                   model->summary());
      }
      return core::kExitOk;
    }
    if (parsed.invocation.workdir.empty()) throw core::UsageError("--workdir DIR is required");

    dist::Context context(parsed.config.dist);
    core::log::info("{}", context.describe());
    throw core::Error(
        "the configuration and the MPI world are valid, but this build has no training loop yet "
        "(it arrives with the training-job issue); nothing was written");
  });
}
