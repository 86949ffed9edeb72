#include "data/numpy_writer.h"

#include <zlib.h>

#include <cstdint>
#include <limits>
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace {

void put16(std::string& s, std::uint32_t v) {
  s += static_cast<char>(v & 0xFF);
  s += static_cast<char>((v >> 8) & 0xFF);
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}

std::string descr(at::ScalarType t) {
  static const std::map<at::ScalarType, std::string> names = {
      {at::kBool, "|b1"}, {at::kByte, "|u1"}, {at::kChar, "|i1"},  {at::kShort, "<i2"},
      {at::kInt, "<i4"},  {at::kLong, "<i8"}, {at::kFloat, "<f4"}, {at::kDouble, "<f8"}};
  auto it = names.find(t);
  if (it == names.end()) throw core::Error(fmt::format("no NumPy dtype for {}", c10::toString(t)));
  return it->second;
}

}  // namespace

std::string format_npy(const at::Tensor& t_in) {
  const at::Tensor t = t_in.detach().to(at::kCPU).contiguous();
  std::string shape;
  for (auto d : t.sizes()) shape += std::to_string(d) + (t.dim() == 1 ? "," : ", ");
  if (t.dim() > 1) shape.resize(shape.size() - 2);
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}",
                                   descr(t.scalar_type()), shape);
  // Pad with spaces so that magic + version + length + header is a multiple of 64, then '\n'.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  if (header.size() > std::numeric_limits<std::uint16_t>::max())
    throw core::Error("a .npy header longer than 65535 bytes");
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  put16(out, static_cast<std::uint32_t>(header.size()));
  out += header;
  out.append(static_cast<const char*>(t.data_ptr()),
             static_cast<std::size_t>(t.numel()) * t.element_size());
  return out;
}

void write_npz(const std::string& path,
               const std::vector<std::pair<std::string, at::Tensor>>& arrays) {
  std::string zip, directory;
  for (const auto& [name, tensor] : arrays) {
    const std::string file = name + ".npy";
    const std::string content = format_npy(tensor);
    if (content.size() >= 0xFFFFFFFFull || zip.size() >= 0xFFFFFFFFull)
      throw core::Error(fmt::format("{}: '{}' is too large for a .npz without zip64", path, name));
    const auto crc = static_cast<std::uint32_t>(crc32(
        0L, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size())));
    const auto size = static_cast<std::uint32_t>(content.size());
    const auto offset = static_cast<std::uint32_t>(zip.size());
    // Local file header: version 2.0, no flags, stored, no time stamp.
    put32(zip, 0x04034b50);
    put16(zip, 20);
    put16(zip, 0);
    put16(zip, 0);
    put32(zip, 0);
    put32(zip, crc);
    put32(zip, size);
    put32(zip, size);
    put16(zip, static_cast<std::uint32_t>(file.size()));
    put16(zip, 0);
    zip += file;
    zip += content;
    // Its central directory record.
    put32(directory, 0x02014b50);
    put16(directory, 20);
    put16(directory, 20);
    put16(directory, 0);
    put16(directory, 0);
    put32(directory, 0);
    put32(directory, crc);
    put32(directory, size);
    put32(directory, size);
    put16(directory, static_cast<std::uint32_t>(file.size()));
    put32(directory, 0);  // extra and comment lengths
    put32(directory, 0);  // disk number and internal attributes
    put32(directory, 0);  // external attributes
    put32(directory, offset);
    directory += file;
  }
  const auto directory_offset = static_cast<std::uint32_t>(zip.size());
  zip += directory;
  put32(zip, 0x06054b50);
  put32(zip, 0);  // this disk, the directory's disk
  put16(zip, static_cast<std::uint32_t>(arrays.size()));
  put16(zip, static_cast<std::uint32_t>(arrays.size()));
  put32(zip, static_cast<std::uint32_t>(directory.size()));
  put32(zip, directory_offset);
  put16(zip, 0);
  core::write_file_atomic(path, zip);
}

}  // namespace sgm::data
