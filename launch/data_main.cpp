// sgm-data: makes, inspects, verifies and shows sharded HDF5 datasets.
#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "data/dataset_writer.h"
#include "data/image_grid.h"
#include "data/image_set.h"
#include "data/image_stream.h"
#include "data/noise_schedule.h"
#include "data/numpy_arrays.h"
#include "data/sharded_dataset.h"
#include "data/toy2d.h"
#include "launch/cli/data_command.h"
#include "launch/cli/main_support.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/progress.h"

namespace {

std::string describe(const sgm::data::ShardedDataset& d) {
  std::string out = fmt::format(
      "dataset {}\n  images: {} of {}x{}x{} (H x W x C), {}\n  labels: {}\n  shards: {}\n  "
      "source: {}\n",
      d.dir(), d.size(), d.height(), d.width(), d.channels(), d.is_float() ? "float32" : "uint8",
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
      data::WriteOptions o;
      o.name = c.name;
      o.num_shards = c.shards;
      o.shard_mib = c.shard_mib;
      o.overwrite = c.overwrite;
      data::check_output(c.out, o);
      data::ImageStream source;
      if (c.from == "cifar10") {
        source = data::stream_of(data::read_cifar10(c.input, c.split));
      } else if (c.from == "toy") {
        data::ToyOptions t;
        t.kind = c.toy;
        t.count = c.num;
        t.seed = static_cast<std::uint64_t>(c.seed);
        t.modes = c.modes;
        t.weights = c.weights;
        t.std = c.std;
        source = data::stream_of(data::make_toy2d(t));
      } else if (c.from == "npy") {
        source = data::stream_of(data::read_numpy_images(c.input, c.array, c.label_array));
      } else if (c.from == "folder") {
        source = data::stream_image_folder(c.input, c.resolution, c.channels);
      } else if (c.from == "edm") {
        source = data::stream_edm_dataset(c.input, c.resolution, c.channels);
      } else {
        source = data::stream_of(data::make_shapes(c.num, c.resolution > 0 ? c.resolution : 32,
                                                   static_cast<std::uint64_t>(c.seed)));
      }
      if (!c.labels) {
        source.labelled = false;
        source.num_classes = 0;
      }
      core::log::info("make {}: {} images of {}x{}x{} into {} shard(s), from {}", c.out,
                      source.count, source.height, source.width, source.channels,
                      data::shard_count(source.count, source.image_bytes(), o), source.source);
      core::Progress progress("make " + c.out, source.count, "images");
      data::write_dataset(c.out, source, o, &progress);
      progress.finish();
      fmt::print("{}", describe(data::ShardedDataset(c.out)));
      return core::kExitOk;
    }
    data::ShardedDataset dataset(c.dir);
    if (c.command == "info") {
      fmt::print("{}", describe(dataset));
      return core::kExitOk;
    }
    if (c.command == "verify") {
      core::Progress progress("verify " + c.dir, dataset.size(), "images");
      const auto problems = dataset.verify_checksums(&progress);
      if (!problems.empty())
        throw core::UsageError(
            problems.front() +
            (problems.size() > 1 ? fmt::format(" (and {} more)", problems.size() - 1) : ""));
      progress.finish();
      fmt::print("{}: ok ({} images in {} shards, every invariant and content checksum)\n", c.dir,
                 dataset.size(), dataset.shards().size());
      return core::kExitOk;
    }
    if (c.command == "grid") {
      if (dataset.is_float())
        throw core::UsageError(c.dir + ": holds points (float32), not images: no grid");
      const std::int64_t n = std::min(c.num, dataset.size());
      at::Tensor images =
          at::empty({n, dataset.height(), dataset.width(), dataset.channels()}, at::kByte);
      dataset.read_images(0, n, images.data_ptr());
      const auto columns = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
      data::write_png(c.out, data::tile_images(images, columns));
      fmt::print("{}: the first {} images of {} ({} per row)\n", c.out, n, c.dir, columns);
      return core::kExitOk;
    }
    // noise-schedule (NCSNv2 techniques 1, 2, 4) on data scaled to [0, 1].
    at::Tensor points =
        dataset.read_all_images().reshape({dataset.size(), -1}).to(at::kFloat).div(255.0);
    const data::Diameter diameter = data::max_pairwise_distance(points);
    const std::int64_t dim = points.size(1);
    const double gamma = data::technique2_gamma(dim);
    const double sigma_max = diameter.lower;
    const auto levels =
        static_cast<std::int64_t>(std::ceil(std::log(sigma_max / c.sigma_min) / std::log(gamma))) +
        1;
    const double eps = data::technique4_eps(gamma, c.steps, c.sigma_min);
    fmt::print("NCSNv2 noise schedule for {} ({} images, D = {}, data in [0, 1])\n", c.dir,
               dataset.size(), dim);
    fmt::print("  technique 1  sigma_max = largest pairwise distance   {:.4f}{}\n", sigma_max,
               diameter.exact
                   ? " (exact)"
                   : fmt::format(" (lower bound; the diameter is at most {:.4f})", diameter.upper));
    fmt::print("  technique 2  gamma = sigma_i / sigma_(i+1)           {:.6f}\n", gamma);
    fmt::print("               levels from sigma_max to {}           {}  (model.num_scales)\n",
               c.sigma_min, levels);
    fmt::print(
        "  technique 4  Langevin step for T = {}                 {:.4e}  (s_T^2 / sigma^2 = "
        "{:.4f})\n",
        c.steps, eps, data::technique4_ratio(eps, gamma, c.steps, c.sigma_min));
    fmt::print(
        "  as score_sde keys: model.sigma_max = {:.4f}, model.num_scales = {}, sampling.snr = "
        "{:.4f}, sampling.n_steps_each = {}\n",
        sigma_max, levels, std::sqrt(eps / (2 * c.sigma_min * c.sigma_min)), c.steps);
    return core::kExitOk;
  });
}
