// dist::GradientReducer: makes data-parallel ranks train as one model.
//
// The trainable parameters move into one flat buffer per dtype, laid out in reverse
// registration order (backward produces gradients roughly in that order); every parameter's
// data and .grad are views into the flat parameter and gradient buffers. Buckets are contiguous
// slices of the gradient buffer (the first `first_bucket_mb`, then about `bucket_mb` each). A
// hook on each parameter's gradient accumulator counts the gradients of its bucket; when a bucket
// is complete it is all-reduced (averaged, 1/W folded into the reduction) at once, during
// backward, strictly in bucket order on every rank. The end of backward (an engine callback)
// waits for the last bucket, so when backward() returns the gradients are the global average.
//
// Gradient accumulation: set_sync(false) for all micro-batches but the last; nothing is
// communicated for them and their gradients add up in place.
//
// Never call Module::zero_grad / Optimizer::zero_grad (LibTorch 2.x drops the tensors, the
// next backward allocates fresh ones outside the flat buffer, and the ranks silently diverge):
// use zero_grad() here, which zeroes the buffer in place.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/core/keys.h"
#include "trainer/dist/communicator.h"

namespace sgm::dist {

// Part of the [dist] section.
struct ReducerOptions {
  double first_bucket_mb = 1;  // dist.first_bucket_mb
  double bucket_mb = 25;       // dist.bucket_mb
  bool reduce_bf16 = false;    // dist.reduce_bf16: reduce gradients in bfloat16 (slow networks)

  void declare_keys(core::Keys& k) {
    k("dist.first_bucket_mb", first_bucket_mb, "size of the first gradient bucket (MiB)");
    k("dist.bucket_mb", bucket_mb, "size of the other gradient buckets (MiB)");
    k("dist.reduce_bf16", reduce_bf16,
      "all-reduce gradients in bfloat16 (halves the traffic; for slow networks)");
  }
};

using NamedTensor = std::pair<std::string, at::Tensor>;

class GradientReducer {
 public:
  // `parameters` in registration order (Module::named_parameters()); those that do not require
  // a gradient are left alone. `comm` must outlive the reducer.
  GradientReducer(const std::vector<NamedTensor>& parameters, Communicator& comm,
                  ReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Copies rank 0's parameters (and `buffers`) to every rank.
  void broadcast_parameters(const std::vector<at::Tensor>& buffers = {});
  // Compares a checksum of every parameter with rank 0's; throws core::Error naming the ranks
  // that differ and the first parameter that does.
  void check_consistency();
  // Zeroes all gradients in place (the views stay attached).
  void zero_grad();
  // false: the coming backward passes only accumulate (no communication).
  void set_sync(bool sync);
  // Throws core::Error when a gradient no longer lives in the flat buffer.
  void check_gradient_views() const;

  // The flat buffers, one per dtype, in the order of first appearance.
  const std::vector<at::Tensor>& flat_parameters() const { return flat_params_; }
  const std::vector<at::Tensor>& flat_gradients() const { return flat_grads_; }
  // Trainable parameters in registration order (views into flat_parameters()).
  const std::vector<NamedTensor>& parameters() const { return params_; }

  // Per-parameter views (name, tensor shaped like the parameter) into tensors laid out like
  // flat_parameters() (an EMA, Adam's moments): how flat state is saved and loaded by name.
  std::vector<NamedTensor> views_of(const std::vector<at::Tensor>& flat) const;

  struct BucketInfo {
    std::int64_t bytes = 0;
    std::vector<std::string> parameters;
  };
  std::vector<BucketInfo> buckets() const;

  // How the last synchronised backward went: per launch, in launch order, the bucket and the
  // number of gradients of the whole model still outstanding when it was launched (> 0: the
  // reduction overlapped the rest of backward), plus the seconds from the first gradient.
  struct Launch {
    int bucket = 0;
    std::int64_t gradients_outstanding = 0;
    double seconds = 0;
  };
  std::vector<Launch> last_launches() const;
  // Seconds the end of backward waited for outstanding reductions (exposed communication).
  double last_wait_seconds() const;

 private:
  struct Group;
  struct Bucket;
  class Hook;
  void on_gradient(std::size_t param);
  void launch_ready_buckets();
  void finish_backward();

  Communicator& comm_;
  ReducerOptions options_;
  std::vector<NamedTensor> params_;
  std::vector<at::Tensor> flat_params_;
  std::vector<at::Tensor> flat_grads_;
  std::vector<std::unique_ptr<Group>> groups_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  std::vector<std::size_t> bucket_of_;         // parameter -> bucket
  std::vector<std::size_t> group_of_;          // parameter -> group
  std::vector<std::int64_t> offset_in_group_;  // parameter -> element offset in its flat buffer
  std::vector<std::shared_ptr<void>> accumulators_;  // keeps the hooked gradient accumulators
  std::vector<std::uintptr_t> hook_keys_;

  mutable std::mutex mutex_;  // hooks run on autograd worker threads
  bool sync_ = true;
  bool in_backward_ = false;
  std::size_t next_bucket_ = 0;
  std::int64_t outstanding_ = 0;
  std::vector<bool> seen_;
  double started_ = 0;
  std::vector<Launch> launches_;
  double wait_seconds_ = 0;
};

}  // namespace sgm::dist
