// A dataset shard (HDF5) as the training and evaluation jobs open it: the validation of every
// attribute and dataset, then the first images and labels read. The bytes become the one shard
// of a dataset directory (fuzz-input.bin-00000-of-00001.h5). HDF5 itself is not built with the
// sanitizers: the fuzzer sees sgm's checks and HDF5's crashes, time and allocations.
#include <algorithm>
#include <filesystem>
#include <vector>

#include "data/sharded_dataset.h"
#include "tests/fuzz/fuzz_target.h"

SGM_FUZZ_TARGET(shard) {
  namespace fs = std::filesystem;
  const fs::path dir = sgm::fuzz::input_directory();
  const std::string file =
      (dir / (std::string(sgm::fuzz::kInputName) + "-00000-of-00001.h5")).string();
  sgm::fuzz::write_input(file, bytes);
  const sgm::data::ShardedDataset dataset(dir.string());
  const std::int64_t n = std::min<std::int64_t>(dataset.size(), 4);
  std::vector<unsigned char> images(static_cast<std::size_t>(n * dataset.image_bytes()));
  dataset.read_images(0, n, images.data());
  if (dataset.labelled())
    for (std::int64_t i = 0; i < n; ++i) dataset.label(i);
}
