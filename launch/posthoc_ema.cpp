#include "launch/posthoc_ema.h"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"
#include "trainer/core/workdir_lock.h"
#include "trainer/train/checkpoint.h"
#include "trainer/train/phema.h"

namespace sgm::launch {
namespace fs = std::filesystem;

std::string posthoc_ema_run(const std::string& checkpoint, const std::string& out,
                            double sigma_rel) {
  if (checkpoint.empty()) throw core::UsageError("phema needs --workdir DIR or --checkpoint DIR");
  if (out.empty()) throw core::UsageError("phema needs --out DIR (a new run directory)");
  const train::Checkpoint last = train::find_checkpoint(checkpoint);
  // The run the checkpoint belongs to: DIR/checkpoints/<kind>-<step>.
  const fs::path run = fs::path(last.path).parent_path().parent_path();
  const train::CheckpointStore source(run.string(), 1);
  const train::PhemaReconstruction r = train::reconstruct_phema(source, last, sigma_rel);

  train::CheckpointStore store(out, 1);
  if (!store.list().empty())
    throw core::UsageError("--out " + out + ": already holds checkpoints; give a new directory");
  if (fs::weakly_canonical(out) == fs::weakly_canonical(run))
    throw core::UsageError("--out " + out + ": is the source run; give a new directory");
  std::error_code ec;
  fs::create_directories(fs::path(out) / "checkpoints", ec);
  if (ec) throw core::UsageError(fmt::format("--out {}: {}", out, ec.message()));
  const core::WorkdirLock lock(out, "sgm-eval phema", 300);
  core::write_file_atomic((fs::path(out) / "config.cfg").string(), last.state.config);
  nlohmann::json provenance = {{"source", last.path},
                               {"sigma_rel", sigma_rel},
                               {"gamma", r.gamma},
                               {"updates", last.state.phema_updates},
                               {"stored_sigma_rels", last.state.phema_sigma_rels},
                               {"checkpoint_steps", r.steps},
                               {"coefficients", r.coefficients}};
  core::write_file_atomic((fs::path(out) / "phema.json").string(), provenance.dump(2) + "\n");
  const std::string dir = store.save("snapshot", r.checkpoint);
  return fmt::format(
      "post-hoc EMA of sigma_rel {} (gamma {:.4f}) at step {} from {} profiles of {} checkpoints "
      "-> {}",
      sigma_rel, r.gamma, last.state.step, r.profiles.size(), r.steps.size(), dir);
}

}  // namespace sgm::launch
