#include "data/hdf5_attributes.h"

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

bool has_attribute(hid_t object, const char* name) { return H5Aexists(object, name) > 0; }

std::int64_t read_int_attribute(hid_t object, const char* name, const std::string& where) {
  if (!has_attribute(object, name))
    throw core::UsageError(where + ": missing attribute '" + name + "'");
  Hdf5Handle attr{SGM_CHECK_HDF5(H5Aopen(object, name, H5P_DEFAULT)), H5Aclose};
  Hdf5Handle type{SGM_CHECK_HDF5(H5Aget_type(attr.id)), H5Tclose};
  if (H5Tget_class(type.id) != H5T_INTEGER)
    throw core::UsageError(where + ": attribute '" + std::string(name) + "' is not an integer");
  std::int64_t value = 0;
  SGM_CHECK_HDF5(H5Aread(attr.id, H5T_NATIVE_INT64, &value));
  return value;
}

std::string read_string_attribute(hid_t object, const char* name, const std::string& where) {
  if (!has_attribute(object, name))
    throw core::UsageError(where + ": missing attribute '" + name + "'");
  Hdf5Handle attr{SGM_CHECK_HDF5(H5Aopen(object, name, H5P_DEFAULT)), H5Aclose};
  Hdf5Handle type{SGM_CHECK_HDF5(H5Aget_type(attr.id)), H5Tclose};
  if (H5Tget_class(type.id) != H5T_STRING)
    throw core::UsageError(where + ": attribute '" + std::string(name) + "' is not a string");
  if (H5Tis_variable_str(type.id) > 0) {
    Hdf5Handle mem{SGM_CHECK_HDF5(H5Tcopy(H5T_C_S1)), H5Tclose};
    SGM_CHECK_HDF5(H5Tset_size(mem.id, H5T_VARIABLE));
    char* text = nullptr;
    SGM_CHECK_HDF5(H5Aread(attr.id, mem.id, &text));
    std::string out = text != nullptr ? text : "";
    H5free_memory(text);
    return out;
  }
  std::string out(H5Tget_size(type.id), '\0');
  SGM_CHECK_HDF5(H5Aread(attr.id, type.id, out.data()));
  return out.substr(0, out.find('\0'));
}

}  // namespace sgm::data
