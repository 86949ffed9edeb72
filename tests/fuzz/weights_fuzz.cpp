// A checkpoint's weights.h5 (HDF5) as every command that resumes or evaluates reads it, all of
// it (model, EMA, Adam moments). A damaged file fails the checksum in state.json before HDF5
// parses it; this target writes a state.json whose checksum matches the bytes, so that what a
// hostile checkpoint could hand HDF5 and sgm's reader is what is fuzzed.
#include <filesystem>

#include <fmt/format.h>

#include "tests/fuzz/fuzz_target.h"
#include "trainer/core/checksum.h"
#include "trainer/train/checkpoint.h"

SGM_FUZZ_TARGET(weights) {
  namespace fs = std::filesystem;
  const fs::path dir = sgm::fuzz::input_directory();
  const std::string weights = (dir / "weights.h5").string();
  sgm::fuzz::write_input(weights, bytes);
  sgm::fuzz::write_input(
      (dir / "state.json").string(),
      fmt::format(R"({{"format": "sgm-checkpoint", "version": 1, "step": 2, "images_seen": 16,
"data_cursor": 16, "seed": 42, "ema_updates": 2, "adam_steps": 2, "nonfinite_skips": 0,
"world_size": 1, "config": "", "files": {{"weights.h5": "{}"}}}})",
                  sgm::core::hex64(sgm::core::file_checksum(weights))));
  sgm::train::CheckpointStore::load(dir.string());
}
