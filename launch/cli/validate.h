// The one validator of a Config: ranges, choices and cross-field rules, checked up front.
// Each failure is a core::UsageError "<section.key>: <what is wrong>".
#pragma once

#include "launch/cli/config.h"

namespace sgm::cli {

void validate(const Config& config);

}  // namespace sgm::cli
