#include "data/sharded_dataset.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include "data/check_hdf5.h"
#include "data/hdf5_attributes.h"
#include "trainer/core/checksum.h"
#include "trainer/core/name_fields.h"
#include "trainer/core/progress.h"

namespace sgm::data {
namespace fs = std::filesystem;
namespace {

// Images read at once by verify_checksums (bytes).
constexpr std::int64_t kVerifySliceBytes = std::int64_t{16} << 20;
// Metadata cache of a shard during read_all_images (bytes).
constexpr std::size_t kReadAllMetadataCache = 256 * 1024;

[[noreturn]] void bad(const std::string& file, const std::string& what) {
  throw core::UsageError(file + ": " + what);
}

// An HDF5 call on the shard being validated (check_hdf5_read).
#define SGM_READ_SHARD(call) check_hdf5_read((call), file, #call)

}  // namespace

ShardedDataset::ShardedDataset(const std::string& dir) : dir_(dir) {
  // A shard refused after others were opened: close what is open (the destructor of an object
  // whose constructor throws does not run; HDF5 would keep the files and their caches).
  try {
    open_shards(dir);
  } catch (...) {
    close_files();
    throw;
  }
}

void ShardedDataset::open_shards(const std::string& dir) {
  hdf5_quiet();
  if (!fs::is_directory(dir))
    throw core::UsageError("dataset directory " + dir + " does not exist");
  // Shards are NAME-iiiii-of-nnnnn.h5; every one of them must be there.
  std::map<std::int64_t, std::string> by_index;
  std::string name;
  std::int64_t count = -1;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    // NAME-iiiii-of-nnnnn.h5: the last 18 characters after a non-empty NAME.
    constexpr std::size_t kTail = 18;
    if (file.size() <= kTail) continue;
    const std::size_t at = file.size() - kTail;
    if (file.compare(at, 1, "-") != 0 || file.compare(at + 6, 4, "-of-") != 0 ||
        file.compare(at + 15, 3, ".h5") != 0)
      continue;
    const std::int64_t index = core::decimal_field(file, at + 1, 5);
    const std::int64_t of = core::decimal_field(file, at + 10, 5);
    if (index < 0 || of < 0) continue;
    const std::string stem = file.substr(0, at);
    if (count >= 0 && (stem != name || of != count)) {
      bad(entry.path().string(),
          fmt::format("belongs to another dataset than {}-*-of-{:05d}.h5", name, count));
    }
    name = stem;
    count = of;
    by_index[index] = entry.path().string();
  }
  if (count < 0) throw core::UsageError("no dataset shards (NAME-00000-of-000NN.h5) in " + dir);
  for (std::int64_t i = 0; i < count; ++i) {
    if (by_index.count(i) == 0)
      bad((fs::path(dir) / shard_file_name(name, i, count)).string(), "shard missing");
  }
  if (static_cast<std::int64_t>(by_index.size()) != count)
    throw core::UsageError(dir + ": shard indices beyond the stated count");

