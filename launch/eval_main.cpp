// sgm-eval: the evaluation job (sampling, FID/IS/KID, bits/dim, reference statistics, sweeps).
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "eval/inception.h"
#include "eval/nfe_sweep.h"
#include "eval/reference_stats.h"
#include "eval/rounds.h"
#include "launch/cli/main_support.h"
#include "launch/cli/options.h"
#include "launch/eval_setup.h"
#include "launch/interop.h"
#include "launch/posthoc_ema.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/stop_signal.h"
#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"

namespace {
using namespace sgm;

cli::Program program() {
  cli::Program p{
      "sgm-eval",
      "<mode> --workdir DIR [--config FILE] [--section.key=value ...]",
      "Evaluates a training run: sample (PC / probability-flow ODE), fid (with IS and\n"
      "KID), nfe (FID of each of sampling.nfe_solvers at each of sampling.nfe_list\n"
      "network calls, and fid_vs_nfe.png), bpd (likelihood through the probability-flow\n"
      "ODE), stats (reference statistics of data.path to --out), sweep (every snapshot in\n"
      "[eval.begin_ckpt, eval.end_ckpt], resumable), export (a checkpoint to torch.save\n"
      ".pth in score_sde's layout, or HDF5), import (a score_sde .pth or /params .h5 into\n"
      "a new run DIR, with --config for its model), phema (the post-hoc EMA of\n"
      "--sigma-rel from a run trained with training.phema, as a new run --out DIR).\n"
      "DIR/config.cfg is read first; results go to DIR/eval (results.csv, results.jsonl,\n"
      "plots, samples).",
      {"sample", "fid", "nfe", "bpd", "stats", "sweep", "export", "import", "phema"}};
  p.workdir_config = true;
  p.takes_format = true;
  return p;
}

core::ExitCode evaluate(const cli::Parsed& parsed) {
  const cli::Config& c = parsed.config;
  const cli::Invocation& inv = parsed.invocation;
  if (inv.mode == "stats" && inv.out.empty()) throw core::UsageError("stats needs --out FILE.npz");
  if (inv.mode != "stats" && inv.workdir.empty())
    throw core::UsageError("--workdir DIR is required");
  dist::Context context(c.dist);
  dist::Communicator comm(context, c.comm);
  core::install_stop_signals();
  if (inv.mode == "stats") {
    if (c.eval.inception_weights.empty())
      throw core::UsageError("eval.inception_weights: stats needs the converted detector");
    const std::string& data = c.train.data_path;
    if (data.empty()) throw core::UsageError("data.path: no dataset given");
    eval::FidInception net = eval::load_fid_inception(c.eval.inception_weights);
    net->to(context.device());
    eval::DatasetStatsOptions stats = c.stats;
    stats.batch_size = c.eval.batch_size;
    stats.feature_batch = c.eval.samples.feature_batch;
    const std::int64_t n =
        eval::write_dataset_statistics(data, inv.out, *net, stats, comm, context.device());
    core::log::info("statistics of {} images of {} written to {}", n, data, inv.out);
    return core::kExitOk;
  }
  // The options, files and checkpoint are checked before anything is written.
  if (inv.mode == "nfe") eval::nfe_solvers(c.nfe_sweep);
  eval::Evaluator evaluator(launch::evaluation_options(c, inv.workdir, inv.mode), comm,
                            context.device());
  // The model and its EMA only: an evaluation holds no optimizer state.
  std::optional<eval::Weights> weights;
  if (inv.mode != "sweep") {
    weights = eval::evaluated_weights(launch::weights_of(train::find_checkpoint(
                                          inv.checkpoint.empty() ? inv.workdir : inv.checkpoint,
                                          train::CheckpointParts::kWeights)),
                                      c.eval.network.use_ema);
  }
  if (comm.rank() == 0) {
    std::filesystem::create_directories(std::filesystem::path(inv.workdir) / "eval");
    core::log::open_file((std::filesystem::path(inv.workdir) / "eval" / "log.txt").string());
  }
  if (inv.mode == "sweep") {
    const eval::SweepSummary s = eval::run_sweep(
        launch::sweep_options(c), launch::snapshot_source(inv.workdir, c.eval.network.use_ema),
        evaluator, comm);
    core::log::info("sweep: {} evaluated, {} recorded before, {} not written yet, {} never",
                    s.evaluated, s.already_done, s.not_written, s.never);
    return core::kExitOk;
  }
  if (inv.mode == "nfe") {
    eval::run_nfe_sweep(c.nfe_sweep, *weights, evaluator, comm);
  } else {
    evaluator.evaluate(*weights);
  }
  core::log::info("results: {}/eval/results.csv", inv.workdir);
  return core::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_main("sgm-eval", [&] {
    const cli::Program p = program();
    const cli::Parsed parsed = cli::parse_command_line(p, argc, argv);
    if (parsed.invocation.help) {
      if (cli::is_output_rank()) fmt::print("{}", cli::help_text(p));
      return core::kExitOk;
    }
    if (parsed.invocation.dump_config) {
      if (cli::is_output_rank()) fmt::print("{}", cli::to_ini(parsed.config));
      return core::kExitOk;
    }
    const cli::Invocation& inv = parsed.invocation;
    // Files in and out: one process's work (other ranks of a launch leave it to rank 0).
    if (inv.mode == "phema") {
      if (!cli::is_output_rank()) return core::kExitOk;
      if (inv.sigma_rel <= 0) throw core::UsageError("phema needs --sigma-rel S (e.g. 0.075)");
      fmt::print("{}\n",
                 launch::posthoc_ema_run(inv.checkpoint.empty() ? inv.workdir : inv.checkpoint,
                                         inv.out, inv.sigma_rel));
      return core::kExitOk;
    }
    if (inv.mode == "export" || inv.mode == "import") {
      if (!cli::is_output_rank()) return core::kExitOk;
      fmt::print("{}\n",
                 inv.mode == "export"
                     ? launch::export_run(inv.checkpoint.empty() ? inv.workdir : inv.checkpoint,
                                          inv.out, inv.format)
                     : launch::import_run(parsed.config, inv.checkpoint, inv.workdir));
      return core::kExitOk;
    }
    try {
      return evaluate(parsed);
    } catch (const eval::StopRequested& stop) {
      core::log::info("sgm-eval: {}; finished rounds are kept, rerun to resume", stop.what());
      return core::kExitStopped;
    }
  });
}
