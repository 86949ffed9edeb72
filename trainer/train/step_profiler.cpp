#include "trainer/train/step_profiler.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <ATen/Context.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/profiler_kineto.h>

#include "trainer/core/atomic_file.h"
#include "trainer/core/log.h"

namespace sgm::train {
namespace {

namespace profiler = torch::autograd::profiler;
namespace impl = torch::profiler::impl;

// libkineto::ActivityType values (kineto/ActivityType.h), as KinetoEvent::activityType() gives.
enum : std::uint8_t {
  kCpuOp = 0,
  kGpuMemcpy = 3,
  kGpuMemset = 4,
  kKernel = 5,
  kCudaRuntime = 7,
  kCudaDriver = 8,
};

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void synchronize(const c10::Device& device) {
  if (device.is_cpu()) return;
  c10::impl::VirtualGuardImpl(device.type()).synchronizeDevice(device.index());
}

struct Tally {
  std::int64_t calls = 0;
  double ns = 0;
};

// The `top` names by time, per step.
nlohmann::json top_by_time(const std::map<std::string, Tally>& tallies, std::size_t top,
                           double steps, double total_ns) {
  std::vector<std::pair<std::string, Tally>> sorted(tallies.begin(), tallies.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second.ns > b.second.ns; });
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < std::min(top, sorted.size()); ++i) {
    const auto& [name, t] = sorted[i];
    nlohmann::json row = {{"name", name.substr(0, 160)},
                          {"calls_per_step", static_cast<double>(t.calls) / steps},
                          {"ms_per_step", t.ns / 1e6 / steps}};
    if (total_ns > 0) row["share"] = t.ns / total_ns;
    out.push_back(row);
  }
  return out;
}

}  // namespace

StepProfiler::StepProfiler(std::int64_t steps, std::int64_t last_step, const c10::Device& device,
                           std::string path)
    : steps_(steps),
      first_step_(last_step - steps),
      last_step_(last_step),
      device_(device),
      path_(std::move(path)) {}

StepProfiler::~StepProfiler() {
  if (active_) (void)profiler::disableProfiler();  // leaving early (stop signal, error)
}

void StepProfiler::step_begins(std::int64_t step) {
  if (steps_ <= 0 || active_ || step != first_step_) return;
  const impl::ProfilerConfig config(impl::ProfilerState::KINETO);
  std::set<impl::ActivityType> activities{impl::ActivityType::CPU};
  if (device_.is_cuda()) activities.insert(impl::ActivityType::CUDA);
  synchronize(device_);
  profiler::prepareProfiler(config, activities);
  profiler::enableProfiler(config, activities);
  active_ = true;
  started_ = now_seconds();
  core::log::info("profiling steps {} to {}", first_step_ + 1, last_step_);
}

void StepProfiler::step_done(std::int64_t steps_done) {
  if (active_ && steps_done == last_step_) finish();
}

void StepProfiler::finish() {
  synchronize(device_);
  const double wall = now_seconds() - started_;
  const std::unique_ptr<profiler::ProfilerResult> result = profiler::disableProfiler();
  active_ = false;
  const double steps = static_cast<double>(steps_);
  std::map<std::string, Tally> kernels, copies, runtime, cpu_ops;
  double kernel_ns = 0;
  std::int64_t host_reads = 0;
  for (const profiler::KinetoEvent& e : result->events()) {
    const double ns = static_cast<double>(e.durationNs());
    std::map<std::string, Tally>* into = nullptr;
    switch (e.activityType()) {
      case kKernel:
        into = &kernels;
        kernel_ns += ns;
        break;
      case kGpuMemcpy:
      case kGpuMemset:
        into = &copies;
        break;
      case kCudaRuntime:
      case kCudaDriver:
        into = &runtime;
        break;
      case kCpuOp:
        into = &cpu_ops;
        if (e.name() == "aten::_local_scalar_dense") ++host_reads;
        break;
      default:
        break;
    }
    if (into == nullptr) continue;
    Tally& t = (*into)[e.name()];
    ++t.calls;
    t.ns += ns;
  }
  std::int64_t launches = 0;
  for (const auto& [name, t] : kernels) launches += t.calls;
  nlohmann::json runtime_calls = nlohmann::json::object();
  for (const auto& [name, t] : runtime)
    runtime_calls[name] = {{"calls_per_step", static_cast<double>(t.calls) / steps},
                           {"ms_per_step", t.ns / 1e6 / steps}};
  nlohmann::json summary = {{"steps", steps_},
                            {"first_step", first_step_ + 1},
                            {"device", device_.str()},
                            {"tf32_cublas", at::globalContext().allowTF32CuBLAS()},
                            {"tf32_cudnn", at::globalContext().allowTF32CuDNN()},
                            {"wall_ms_per_step", wall * 1e3 / steps},
                            // .item() and friends, on any device; on CUDA each waits for the device
                            // (cudaStreamSynchronize in cuda_runtime_calls counts every wait).
                            {"scalar_reads_per_step", static_cast<double>(host_reads) / steps},
                            {"top_cpu_ops_inclusive", top_by_time(cpu_ops, 20, steps, 0)}};
  if (device_.is_cuda()) {
    summary["gpu_kernel_ms_per_step"] = kernel_ns / 1e6 / steps;
    summary["gpu_busy"] = kernel_ns / 1e9 / wall;
    summary["kernels_per_step"] = static_cast<double>(launches) / steps;
    summary["cuda_runtime_calls"] = runtime_calls;
    summary["copies"] = top_by_time(copies, 20, steps, 0);
    summary["top_kernels"] = top_by_time(kernels, 25, steps, kernel_ns);
  }
  core::write_file_atomic(path_, summary.dump(2) + "\n");
  core::log::info("profile of {} steps: {:.1f} ms/step, {} scalar reads/step; {}", steps_,
                  wall * 1e3 / steps, static_cast<double>(host_reads) / steps, path_);
}

}  // namespace sgm::train
