#include "data/hdf5_attributes.h"

#include <utility>

#include <fmt/format.h>

#include "data/check_hdf5.h"

namespace sgm::data {
void write_int_attribute(hid_t object, const char* name, std::int64_t value) {
  Hdf5Handle space{SGM_CHECK_HDF5(H5Screate(H5S_SCALAR)), H5Sclose};
  Hdf5Handle attr{
      SGM_CHECK_HDF5(H5Acreate2(object, name, H5T_STD_I64LE, space.id, H5P_DEFAULT, H5P_DEFAULT)),
      H5Aclose};
  SGM_CHECK_HDF5(H5Awrite(attr.id, H5T_NATIVE_INT64, &value));
}

void write_string_attribute(hid_t object, const char* name, const std::string& value) {
  Hdf5Handle space{SGM_CHECK_HDF5(H5Screate(H5S_SCALAR)), H5Sclose};
  Hdf5Handle type{SGM_CHECK_HDF5(H5Tcopy(H5T_C_S1)), H5Tclose};
  SGM_CHECK_HDF5(H5Tset_size(type.id, std::max<std::size_t>(value.size(), 1)));
  SGM_CHECK_HDF5(H5Tset_strpad(type.id, H5T_STR_NULLPAD));
  SGM_CHECK_HDF5(H5Tset_cset(type.id, H5T_CSET_UTF8));
  Hdf5Handle attr{
      SGM_CHECK_HDF5(H5Acreate2(object, name, type.id, space.id, H5P_DEFAULT, H5P_DEFAULT)),
      H5Aclose};
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  SGM_CHECK_HDF5(H5Awrite(attr.id, type.id, padded.data()));
}

// A call on an attribute of the file being read (check_hdf5_read).
#define SGM_READ_ATTRIBUTE(call) \
  check_hdf5_read((call), where + ": attribute '" + std::string(name) + "'", #call)

bool has_attribute(hid_t object, const char* name, const std::string& where) {
  return SGM_READ_ATTRIBUTE(H5Aexists(object, name)) > 0;
}

namespace {

// Opens an attribute that must exist and hold exactly one value: H5Aread writes every value of
// an attribute, and the reads below have room for one.
hid_t open_one_value(hid_t object, const char* name, const std::string& where) {
  if (!has_attribute(object, name, where))
    throw core::UsageError(where + ": missing attribute '" + name + "'");
  Hdf5Handle attr{SGM_READ_ATTRIBUTE(H5Aopen(object, name, H5P_DEFAULT)), H5Aclose};
  Hdf5Handle space{SGM_READ_ATTRIBUTE(H5Aget_space(attr.id)), H5Sclose};
  const hssize_t values = SGM_READ_ATTRIBUTE(H5Sget_simple_extent_npoints(space.id));
  if (values != 1) {
    throw core::UsageError(
        fmt::format("{}: attribute '{}' holds {} values, not one", where, name, values));
  }
  return std::exchange(attr.id, H5I_INVALID_HID);
}

}  // namespace

std::int64_t read_int_attribute(hid_t object, const char* name, const std::string& where) {
  Hdf5Handle attr{open_one_value(object, name, where), H5Aclose};
  Hdf5Handle type{SGM_READ_ATTRIBUTE(H5Aget_type(attr.id)), H5Tclose};
  if (H5Tget_class(type.id) != H5T_INTEGER)
    throw core::UsageError(where + ": attribute '" + std::string(name) + "' is not an integer");
  std::int64_t value = 0;
  SGM_READ_ATTRIBUTE(H5Aread(attr.id, H5T_NATIVE_INT64, &value));
  return value;
}

std::string read_string_attribute(hid_t object, const char* name, const std::string& where) {
  Hdf5Handle attr{open_one_value(object, name, where), H5Aclose};
  Hdf5Handle type{SGM_READ_ATTRIBUTE(H5Aget_type(attr.id)), H5Tclose};
  if (H5Tget_class(type.id) != H5T_STRING)
    throw core::UsageError(where + ": attribute '" + std::string(name) + "' is not a string");
  if (H5Tis_variable_str(type.id) > 0) {
    Hdf5Handle mem{SGM_READ_ATTRIBUTE(H5Tcopy(H5T_C_S1)), H5Tclose};
    SGM_READ_ATTRIBUTE(H5Tset_size(mem.id, H5T_VARIABLE));
    // The stored character set (h5py writes UTF-8): HDF5 converts between none.
    SGM_READ_ATTRIBUTE(H5Tset_cset(mem.id, H5Tget_cset(type.id)));
    char* text = nullptr;
    SGM_READ_ATTRIBUTE(H5Aread(attr.id, mem.id, &text));
    std::string out = text != nullptr ? text : "";
    H5free_memory(text);
    return out;
  }
  const std::size_t size = H5Tget_size(type.id);
  if (size > (std::size_t{1} << 20)) {
    throw core::UsageError(
        fmt::format("{}: attribute '{}' states a string of {} bytes", where, name, size));
  }
  std::string out(size, '\0');
  SGM_READ_ATTRIBUTE(H5Aread(attr.id, type.id, out.data()));
  return out.substr(0, out.find('\0'));
}

}  // namespace sgm::data
