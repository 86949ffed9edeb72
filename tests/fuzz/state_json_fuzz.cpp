// A checkpoint's state.json: the JSON text, the format and version, the counters of training.
#include "tests/fuzz/fuzz_target.h"
#include "trainer/train/checkpoint.h"

SGM_FUZZ_TARGET(state_json) { sgm::train::parse_training_state(bytes, sgm::fuzz::kInputName); }
