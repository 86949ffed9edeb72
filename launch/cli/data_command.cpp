#include "launch/cli/data_command.h"

#include <sstream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "launch/cli/key_table.h"
#include "trainer/core/error.h"

namespace sgm::cli {
namespace po = boost::program_options;
namespace {

// `modes` and `weights` receive the raw text of the list options, parsed after reading.
po::options_description data_options(DataCommand& c, std::string& modes, std::string& weights) {
  po::options_description d("Options");
  d.add_options()("help,h", po::bool_switch(&c.help), "print this help and exit")(
      "from", po::value<std::string>(&c.from),
      "make: the source, cifar10 (binary batches), folder (PNG/JPEG, a sub-folder per class), "
      "edm (EDM dataset_tool.py output: zip or folder, labels from dataset.json), npy, toy or "
      "shapes (procedural)")("input", po::value<std::string>(&c.input),
                             "make --from cifar10: folder with data_batch_*.bin / test_batch.bin; "
                             "--from folder: the image folder; --from edm: the zip or folder")(
      "out", po::value<std::string>(&c.out),
      "make: dataset directory to create (written atomically); grid: the PNG to write")(
      "split", po::value<std::string>(&c.split)->default_value(c.split),
      "make --from cifar10: train | test")("name",
                                           po::value<std::string>(&c.name)->default_value(c.name),
                                           "make: shard file prefix (NAME-00000-of-000NN.h5)")(
      "shards", po::value<std::int64_t>(&c.shards)->default_value(c.shards),
      "make: number of shard files (0: as few as keep each under --shard-mib)")(
      "shard-mib", po::value<std::int64_t>(&c.shard_mib)->default_value(c.shard_mib),
      "make: the largest shard (MiB of pixels) when --shards is 0; a shard is built in memory")(
      "num", po::value<std::int64_t>(&c.num)->default_value(c.num),
      "make --from shapes, toy: number of images or points; grid: images shown, 64 unless given")(
      "resolution", po::value<std::int64_t>(&c.resolution)->default_value(c.resolution),
      "make: image size; folder: centre-crop and resize (stb_image_resize, Mitchell when "
      "shrinking), 0 keeps the size; shapes: 32 when not given")(
      "channels", po::value<std::int64_t>(&c.channels)->default_value(c.channels),
      "make --from folder: decode to 1 or 3 channels")(
      "array", po::value<std::string>(&c.array),
      "make --from npy: the uint8 images array of a .npz")(
      "label-array", po::value<std::string>(&c.label_array),
      "make --from npy: the integer labels array")(
      "toy", po::value<std::string>(&c.toy)->default_value(c.toy),
      "make --from toy: gmm | checkerboard | moons | swissroll")(
      "modes", po::value<std::string>(&modes),
      "make --from toy gmm: component means 'x,y;x,y;...'")(
      "weights", po::value<std::string>(&weights),
      "make --from toy gmm: component weights 'w,w,...'")(
      "std", po::value<double>(&c.std)->default_value(c.std, "0.1"),
      "make --from toy: component or noise std")(
      "seed", po::value<std::int64_t>(&c.seed)->default_value(c.seed),
      "make --from shapes: random seed")("steps",
                                         po::value<std::int64_t>(&c.steps)->default_value(c.steps),
                                         "noise-schedule: Langevin steps per noise level (T)")(
      "sigma-min", po::value<double>(&c.sigma_min)->default_value(c.sigma_min, "0.01"),
      "noise-schedule: the smallest noise level")(
      "labels", po::value<bool>(&c.labels)->default_value(c.labels, "true"), "make: store labels")(
      "overwrite", po::bool_switch(&c.overwrite), "make: replace an existing output directory");
  return d;
}

}  // namespace

DataCommand parse_data_command(int argc, const char* const argv[]) {
  DataCommand c;
  std::string modes_text, weights_text;
  po::options_description all = data_options(c, modes_text, weights_text);
  all.add_options()("command", po::value<std::string>(&c.command))("dir",
                                                                   po::value<std::string>(&c.dir));
  po::positional_options_description positional;
  positional.add("command", 1).add("dir", 1);
  po::variables_map vm;
  try {
    store_command_line(argc, argv, all, positional, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw core::UsageError(e.what());
  }
  if (!modes_text.empty()) {
    std::size_t start = 0;
    while (start <= modes_text.size()) {
      const std::size_t semi = modes_text.find(';', start);
      const std::vector<double> xy = parse_number_list(
          "--modes",
          modes_text.substr(start, semi == std::string::npos ? std::string::npos : semi - start));
      if (xy.size() != 2)
        throw core::UsageError("--modes: each mode is 'x,y' (got '" + modes_text + "')");
      c.modes.push_back({xy[0], xy[1]});
      if (semi == std::string::npos) break;
      start = semi + 1;
    }
  }
  if (!weights_text.empty()) c.weights = parse_number_list("--weights", weights_text);
  if (c.help) return c;
  if (c.command.empty())
    throw core::UsageError(
        "missing command: sgm-data <make|info|verify|grid|noise-schedule> [options]");
  if (c.command == "make") {
    if (c.from != "cifar10" && c.from != "folder" && c.from != "edm" && c.from != "npy" &&
        c.from != "shapes" && c.from != "toy") {
      throw core::UsageError("--from: '" + c.from +
                             "' is not cifar10, folder, edm, npy, shapes or toy");
    }
    if (c.out.empty()) throw core::UsageError("--out DIR is required for make");
    if (c.from != "shapes" && c.from != "toy" && c.input.empty()) {
      throw core::UsageError("--input DIR is required for --from " + c.from);
    }
    if (c.resolution < 0) throw core::UsageError("--resolution must not be negative");
    // shapes: 32 when not given; a size given must be one the generator draws (>= 4).
    if (c.from == "shapes" && !vm["resolution"].defaulted() && c.resolution < 4) {
      throw core::UsageError(
          fmt::format("--resolution: {} is below the minimum 4 for --from shapes", c.resolution));
    }
    if (c.shards < 0) throw core::UsageError("--shards must not be negative");
    if (c.shard_mib < 1) throw core::UsageError("--shard-mib must be at least 1");
  } else if (c.command == "noise-schedule") {
    if (c.dir.empty())
      throw core::UsageError("missing dataset directory: sgm-data noise-schedule DIR");
    if (c.steps < 1) throw core::UsageError("--steps must be at least 1");
    if (!(c.sigma_min > 0)) throw core::UsageError("--sigma-min must be positive");
  } else if (c.command == "grid") {
    if (c.dir.empty()) throw core::UsageError("missing dataset directory: sgm-data grid DIR");
    if (c.out.empty()) throw core::UsageError("--out FILE.png is required for grid");
    if (vm["num"].defaulted()) c.num = 64;
    if (c.num < 1) throw core::UsageError("--num must be at least 1");
  } else if (c.command == "info" || c.command == "verify") {
    if (c.dir.empty())
      throw core::UsageError("missing dataset directory: sgm-data " + c.command + " DIR");
  } else {
    throw core::UsageError("unknown command '" + c.command +
                           "' (one of: make, info, verify, grid, noise-schedule)");
  }
  return c;
}

std::string data_help() {
  DataCommand c;
  std::string unused;
  std::ostringstream out;
  out << "Usage: sgm-data <command> [options]\n"
         "  sgm-data make --from cifar10 --input DIR --out DIR [--split train|test] [--shards N]\n"
         "  sgm-data make --from folder --input DIR --out DIR [--resolution R] [--channels 1|3]\n"
         "  sgm-data make --from edm --input DIR|FILE.zip --out DIR [--resolution R] [--channels "
         "1|3]\n"
         "  sgm-data make --from npy --input FILE.npy|FILE.npz --out DIR [--array A] "
         "[--label-array L]\n"
         "  sgm-data make --from toy --toy gmm|checkerboard|moons|swissroll --num N --out DIR\n"
         "          [--modes 'x,y;x,y'] [--weights 'w,w'] [--std S] [--seed S]   (float32 [N, 1, "
         "1, 2] points)\n"
         "  sgm-data make --from shapes --num N --resolution R --out DIR [--seed S] [--shards N]\n"
         "  sgm-data info DIR      print the attributes of a dataset\n"
         "  sgm-data verify DIR    check every invariant and the content checksums\n"
         "  sgm-data grid DIR --out FILE.png [--num N]   the first N images (64) in a square grid\n"
         "  sgm-data noise-schedule DIR [--steps T] [--sigma-min S]   NCSNv2 sigma_max, levels, "
         "Langevin step\n"
         "Sharded HDF5 datasets (NAME-00000-of-000NN.h5; images uint8 [N, H, W, C], labels int32 "
         "[N]).\nmake streams its input (image folders and EDM datasets a slice at a time) and, "
         "like verify, shows its progress.\n\n"
      << data_options(c, unused, unused);
  return out.str();
}

}  // namespace sgm::cli
