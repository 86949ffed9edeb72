// sgm-data: makes, inspects and verifies sharded HDF5 datasets.
#include <fmt/format.h>

#include "data/dataset_writer.h"
#include "data/image_set.h"
#include "data/sharded_dataset.h"
#include "launch/cli/data_command.h"
#include "launch/cli/main_support.h"
#include "trainer/core/error.h"

namespace {

std::string describe(const sgm::data::ShardedDataset& d) {
  std::string out = fmt::format(
      "dataset {}\n  images: {} of {}x{}x{} (H x W x C), uint8\n  labels: {}\n  shards: {}\n  "
      "source: {}\n",
      d.dir(), d.size(), d.height(), d.width(), d.channels(),
      d.labelled() ? fmt::format("{} classes", d.num_classes()) : "none", d.shards().size(),
      d.shards()[0].source);
  for (std::size_t i = 0; i < d.shards().size(); ++i) {
    out += fmt::format("    {}  {} images  checksum {}\n", d.files()[i], d.shards()[i].num_images,
                       d.shards()[i].checksum);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sgm;
  return cli::run_main("sgm-data", [&] {
    const cli::DataCommand c = cli::parse_data_command(argc, argv);
    if (c.help) {
      fmt::print("{}", cli::data_help());
      return core::kExitOk;
    }
    if (c.command == "make") {
      data::ImageSet set =
          c.from == "cifar10"
              ? data::read_cifar10(c.input, c.split)
              : data::make_shapes(c.num, c.resolution, static_cast<std::uint64_t>(c.seed));
      data::WriteOptions o;
      o.name = c.name;
      o.num_shards = c.shards;
      o.num_classes = c.labels ? set.num_classes : 0;
      o.source = set.source;
      o.overwrite = c.overwrite;
      data::write_dataset(c.out, set.images, c.labels ? set.labels : at::Tensor(), o);
      fmt::print("{}", describe(data::ShardedDataset(c.out)));
      return core::kExitOk;
    }
    data::ShardedDataset dataset(c.dir);
    if (c.command == "info") {
      fmt::print("{}", describe(dataset));
      return core::kExitOk;
    }
    if (c.command == "verify") {
      dataset.read_all_images();  // every image readable (truncation shows here)
      const auto problems = dataset.verify_checksums();
      if (!problems.empty())
        throw core::UsageError(
            problems.front() +
            (problems.size() > 1 ? fmt::format(" (and {} more)", problems.size() - 1) : ""));
      fmt::print("{}: ok ({} images in {} shards, every invariant and content checksum)\n", c.dir,
                 dataset.size(), dataset.shards().size());
      return core::kExitOk;
    }
    throw core::Error(
        "command 'noise-schedule' is not in this build yet (it arrives with the data issue)");
  });
}
