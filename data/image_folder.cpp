// Reading image folders with stb (PNG/JPEG decode, resize) and writing PNGs.
#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <map>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "data/image_set.h"
#include "data/image_stream.h"
#include "data/zip_archive.h"
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

// Only PNG and JPEG go to the decoder (it recognises eight more formats by their first bytes,
// which sgm neither needs nor tests), and a PNG only when every chunk's stated length lies inside
// the file: the decoder grows its buffer to a stated IDAT length before reading it (a 1 KB file
// asked for 1.6 GB).
void check_container(const std::string& bytes, const std::string& what) {
  static constexpr char kPng[] = "\x89PNG\r\n\x1a\n";
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xD8 && static_cast<unsigned char>(bytes[2]) == 0xFF)
    return;  // JPEG: its segments state 16-bit lengths
  if (bytes.compare(0, 8, kPng, 8) != 0)
    throw core::UsageError(core::printable(what) + ": cannot decode image (neither PNG nor JPEG)");
  std::size_t at = 8;
  while (at + 8 <= bytes.size()) {
    const auto byte = [&](std::size_t i) {
      return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i]));
    };
    const std::uint64_t length = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
    if (length + 12 > bytes.size() - at) {
      throw core::UsageError(
          fmt::format("{}: cannot decode image (a PNG chunk ends {} bytes past the file)",
                      core::printable(what), length + 12 - (bytes.size() - at)));
    }
    if (bytes.compare(at + 4, 4, "IEND") == 0) return;
    at += 12 + length;
  }
}

// stb's reason for the last failure. It may hold bytes of the file (an unknown PNG chunk's
// type is copied into it), so they are escaped.
std::string decoder_error() { return core::printable(stbi_failure_reason()); }

}  // namespace

at::Tensor decode_image(const std::string& bytes, const std::string& what, std::int64_t resolution,
                        std::int64_t channels, std::int64_t max_pixels) {
  // The header's size is checked before anything is decoded: a decompression bomb of a few
  // kilobytes can state an image of gigabytes, which the decoder would allocate and fill.
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    throw core::UsageError(core::printable(what) + ": an image file over 2 GiB");
  check_container(bytes, what);
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(data, size, &w, &h, &c))
    throw core::UsageError(core::printable(what) + ": cannot decode image (" + decoder_error() +
                           ")");
  if (static_cast<std::int64_t>(w) * h > max_pixels) {
    throw core::UsageError(fmt::format("{}: {} x {} pixels, more than sgm decodes ({})",
                                       core::printable(what), w, h, max_pixels));
  }
  unsigned char* pixels = stbi_load_from_memory(data, size, &w, &h, &c, static_cast<int>(channels));
  if (pixels == nullptr)
    throw core::UsageError(core::printable(what) + ": cannot decode image (" + decoder_error() +
                           ")");
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
    throw core::UsageError(what + ": cannot resize");
  }
  return out;
}

at::Tensor read_image(const std::string& file, std::int64_t resolution, std::int64_t channels) {
  return decode_image(read_file_bytes(file), file, resolution, channels);
}

ImageStream stream_image_folder(const std::string& dir, std::int64_t resolution,
                                std::int64_t channels) {
  if (!fs::is_directory(dir)) throw core::UsageError("image folder " + dir + " does not exist");
  if (channels != 1 && channels != 3) throw core::UsageError("--channels must be 1 or 3");
  if (fs::exists(fs::path(dir) / "dataset.json")) {
    throw core::UsageError(dir +
                           " has a dataset.json (EDM's dataset_tool layout, whose numbered "
                           "folders are not classes): use --from edm");
  }
  std::vector<fs::path> classes;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory()) classes.push_back(e.path());
  }
  std::sort(classes.begin(), classes.end());
  std::vector<std::string> names;
  std::vector<std::int32_t> labels;
  if (classes.empty()) {
    for (const auto& f : images_in(dir)) names.push_back(f.string());
  } else {
    for (std::size_t k = 0; k < classes.size(); ++k) {
      for (const auto& f : images_in(classes[k])) {
        names.push_back(f.string());
        labels.push_back(static_cast<std::int32_t>(k));
      }
    }
  }
  if (names.empty()) throw core::UsageError("no PNG or JPEG images in " + dir);
  std::string source = fmt::format(
      "image folder {} ({} classes){}", dir, classes.size(),
      resolution > 0
          ? fmt::format(", centre-cropped and resized to {} (stb_image_resize)", resolution)
          : "");
  // The names are the files' paths.
  return stream_encoded(
      std::move(names), [](std::int64_t, const std::string& path) { return read_file_bytes(path); },
      std::move(labels), static_cast<std::int64_t>(classes.size()), resolution, channels,
      std::move(source));
}

ImageSet read_image_folder(const std::string& dir, std::int64_t resolution, std::int64_t channels) {
  return read_whole(stream_image_folder(dir, resolution, channels));
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
