#include "trainer/train/train_loop.h"

#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/sample_order.h"
#include "data/sharded_dataset.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/rng.h"
#include "trainer/core/stop_signal.h"
#include "trainer/core/workdir_lock.h"
#include "trainer/models/dropout.h"
#include "trainer/sde/training_loss.h"
#include "trainer/train/checkpoint.h"
#include "trainer/train/class_labels.h"
#include "trainer/train/fault_injection.h"
#include "trainer/train/status.h"
#include "trainer/train/step_profiler.h"

namespace sgm::train {
namespace fs = std::filesystem;
namespace {

core::NamedTensors parameters_of(models::ScoreModel& model) {
  core::NamedTensors out;
  for (const auto& item : model.named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

std::vector<at::Tensor> buffers_of(models::ScoreModel& model) {
  std::vector<at::Tensor> out;
  for (const auto& item : model.named_buffers()) out.push_back(item.value());
  return out;
}

// Counts skipped (non-finite) steps in a row; past the limit the job stops.
class NonFiniteSteps {
 public:
  NonFiniteSteps(std::int64_t in_a_row, std::int64_t limit) : in_a_row_(in_a_row), limit_(limit) {}
  // True when the step may be applied.
  bool accept(double norm, std::int64_t step) {
    if (std::isfinite(norm)) {
      in_a_row_ = 0;
      return true;
    }
    ++in_a_row_;
    core::log::warn("step {}: non-finite gradient norm; step skipped ({} in a row)", step,
                    in_a_row_);
    if (in_a_row_ > limit_) {
      throw core::Error(fmt::format("{} non-finite steps in a row (training.max_nonfinite = {})",
                                    in_a_row_, limit_));
    }
    return false;
  }
  std::int64_t in_a_row() const { return in_a_row_; }

 private:
  std::int64_t in_a_row_;
  std::int64_t limit_;
};

// What each rank trains on per step: B = G / W samples, in micro-batches of `micro`.
struct BatchSizes {
  std::int64_t global = 0, per_rank = 0, micro = 0;
};

BatchSizes batch_sizes(std::int64_t global, int ranks, std::int64_t batch_per_rank) {
  if (global % ranks != 0) {
    throw core::UsageError(
        fmt::format("training.batch_size = {} is not divisible by {} ranks", global, ranks));
  }
  const std::int64_t B = global / ranks;
  const std::int64_t micro = batch_per_rank > 0 ? std::min(batch_per_rank, B) : B;
  if (B % micro != 0) {
    throw core::UsageError(fmt::format(
        "training.batch_per_rank = {} does not divide the {} samples per rank", micro, B));
  }
  return {global, B, micro};
}

// The live tensors a checkpoint is taken from and restored into.
TrainingTensors live_tensors(models::ScoreModel& model, const dist::GradientReducer& reducer,
                             const std::vector<at::Tensor>& ema_flat, const FlatAdam& adam,
                             const std::vector<std::vector<at::Tensor>>& phema_flat = {}) {
  TrainingTensors t{models::named_state(model),
                    reducer.views_of(ema_flat),
                    reducer.views_of(adam.exp_avg()),
                    reducer.views_of(adam.exp_avg_sq()),
                    {}};
  for (const std::vector<at::Tensor>& p : phema_flat) t.phema.push_back(reducer.views_of(p));
  return t;
}

// The post-hoc EMA profiles a resumed run continues: the checkpoint's when they are of the
// configured widths; none when training.phema is off (a checkpoint's are dropped). A run that
// turns them on later, or changes their widths, is refused: a profile needs every step from 0.
void check_phema_resume(const PhemaOptions& o, const TrainingState& s, const std::string& path,
                        bool quiet = false) {
  if (!o.enabled) {
    if (!s.phema_sigma_rels.empty() && !quiet)
      core::log::info("training.phema is off: the post-hoc EMA profiles of {} are dropped", path);
    return;
  }
  if (s.phema_sigma_rels != o.sigma_rels) {
    throw core::UsageError(fmt::format(
        "training.phema_sigma_rel: {} keeps profiles of widths [{}], the configuration asks for "
        "[{}]; post-hoc EMA profiles must run from step 0 (start a new run)",
        path, fmt::join(s.phema_sigma_rels, ", "), fmt::join(o.sigma_rels, ", ")));
  }
}

// The work directory, locked for this job, cleared of what killed writers left, with the run's
// configuration in it (config.cfg). Rank 0 only.
std::unique_ptr<core::WorkdirLock> open_workdir(const TrainOptions& o) {
  std::error_code ec;
  fs::create_directories(fs::path(o.workdir) / "checkpoints", ec);
  if (ec) throw core::UsageError(fmt::format("--workdir {}: {}", o.workdir, ec.message()));
  auto lock = std::make_unique<core::WorkdirLock>(o.workdir, "sgm-train", o.lock_timeout);
  for (const std::string& dir : {o.workdir, (fs::path(o.workdir) / "checkpoints").string()}) {
    for (const std::string& left : core::remove_staging_leftovers(dir))
      core::log::info("removed {} (left by a killed writer)", left);
  }
  core::write_file_atomic((fs::path(o.workdir) / "config.cfg").string(), o.config_text);
  return lock;
}

// Runs `fn` with the EMA weights in the model, in eval mode; then puts the trained weights back.
void with_ema_weights(models::ScoreModel& model, const dist::GradientReducer& reducer,
                      const std::vector<at::Tensor>& whole_ema, const std::function<void()>& fn) {
  const at::NoGradGuard no_grad;
  std::vector<at::Tensor> trained;
  for (std::size_t i = 0; i < whole_ema.size(); ++i) {
    trained.push_back(reducer.flat_parameters()[i].clone());
    reducer.flat_parameters()[i].copy_(whole_ema[i]);
  }
  model.eval();
  fn();
  for (std::size_t i = 0; i < trained.size(); ++i) reducer.flat_parameters()[i].copy_(trained[i]);
  model.train();
}

}  // namespace

int run_training(const TrainOptions& o, const dist::Context& context, dist::Communicator& comm) {
  const int W = comm.world_size();
  const bool main_rank = comm.rank() == 0;
  const at::Device device = context.device();
  validate(o.precision);
  core::install_stop_signals();

  // Data: this rank's slice of every global batch, in an order independent of W.
  auto dataset = std::make_shared<data::ShardedDataset>(o.data_path);
  dataset->check_shape(o.shape.image_size, o.shape.num_channels);
  models::check_model_options(o.model);
  check_classes(*dataset, o.data_path, o.model.num_classes, o.label_dropout);
  data::LoaderOptions loader_options = o.loader;
  loader_options.rank = comm.rank();
  loader_options.world_size = W;
  loader_options.seed = static_cast<std::uint64_t>(o.seed);
  loader_options.centered = o.shape.centered;
  const auto [G, B, micro] = batch_sizes(loader_options.global_batch, W, o.batch_per_rank);
  data::SampleOrder::check(dataset->size(), G);

  // Objective: chosen once; each sample's time (or noise level) and noise are keyed by its global
  // stream position, so any world size sees the same.
  const std::shared_ptr<sde::SDE> sde = sde::make_sde(o.sde);
  const core::CounterRng rng(static_cast<std::uint64_t>(o.seed));
  const sde::TrainingLoss loss_of = sde::make_training_loss(sde, o.sde.continuous, o.loss, rng);
  const FaultInjection faults = FaultInjection::from_environment();

  // A resume that cannot keep its post-hoc EMA profiles is refused before anything is written
  // (the newest checkpoint whose state parses; the load below checks the one it resumes from).
  for (const std::string& dir : CheckpointStore(o.workdir, 1).list()) {
    TrainingState newest;
    try {
      newest = CheckpointStore::load_state(dir);
    } catch (const core::UsageError&) {
      continue;  // damaged: the load below falls back past it
    }
    check_phema_resume(o.phema, newest, dir, true);
    break;
  }

  // The input is valid: now the work directory (nothing is written before this point).
  const std::string ranks = context.describe();  // a collective: every rank takes part
  core::log::info("{}", ranks);                  // rank 0 speaks
  const std::unique_ptr<core::WorkdirLock> lock = main_rank ? open_workdir(o) : nullptr;

  // Numerics: TF32 and determinism stated either way; bf16 autocast and channels-last apply to
  // the forward pass (below).
  apply_tf32_policy(o.precision.tf32);
  apply_determinism(o.precision.deterministic);
  const bool bf16 = o.precision.autocast == "bf16";

  // Model, reducer, optimizer: the same initial weights on every rank (seeded, then broadcast
  // from rank 0 anyway). The reducer moves the parameters into its flat buffers.
  at::manual_seed(static_cast<std::uint64_t>(o.seed));
  std::shared_ptr<models::ScoreModel> model = models::make_model(o.model, o.shape, o.sde);
  model->to(device);
  model->train();
  dist::GradientReducer reducer(parameters_of(*model), comm, o.reducer);
  FlatAdam adam(reducer.flat_parameters(), reducer.flat_gradients(), o.adam);

  // Resume or initialise. Every rank reads the same checkpoint (a shared file system); a
  // damaged newest one falls back loudly, and damaged ones with no valid one stop the job.
  CheckpointStore store(o.workdir, static_cast<int>(o.keep_meta));
  TrainingState state;
  state.seed = o.seed;
  std::vector<at::Tensor> ema_start = reducer.flat_parameters();
  std::vector<std::vector<at::Tensor>> phema_start;
  if (o.phema.enabled) phema_start.assign(o.phema.sigma_rels.size(), reducer.flat_parameters());
  if (const std::optional<Checkpoint> resumed = store.load_latest()) {
    check_phema_resume(o.phema, resumed->state, resumed->path);
    auto empty_like = [&] {
      std::vector<at::Tensor> out;
      for (const at::Tensor& f : reducer.flat_parameters()) out.push_back(at::empty_like(f));
      return out;
    };
    ema_start = empty_like();
    for (std::vector<at::Tensor>& p : phema_start) p = empty_like();
    restore(*resumed, live_tensors(*model, reducer, ema_start, adam, phema_start));
    state = resumed->state;
    adam.set_steps(state.adam_steps);
    if (main_rank) {
      core::log::info("resumed from {} at step {} ({} images)", resumed->path, state.step,
                      state.images_seen);
    }
  }
  state.config = o.config_text;
  state.world_size = W;
  reducer.broadcast_parameters(buffers_of(*model));
  reducer.check_consistency();
  Ema ema(ema_start, comm, o.ema);
  ema.set_num_updates(state.ema_updates);
  // Post-hoc EMA profiles: read-only on the weights, so training is the same with or without.
  std::optional<PhemaProfiles> phema;
  if (o.phema.enabled) {
    phema.emplace(reducer.flat_parameters(), comm, o.phema, o.ema.sharded);
    phema->load(phema_start);
    phema->set_num_updates(state.phema_updates);
  }
  data::Loader loader(dataset, loader_options, state.data_cursor);

  // Checkpoints are written by rank 0; `whole_ema` is ema.gather(), which every rank calls.
  const auto save = [&](const std::string& kind, const std::vector<at::Tensor>& whole_ema) {
    const std::vector<std::vector<at::Tensor>> profiles =
        phema ? phema->gather() : std::vector<std::vector<at::Tensor>>{};  // collective
    if (!main_rank) return;
    lock->check();  // never write into a work directory another job has taken over
    TrainingState saved = state;
    saved.ema_updates = ema.num_updates();
    saved.adam_steps = adam.steps();
    saved.phema_sigma_rels = phema ? o.phema.sigma_rels : std::vector<double>{};
    saved.phema_updates = phema ? phema->num_updates() : 0;
    core::log::info(
        "saved {}",
        store.save(kind, capture(saved, live_tensors(*model, reducer, whole_ema, adam, profiles))));
  };

  StatusLog status(o.workdir, main_rank, state.step, G, o.n_iters, device);
  StepProfiler profiler(main_rank ? o.profile_steps : 0, o.n_iters, device,
                        (fs::path(o.workdir) / "profile.json").string());
  NonFiniteSteps nonfinite(state.nonfinite_skips, o.max_nonfinite);

  while (state.step < o.n_iters) {
    // Stop signal: the ranks agree, all save the same step, exit 3 for the requeue.
    if (comm.any(core::stop_signal() != 0, "stop signal")) {
      if (main_rank)
        core::log::info("stop signal: saving at step {} and exiting with code 3", state.step);
      save("meta", ema.gather());
      return core::kExitStopped;
    }
    profiler.step_begins(state.step);

    // Loss and gradients: micro-batches accumulate without communication until the last, whose
    // backward all-reduces the buckets; the gradients are then the mean over the global batch.
    const data::Batch batch = loader.next();
    reducer.zero_grad();
    for (std::int64_t begin = 0; begin < B; begin += micro) {
      const at::Tensor x = in_memory_format(batch.images.narrow(0, begin, micro).to(device),
                                            o.precision.channels_last);
      const at::Tensor positions = batch.positions.narrow(0, begin, micro);
      const at::Tensor z =
          rng.normal(positions, x[0].numel(), core::RngStream::kNoise).to(device).view(x.sizes());
      // A conditional network's classes, some dropped (training.label_dropout).
      const at::Tensor classes = training_classes(
          batch.labels.defined() ? batch.labels.narrow(0, begin, micro) : at::Tensor(), positions,
          o.model.num_classes, o.label_dropout, rng);
      const at::Tensor classes_on_device = classes.defined() ? classes.to(device) : classes;
      // The forward pass under autocast when asked; the score goes on in fp32 (loss, backward).
      const sde::ModelFn net = [&](const at::Tensor& xi, const at::Tensor& labels) {
        const AutocastScope autocast(device.type(), bf16);
        return model->forward(xi, labels, classes_on_device).to(at::kFloat);
      };
      reducer.set_sync(begin + micro >= B);
      // Dropout masks keyed by (seed, step, layer, position): any world size, any restart.
      const models::DropoutScope dropout(static_cast<std::uint64_t>(o.seed), state.step, positions);
      const at::Tensor per_example = loss_of(net, x, z, positions);
      const at::Tensor loss =
          faults.apply(per_example.sum() / static_cast<double>(B), comm.rank(), state.step);
      loss.backward();
      status.add_loss(loss);
    }

    // Update: the norm is the same on every rank, and so is the decision to skip a non-finite
    // step; otherwise clip, Adam at the warm-up learning rate, then the EMA.
    const double norm = adam.grad_norm();
    const double lr = learning_rate(o.adam, state.step);
    if (nonfinite.accept(norm, state.step)) {
      adam.step(lr, clip_factor(norm, o.adam.grad_clip));
      ema.update(reducer.flat_parameters());
      if (phema) phema->update(reducer.flat_parameters());
    }
    ++state.step;
    state.images_seen += G;
    state.data_cursor = loader.cursor();
    state.nonfinite_skips = nonfinite.in_a_row();
    status.step_done();
    profiler.step_done(state.step);

    // Status: the global mean loss since the last report (a collective).
    if (state.step % o.log_freq == 0 || state.step == o.n_iters)
      status.report(comm, state.step, state.images_seen, norm, lr);

    // Checkpoints, and at snapshots the samples of the EMA weights.
    const bool snapshot = state.step % o.snapshot_freq == 0 || state.step == o.n_iters;
    if (snapshot || state.step % o.meta_freq == 0) {
      const std::vector<at::Tensor> whole_ema = ema.gather();  // once for both uses
      save(snapshot ? "snapshot" : "meta", whole_ema);
      if (snapshot && o.on_snapshot && main_rank)
        with_ema_weights(*model, reducer, whole_ema, [&] { o.on_snapshot(state.step, *model); });
    }
  }
  return core::kExitOk;
}

}  // namespace sgm::train
