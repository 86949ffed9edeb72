// NumPy arrays for sgm-data make --from npy: .npy files (format versions 1-3) and .npz archives
// (zip, stored or deflated entries). Only what image datasets need: little-endian integer and
// float dtypes, C order.
#pragma once

#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "data/image_set.h"

namespace sgm::data {

// One .npy file's bytes -> tensor (dtype as stored). `what` names the source in errors.
at::Tensor parse_npy(const std::string& bytes, const std::string& what);
// Every array of a .npy (named "arr_0") or .npz file, by name. Malformed or truncated files throw
// core::UsageError naming the file; nothing larger than the file is allocated.
std::map<std::string, at::Tensor> read_numpy_arrays(const std::string& path);
// The same for a file's bytes already in memory; `path` names it in errors.
std::map<std::string, at::Tensor> parse_numpy_arrays(const std::string& bytes,
                                                     const std::string& path);

// Images from a .npy/.npz: `images_key` names the uint8 array ([N, H, W, C], or [N, H, W] for
// one channel); `labels_key` an optional integer array [N]. Empty keys pick "images"/"x" and
// "labels"/"y" when present (a .npy holds the images only).
ImageSet read_numpy_images(const std::string& path, const std::string& images_key,
                           const std::string& labels_key);

}  // namespace sgm::data
