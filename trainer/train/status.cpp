#include "trainer/train/status.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "trainer/core/log.h"
#include "trainer/core/memory.h"
#include "trainer/train/device_memory.h"

namespace sgm::train {

StatusLog::StatusLog(const std::string& workdir, bool writes, std::int64_t start_step,
                     std::int64_t global_batch, std::int64_t n_iters, const c10::Device& device)
    : writes_(writes),
      start_step_(start_step),
      global_batch_(global_batch),
      n_iters_(n_iters),
      device_(device),
      loss_sum_(at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device))),
      usage_(core::kernel_usage()) {
  if (writes_) metrics_.open(std::filesystem::path(workdir) / "metrics.jsonl", std::ios::app);
}

void StatusLog::add_loss(const at::Tensor& loss) { loss_sum_.add_(loss.detach()); }

void StatusLog::report(dist::Communicator& comm, std::int64_t step, std::int64_t images,
                       double grad_norm, double lr) {
  const double loss = comm.all_reduce(loss_sum_.item<double>() / static_cast<double>(steps_),
                                      dist::ReduceOp::kAvg, "loss");
  loss_sum_.zero_();
  const core::KernelUsage usage = core::kernel_usage();
  const double steps = static_cast<double>(std::max<std::int64_t>(steps_, 1));
  const double faults_per_step =
      static_cast<double>(usage.minor_faults - usage_.minor_faults) / steps;
  const double system_per_step = (usage.system_seconds - usage_.system_seconds) / steps;
  usage_ = usage;
  steps_ = 0;
  if (!writes_) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double images_per_second =
      static_cast<double>((step - start_step_) * global_batch_) / std::max(seconds, 1e-9);
  const double eta =
      static_cast<double>((n_iters_ - step) * global_batch_) / std::max(images_per_second, 1e-9);
  const double rss = core::resident_mib();
  const std::optional<DeviceMemory> gpu = device_memory(device_);
  std::string line = fmt::format(
      "step {} images {} loss {:.6g} grad_norm {:.4g} lr {:.3g} images/s {:.1f} eta {:.0f} s "
      "rss {:.0f} MiB faults/step {:.0f}",
      step, images, loss, grad_norm, lr, images_per_second, eta, rss, faults_per_step);
  // nlohmann writes a non-finite number (the loss of a skipped step) as null: every line is
  // valid JSON for Python's json and pandas.
  nlohmann::ordered_json record = {{"step", step},
                                   {"images", images},
                                   {"loss", loss},
                                   {"grad_norm", grad_norm},
                                   {"lr", lr},
                                   {"images_per_second", images_per_second},
                                   {"rss_mib", rss},
                                   {"peak_rss_mib", core::peak_resident_mib()},
                                   {"minor_faults_per_step", faults_per_step},
                                   {"system_seconds_per_step", system_per_step}};
  if (gpu) {
    line += fmt::format(" gpu peak {:.0f} MiB reserved {:.0f} MiB", gpu->peak_allocated_mib,
                        gpu->reserved_mib);
    record["gpu_peak_mib"] = gpu->peak_allocated_mib;
    record["gpu_reserved_mib"] = gpu->reserved_mib;
  }
  core::log::info("{}", line);
  metrics_ << record.dump() << "\n";
  metrics_.flush();
}

}  // namespace sgm::train
