// An evaluation directory's results.jsonl, which a resumed or concurrent sweep reads back: one
// JSON record per line.
#include "eval/results_table.h"
#include "tests/fuzz/fuzz_target.h"

SGM_FUZZ_TARGET(results) { sgm::eval::parse_results(bytes, sgm::fuzz::kInputName); }
