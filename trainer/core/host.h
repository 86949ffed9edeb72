// This machine's host name ("unknown" when the system does not say), as ranks and locks
// report it.
#pragma once

#include <string>

namespace sgm::core {

std::string host_name();

}  // namespace sgm::core
