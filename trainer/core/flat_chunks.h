// Element-wise updates of whole-model flat buffers (Adam, the EMA, gradient averaging) one
// slice at a time. A slice of 2^18 elements (1 MiB in float32) and its scratch stay in cache, and
// no step allocates a temporary the size of the model: at full size such temporaries are
// hundreds of MB, which the C library maps and unmaps on every step and the kernel zeroes again
// page by page. Element-wise arithmetic gives the same bits in slices as whole.
#pragma once

#include <algorithm>
#include <cstdint>

namespace sgm::core {

inline constexpr std::int64_t kFlatChunk = std::int64_t{1} << 18;

// The scratch a slice of a buffer of n elements needs: min(n, kFlatChunk) elements.
inline std::int64_t flat_scratch_size(std::int64_t n) { return std::min(n, kFlatChunk); }

// Calls f(begin, count) for the consecutive slices [begin, begin + count) that cover [0, n).
template <class F>
void for_each_flat_chunk(std::int64_t n, F&& f) {
  for (std::int64_t begin = 0; begin < n; begin += kFlatChunk)
    f(begin, std::min(kFlatChunk, n - begin));
}

}  // namespace sgm::core