  hid_t fapl = SGM_CHECK_HDF5(H5Pcreate(H5P_FILE_ACCESS));
  Hdf5Handle plist{fapl, H5Pclose};
  SGM_CHECK_HDF5(H5Pset_file_locking(fapl, false, true));
  for (const auto& [index, file] : by_index) {
    if (H5Fis_hdf5(file.c_str()) <= 0) bad(file, "not an HDF5 file (or truncated)");
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, fapl);
    if (f < 0) bad(file, "cannot be opened (truncated or damaged): " + hdf5_error_stack());
    file_ids_.push_back(f);
    files_.push_back(file);
    if (!has_attribute(f, "format", file) ||
        read_string_attribute(f, "format", file) != kFormatName)
      bad(file, "not an sgm dataset shard");
    if (read_int_attribute(f, "version", file) != kFormatVersion)
      bad(file, "unsupported format version");
    ShardInfo s;
    s.height = read_int_attribute(f, "height", file);
    s.width = read_int_attribute(f, "width", file);
    s.channels = read_int_attribute(f, "channels", file);
    s.num_images = read_int_attribute(f, "num_images", file);
    s.shard_index = read_int_attribute(f, "shard_index", file);
    s.num_shards = read_int_attribute(f, "num_shards", file);
    s.total_images = read_int_attribute(f, "total_images", file);
    s.num_classes =
        has_attribute(f, "num_classes", file) ? read_int_attribute(f, "num_classes", file) : 0;
    s.source = read_string_attribute(f, "source", file);
    s.checksum = read_string_attribute(f, "checksum", file);
    if (s.shard_index != index || s.num_shards != count)
      bad(file, "shard_index/num_shards attributes disagree with the file name");
    if (H5Lexists(f, "images", H5P_DEFAULT) <= 0) bad(file, "no 'images' dataset");
    const hid_t images = H5Dopen2(f, "images", H5P_DEFAULT);
    if (images < 0) bad(file, "cannot open 'images'");
    image_ids_.push_back(images);
    Hdf5Handle space{SGM_READ_SHARD(H5Dget_space(images)), H5Sclose};
    Hdf5Handle type{SGM_READ_SHARD(H5Dget_type(images)), H5Tclose};
    hsize_t dims[4] = {0, 0, 0, 0};
    if (H5Sget_simple_extent_ndims(space.id) != 4) bad(file, "'images' is not [N, H, W, C]");
    H5Sget_simple_extent_dims(space.id, dims, nullptr);
    const bool u8 = H5Tget_class(type.id) == H5T_INTEGER && H5Tget_size(type.id) == 1 &&
                    H5Tget_sign(type.id) == H5T_SGN_NONE;
    const bool f32 = H5Tget_class(type.id) == H5T_FLOAT && H5Tget_size(type.id) == 4;
    if (!u8 && !f32) bad(file, "'images' is neither uint8 nor float32");
    if (!shards_.empty() && f32 != is_float_)
      bad(file, "'images' has another element type than in " + files_[0]);
    is_float_ = f32;
    if (static_cast<std::int64_t>(dims[0]) != s.num_images ||
        static_cast<std::int64_t>(dims[1]) != s.height ||
        static_cast<std::int64_t>(dims[2]) != s.width ||
        static_cast<std::int64_t>(dims[3]) != s.channels) {
      bad(file,
          fmt::format("'images' is {}x{}x{}x{} but the attributes say {}x{}x{}x{}", dims[0],
                      dims[1], dims[2], dims[3], s.num_images, s.height, s.width, s.channels));
    }
    // The file must be able to hold the images before a read allocates for them.
    std::uint64_t image_bytes = f32 ? 4 : 1;
    for (const hsize_t d : dims) {
      if (d != 0 && image_bytes > (std::uint64_t{1} << 50) / d)
        bad(file, "'images' states more than 2^50 bytes");
      image_bytes *= d;
    }
    const std::string images_problem =
        dataset_storage_problem(f, images, image_bytes, file + ": 'images'");
    if (!images_problem.empty()) bad(file, "'images' " + images_problem);
    const bool has_labels = H5Lexists(f, "labels", H5P_DEFAULT) > 0;
    if (has_labels != (s.num_classes > 0))
      bad(file, "'labels' and the num_classes attribute disagree");
    if (!shards_.empty()) {
      const ShardInfo& first = shards_[0];
      if (s.height != first.height || s.width != first.width || s.channels != first.channels) {
        bad(file, fmt::format("images are {}x{}x{} but {} has {}x{}x{}", s.height, s.width,
                              s.channels, files_[0], first.height, first.width, first.channels));
      }
      if (s.total_images != first.total_images || s.num_classes != first.num_classes) {
        bad(file, "total_images/num_classes disagree with " + files_[0]);
      }
    }
    if (has_labels) {
      Hdf5Handle ds{SGM_READ_SHARD(H5Dopen2(f, "labels", H5P_DEFAULT)), H5Dclose};
      Hdf5Handle lspace{SGM_READ_SHARD(H5Dget_space(ds.id)), H5Sclose};
      hsize_t n = 0;
      H5Sget_simple_extent_dims(lspace.id, &n, nullptr);
      if (static_cast<std::int64_t>(n) != s.num_images)
        bad(file, "'labels' length differs from num_images");
      // The file must hold what it states before that is allocated.
      const std::string labels_problem =
          n > (hsize_t{1} << 40)
              ? fmt::format("states {} labels", n)
              : dataset_storage_problem(f, ds.id, n * sizeof(std::int32_t), file + ": 'labels'");
      if (!labels_problem.empty()) bad(file, "'labels' " + labels_problem);
      std::vector<std::int32_t> l(n);
      if (n > 0 && H5Dread(ds.id, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, l.data()) < 0)
        bad(file, "cannot read 'labels'");
      // A label outside the stated classes would reach a conditional network only mid-run.
      for (std::size_t i = 0; i < l.size(); ++i)
        if (l[i] < 0 || l[i] >= s.num_classes)
          bad(file, fmt::format("label {} of image {} is outside [0, {}) (num_classes)", l[i], i,
                                s.num_classes));
      labels_.insert(labels_.end(), l.begin(), l.end());
    }
    starts_.push_back(total_);
    total_ += s.num_images;
    shards_.push_back(s);
  }
  if (total_ != shards_[0].total_images) {
    throw core::UsageError(fmt::format("{}: the shards hold {} images but state total_images = {}",
                                       dir, total_, shards_[0].total_images));
  }
  if (total_ == 0) throw core::UsageError(dir + ": the dataset is empty");
}

