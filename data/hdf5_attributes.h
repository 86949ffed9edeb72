// Small helpers for scalar HDF5 attributes (int64 and strings) on files, for the data library.
#pragma once

#include <cstdint>
#include <string>

#include <hdf5.h>

namespace sgm::data {

void write_int_attribute(hid_t object, const char* name, std::int64_t value);
void write_string_attribute(hid_t object, const char* name, const std::string& value);
// Whether the object has the attribute; an attribute HDF5 cannot decode is a core::UsageError
// naming `where` (not "missing").
bool has_attribute(hid_t object, const char* name, const std::string& where);
// Throw core::UsageError naming `where` when the attribute is missing or of the wrong kind.
std::int64_t read_int_attribute(hid_t object, const char* name, const std::string& where);
std::string read_string_attribute(hid_t object, const char* name, const std::string& where);

}  // namespace sgm::data
