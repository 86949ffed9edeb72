// The INI reader of --config files (and of the configuration a checkpoint's state.json holds):
// sections, keys, values of every type, then the cross-key validation.
#include "launch/cli/options.h"
#include "tests/fuzz/fuzz_target.h"

SGM_FUZZ_TARGET(config) { sgm::cli::parse_ini_text(bytes, sgm::fuzz::kInputName); }
