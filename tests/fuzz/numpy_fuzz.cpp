// The .npy/.npz reader (sgm-data make --from npy, reference statistics, sample rounds): a .npy
// header and its data, or a zip of them, stored or deflated.
#include "data/numpy_arrays.h"
#include "tests/fuzz/fuzz_target.h"

SGM_FUZZ_TARGET(numpy) { sgm::data::parse_numpy_arrays(bytes, sgm::fuzz::kInputName); }
