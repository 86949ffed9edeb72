// Reading zip archives, whole or an entry at a time: the .npz files of NumPy and the dataset
// zips of EDM's dataset_tool.py (stored or deflated entries, ZIP64 sizes; no data descriptors,
// which neither writes to a file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sgm::data {

struct ZipMember {
  std::string name;     // as stored, '/'-separated
  std::string content;  // uncompressed
};

// Every member of the archive at `path`, in the order stored. Throws core::UsageError naming
// the file (and the member) when it cannot be read, is not a zip, or is truncated or corrupt.
std::vector<ZipMember> read_zip(const std::string& path);
// The same for an archive already in memory; `path` names it in errors.
std::vector<ZipMember> parse_zip(const std::string& bytes, const std::string& path);

// Where an entry's data lies in its archive: enough to read it alone.
struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflated
  std::uint64_t offset = 0;  // of the (compressed) data
  std::uint64_t compressed = 0;
  std::uint64_t size = 0;  // uncompressed
};

// The entries of the archive at `path`, read from its local headers (the data is skipped, so
// the index of a large archive costs little memory); errors as read_zip.
std::vector<ZipEntry> index_zip(const std::string& path);
// One entry's content (safe to call from several threads: each call opens the file).
std::string read_zip_entry(const std::string& path, const ZipEntry& entry);

// True when the file starts with a zip local-file header.
bool is_zip(const std::string& path);

// Little-endian integers at byte `at` of `bytes` (std::out_of_range past its end): what zip and
// .npy headers are made of.
std::uint32_t le32(const std::string& bytes, std::size_t at);
std::uint16_t le16(const std::string& bytes, std::size_t at);

// The whole file; core::UsageError naming it when it cannot be read.
std::string read_file_bytes(const std::string& path);

}  // namespace sgm::data
