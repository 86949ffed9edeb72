// Sources of images read a slice at a time, so that sgm-data make holds one slice of the input
// (and one shard of the output) in memory whatever the input's size. Image folders and EDM
// datasets are listed up front (names and labels) and decoded when read; sources that are
// small by nature (CIFAR-10, .npy arrays, toys, shapes) are read whole and served from memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/image_set.h"

namespace sgm::data {

struct ImageStream {
  std::int64_t count = 0;
  std::int64_t height = 0, width = 0, channels = 0;
  at::ScalarType dtype = at::kByte;  // uint8, or float32 for continuous data
  bool labelled = false;
  std::int64_t num_classes = 0;  // with labels: every label is below it
  std::string source;            // a one-line description, recorded in the shards
  // Images [begin, begin + n): dtype [n, H, W, C], and labels int32 [n] when labelled. Errors
  // (an undecodable file, an image of another size) are core::UsageError naming the file.
  std::function<ImageSet(std::int64_t begin, std::int64_t n)> read;

  std::int64_t image_bytes() const {
    return height * width * channels * (dtype == at::kFloat ? 4 : 1);
  }
};

// A set already in memory. Validates it as the dataset writer needs (uint8 or float32
// [N, H, W, C]; labels [N], non-negative); num_classes becomes at least max(label) + 1.
ImageStream stream_of(ImageSet set);

// The folder and EDM layouts of read_image_folder and read_edm_dataset, decoded slice by slice
// (the images of a slice in parallel, in the same sorted order).
ImageStream stream_image_folder(const std::string& dir, std::int64_t resolution,
                                std::int64_t channels);
ImageStream stream_edm_dataset(const std::string& path, std::int64_t resolution,
                               std::int64_t channels);

// Encoded images (PNG/JPEG bytes) by index: `names[i]` names image i in errors, `bytes(i,
// names[i])` reads it (called from several threads). `labels` empty for an unlabelled set.
using ReadBytes = std::function<std::string(std::int64_t index, const std::string& name)>;
ImageStream stream_encoded(std::vector<std::string> names, ReadBytes bytes,
                           std::vector<std::int32_t> labels, std::int64_t num_classes,
                           std::int64_t resolution, std::int64_t channels, std::string source);

// Every image of the stream at once.
ImageSet read_whole(const ImageStream& stream);

}  // namespace sgm::data
