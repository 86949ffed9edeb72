// The unpickler alone, on the bytes of a checkpoint's data.pkl: a mutated pickle inside a zip
// would mostly fail the archive's checksum before reaching it. Every storage record exists and
// holds the bytes the pickle states (zeros) up to 1 MiB, so tensors can be rebuilt.
#include <cstring>

#include "tests/fuzz/fuzz_target.h"
#include "trainer/core/error.h"
#include "trainer/models/torch_checkpoint.h"

SGM_FUZZ_TARGET(pickle) {
  const auto size = [](const std::string&, std::size_t stated) -> std::size_t {
    return stated <= (std::size_t{1} << 20) ? stated : 64;
  };
  const auto read = [](const std::string&, void* dst, std::size_t n) {
    if (n > (std::size_t{1} << 20)) throw sgm::core::Error("pickle fuzz target: a read too large");
    std::memset(dst, 0, n);
  };
  sgm::models::parse_reference_pickle(bytes.data(), bytes.size(), {size, read},
                                      sgm::fuzz::kInputName);
}
