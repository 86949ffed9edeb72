// A profile of the last steps of a training run (training.profile_steps): LibTorch's Kineto
// profiler over those steps, summarised per step into a JSON file: host wall time; GPU kernel
// time, launches and busy share; CUDA runtime calls (synchronisations, copies, launches);
// host-device copies; scalars read back to the host (aten::_local_scalar_dense, each one a
// synchronisation); and the kernels and CPU operators that take the most time. It is what
// tells where a GPU step loses time before anything is changed.
#pragma once

#include <cstdint>
#include <string>

#include <c10/core/Device.h>

namespace sgm::train {

class StepProfiler {
 public:
  // Profiles steps [last_step - steps, last_step) on `device` and writes the summary to `path`
  // (atomically). steps = 0: does nothing.
  StepProfiler(std::int64_t steps, std::int64_t last_step, const c10::Device& device,
               std::string path);
  ~StepProfiler();
  StepProfiler(const StepProfiler&) = delete;
  StepProfiler& operator=(const StepProfiler&) = delete;

  // Call at the start of every step with its number (the state before the step).
  void step_begins(std::int64_t step);
  // Call when a step is done with the number of steps done; after the last one the profile is
  // summarised and written.
  void step_done(std::int64_t steps_done);

 private:
  void finish();

  std::int64_t steps_;
  std::int64_t first_step_;
  std::int64_t last_step_;
  c10::Device device_;
  std::string path_;
  bool active_ = false;
  double started_ = 0;  // host seconds
};

}  // namespace sgm::train
