// sgm-eval: the evaluation job (sampling, FID/IS/KID, bits/dim, reference statistics, sweeps).
#include <fmt/format.h>

#include "launch/cli/main_support.h"
#include "launch/cli/options.h"
#include "trainer/core/error.h"
#include "trainer/train/checkpoint.h"

namespace {

const sgm::cli::Program kProgram{
    "sgm-eval",
    "<mode> --workdir DIR [--config FILE] [--section.key=value ...]",
    "Evaluates a training run: sample (PC / probability-flow ODE), fid (with IS and KID), bpd\n"
    "(likelihood through the probability-flow ODE), stats (reference statistics of a dataset),\n"
    "sweep (every snapshot in [eval.begin_ckpt, eval.end_ckpt], resumable), export (weights to "
    "HDF5).",
    {"sample", "fid", "bpd", "stats", "sweep", "export"}};

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
    const cli::Invocation& inv = parsed.invocation;
    if (inv.mode == "export") {
      if (inv.checkpoint.empty() || inv.out.empty())
        throw core::UsageError("export needs --checkpoint DIR and --out FILE.h5");
      const train::Checkpoint checkpoint = train::find_checkpoint(inv.checkpoint);
      train::export_weights(checkpoint, inv.out);
      if (cli::is_output_rank()) {
        fmt::print("exported {} model and {} EMA arrays of step {} ({}) to {}\n",
                   checkpoint.model.size(), checkpoint.ema.size(), checkpoint.state.step,
                   checkpoint.path, inv.out);
      }
      return core::kExitOk;
    }
    throw core::Error(fmt::format(
        "mode '{}' is not in this build yet (the evaluation job arrives with its own issue)",
        parsed.invocation.mode));
  });
}
