#include "launch/interop.h"

#include <filesystem>

#include <fmt/format.h>

#include "data/zip_archive.h"
#include "launch/cli/options.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/workdir_lock.h"
#include "trainer/models/registry.h"
#include "trainer/train/checkpoint.h"
#include "trainer/train/score_sde_checkpoint.h"

namespace sgm::launch {
namespace fs = std::filesystem;

namespace {

std::shared_ptr<models::ScoreModel> configured_model(const cli::Config& c) {
  return models::make_model(c.train.model, c.train.shape, c.train.sde);
}

std::string format_of(const std::string& out, const std::string& format) {
  if (format == "pth" || format == "h5") return format;
  if (!format.empty()) throw core::UsageError("--format " + format + ": one of pth, h5");
  const std::string ext = fs::path(out).extension().string();
  if (ext == ".pth" || ext == ".pt") return "pth";
  if (ext == ".h5" || ext == ".hdf5") return "h5";
  throw core::UsageError("--out " + out + ": give --format pth|h5 (or a .pth/.h5 name)");
}

core::NamedTensors prefixed(const std::string& group, core::NamedTensors tensors) {
  for (auto& [name, value] : tensors) name = group + "/" + name;
  return tensors;
}

}  // namespace

std::string import_run(const cli::Config& config, const std::string& file,
                       const std::string& workdir) {
  if (file.empty()) throw core::UsageError("import needs --checkpoint FILE (.pth or .h5)");
  if (workdir.empty()) throw core::UsageError("import needs --workdir DIR (a run directory)");
  if (!fs::is_regular_file(file)) throw core::UsageError("--checkpoint " + file + ": no such file");
  auto model = configured_model(config);
  train::Checkpoint c = train::import_score_sde(file, *model);
  c.state.seed = config.train.seed;
  c.state.images_seen = c.state.step * config.train.loader.global_batch;
  c.state.config = cli::to_ini(config);
  const std::string ema_note =
      c.state.ema_updates == 0 && c.state.step > 0 ? " (the file counts no EMA updates)" : "";
  // More checkpoints of the same run (score_sde's checkpoint_<k>.pth, for a sweep) may join
  // it; anything else in the directory is refused.
  train::CheckpointStore store(workdir, static_cast<int>(config.train.keep_meta));
  const fs::path config_file = fs::path(workdir) / "config.cfg";
  if (!store.list().empty()) {
    std::string existing;
    if (fs::is_regular_file(config_file)) existing = data::read_file_bytes(config_file.string());
    if (existing != c.state.config)
      throw core::UsageError("--workdir " + workdir +
                             ": already holds checkpoints of another configuration; import into a "
                             "new directory");
    if (fs::exists(store.path_of("snapshot", c.state.step)))
      throw core::UsageError(
          fmt::format("--workdir {}: already holds a snapshot of step {}", workdir, c.state.step));
  }

  std::error_code ec;
  fs::create_directories(fs::path(workdir) / "checkpoints", ec);
  if (ec) throw core::UsageError(fmt::format("--workdir {}: {}", workdir, ec.message()));
  const core::WorkdirLock lock(workdir, "sgm-eval import", config.train.lock_timeout);
  core::write_file_atomic((fs::path(workdir) / "config.cfg").string(), c.state.config);
  const std::string dir = store.save("snapshot", c);
  return fmt::format(
      "imported {} at step {}: {} weights, {} EMA tensors{}, Adam moments of {} steps -> {}", file,
      c.state.step, c.model.size(), c.ema.size(), ema_note, c.state.adam_steps, dir);
}

std::string export_run(const std::string& checkpoint, const std::string& out,
                       const std::string& format) {
  if (checkpoint.empty() || out.empty())
    throw core::UsageError("export needs --checkpoint DIR and --out FILE (.pth or .h5)");
  const std::string kind = format_of(out, format);
  const train::Checkpoint c = train::find_checkpoint(checkpoint);
  const cli::Config config = cli::parse_ini_text(c.state.config, c.path + "/state.json");
  auto model = configured_model(config);
  if (kind == "pth") {
    train::export_score_sde(c, *model, config.train.adam, config.train.ema.rate, out);
  } else {
    // score_sde's names beside sgm's, for the networks score_sde has (none with classes).
    core::NamedTensors extra;
    if (model->num_classes() == 0) {
      extra = prefixed("params", train::score_sde_state(*model, c.model, {}));
      for (auto& item : prefixed("ema_params", train::score_sde_state(*model, c.ema, c.model)))
        extra.push_back(std::move(item));
    }
    train::export_weights(c, out, extra);
  }
  return fmt::format("exported the model and EMA of step {} ({}) to {} ({})", c.state.step, c.path,
                     out, kind == "pth" ? "torch.save, score_sde layout" : "HDF5");
}

}  // namespace sgm::launch
