// Loader throughput and memory (issue: data). Makes procedural datasets of 32x32 and 256x256
// images in a temporary directory, then measures one rank's batches per second (images/s) and
// the resident memory the loader adds, in-memory and streaming. Prints a table.
//   build/bench/loader_bench [--images32 N] [--images256 N] [--seconds S]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <ATen/Parallel.h>

#include "data/dataset_writer.h"
#include "data/image_set.h"
#include "data/loader.h"
#include "trainer/core/memory.h"

namespace {

struct Result {
  double images_per_second;
  double added_mib;
};

Result measure(const std::shared_ptr<sgm::data::ShardedDataset>& dataset, std::int64_t batch,
               bool in_memory, double seconds) {
  const double before = sgm::core::resident_mib();
  sgm::data::LoaderOptions o;
  o.global_batch = batch;
  o.in_memory = in_memory;
  o.uniform_dequantization = true;
  sgm::data::Loader loader(dataset, o);
  loader.next();  // warm up
  const auto start = std::chrono::steady_clock::now();
  std::int64_t images = 0;
  double elapsed = 0;
  while (elapsed < seconds) {
    images += loader.next().images.size(0);
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return {static_cast<double>(images) / elapsed, sgm::core::resident_mib() - before};
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n32 = 20000, n256 = 1000;
  double seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--images32")) n32 = std::stoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--images256")) n256 = std::stoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::stod(argv[i + 1]);
  }
  at::set_num_threads(1);  // one core per rank; the loader has its own reader thread
  const auto root =
      std::filesystem::temp_directory_path() / ("sgm-loader-bench-" + std::to_string(::getpid()));
  std::printf(
      "| images | dataset MiB | mode | batch | images/s (1 rank) | loader RSS added MiB "
      "|\n|---|---|---|---|---|---|\n");
  for (auto [size, count, batch] :
       {std::tuple<std::int64_t, std::int64_t, std::int64_t>{32, n32, 128}, {256, n256, 16}}) {
    const std::string dir = (root / std::to_string(size)).string();
    sgm::data::ImageSet set = sgm::data::make_shapes(count, size, 1);
    sgm::data::WriteOptions w;
    w.num_shards = 4;
    w.num_classes = set.num_classes;
    sgm::data::write_dataset(dir, set.images, set.labels, w);
    const double dataset_mib = static_cast<double>(set.images.numel()) / (1024.0 * 1024.0);
    set = {};
    auto dataset = std::make_shared<sgm::data::ShardedDataset>(dir);
    for (bool in_memory : {true, false}) {
      Result r = measure(dataset, batch, in_memory, seconds);
      std::printf("| %lld x %lldx%lldx3 | %.1f | %s | %lld | %.0f | %.1f |\n",
                  static_cast<long long>(count), static_cast<long long>(size),
                  static_cast<long long>(size), dataset_mib, in_memory ? "in-memory" : "streaming",
                  static_cast<long long>(batch), r.images_per_second, r.added_mib);
    }
  }
  std::filesystem::remove_all(root);
  return 0;
}
