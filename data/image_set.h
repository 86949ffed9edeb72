// Sources of images for sgm-data make: CIFAR-10 binary batches and procedural shapes.
// Every source yields uint8 [N, H, W, C] images and, when labelled, int32 [N] labels.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sgm::data {

struct ImageSet {
  at::Tensor images;  // uint8 [N, H, W, C]
  at::Tensor labels;  // int32 [N] or undefined
  std::int64_t num_classes = 0;
  std::string source;  // a one-line description, recorded in the shards
};

// CIFAR-10 binary version (the data_batch_*.bin files users download): records of one label
// byte and 3072 pixel bytes (1024 red, 1024 green, 1024 blue, row-major 32x32). split "train"
// reads data_batch_1..5.bin, "test" reads test_batch.bin, from `dir`. Errors name the file.
ImageSet read_cifar10(const std::string& dir, const std::string& split);

// Writes images/labels in the CIFAR-10 binary layout (tests and round trips); images uint8
// [N, 32, 32, 3], labels [N] in [0, 255].
void write_cifar10_batch(const std::string& path, const at::Tensor& images,
                         const at::Tensor& labels);

// An image folder: PNG/JPEG files, one sub-folder per class (sorted names give the label), or
// files directly in `dir` for an unlabelled set. Images are decoded to `channels` (1 or 3). With
// `resolution` > 0 each image is centre-cropped to a square and resized to resolution^2 with
// stb_image_resize (Mitchell filter when shrinking, Catmull-Rom when enlarging); with 0 all
// images must already share one size. Files are taken in sorted path order.
ImageSet read_image_folder(const std::string& dir, std::int64_t resolution, std::int64_t channels);

// Decodes one PNG/JPEG file to uint8 [H, W, channels]; with `resolution` > 0, centre-cropped to
// a square and resized to resolution^2 as read_image_folder does. Errors name the file.
at::Tensor read_image(const std::string& path, std::int64_t resolution, std::int64_t channels);

// The largest image read_image decodes (8192 x 8192): its header's size is checked first.
inline constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 26;
// Decodes PNG/JPEG bytes as read_image does; `what` names them in errors; an image of more than
// `max_pixels` pixels is refused before it is decoded.
at::Tensor decode_image(const std::string& bytes, const std::string& what, std::int64_t resolution,
                        std::int64_t channels, std::int64_t max_pixels = kMaxImagePixels);

// EDM's dataset_tool.py output: a zip, or the folder it unzips to (00000/img00000000.png, ...),
// with the labels in dataset.json ({"labels": [[name, label], ...]} or null). Images in sorted
// name order, as EDM's ImageFolderDataset takes them; resolution and channels as
// read_image_folder. Errors name the file or member.
ImageSet read_edm_dataset(const std::string& path, std::int64_t resolution, std::int64_t channels);
// The labels of an EDM dataset.json's text by file name (empty for "labels": null or none);
// core::UsageError naming `what` when it is not that layout.
std::map<std::string, std::int64_t> parse_edm_labels(const std::string& text,
                                                     const std::string& what);

// Writes uint8 [H, W, C] as a PNG (sample grids, plots), atomically (core::write_file_atomic).
void write_png(const std::string& path, const at::Tensor& image);

// Procedural images for CPU training without downloads: a disc, square or triangle (the label)
// of random colour, position and size on a random background, `resolution` pixels square.
// Image i depends only on (seed, i).
ImageSet make_shapes(std::int64_t count, std::int64_t resolution, std::uint64_t seed);

}  // namespace sgm::data
