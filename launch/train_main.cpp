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

const sgm::cli::Program kProgram{
    "sgm-train",
    "--config FILE [--section.key=value ...] --workdir DIR",
    "Trains a score-based generative model (NCSN++/DDPM++ under VE, VP, sub-VP SDEs) on one\n"
    "process or under mpirun/srun; resumes from the newest valid checkpoint in DIR.",
    {}};

train::TrainOptions train_options(const sgm::cli::Parsed& parsed) {
  const sgm::cli::Config& c = parsed.config;
  train::TrainOptions o;
  o.workdir = parsed.invocation.workdir;
  o.config_text = sgm::cli::to_ini(c);
  o.seed = static_cast<std::uint64_t>(c.seed);
  o.data_path = c.data.path;
  o.loader.global_batch = c.training.batch_size;
  o.loader.random_flip = c.data.random_flip;
  o.loader.uniform_dequantization = c.data.uniform_dequantization;
  o.loader.centered = c.data.centered;
  o.model = c.model;
  o.shape = sgm::cli::data_shape(c);
  o.sde = sgm::cli::sde_options(c);
  o.continuous = c.training.continuous;
  o.reduce_mean = c.training.reduce_mean;
  o.likelihood_weighting = c.training.likelihood_weighting;
  o.n_iters = c.training.n_iters;
  o.log_freq = c.training.log_freq;
  o.meta_freq = c.training.snapshot_freq_for_preemption;
  o.snapshot_freq = c.training.snapshot_freq;
  o.keep_meta = static_cast<int>(c.training.keep_meta);
  o.batch_per_rank = c.training.batch_per_rank;
  o.max_nonfinite = c.training.max_nonfinite;
  if (c.training.snapshot_sampling) o.on_snapshot = launch::snapshot_sampler(c, o.workdir);
  o.adam.lr = c.optim.lr;
  o.adam.beta1 = c.optim.beta1;
  o.adam.eps = c.optim.eps;
  o.adam.weight_decay = c.optim.weight_decay;
  o.adam.warmup = c.optim.warmup;
  o.adam.grad_clip = c.optim.grad_clip;
  o.ema.rate = c.model.ema_rate;
  o.ema.sharded = c.training.ema_sharded;
  o.reducer = c.reducer;
  o.precision.autocast = c.training.autocast;
  o.precision.tf32 = c.training.tf32;
  o.precision.channels_last = c.training.channels_last;
  o.precision.deterministic = c.training.deterministic;
  o.profile_steps = c.training.profile_steps;
  return o;
}

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

    const cli::Config& c = parsed.config;
    dist::Context context(c.dist);  // first: a wrong launch is the first thing to report
    if (c.data.path.empty()) throw core::UsageError("data.path: no dataset given (see sgm-data)");
    dist::Communicator comm(context, c.comm);
    return static_cast<core::ExitCode>(train::run_training(train_options(parsed), context, comm));
  });
}
