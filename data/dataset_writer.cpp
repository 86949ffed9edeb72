#include "data/dataset_writer.h"

#include <filesystem>

#include <ATen/ops/empty.h>

#include "data/check_hdf5.h"
#include "data/dataset_format.h"
#include "data/hdf5_attributes.h"
#include "data/hdf5_memory_file.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/checksum.h"

namespace sgm::data {
namespace fs = std::filesystem;
namespace {

void write_shard(const std::string& path, const at::Tensor& images, const at::Tensor& labels,
                 const ShardInfo& info) {
  Hdf5MemoryFile file(path);
  const hsize_t dims[4] = {static_cast<hsize_t>(info.num_images), static_cast<hsize_t>(info.height),
                           static_cast<hsize_t>(info.width), static_cast<hsize_t>(info.channels)};
  Hdf5Handle space{SGM_CHECK_HDF5(H5Screate_simple(4, dims, nullptr)), H5Sclose};
  Hdf5Handle plist{SGM_CHECK_HDF5(H5Pcreate(H5P_DATASET_CREATE)), H5Pclose};
  const hsize_t chunk[4] = {1, dims[1], dims[2], dims[3]};  // one image per chunk: one read each
  if (info.num_images > 0) SGM_CHECK_HDF5(H5Pset_chunk(plist.id, 4, chunk));
  const bool is_float = images.scalar_type() == at::kFloat;
  Hdf5Handle images_ds{SGM_CHECK_HDF5(H5Dcreate2(
                           file.id(), "images", is_float ? H5T_IEEE_F32LE : H5T_STD_U8LE, space.id,
                           H5P_DEFAULT, info.num_images > 0 ? plist.id : H5P_DEFAULT, H5P_DEFAULT)),
                       H5Dclose};
  if (info.num_images > 0) {
    SGM_CHECK_HDF5(H5Dwrite(images_ds.id, is_float ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8, H5S_ALL,
                            H5S_ALL, H5P_DEFAULT, images.data_ptr()));
  }
  if (labels.defined()) {
    const hsize_t n = static_cast<hsize_t>(info.num_images);
    Hdf5Handle lspace{SGM_CHECK_HDF5(H5Screate_simple(1, &n, nullptr)), H5Sclose};
    Hdf5Handle labels_ds{SGM_CHECK_HDF5(H5Dcreate2(file.id(), "labels", H5T_STD_I32LE, lspace.id,
                                                   H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)),
                         H5Dclose};
    if (n > 0)
      SGM_CHECK_HDF5(H5Dwrite(labels_ds.id, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                              labels.data_ptr()));
  }
  write_string_attribute(file.id(), "format", kFormatName);
  write_int_attribute(file.id(), "version", kFormatVersion);
  write_int_attribute(file.id(), "height", info.height);
  write_int_attribute(file.id(), "width", info.width);
  write_int_attribute(file.id(), "channels", info.channels);
  write_int_attribute(file.id(), "num_images", info.num_images);
  write_int_attribute(file.id(), "shard_index", info.shard_index);
  write_int_attribute(file.id(), "num_shards", info.num_shards);
  write_int_attribute(file.id(), "total_images", info.total_images);
  if (labels.defined()) write_int_attribute(file.id(), "num_classes", info.num_classes);
  write_string_attribute(file.id(), "source", info.source);
  write_string_attribute(file.id(), "checksum", info.checksum);
  file.save();
}

}  // namespace

void write_dataset(const std::string& dir, const at::Tensor& images_in, const at::Tensor& labels_in,
                   const WriteOptions& o) {
  if (images_in.dim() != 4 ||
      (images_in.scalar_type() != at::kByte && images_in.scalar_type() != at::kFloat)) {
    throw core::UsageError("dataset images must be uint8 (or float32) [N, H, W, C]");
  }
  const std::int64_t n = images_in.size(0);
  if (n == 0) throw core::UsageError(dir + ": refusing to write an empty dataset");
  if (o.num_shards < 1 || o.num_shards > n)
    throw core::UsageError(fmt::format("{} shards for {} images", o.num_shards, n));
  at::Tensor images = images_in.contiguous();
  at::Tensor labels;
  std::int64_t num_classes = 0;
  if (labels_in.defined()) {
    if (labels_in.dim() != 1 || labels_in.size(0) != n)
      throw core::UsageError("labels must be [N] for N images");
    labels = labels_in.to(at::kInt).contiguous();
    if (labels.min().item<int>() < 0) throw core::UsageError("labels must be non-negative");
    // The stated number of classes, or one more than the largest label.
    num_classes = std::max<std::int64_t>(o.num_classes, labels.max().item<int>() + 1);
  }
  if (fs::exists(dir) && !o.overwrite)
    throw core::UsageError(dir + " exists (choose another output or allow overwriting)");
  core::StagedDirectory staged(dir);
  const fs::path tmp = staged.path();
  const std::int64_t per = (n + o.num_shards - 1) / o.num_shards;
  for (std::int64_t s = 0; s < o.num_shards; ++s) {
    const std::int64_t begin = std::min(n, s * per), end = std::min(n, (s + 1) * per);
    ShardInfo info;
    info.height = images.size(1);
    info.width = images.size(2);
    info.channels = images.size(3);
    info.num_images = end - begin;
    info.shard_index = s;
    info.num_shards = o.num_shards;
    info.total_images = n;
    info.num_classes = num_classes;
    info.source = o.source;
    at::Tensor shard_images = images.narrow(0, begin, end - begin).contiguous();
    at::Tensor shard_labels =
        labels.defined() ? labels.narrow(0, begin, end - begin).contiguous() : at::Tensor();
    std::uint64_t sum =
        core::fnv1a(shard_images.data_ptr(),
                    static_cast<std::size_t>(shard_images.numel() * shard_images.element_size()),
                    core::kFnvOffset);
    if (shard_labels.defined())
      sum = core::fnv1a(shard_labels.data_ptr(), static_cast<std::size_t>(shard_labels.numel()) * 4,
                        sum);
    info.checksum = core::hex64(sum);
    const std::string path = (tmp / shard_file_name(o.name, s, o.num_shards)).string();
    write_shard(path, shard_images, shard_labels, info);
  }
  staged.commit();
}

}  // namespace sgm::data
