#include "data/image_set.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include <ATen/ATen.h>

#include "trainer/core/error.h"
#include "trainer/core/rng.h"

namespace sgm::data {
namespace {

constexpr std::int64_t kCifarRecord = 1 + 3 * 32 * 32;

}  // namespace

ImageSet read_cifar10(const std::string& dir, const std::string& split) {
  std::vector<std::string> files;
  if (split == "train") {
    for (int i = 1; i <= 5; ++i)
      files.push_back((std::filesystem::path(dir) / fmt::format("data_batch_{}.bin", i)).string());
  } else if (split == "test") {
    files.push_back((std::filesystem::path(dir) / "test_batch.bin").string());
  } else {
    throw core::UsageError("--split: '" + split + "' is not train or test");
  }
  std::vector<std::uint8_t> bytes;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw core::UsageError("cannot read CIFAR-10 batch " + file);
    std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.empty() || data.size() % kCifarRecord != 0) {
      throw core::UsageError(
          fmt::format("{}: {} bytes is not a whole number of {}-byte CIFAR-10 records", file,
                      data.size(), kCifarRecord));
    }
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  const std::int64_t n = static_cast<std::int64_t>(bytes.size()) / kCifarRecord;
  at::Tensor records = at::from_blob(bytes.data(), {n, kCifarRecord}, at::kByte);
  ImageSet set;
  set.labels = records.select(1, 0).to(at::kInt).contiguous();
  if (set.labels.max().item<int>() > 9)
    throw core::UsageError(dir + ": CIFAR-10 labels above 9 (not CIFAR-10 binary batches?)");
  set.images = records.narrow(1, 1, 3072).view({n, 3, 32, 32}).permute({0, 2, 3, 1}).contiguous();
  set.num_classes = 10;
  set.source = fmt::format("CIFAR-10 binary batches ({} split) from {}", split, dir);
  return set;
}

void write_cifar10_batch(const std::string& path, const at::Tensor& images,
                         const at::Tensor& labels) {
  const std::int64_t n = images.size(0);
  at::Tensor records =
      at::cat({labels.to(at::kByte).view({n, 1}), images.permute({0, 3, 1, 2}).reshape({n, 3072})},
              1)
          .contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(records.data_ptr()), records.numel());
  if (!out) throw core::UsageError("cannot write " + path);
}

namespace {

// Images [first, first + count) of make_shapes as uint8 [count, R, R, 3], and their labels.
std::pair<at::Tensor, at::Tensor> shapes_chunk(const core::CounterRng& rng, std::int64_t first,
                                               std::int64_t count, std::int64_t resolution) {
  // Per image: shape, centre x/y, size, foreground rgb, background rgb.
  at::Tensor u =
      rng.uniform(at::arange(first, first + count, at::kLong), 10, core::RngStream::kTest)
          .to(at::kDouble);
  at::Tensor kind = u.select(1, 0).mul(3).floor().clamp_max(2).to(at::kLong);
  at::Tensor cx = u.select(1, 1).mul(0.5).add(0.25).view({count, 1, 1});
  at::Tensor cy = u.select(1, 2).mul(0.5).add(0.25).view({count, 1, 1});
  at::Tensor r = u.select(1, 3).mul(0.18).add(0.12).view({count, 1, 1});
  at::Tensor fg = u.narrow(1, 4, 3).mul(0.6).add(0.4);  // bright shapes
  at::Tensor bg = u.narrow(1, 7, 3).mul(0.35);          // on dark backgrounds
  at::Tensor coords =
      at::arange(resolution, at::kDouble).add(0.5).div(static_cast<double>(resolution));
  at::Tensor y = coords.view({1, resolution, 1}), x = coords.view({1, 1, resolution});
  at::Tensor dx = x - cx, dy = y - cy;
  at::Tensor disc = (dx * dx + dy * dy).lt(r * r);
  at::Tensor square = dx.abs().lt(r * 0.85).logical_and(dy.abs().lt(r * 0.85));
  at::Tensor triangle = dy.gt(-r).logical_and(dy.lt(r)).logical_and(dx.abs().lt((dy + r) * 0.6));
  at::Tensor k = kind.view({count, 1, 1});
  at::Tensor mask =
      at::where(k.eq(0), disc, at::where(k.eq(1), square, triangle)).unsqueeze(-1);  // [N, H, W, 1]
  at::Tensor image = at::where(mask, fg.view({count, 1, 1, 3}), bg.view({count, 1, 1, 3}));
  return {image.mul(255).round().clamp(0, 255).to(at::kByte), kind.to(at::kInt)};
}

}  // namespace

ImageSet make_shapes(std::int64_t count, std::int64_t resolution, std::uint64_t seed) {
  if (count < 1) throw core::UsageError("--num must be positive");
  if (resolution < 4) throw core::UsageError("--resolution must be at least 4");
  const core::CounterRng rng(seed);
  ImageSet set;
  set.images = at::empty({count, resolution, resolution, 3}, at::kByte);
  set.labels = at::empty({count}, at::kInt);
  // In chunks of about 8 MiB of float64 intermediates, so large sets do not need gigabytes.
  const std::int64_t chunk = std::max<std::int64_t>(1, (1 << 20) / (resolution * resolution * 3));
  for (std::int64_t first = 0; first < count; first += chunk) {
    const std::int64_t n = std::min(chunk, count - first);
    auto [images, labels] = shapes_chunk(rng, first, n, resolution);
    set.images.narrow(0, first, n).copy_(images);
    set.labels.narrow(0, first, n).copy_(labels);
  }
  set.num_classes = 3;
  set.source = fmt::format("procedural shapes (disc/square/triangle), {}x{}, seed {}", resolution,
                           resolution, seed);
  return set;
}

}  // namespace sgm::data
