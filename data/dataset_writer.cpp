#include "data/dataset_writer.h"

#include <algorithm>
#include <filesystem>
#include <utility>
#include <vector>

#include "data/check_hdf5.h"
#include "data/dataset_format.h"
#include "data/hdf5_attributes.h"
#include "data/hdf5_memory_file.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/checksum.h"
#include "trainer/core/progress.h"

namespace sgm::data {
namespace fs = std::filesystem;
namespace {

constexpr std::int64_t kSliceBytes = std::int64_t{16} << 20;

// Images [begin, end) of `source` as one shard at `path`, read `per_slice` images at a time.
void write_shard(const std::string& path, const ImageStream& source, std::int64_t begin,
                 std::int64_t end, ShardInfo info, core::Progress* progress) {
  const std::int64_t n = end - begin;
  const std::int64_t data_bytes = n * source.image_bytes();
  // The in-memory file is allocated once at about its final size (data, labels, chunk index).
  Hdf5MemoryFile file(path, static_cast<std::size_t>(data_bytes + data_bytes / 16 + n * 72 +
                                                     (std::int64_t{1} << 20)));
  const hsize_t dims[4] = {static_cast<hsize_t>(n), static_cast<hsize_t>(source.height),
                           static_cast<hsize_t>(source.width),
                           static_cast<hsize_t>(source.channels)};
  Hdf5Handle space{SGM_CHECK_HDF5(H5Screate_simple(4, dims, nullptr)), H5Sclose};
  Hdf5Handle plist{SGM_CHECK_HDF5(H5Pcreate(H5P_DATASET_CREATE)), H5Pclose};
  const hsize_t chunk[4] = {1, dims[1], dims[2], dims[3]};  // one image per chunk: one read each
  if (n > 0) SGM_CHECK_HDF5(H5Pset_chunk(plist.id, 4, chunk));
  const bool is_float = source.dtype == at::kFloat;
  const hid_t memory_type = is_float ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8;
  Hdf5Handle images_ds{SGM_CHECK_HDF5(H5Dcreate2(
                           file.id(), "images", is_float ? H5T_IEEE_F32LE : H5T_STD_U8LE, space.id,
                           H5P_DEFAULT, n > 0 ? plist.id : H5P_DEFAULT, H5P_DEFAULT)),
                       H5Dclose};
  std::vector<std::int32_t> labels;
  std::uint64_t sum = core::kFnvOffset;  // images in order, then the labels
  const std::int64_t per_slice = std::max<std::int64_t>(1, kSliceBytes / source.image_bytes());
  for (std::int64_t at = begin; at < end; at += per_slice) {
    const std::int64_t m = std::min(per_slice, end - at);
    ImageSet slice = source.read(at, m);
    const at::Tensor images = slice.images.contiguous();
    SGM_CHECK(images.dim() == 4 && images.size(0) == m && images.scalar_type() == source.dtype,
              "{}: a slice of {} images came back with {} dimensions and {} images", source.source,
              m, images.dim(), images.dim() > 0 ? images.size(0) : 0);
    if (source.labelled) {
      const at::Tensor l = slice.labels.to(at::kInt).contiguous();
      const std::int32_t* p = l.data_ptr<std::int32_t>();
      for (std::int64_t i = 0; i < m; ++i) {
        if (p[i] < 0 || p[i] >= source.num_classes) {
          throw core::UsageError(fmt::format("{}: image {} has label {}, outside [0, {})",
                                             source.source, at + i, p[i], source.num_classes));
        }
      }
      labels.insert(labels.end(), p, p + m);
    }
    const hsize_t offset[4] = {static_cast<hsize_t>(at - begin), 0, 0, 0};
    const hsize_t count[4] = {static_cast<hsize_t>(m), dims[1], dims[2], dims[3]};
    Hdf5Handle file_space{SGM_CHECK_HDF5(H5Dget_space(images_ds.id)), H5Sclose};
    SGM_CHECK_HDF5(
        H5Sselect_hyperslab(file_space.id, H5S_SELECT_SET, offset, nullptr, count, nullptr));
    Hdf5Handle mem_space{SGM_CHECK_HDF5(H5Screate_simple(4, count, nullptr)), H5Sclose};
    SGM_CHECK_HDF5(H5Dwrite(images_ds.id, memory_type, mem_space.id, file_space.id, H5P_DEFAULT,
                            images.data_ptr()));
    sum = core::fnv1a(images.data_ptr(),
                      static_cast<std::size_t>(images.numel() * images.element_size()), sum);
    if (progress != nullptr) progress->advance(m);
  }
  if (source.labelled) {
    const hsize_t count = static_cast<hsize_t>(n);
    Hdf5Handle lspace{SGM_CHECK_HDF5(H5Screate_simple(1, &count, nullptr)), H5Sclose};
    Hdf5Handle labels_ds{SGM_CHECK_HDF5(H5Dcreate2(file.id(), "labels", H5T_STD_I32LE, lspace.id,
                                                   H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)),
                         H5Dclose};
    if (n > 0) {
      SGM_CHECK_HDF5(
          H5Dwrite(labels_ds.id, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data()));
    }
    sum = core::fnv1a(labels.data(), labels.size() * sizeof(std::int32_t), sum);
  }
  info.checksum = core::hex64(sum);
  write_string_attribute(file.id(), "format", kFormatName);
  write_int_attribute(file.id(), "version", kFormatVersion);
  write_int_attribute(file.id(), "height", info.height);
  write_int_attribute(file.id(), "width", info.width);
  write_int_attribute(file.id(), "channels", info.channels);
  write_int_attribute(file.id(), "num_images", info.num_images);
  write_int_attribute(file.id(), "shard_index", info.shard_index);
  write_int_attribute(file.id(), "num_shards", info.num_shards);
  write_int_attribute(file.id(), "total_images", info.total_images);
  if (source.labelled) write_int_attribute(file.id(), "num_classes", info.num_classes);
  write_string_attribute(file.id(), "source", info.source);
  write_string_attribute(file.id(), "checksum", info.checksum);
  // With no object open, the file closes at save() and is written from its own memory.
  SGM_CHECK_HDF5(H5Dclose(std::exchange(images_ds.id, -1)));
  file.save();
}

}  // namespace

std::int64_t shard_count(std::int64_t count, std::int64_t image_bytes, const WriteOptions& o) {
  if (o.num_shards > 0) return o.num_shards;
  const std::int64_t limit = std::max<std::int64_t>(1, o.shard_mib) << 20;
  const std::int64_t per =
      std::max<std::int64_t>(1, limit / std::max<std::int64_t>(1, image_bytes));
  return std::max<std::int64_t>(1, (count + per - 1) / per);
}

void check_output(const std::string& dir, const WriteOptions& o) {
  if (fs::exists(dir) && !o.overwrite)
    throw core::UsageError(dir + " exists (choose another output or allow overwriting)");
}

void write_dataset(const std::string& dir, const ImageStream& source, const WriteOptions& o,
                   core::Progress* progress) {
  const std::int64_t n = source.count;
  if (n == 0) throw core::UsageError(dir + ": refusing to write an empty dataset");
  const std::int64_t shards = shard_count(n, source.image_bytes(), o);
  if (shards < 1 || shards > n)
    throw core::UsageError(fmt::format("{} shards for {} images", shards, n));
  check_output(dir, o);
  core::StagedDirectory staged(dir);
  const fs::path tmp = staged.path();
  const std::int64_t per = (n + shards - 1) / shards;
  for (std::int64_t s = 0; s < shards; ++s) {
    const std::int64_t begin = std::min(n, s * per), end = std::min(n, (s + 1) * per);
    ShardInfo info;
    info.height = source.height;
    info.width = source.width;
    info.channels = source.channels;
    info.num_images = end - begin;
    info.shard_index = s;
    info.num_shards = shards;
    info.total_images = n;
    info.num_classes = source.labelled ? std::max(o.num_classes, source.num_classes) : 0;
    info.source = o.source.empty() ? source.source : o.source;
    write_shard((tmp / shard_file_name(o.name, s, shards)).string(), source, begin, end, info,
                progress);
  }
  staged.commit();
}

void write_dataset(const std::string& dir, const at::Tensor& images, const at::Tensor& labels,
                   const WriteOptions& o) {
  ImageSet set;
  set.images = images;
  set.labels = labels;
  set.num_classes = o.num_classes;
  write_dataset(dir, stream_of(std::move(set)), o);
}

}  // namespace sgm::data
