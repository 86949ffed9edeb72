#include "data/numpy_arrays.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include <ATen/ops/empty.h>

#include "trainer/core/error.h"

namespace sgm::data {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::UsageError("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uint32_t le32(const std::string& b, std::size_t at) {
  std::uint32_t v = 0;
  for (int k = 3; k >= 0; --k)
    v = (v << 8) | static_cast<unsigned char>(b.at(at + static_cast<std::size_t>(k)));
  return v;
}
std::uint16_t le16(const std::string& b, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b.at(at)) |
                                    (static_cast<unsigned char>(b.at(at + 1)) << 8));
}

at::ScalarType numpy_dtype(const std::string& descr, const std::string& what) {
  static const std::map<std::string, at::ScalarType> types = {
      {"|u1", at::kByte},  {"<u1", at::kByte},   {"|i1", at::kChar},
      {"<i2", at::kShort}, {"<i4", at::kInt},    {"<i8", at::kLong},
      {"<f4", at::kFloat}, {"<f8", at::kDouble}, {"|b1", at::kBool}};
  auto it = types.find(descr);
  if (it == types.end()) throw core::UsageError(what + ": unsupported dtype '" + descr + "'");
  return it->second;
}

// Inflates a raw deflate stream of known output size.
std::string inflate_raw(const std::string& data, std::size_t size, const std::string& what) {
  std::string out(size, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw core::Error("zlib inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw core::UsageError(what + ": corrupt deflate data");
  return out;
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
    header_len = le32(b, 8);
    offset = 12;
  } else {
    throw core::UsageError(what + ": unsupported .npy version " + std::to_string(major));
  }
  const std::string header = b.substr(offset, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr':\s*'([^']+)')")))
    throw core::UsageError(what + ": .npy header without descr");
  const at::ScalarType dtype = numpy_dtype(m[1], what);
  if (std::regex_search(header, std::regex(R"('fortran_order':\s*True)")))
    throw core::UsageError(what + ": Fortran-order arrays are not supported");
  if (!std::regex_search(header, m, std::regex(R"('shape':\s*\(([^)]*)\))")))
    throw core::UsageError(what + ": .npy header without shape");
  std::vector<std::int64_t> shape;
  std::stringstream dims(m[1].str());
  std::string item;
  while (std::getline(dims, item, ',')) {
    if (item.find_first_not_of(" ") != std::string::npos) shape.push_back(std::stoll(item));
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  const std::size_t bytes = static_cast<std::size_t>(t.numel()) * t.element_size();
  const std::size_t data = offset + header_len;
  if (b.size() < data + bytes) throw core::UsageError(what + ": truncated .npy data");
  std::memcpy(t.data_ptr(), b.data() + data, bytes);
  return t;
}

std::map<std::string, at::Tensor> read_numpy_arrays(const std::string& path) {
  const std::string bytes = read_file(path);
  std::map<std::string, at::Tensor> arrays;
  if (bytes.compare(0, 6, "\x93NUMPY") == 0) {
    arrays["arr_0"] = parse_npy(bytes, path);
    return arrays;
  }
  // .npz: walk the zip's local file headers (numpy writes no data descriptors).
  std::size_t at = 0;
  while (at + 30 <= bytes.size() && le32(bytes, at) == 0x04034b50) {
    const std::uint16_t flags = le16(bytes, at + 6), method = le16(bytes, at + 8);
    std::size_t compressed = le32(bytes, at + 18), size = le32(bytes, at + 22);
    const std::size_t name_len = le16(bytes, at + 26), extra_len = le16(bytes, at + 28);
    const std::string name = bytes.substr(at + 30, name_len);
    // ZIP64: sizes live in the extra field (id 0x0001).
    if (compressed == 0xFFFFFFFF || size == 0xFFFFFFFF) {
      std::size_t e = at + 30 + name_len;
      while (e + 4 <= at + 30 + name_len + extra_len) {
        const std::uint16_t id = le16(bytes, e), len = le16(bytes, e + 2);
        if (id == 1) {
          size = static_cast<std::size_t>(le32(bytes, e + 4)) |
                 (static_cast<std::size_t>(le32(bytes, e + 8)) << 32);
          compressed = static_cast<std::size_t>(le32(bytes, e + 12)) |
                       (static_cast<std::size_t>(le32(bytes, e + 16)) << 32);
        }
        e += 4 + len;
      }
    }
    if (flags & 0x8)
      throw core::UsageError(path + ": zip entries with data descriptors are not supported");
    const std::size_t data = at + 30 + name_len + extra_len;
    if (data + compressed > bytes.size())
      throw core::UsageError(path + ": truncated zip entry " + name);
    const std::string raw = bytes.substr(data, compressed);
    std::string content;
    if (method == 0) {
      content = raw;
    } else if (method == 8) {
      content = inflate_raw(raw, size, path + ":" + name);
    } else {
      throw core::UsageError(path + ": zip entry " + name + " uses compression method " +
                             std::to_string(method));
    }
    std::string key = name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0
                          ? name.substr(0, name.size() - 4)
                          : name;
    arrays[key] = parse_npy(content, path + ":" + name);
    at = data + compressed;
  }
  if (arrays.empty()) throw core::UsageError(path + ": neither a .npy array nor a .npz archive");
  return arrays;
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
    set.labels = labels.to(at::kInt);
    set.num_classes = set.labels.max().item<int>() + 1;
  }
  set.source =
      "NumPy " + path + " (array '" + ik + "'" + (lk.empty() ? "" : ", labels '" + lk + "'") + ")";
  return set;
}

}  // namespace sgm::data
