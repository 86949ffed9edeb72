// The dataset.json of an EDM dataset (sgm-data make --from edm): the labels by file name.
#include "data/image_set.h"
#include "tests/fuzz/fuzz_target.h"

SGM_FUZZ_TARGET(edm_labels) { sgm::data::parse_edm_labels(bytes, sgm::fuzz::kInputName); }