ShardedDataset::~ShardedDataset() { close_files(); }

void ShardedDataset::close_files() noexcept {
  for (auto id : image_ids_) H5Dclose(id);
  for (auto id : file_ids_) H5Fclose(id);
  image_ids_.clear();
  file_ids_.clear();
}

void ShardedDataset::read_image(std::int64_t index, void* out) const { read_images(index, 1, out); }

void ShardedDataset::read_images(std::int64_t index, std::int64_t count, void* out) const {
  if (index < 0 || count < 0 || index + count > total_)
    throw core::Error(
        fmt::format("samples [{}, {}) outside [0, {})", index, index + count, total_));
  char* dst = static_cast<char*>(out);
  while (count > 0) {
    const auto it = std::upper_bound(starts_.begin(), starts_.end(), index) - 1;
    const std::size_t s = static_cast<std::size_t>(it - starts_.begin());
    const std::int64_t first = index - *it;
    const std::int64_t n = std::min(count, shards_[s].num_images - first);
    SGM_CHECK(n > 0, "read_images: shard {} has no image {}", s, first);
    const hsize_t offset[4] = {static_cast<hsize_t>(first), 0, 0, 0};
    const hsize_t size[4] = {static_cast<hsize_t>(n), static_cast<hsize_t>(height()),
                             static_cast<hsize_t>(width()), static_cast<hsize_t>(channels())};
    Hdf5Handle file_space{SGM_CHECK_HDF5(H5Dget_space(image_ids_[s])), H5Sclose};
    SGM_CHECK_HDF5(
        H5Sselect_hyperslab(file_space.id, H5S_SELECT_SET, offset, nullptr, size, nullptr));
    Hdf5Handle mem_space{SGM_CHECK_HDF5(H5Screate_simple(4, size, nullptr)), H5Sclose};
    if (H5Dread(image_ids_[s], is_float_ ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8, mem_space.id,
                file_space.id, H5P_DEFAULT, dst) < 0) {
      throw core::UsageError(
          (n == 1 ? fmt::format("{}: cannot read image {}", files_[s], first)
                  : fmt::format("{}: cannot read images {}..{}", files_[s], first, first + n - 1)) +
          " (truncated or damaged): " + hdf5_error_stack());
    }
    dst += n * image_bytes();
    index += n;
    count -= n;
  }
}

void ShardedDataset::check_shape(std::int64_t image_size, std::int64_t channels) const {
  if (channels != this->channels()) {
    throw core::UsageError(
        fmt::format("data.num_channels = {} but the dataset {} has {} channel(s)", channels, dir_,
                    this->channels()));
  }
  if (image_size != height() || image_size != width()) {
    throw core::UsageError(fmt::format("data.image_size = {} but the dataset {} holds {}x{} images",
                                       image_size, dir_, height(), width()));
  }
}

