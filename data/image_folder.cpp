// Reading image folders with stb (PNG/JPEG decode, resize) and writing PNGs.
#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <vector>

#include <ATen/ATen.h>

#include "data/image_set.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace fs = std::filesystem;
namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<fs::path> images_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && is_image(e.path())) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

at::Tensor read_image(const std::string& file, std::int64_t resolution, std::int64_t channels) {
  const fs::path path(file);
  int w = 0, h = 0, c = 0;
  unsigned char* pixels = stbi_load(path.c_str(), &w, &h, &c, static_cast<int>(channels));
  if (pixels == nullptr)
    throw core::UsageError(path.string() + ": cannot decode image (" + stbi_failure_reason() + ")");
  at::Tensor image = at::from_blob(pixels, {h, w, channels}, at::kByte).clone();
  stbi_image_free(pixels);
  if (resolution <= 0) return image;
  const std::int64_t side = std::min<std::int64_t>(h, w);
  at::Tensor square =
      image.narrow(0, (h - side) / 2, side).narrow(1, (w - side) / 2, side).contiguous();
  if (side == resolution) return square;
  at::Tensor out = at::empty({resolution, resolution, channels}, at::kByte);
  if (!stbir_resize_uint8(square.data_ptr<std::uint8_t>(), static_cast<int>(side),
                          static_cast<int>(side), 0, out.data_ptr<std::uint8_t>(),
                          static_cast<int>(resolution), static_cast<int>(resolution), 0,
                          static_cast<int>(channels))) {
    throw core::UsageError(path.string() + ": cannot resize");
  }
  return out;
}

ImageSet read_image_folder(const std::string& dir, std::int64_t resolution, std::int64_t channels) {
  if (!fs::is_directory(dir)) throw core::UsageError("image folder " + dir + " does not exist");
  if (channels != 1 && channels != 3) throw core::UsageError("--channels must be 1 or 3");
  std::vector<fs::path> classes;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory()) classes.push_back(e.path());
  }
  std::sort(classes.begin(), classes.end());
  std::vector<std::pair<fs::path, int>> files;
  if (classes.empty()) {
    for (const auto& f : images_in(dir)) files.emplace_back(f, -1);
  } else {
    for (std::size_t k = 0; k < classes.size(); ++k) {
      for (const auto& f : images_in(classes[k])) files.emplace_back(f, static_cast<int>(k));
    }
  }
  if (files.empty()) throw core::UsageError("no PNG or JPEG images in " + dir);
  std::vector<at::Tensor> images;
  std::vector<int> labels;
  for (const auto& [path, label] : files) {
    images.push_back(read_image(path, resolution, channels));
    if (images.back().sizes() != images.front().sizes()) {
      throw core::UsageError(fmt::format(
          "{}: {}x{} differs from {}x{} of {} (give --resolution to resize)", path.string(),
          images.back().size(0), images.back().size(1), images.front().size(0),
          images.front().size(1), files.front().first.string()));
    }
    labels.push_back(label);
  }
  ImageSet set;
  set.images = at::stack(images);
  if (!classes.empty()) {
    set.labels = at::tensor(labels, at::kInt);
    set.num_classes = static_cast<std::int64_t>(classes.size());
  }
  set.source = fmt::format(
      "image folder {} ({} classes){}", dir, classes.size(),
      resolution > 0
          ? fmt::format(", centre-cropped and resized to {} (stb_image_resize)", resolution)
          : "");
  return set;
}

void write_png(const std::string& path, const at::Tensor& image_in) {
  at::Tensor image = image_in.contiguous();
  if (image.dim() != 3 || image.scalar_type() != at::kByte)
    throw core::Error("write_png needs uint8 [H, W, C]");
  const int h = static_cast<int>(image.size(0)), w = static_cast<int>(image.size(1)),
            c = static_cast<int>(image.size(2));
  // Encoded in memory, then written whole: a full disk is one error naming the file.
  std::string png;
  auto append = [](void* out, void* data, int size) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(data),
                                           static_cast<std::size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &png, w, h, c, image.data_ptr<std::uint8_t>(), w * c))
    throw core::Error("cannot encode " + path + " as PNG");
  core::write_file_atomic(path, png);
}

}  // namespace sgm::data
