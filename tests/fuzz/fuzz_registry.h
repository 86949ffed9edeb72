// fuzz_replay's table of targets, by name (filled by SGM_FUZZ_TARGET's static initializers).
#pragma once

#include <map>
#include <string>

#include "tests/fuzz/fuzz_target.h"

namespace sgm::fuzz {

std::map<std::string, TargetFunction>& targets();

}  // namespace sgm::fuzz
