#include "data/image_stream.h"

#include <memory>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "trainer/core/error.h"

namespace sgm::data {

ImageStream stream_of(ImageSet set) {
  const at::Tensor& images = set.images;
  if (!images.defined() || images.dim() != 4 ||
      (images.scalar_type() != at::kByte && images.scalar_type() != at::kFloat)) {
    throw core::UsageError("dataset images must be uint8 (or float32) [N, H, W, C]");
  }
  ImageStream s;
  s.count = images.size(0);
  s.height = images.size(1);
  s.width = images.size(2);
  s.channels = images.size(3);
  s.dtype = images.scalar_type();
  s.source = set.source;
  auto held = std::make_shared<ImageSet>(std::move(set));
  held->images = held->images.contiguous();
  if (held->labels.defined()) {
    if (held->labels.dim() != 1 || held->labels.size(0) != s.count)
      throw core::UsageError("labels must be [N] for N images");
    held->labels = held->labels.to(at::kInt).contiguous();
    s.labelled = true;
    if (s.count > 0) {
      if (held->labels.min().item<int>() < 0) throw core::UsageError("labels must be non-negative");
      held->num_classes =
          std::max<std::int64_t>(held->num_classes, held->labels.max().item<int>() + 1);
    }
    s.num_classes = held->num_classes;
  }
  s.read = [held](std::int64_t begin, std::int64_t n) {
    ImageSet slice;
    slice.images = held->images.narrow(0, begin, n);
    if (held->labels.defined()) slice.labels = held->labels.narrow(0, begin, n);
    return slice;
  };
  return s;
}

ImageStream stream_encoded(std::vector<std::string> names, ReadBytes bytes,
                           std::vector<std::int32_t> labels, std::int64_t num_classes,
                           std::int64_t resolution, std::int64_t channels, std::string source) {
  SGM_CHECK(!names.empty(), "stream_encoded: no images");
  SGM_CHECK(labels.empty() || labels.size() == names.size(), "stream_encoded: {} labels for {}",
            labels.size(), names.size());
  struct Held {
    std::vector<std::string> names;
    ReadBytes bytes;
    at::Tensor labels;
  };
  auto held = std::make_shared<Held>();
  held->names = std::move(names);
  held->bytes = std::move(bytes);
  if (!labels.empty()) held->labels = at::tensor(labels, at::kInt);
  // The first image sets the size every other must have.
  const at::Tensor first =
      decode_image(held->bytes(0, held->names[0]), held->names[0], resolution, channels);
  ImageStream s;
  s.count = static_cast<std::int64_t>(held->names.size());
  s.height = first.size(0);
  s.width = first.size(1);
  s.channels = channels;
  s.labelled = !labels.empty();
  s.num_classes = s.labelled ? num_classes : 0;
  s.source = std::move(source);
  const std::int64_t h = s.height, w = s.width;
  s.read = [held, h, w, resolution, channels](std::int64_t begin, std::int64_t n) {
    ImageSet slice;
    slice.images = at::empty({n, h, w, channels}, at::kByte);
    // One image per task: decoding dominates, and each image lands in its own row.
    at::parallel_for(0, n, 1, [&](std::int64_t from, std::int64_t to) {
      for (std::int64_t i = from; i < to; ++i) {
        const std::string& name = held->names[static_cast<std::size_t>(begin + i)];
        const at::Tensor image =
            decode_image(held->bytes(begin + i, name), name, resolution, channels);
        if (image.size(0) != h || image.size(1) != w) {
          throw core::UsageError(
              fmt::format("{}: {}x{} differs from {}x{} of {} (give --resolution to resize)", name,
                          image.size(0), image.size(1), h, w, held->names.front()));
        }
        slice.images[i].copy_(image);
      }
    });
    if (held->labels.defined()) slice.labels = held->labels.narrow(0, begin, n);
    return slice;
  };
  return s;
}

ImageSet read_whole(const ImageStream& stream) {
  ImageSet set = stream.read(0, stream.count);
  set.images = set.images.contiguous();
  if (set.labels.defined()) set.labels = set.labels.contiguous();
  set.num_classes = stream.num_classes;
  set.source = stream.source;
  return set;
}

}  // namespace sgm::data
