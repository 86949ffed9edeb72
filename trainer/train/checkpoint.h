// The checkpoint store.
// DIR/checkpoints/<kind>-<step, 8 digits>/ holds weights.h5 (model/<name>, ema/<name>,
// adam/exp_avg/<name>, adam/exp_avg_sq/<name>, and phema/<k>/<name> for the post-hoc EMA
// profiles when training keeps them, by parameter name: nothing depends on the world
// size, the bucket sizes or the reducer's layout) and state.json (counters, the resolved
// configuration, format version and the checksum of weights.h5). Each is written whole under a
// staging name, fsynced and renamed; DIR/checkpoints/latest is updated last. Two kinds: "meta"
// (frequent, for preemption; the last K are kept) and "snapshot" (permanent, what evaluation
// reads). Loading verifies the checksums; a damaged newest checkpoint falls back to the previous
// one with a warning, and damaged checkpoints with no valid one is an error, never a fresh start.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/core/named_tensors.h"

namespace sgm::train {

inline constexpr std::int64_t kCheckpointVersion = 1;

struct TrainingState {
  std::int64_t step = 0;         // optimizer steps completed
  std::int64_t images_seen = 0;  // global
  std::int64_t data_cursor = 0;  // loader stream positions consumed
  std::int64_t seed = 0;
  std::int64_t ema_updates = 0;
  std::int64_t adam_steps = 0;
  std::int64_t nonfinite_skips = 0;  // in a row, at save time
  std::int64_t world_size = 1;       // informational: resuming on another is allowed
  std::string config;                // the resolved configuration (INI text)
  // Post-hoc EMA (phema.h): the relative widths of the stored profiles (empty: none) and the
  // number of updates behind them.
  std::vector<double> phema_sigma_rels;
  std::int64_t phema_updates = 0;
};

struct Checkpoint {
  TrainingState state;
  using Named = core::NamedTensors;
  Named model;                   // every parameter and buffer
  Named ema;                     // the trainable parameters' EMA
  Named exp_avg, exp_avg_sq;     // Adam moments of the trainable parameters
  std::vector<Named> phema;      // post-hoc EMA profile k of state.phema_sigma_rels
  std::string path;              // where it was read from
  std::string weights_checksum;  // of weights.h5, as load verified it (hex)
};

// The live tensors of a run, by name, that a checkpoint is taken from and restored into: every
// parameter and buffer of the model, and views of the EMA's and Adam's flat buffers.
struct TrainingTensors {
  core::NamedTensors model;
  core::NamedTensors ema;
  core::NamedTensors exp_avg, exp_avg_sq;
  std::vector<core::NamedTensors> phema;  // restore: filled only where the checkpoint has them
};

// `state` with `tensors` on the host, what CheckpointStore::save writes: on the CPU the live
// tensors themselves (no second copy of the state in memory; save before the next step), on a
// GPU host copies.
Checkpoint capture(const TrainingState& state, const TrainingTensors& tensors);

// A checkpoint's state.json: its text as read from `path`; core::UsageError naming `path` when
// it is not JSON or not an sgm checkpoint state of this version.
TrainingState parse_training_state(const std::string& text, const std::string& path);

// Copies the checkpoint's tensors into `into` by name; throws core::UsageError naming the
// checkpoint and the tensor when one is missing or has another shape.
void restore(const Checkpoint& checkpoint, const TrainingTensors& into);

// What CheckpointStore::load reads of weights.h5: everything a resume needs, or only what an
// evaluation or an export needs (the model and its EMA; no Adam moments, no post-hoc EMA
// profiles). The checksum covers the whole file either way.
enum class CheckpointParts { kAll, kWeights };

class CheckpointStore {
 public:
  // `workdir`/checkpoints; `keep_meta`: how many "meta" checkpoints to keep (>= 1).
  CheckpointStore(const std::string& workdir, int keep_meta);

  // Writes <kind>-<step> whole, points `latest` at it, then removes meta checkpoints beyond the
  // newest `keep_meta` (failures to remove are warnings). Returns its directory. Rank 0 only.
  std::string save(const std::string& kind, const Checkpoint& checkpoint);

  // Committed checkpoint directories, newest (highest step) first.
  std::vector<std::string> list() const;
  // Steps of the committed snapshots, ascending (what evaluation sweeps visit).
  std::vector<std::int64_t> snapshot_steps() const;
  // The directory a checkpoint of `kind` at `step` has (whether or not it exists).
  std::string path_of(const std::string& kind, std::int64_t step) const;
  // Reads and verifies one checkpoint; throws core::UsageError naming the file and the problem.
  static Checkpoint load(const std::string& directory,
                         CheckpointParts parts = CheckpointParts::kAll);
  // Only its state.json (no checksums, no weights): what a caller needs to choose checkpoints.
  static TrainingState load_state(const std::string& directory);
  // The newest valid checkpoint, falling back past damaged ones with a warning each; nullopt
  // when there are none; core::UsageError when there are some and none is valid.
  std::optional<Checkpoint> load_latest(CheckpointParts parts = CheckpointParts::kAll) const;

  const std::string& directory() const { return dir_; }

 private:
  std::string dir_;
  int keep_meta_;
};

// The checkpoint at `path`: a checkpoint directory, or a work directory (its newest valid one).
// Throws core::UsageError naming the path when there is none.
Checkpoint find_checkpoint(const std::string& path, CheckpointParts parts = CheckpointParts::kAll);

// Writes the model and EMA weights of `checkpoint` as named arrays (model/<name>, ema/<name>,
// then `extra` as given, attributes step and checkpoint) to `out`, whole or not at all
// (`sgm-eval export`).
void export_weights(const Checkpoint& checkpoint, const std::string& out,
                    const core::NamedTensors& extra = {});

}  // namespace sgm::train
