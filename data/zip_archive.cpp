#include "data/zip_archive.h"

#include <zlib.h>

#include <fstream>
#include <limits>
#include <sstream>

#include "trainer/core/error.h"

namespace sgm::data {
namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;

// Inflates a raw deflate stream of known output size.
std::string inflate_raw(const std::string& data, std::uint64_t size, const std::string& what) {
  // Deflate expands at most 1032-fold: a larger stated size is a corrupt (or hostile) header,
  // refused before it is allocated.
  constexpr std::uint64_t kMaxRatio = 1032;
  if (size > kMaxRatio * data.size() + 64 || data.size() > std::numeric_limits<uInt>::max() ||
      size > std::numeric_limits<uInt>::max())
    throw core::UsageError(what + ": corrupt deflate sizes (" + std::to_string(data.size()) +
                           " bytes stated to inflate to " + std::to_string(size) + ")");
  std::string out(static_cast<std::size_t>(size), '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw core::Error("zlib inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  if (rc != Z_STREAM_END || z.total_out != size)
    throw core::UsageError(what + ": corrupt deflate data");
  return out;
}

}  // namespace

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

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::UsageError("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool is_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(4, '\0');
  in.read(head.data(), 4);
  return in.gcount() == 4 && le32(head, 0) == kLocalHeader;
}

std::vector<ZipMember> read_zip(const std::string& path) {
  return parse_zip(read_file_bytes(path), path);
}

namespace {

// A local file header at byte `at` of `bytes`, which must hold the whole header (name and extra
// field included) but need not hold the entry's data.
ZipEntry parse_local_header(const std::string& bytes, std::size_t at, const std::string& path) {
  if (at + 30 > bytes.size()) throw core::UsageError(path + ": truncated zip header");
  ZipEntry e;
  const std::uint16_t flags = le16(bytes, at + 6);
  e.method = le16(bytes, at + 8);
  e.compressed = le32(bytes, at + 18);
  e.size = le32(bytes, at + 22);
  const std::size_t name_len = le16(bytes, at + 26), extra_len = le16(bytes, at + 28);
  if (at + 30 + name_len + extra_len > bytes.size())
    throw core::UsageError(path + ": truncated zip header");
  e.name = bytes.substr(at + 30, name_len);
  // ZIP64: sizes live in the extra field (id 0x0001).
  if (e.compressed == 0xFFFFFFFF || e.size == 0xFFFFFFFF) {
    std::size_t x = at + 30 + name_len;
    const std::size_t extra_end = x + extra_len;
    while (x + 4 <= extra_end) {
      const std::uint16_t id = le16(bytes, x), len = le16(bytes, x + 2);
      if (id == 1 && len >= 16 && x + 20 <= extra_end) {
        e.size = static_cast<std::uint64_t>(le32(bytes, x + 4)) |
                 (static_cast<std::uint64_t>(le32(bytes, x + 8)) << 32);
        e.compressed = static_cast<std::uint64_t>(le32(bytes, x + 12)) |
                       (static_cast<std::uint64_t>(le32(bytes, x + 16)) << 32);
      }
      x += 4 + len;
    }
  }
  if (flags & 0x8)
    throw core::UsageError(path + ": zip entries with data descriptors are not supported");
  if (e.method != 0 && e.method != 8) {
    throw core::UsageError(path + ": zip entry " + core::printable(e.name) +
                           " uses compression method " + std::to_string(e.method));
  }
  e.offset = at + 30 + name_len + extra_len;
  return e;
}

// The entry's content from its raw (stored or deflated) bytes.
std::string content_of(const ZipEntry& e, std::string raw, const std::string& path) {
  if (e.method == 0) return raw;
  return inflate_raw(raw, e.size, path + ":" + core::printable(e.name));
}

}  // namespace

std::vector<ZipMember> parse_zip(const std::string& bytes, const std::string& path) {
  std::vector<ZipMember> members;
  // The local file headers, one after another; the central directory follows the last.
  std::size_t at = 0;
  while (at + 30 <= bytes.size() && le32(bytes, at) == kLocalHeader) {
    const ZipEntry e = parse_local_header(bytes, at, path);
    if (e.compressed > bytes.size() - e.offset)
      throw core::UsageError(path + ": truncated zip entry " + core::printable(e.name));
    members.push_back({e.name, content_of(e, bytes.substr(e.offset, e.compressed), path)});
    at = e.offset + e.compressed;
  }
  if (at == 0) throw core::UsageError(path + ": not a zip archive");
  return members;
}

std::vector<ZipEntry> index_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw core::UsageError("cannot read " + path);
  const auto length = static_cast<std::uint64_t>(in.tellg());
  std::vector<ZipEntry> entries;
  std::uint64_t at = 0;
  std::string header(30, '\0');
  while (at + 30 <= length) {
    in.seekg(static_cast<std::streamoff>(at));
    header.resize(30);
    if (!in.read(header.data(), 30))
      throw core::UsageError(path + ": cannot read at " + std::to_string(at));
    if (le32(header, 0) != kLocalHeader) break;
    const std::size_t rest = std::size_t{le16(header, 26)} + le16(header, 28);
    header.resize(30 + rest);
    if (!in.read(header.data() + 30, static_cast<std::streamsize>(rest)))
      throw core::UsageError(path + ": truncated zip header");
    ZipEntry e = parse_local_header(header, 0, path);
    e.offset += at;
    if (e.compressed > length - e.offset)
      throw core::UsageError(path + ": truncated zip entry " + core::printable(e.name));
    at = e.offset + e.compressed;
    entries.push_back(std::move(e));
  }
  if (at == 0) throw core::UsageError(path + ": not a zip archive");
  return entries;
}

std::string read_zip_entry(const std::string& path, const ZipEntry& entry) {
  std::ifstream in(path, std::ios::binary);
  std::string raw(static_cast<std::size_t>(entry.compressed), '\0');
  in.seekg(static_cast<std::streamoff>(entry.offset));
  if (!in || !in.read(raw.data(), static_cast<std::streamsize>(raw.size())))
    throw core::UsageError(path + ": cannot read zip entry " + core::printable(entry.name));
  return content_of(entry, std::move(raw), path);
}

}  // namespace sgm::data
