// sgm-train: trains a score model; resumes from the newest valid checkpoint in --workdir.
#include <fmt/format.h>

#include "launch/cli/main_support.h"
#include "launch/cli/options.h"
#include "launch/snapshot_samples.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"
#include "trainer/models/registry.h"
#include "trainer/train/train_loop.h"

namespace {
using namespace sgm;

sgm::cli::Program program() {
  sgm::cli::Program p{
      "sgm-train",
      "--config FILE [--section.key=value ...] --workdir DIR",
      "Trains a score-based generative model (NCSN++/DDPM++ under VE, VP, sub-VP SDEs) on one\n"
      "process or under mpirun/srun; resumes from the newest valid checkpoint in DIR. Without\n"
      "--config, DIR/config.cfg (the run's resolved configuration) is read.",
      {}};
  p.workdir_config_without_files = true;
  return p;
}

const sgm::cli::Program kProgram = program();

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
      const train::TrainOptions& t = parsed.config.train;
      auto model = models::make_model(t.model, t.shape, t.sde);
      if (cli::is_output_rank()) {
        fmt::print("{}\nmodel: {}\n{}", cli::to_ini(parsed.config), t.model.name, model->summary());
      }
      return core::kExitOk;
    }
    if (parsed.invocation.workdir.empty()) throw core::UsageError("--workdir DIR is required");

    const cli::Config& c = parsed.config;
    dist::Context context(c.dist);  // first: a wrong launch is the first thing to report
    if (c.train.data_path.empty())
      throw core::UsageError("data.path: no dataset given (see sgm-data)");
    dist::Communicator comm(context, c.comm);
    // The run's keys as parsed, plus what only the entry point knows.
    train::TrainOptions options = c.train;
    options.workdir = parsed.invocation.workdir;
    options.config_text = cli::to_ini(c);
    if (c.snapshots.enabled) options.on_snapshot = launch::snapshot_sampler(c, options.workdir);
    return static_cast<core::ExitCode>(train::run_training(options, context, comm));
  });
}
