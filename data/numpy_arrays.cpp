#include "data/numpy_arrays.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include <ATen/ops/empty.h>

#include "data/zip_archive.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace {

// Where the value of `key` starts in a .npy header (its dictionary as text): after the key and
// any whitespace; npos without the key. (Plain string search: <regex> costs seconds of compile
// time per use and recurses on long input.)
std::size_t value_start(const std::string& header, const std::string& key) {
  std::size_t at = header.find(key);
  if (at == std::string::npos) return at;
  at += key.size();
  while (at < header.size() && std::isspace(static_cast<unsigned char>(header[at]))) ++at;
  return at;
}

// The text between `open` and `close` at the value of `key`; nullopt when absent.
std::optional<std::string> delimited_value(const std::string& header, const std::string& key,
                                           char open, char close) {
  const std::size_t at = value_start(header, key);
  if (at == std::string::npos || at >= header.size() || header[at] != open) return std::nullopt;
  const std::size_t end = header.find(close, at + 1);
  if (end == std::string::npos) return std::nullopt;
  return header.substr(at + 1, end - at - 1);
}

at::ScalarType numpy_dtype(const std::string& descr, const std::string& what) {
  static const std::map<std::string, at::ScalarType> types = {
      {"|u1", at::kByte},  {"<u1", at::kByte},   {"|i1", at::kChar},
      {"<i2", at::kShort}, {"<i4", at::kInt},    {"<i8", at::kLong},
      {"<f4", at::kFloat}, {"<f8", at::kDouble}, {"|b1", at::kBool}};
  auto it = types.find(descr);
  if (it == types.end())
    throw core::UsageError(what + ": unsupported dtype '" + core::printable(descr) + "'");
  return it->second;
}

}  // namespace

at::Tensor parse_npy(const std::string& b, const std::string& what) {
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0)
    throw core::UsageError(what + ": not a .npy array");
  const int major = static_cast<unsigned char>(b[6]);
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = le16(b, 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw core::UsageError(what + ": truncated .npy header");
    header_len = le32(b, 8);
    offset = 12;
  } else {
    throw core::UsageError(what + ": unsupported .npy version " + std::to_string(major));
  }
  if (header_len > b.size() - offset) throw core::UsageError(what + ": truncated .npy header");
  const std::string header = b.substr(offset, header_len);
  const std::optional<std::string> descr = delimited_value(header, "'descr':", '\'', '\'');
  if (!descr || descr->empty()) throw core::UsageError(what + ": .npy header without descr");
  const at::ScalarType dtype = numpy_dtype(*descr, what);
  const std::size_t order = value_start(header, "'fortran_order':");
  if (order != std::string::npos && header.compare(order, 4, "True") == 0)
    throw core::UsageError(what + ": Fortran-order arrays are not supported");
  const std::optional<std::string> dims_text = delimited_value(header, "'shape':", '(', ')');
  if (!dims_text) throw core::UsageError(what + ": .npy header without shape");
  // The shape's product, checked against the bytes that follow before anything is allocated.
  const std::size_t data = offset + header_len;
  const std::size_t available = (b.size() - data) / c10::elementSize(dtype);
  std::vector<std::int64_t> shape;
  std::size_t numel = 1;
  std::stringstream dims(*dims_text);
  std::string item;
  while (std::getline(dims, item, ',')) {
    const std::size_t first = item.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    const std::size_t last = item.find_last_not_of(' ');
    const std::string digits = item.substr(first, last - first + 1);
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      throw core::UsageError(what + ": .npy shape entry '" + core::printable(digits) +
                             "' is not a size");
    shape.push_back(std::stoll(digits));
    const auto extent = static_cast<std::size_t>(shape.back());
    if (extent != 0 && numel > available / extent) numel = available + 1;  // more than there is
    else numel *= extent;
  }
  if (numel > available) throw core::UsageError(what + ": truncated .npy data");
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (t.nbytes() > 0) std::memcpy(t.data_ptr(), b.data() + data, t.nbytes());
  return t;
}

std::map<std::string, at::Tensor> parse_numpy_arrays(const std::string& bytes,
                                                     const std::string& path) {
  std::map<std::string, at::Tensor> arrays;
  if (bytes.compare(0, 6, "\x93NUMPY") == 0) {
    arrays["arr_0"] = parse_npy(bytes, path);
    return arrays;
  }
  if (bytes.size() < 4 || le32(bytes, 0) != 0x04034b50)
    throw core::UsageError(path + ": neither a .npy array nor a .npz archive");
  for (const ZipMember& member : parse_zip(bytes, path)) {
    const std::string& name = member.name;
    std::string key = name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0
                          ? name.substr(0, name.size() - 4)
                          : name;
    arrays[key] = parse_npy(member.content, path + ":" + core::printable(name));
  }
  if (arrays.empty()) throw core::UsageError(path + ": neither a .npy array nor a .npz archive");
  return arrays;
}

std::map<std::string, at::Tensor> read_numpy_arrays(const std::string& path) {
  return parse_numpy_arrays(read_file_bytes(path), path);
}

ImageSet read_numpy_images(const std::string& path, const std::string& images_key,
                           const std::string& labels_key) {
  auto arrays = read_numpy_arrays(path);
  auto pick = [&](const std::string& key,
                  std::initializer_list<const char*> defaults) -> std::string {
    if (!key.empty()) {
      if (arrays.count(key) == 0) throw core::UsageError(path + ": no array '" + key + "'");
      return key;
    }
    for (const char* d : defaults) {
      if (arrays.count(d)) return d;
    }
    return "";
  };
  const std::string ik = pick(images_key, {"images", "x", "arr_0"});
  if (ik.empty()) throw core::UsageError(path + ": no images array (name it with --array)");
  at::Tensor images = arrays[ik];
  if (images.scalar_type() != at::kByte)
    throw core::UsageError(path + ": array '" + ik +
                           "' is not uint8 (convert the pixels to uint8 first)");
  if (images.dim() == 3) images = images.unsqueeze(-1);
  if (images.dim() != 4)
    throw core::UsageError(path + ": array '" + ik + "' is not [N, H, W, C] or [N, H, W]");
  ImageSet set;
  set.images = images.contiguous();
  const std::string lk = pick(labels_key, {"labels", "y"});
  if (!lk.empty()) {
    at::Tensor labels = arrays[lk];
    if (labels.dim() != 1 || labels.size(0) != images.size(0) ||
        at::isFloatingType(labels.scalar_type())) {
      throw core::UsageError(path + ": array '" + lk + "' is not integer labels [N] for the " +
                             std::to_string(images.size(0)) + " images");
    }
    if (labels.numel() > 0 && (labels.min().item<std::int64_t>() < 0 ||
                               labels.max().item<std::int64_t>() >= (std::int64_t{1} << 30)))
      throw core::UsageError(path + ": array '" + lk + "' holds labels outside [0, 2^30)");
    set.labels = labels.to(at::kInt);
    set.num_classes = labels.numel() > 0 ? set.labels.max().item<int>() + 1 : 0;
  }
  set.source =
      "NumPy " + path + " (array '" + ik + "'" + (lk.empty() ? "" : ", labels '" + lk + "'") + ")";
  return set;
}

}  // namespace sgm::data
