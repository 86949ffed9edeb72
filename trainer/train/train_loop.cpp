#include "trainer/train/train_loop.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "data/image_grid.h"
#include "data/image_set.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/memory.h"
#include "trainer/core/rng.h"
#include "trainer/core/stop_signal.h"
#include "trainer/models/registry.h"
#include "trainer/sde/losses.h"
#include "trainer/sde/score_fn.h"
#include "trainer/train/checkpoint.h"
#include "trainer/train/device_memory.h"
#include "trainer/train/snapshot_sampler.h"
#include "trainer/train/step_profiler.h"

namespace sgm::train {
namespace fs = std::filesystem;
namespace {

// Copies named tensors into same-named destinations (parameters, or views of flat state).
void copy_named(const Checkpoint::Named& from, const std::vector<dist::NamedTensor>& to,
                const std::string& what, const std::string& where) {
  std::map<std::string, at::Tensor> by_name(from.begin(), from.end());
  at::NoGradGuard no_grad;
  for (const auto& [name, destination] : to) {
    auto it = by_name.find(name);
    if (it == by_name.end())
      throw core::UsageError(fmt::format("{}: no {} for '{}'", where, what, name));
    if (it->second.sizes() != destination.sizes()) {
      throw core::UsageError(fmt::format("{}: {} '{}' has shape {}, the model needs {}", where,
                                         what, name, fmt::join(it->second.sizes(), "x"),
                                         fmt::join(destination.sizes(), "x")));
    }
    destination.copy_(it->second);
  }
}

// Every parameter and buffer of the model by name: what a checkpoint's `model` group holds.
std::vector<dist::NamedTensor> model_state(models::ScoreModel& model) {
  std::vector<dist::NamedTensor> out;
  for (const auto& item : model.named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : model.named_buffers()) out.emplace_back(item.key(), item.value());
  return out;
}

Checkpoint::Named clone_named(const std::vector<dist::NamedTensor>& views) {
  Checkpoint::Named out;
  for (const auto& [name, t] : views) out.emplace_back(name, t.detach().cpu().clone());
  return out;
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
  data::LoaderOptions loader_options = o.loader;
  loader_options.rank = comm.rank();
  loader_options.world_size = W;
  loader_options.seed = o.seed;
  const std::int64_t G = loader_options.global_batch;
  if (G % W != 0)
    throw core::UsageError(
        fmt::format("training.batch_size = {} is not divisible by {} ranks", G, W));
  const std::int64_t B = G / W;
  const std::int64_t micro = o.batch_per_rank > 0 ? std::min(o.batch_per_rank, B) : B;
  if (B % micro != 0) {
    throw core::UsageError(fmt::format(
        "training.batch_per_rank = {} does not divide the {} samples per rank", micro, B));
  }
  // The input is valid: now the work directory (nothing is written before this point).
  const std::string ranks = context.describe();  // a collective: every rank takes part
  if (main_rank) {
    core::log::info("{}", ranks);
    fs::create_directories(o.workdir);
    core::write_file_atomic((fs::path(o.workdir) / "config.cfg").string(), o.config_text);
  }

  // Numerics: TF32 and determinism stated either way; bf16 autocast and channels-last apply to
  // the forward pass.
  apply_tf32_policy(o.precision.tf32);
  apply_determinism(o.precision.deterministic);
  const bool bf16 = o.precision.autocast == "bf16";

  // Model, SDE, reducer, optimizer, EMA: the same initial weights on every rank (seeded, then
  // broadcast from rank 0 anyway).
  at::manual_seed(o.seed);
  std::shared_ptr<models::ScoreModel> model = models::make_model(o.model, o.shape);
  model->to(device);
  model->train();
  const std::shared_ptr<sde::SDE> sde = sde::make_sde(o.sde);
  std::vector<dist::NamedTensor> named_params;
  for (const auto& item : model->named_parameters())
    named_params.emplace_back(item.key(), item.value());
  dist::GradientReducer reducer(named_params, comm, o.reducer);
  FlatAdam adam(reducer.flat_parameters(), reducer.flat_gradients(), o.adam);
  std::vector<at::Tensor> buffers;
  for (const auto& item : model->named_buffers()) buffers.push_back(item.value());

  // Resume or initialise. Every rank reads the same checkpoint (a shared file system); a
  // damaged newest one falls back loudly, and damaged ones with no valid one stop the job.
  CheckpointStore store(o.workdir, o.keep_meta);
  TrainingState state;
  state.seed = static_cast<std::int64_t>(o.seed);
  state.world_size = W;
  state.config = o.config_text;
  std::optional<Checkpoint> resumed = store.load_latest();
  std::vector<at::Tensor> ema_start = reducer.flat_parameters();
  if (resumed) {
    copy_named(resumed->model, model_state(*model), "weights", resumed->path);
    std::vector<at::Tensor> ema_flat;
    for (const at::Tensor& f : reducer.flat_parameters()) ema_flat.push_back(at::empty_like(f));
    copy_named(resumed->ema, reducer.views_of(ema_flat), "EMA", resumed->path);
    copy_named(resumed->exp_avg, reducer.views_of(adam.exp_avg()), "Adam exp_avg", resumed->path);
    copy_named(resumed->exp_avg_sq, reducer.views_of(adam.exp_avg_sq()), "Adam exp_avg_sq",
               resumed->path);
    ema_start = ema_flat;
    const std::string config = state.config;
    state = resumed->state;
    state.config = config;
    state.world_size = W;
    adam.set_steps(state.adam_steps);
    if (main_rank) {
      core::log::info("resumed from {} at step {} ({} images)", resumed->path, state.step,
                      state.images_seen);
    }
  }
  reducer.broadcast_parameters(buffers);
  reducer.check_consistency();
  Ema ema(ema_start, comm, o.ema);
  ema.set_num_updates(state.ema_updates);
  data::Loader loader(dataset, loader_options, state.data_cursor);
  const core::CounterRng rng(o.seed);
  // Fault injection for the tests: SGM_FAULT_NAN="rank:step" makes that rank's loss NaN there.
  struct {
    int rank = -1;
    std::int64_t step = -1;
  } nan_fault;
  if (const char* spec = std::getenv("SGM_FAULT_NAN")) {
    if (std::sscanf(spec, "%d:%ld", &nan_fault.rank, &nan_fault.step) != 2)
      throw core::UsageError(fmt::format("SGM_FAULT_NAN='{}' is not rank:step", spec));
  }

  // Rank 0 writes; `whole_ema` is ema.gather(), which every rank must call when it is sharded.
  auto save = [&](const std::string& kind, const std::vector<at::Tensor>& whole_ema) {
    if (!main_rank) return;
    Checkpoint c;
    c.state = state;
    c.state.ema_updates = ema.num_updates();
    c.state.adam_steps = adam.steps();
    c.model = clone_named(model_state(*model));
    c.ema = clone_named(reducer.views_of(whole_ema));
    c.exp_avg = clone_named(reducer.views_of(adam.exp_avg()));
    c.exp_avg_sq = clone_named(reducer.views_of(adam.exp_avg_sq()));
    const std::string where = store.save(kind, c);
    core::log::info("saved {}", where);
  };

  // Snapshot samples with the EMA weights, by rank 0 (the others go on to the next collective).
  auto write_samples = [&](const std::vector<at::Tensor>& whole_ema) {
    if (!main_rank) return;
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> current;
    for (std::size_t i = 0; i < whole_ema.size(); ++i) {
      current.push_back(reducer.flat_parameters()[i].clone());
      reducer.flat_parameters()[i].copy_(whole_ema[i]);
    }
    model->eval();
    const sde::ModelFn net = [&](const at::Tensor& x, const at::Tensor& labels) {
      return model->forward(x, labels);
    };
    const std::int64_t steps = o.sample_steps > 0 ? o.sample_steps : o.sde.num_scales;
    const at::Tensor images = sample_reverse_sde(
        sde, sde::get_score_fn(sde, net, o.continuous), o.sample_count,
        {o.shape.num_channels, o.shape.image_size, o.shape.image_size}, steps, o.seed, device);
    for (std::size_t i = 0; i < current.size(); ++i) reducer.flat_parameters()[i].copy_(current[i]);
    model->train();
    const fs::path dir = fs::path(o.workdir) / "samples";
    fs::create_directories(dir);
    const std::string path = (dir / fmt::format("snapshot-{:08d}.png", state.step)).string();
    data::write_png(
        path + ".tmp",
        data::tile_images(data::to_uint8(images, o.shape.centered, data::Quantize::kRound), 8));
    fs::rename(path + ".tmp", path);
    core::log::info("samples: {}", path);
  };

  std::ofstream metrics;
  if (main_rank) metrics.open(fs::path(o.workdir) / "metrics.jsonl", std::ios::app);
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t start_step = state.step;
  // Summed on the device and read only at log steps: no host synchronisation per step.
  at::Tensor loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
  std::int64_t loss_count = 0;
  std::int64_t nonfinite_in_a_row = state.nonfinite_skips;
  StepProfiler profiler(main_rank ? o.profile_steps : 0, o.n_iters, device,
                        (fs::path(o.workdir) / "profile.json").string());

  while (state.step < o.n_iters) {
    // Stop signal: the ranks agree, all save the same step, exit 3 for the requeue.
    if (comm.any(core::stop_signal() != 0, "stop signal")) {
      if (main_rank)
        core::log::info("stop signal: saving at step {} and exiting with code 3", state.step);
      save("meta", ema.gather());
      return core::kExitStopped;
    }
    profiler.step_begins(state.step);

    // Batch and loss: noise and times keyed by each sample's global stream position, so any
    // world size sees the same; micro-batches accumulate without communication until the last.
    const data::Batch batch = loader.next();
    reducer.zero_grad();
    for (std::int64_t begin = 0; begin < B; begin += micro) {
      const at::Tensor x = in_memory_format(batch.images.narrow(0, begin, micro).to(device),
                                            o.precision.channels_last);
      const at::Tensor positions = batch.positions.narrow(0, begin, micro);
      const std::int64_t D = x[0].numel();
      const at::Tensor z =
          rng.normal(positions, D, core::RngStream::kNoise).to(device).view(x.sizes());
      at::Tensor per_example;
      // The forward pass under autocast when asked; the score goes on in fp32 (loss, backward).
      const sde::ModelFn net = [&](const at::Tensor& xi, const at::Tensor& labels) {
        const AutocastScope autocast(device.type(), bf16);
        return model->forward(xi, labels).to(at::kFloat);
      };
      if (o.continuous) {
        const at::Tensor t = sde::training_time(
            rng.uniform(positions, 1, core::RngStream::kTime).view({-1}).to(device), *sde);
        per_example = sde::sde_loss(*sde, sde::get_score_fn(sde, net, true), x, t, z, o.reduce_mean,
                                    o.likelihood_weighting);
      } else {
        const at::Tensor labels = rng.words(positions, 1, core::RngStream::kLabel)
                                      .view({-1})
                                      .remainder(o.sde.num_scales)
                                      .to(device);
        if (const auto* ve = dynamic_cast<const sde::VESDE*>(sde.get())) {
          per_example = sde::smld_loss(*ve, net, x, labels, z, o.reduce_mean);
        } else if (const auto* vp = dynamic_cast<const sde::VPSDE*>(sde.get())) {
          per_example = sde::ddpm_loss(*vp, net, x, labels, z, o.reduce_mean);
        } else {
          throw core::UsageError("training.continuous = false needs vesde (SMLD) or vpsde (DDPM)");
        }
      }
      reducer.set_sync(begin + micro >= B);
      at::Tensor loss = per_example.sum() / static_cast<double>(B);
      if (nan_fault.rank == comm.rank() && nan_fault.step == state.step)
        loss = loss * std::numeric_limits<double>::quiet_NaN();
      loss.backward();
      loss_sum.add_(loss.detach());
    }

    // Update: the gradients are the global mean now, identical on every rank, so the norm and
    // the decision to skip a non-finite step are too.
    const double norm = adam.grad_norm();
    const double lr = learning_rate(o.adam, state.step);
    if (std::isfinite(norm)) {
      adam.step(lr, clip_factor(norm, o.adam.grad_clip));
      ema.update(reducer.flat_parameters());
      nonfinite_in_a_row = 0;
    } else {
      ++nonfinite_in_a_row;
      core::log::warn("step {}: non-finite gradient norm; step skipped ({} in a row)", state.step,
                      nonfinite_in_a_row);
      if (nonfinite_in_a_row > o.max_nonfinite) {
        throw core::Error(fmt::format("{} non-finite steps in a row (training.max_nonfinite = {})",
                                      nonfinite_in_a_row, o.max_nonfinite));
      }
    }
    ++state.step;
    state.images_seen += G;
    state.data_cursor = loader.cursor();
    state.nonfinite_skips = nonfinite_in_a_row;
    ++loss_count;
    profiler.step_done(state.step);

    // Status, metrics, checkpoints.
    if (state.step % o.log_freq == 0 || state.step == o.n_iters) {
      const double loss = comm.all_reduce(loss_sum.item<double>() / static_cast<double>(loss_count),
                                          dist::ReduceOp::kAvg, "loss");
      loss_sum.zero_();
      loss_count = 0;
      if (main_rank) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double images_per_second =
            static_cast<double>((state.step - start_step) * G) / std::max(seconds, 1e-9);
        const double eta =
            static_cast<double>((o.n_iters - state.step) * G) / std::max(images_per_second, 1e-9);
        const double rss = core::resident_mib();
        const std::optional<DeviceMemory> gpu = device_memory(device);
        std::string line = fmt::format(
            "step {} images {} loss {:.6g} grad_norm {:.4g} lr {:.3g} images/s {:.1f} eta {:.0f} s "
            "rss {:.0f} MiB",
            state.step, state.images_seen, loss, norm, lr, images_per_second, eta, rss);
        std::string record = fmt::format(
            "{{\"step\": {}, \"images\": {}, \"loss\": {}, \"grad_norm\": {}, \"lr\": {}, "
            "\"images_per_second\": {}, \"rss_mib\": {:.1f}",
            state.step, state.images_seen, loss, norm, lr, images_per_second, rss);
        if (gpu) {
          line += fmt::format(" gpu peak {:.0f} MiB reserved {:.0f} MiB", gpu->peak_allocated_mib,
                              gpu->reserved_mib);
          record += fmt::format(", \"gpu_peak_mib\": {:.1f}, \"gpu_reserved_mib\": {:.1f}",
                                gpu->peak_allocated_mib, gpu->reserved_mib);
        }
        core::log::info("{}", line);
        metrics << record << "}\n";
        metrics.flush();
      }
    }
    const bool snapshot = state.step % o.snapshot_freq == 0 || state.step == o.n_iters;
    if (snapshot || state.step % o.meta_freq == 0) {
      const std::vector<at::Tensor> whole_ema = ema.gather();  // once for both uses
      save(snapshot ? "snapshot" : "meta", whole_ema);
      if (snapshot && o.snapshot_sampling) write_samples(whole_ema);
    }
  }
  return core::kExitOk;
}

}  // namespace sgm::train