std::int32_t ShardedDataset::label(std::int64_t index) const {
  return labels_.at(static_cast<std::size_t>(index));
}

at::Tensor ShardedDataset::read_all_images() const {
  at::Tensor all = at::empty({total_, height(), width(), channels()}, dtype());
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    if (shards_[s].num_images == 0) continue;
    // A whole-shard read visits every chunk's index entry once. Left to itself HDF5 keeps those
    // B-tree nodes in the file's metadata cache (about 11 MiB for 50,000 images, measured by
    // bench/loader_bench), memory the in-memory mode never uses again: cap the cache during the
    // read, then restore the configuration (which allocates nothing).
    H5AC_cache_config_t saved;
    saved.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    SGM_CHECK_HDF5(H5Fget_mdc_config(file_ids_[s], &saved));
    H5AC_cache_config_t small = saved;
    small.set_initial_size = true;
    small.initial_size = small.min_size = kReadAllMetadataCache;
    small.max_size = kReadAllMetadataCache;
    small.incr_mode = H5C_incr__off;
    small.flash_incr_mode = H5C_flash_incr__off;
    small.decr_mode = H5C_decr__off;
    SGM_CHECK_HDF5(H5Fset_mdc_config(file_ids_[s], &small));
    char* dst = static_cast<char*>(all.data_ptr()) + starts_[s] * image_bytes();
    const herr_t read = H5Dread(image_ids_[s], is_float_ ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8,
                                H5S_ALL, H5S_ALL, H5P_DEFAULT, dst);
    const std::string failure = read < 0 ? hdf5_error_stack() : std::string();
    saved.set_initial_size = false;
    SGM_CHECK_HDF5(H5Fset_mdc_config(file_ids_[s], &saved));
    if (read < 0) {
      throw core::UsageError(files_[s] + ": cannot read images (truncated or damaged): " + failure);
    }
  }
  // A whole-dataset read walks one chunk per image; HDF5 keeps the bookkeeping for that in its
  // free lists (about 2 KiB per chunk, measured by bench/loader_bench). Give it back.
  H5garbage_collect();
  return all;
}

at::Tensor ShardedDataset::all_labels() const {
  if (labels_.empty()) return at::Tensor();
  return at::from_blob(const_cast<std::int32_t*>(labels_.data()), {total_}, at::kInt).clone();
}

std::vector<std::string> ShardedDataset::verify_checksums(core::Progress* progress) const {
  std::vector<std::string> problems;
  const std::int64_t per_slice = std::max<std::int64_t>(1, kVerifySliceBytes / image_bytes());
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(
      std::min(per_slice, std::max<std::int64_t>(1, total_)) * image_bytes()));
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    std::uint64_t sum = core::kFnvOffset;
    bool readable = true;
    for (std::int64_t i = 0; i < shards_[s].num_images; i += per_slice) {
      const std::int64_t n = std::min(per_slice, shards_[s].num_images - i);
      try {
        read_images(starts_[s] + i, n, buffer.data());
      } catch (const core::UsageError&) {
        problems.push_back(fmt::format("{}: images {}..{} cannot be read (truncated or damaged)",
                                       files_[s], i, i + n - 1));
        readable = false;
        break;
      }
      sum = core::fnv1a(buffer.data(), static_cast<std::size_t>(n * image_bytes()), sum);
      if (progress != nullptr) progress->advance(n);
    }
    if (!readable) continue;
    if (!labels_.empty())
      sum = core::fnv1a(labels_.data() + starts_[s],
                        static_cast<std::size_t>(shards_[s].num_images) * 4, sum);
    if (core::hex64(sum) != shards_[s].checksum) {
      problems.push_back(fmt::format("{}: content checksum {} differs from the recorded {}",
                                     files_[s], core::hex64(sum), shards_[s].checksum));
    }
  }
  return problems;
}

}  // namespace sgm::data
