// The process's memory: what it holds (VmRSS), how often the kernel had to hand it fresh pages
// (minor page faults), and the allocator setting that keeps freed memory for reuse.
#pragma once

#include <cstdint>

namespace sgm::core {

// MiB; 0 where /proc/self/status is not available.
double resident_mib();
// The most this process has held resident so far (VmHWM), MiB; 0 where not available.
double peak_resident_mib();

// What this process has cost the kernel so far (getrusage; zeros where it fails).
struct KernelUsage {
  // Minor page faults: each a page the kernel mapped and zeroed, the cost of memory that was
  // returned to the system and asked for again.
  std::int64_t minor_faults = 0;
  double system_seconds = 0;  // CPU time spent in the kernel, all threads
};
KernelUsage kernel_usage();

// Tells glibc's malloc to keep what a step frees for the next step instead of returning it to
// the kernel: blocks up to 32 MiB (its largest setting) come from the heap rather than from a
// fresh mapping each time, and up to 1 GiB of free heap stays mapped. A training or sampling
// step frees and asks again for the same sizes every time; without this, every large block is
// a new mapping whose pages the kernel faults in and zeroes again (3x the page faults of
// PyTorch, whose per-parameter temporaries stay below glibc's adaptive threshold). Called once
// by every sgm executable at start-up; a no-op with another C library.
void keep_freed_memory();

// Returns the free memory keep_freed_memory keeps (glibc's malloc_trim) to the system: before a
// large allocation that the heap cannot serve (a checkpoint's in-memory file, a mapping of its
// own), so that the free heap and the new block are not both resident. The next steps fault
// those pages in again, once. A no-op with another C library.
void release_freed_memory();

}  // namespace sgm::core
