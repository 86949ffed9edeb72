#include "trainer/dist/reducer.h"

#include <chrono>
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "trainer/core/checksum.h"
#include "trainer/core/error.h"
#include "trainer/core/flat_chunks.h"
#include "trainer/core/log.h"

namespace sgm::dist {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// FNV-1a of a tensor's bytes.
std::int64_t checksum(const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().cpu().contiguous();
  return static_cast<std::int64_t>(core::fnv1a(t.data_ptr(), t.nbytes()));
}

}  // namespace

// The parameters of one dtype.
struct GradientReducer::Group {
  at::ScalarType dtype;
  std::int64_t numel = 0;
  at::Tensor flat_param;
  at::Tensor flat_grad;
  at::Tensor flat_bf16;      // reduce_bf16 only
  at::Tensor scale_scratch;  // reduce_bf16 only: one slice of gradients scaled by 1/W
};

struct GradientReducer::Bucket {
  std::size_t group = 0;
  std::int64_t begin = 0;  // elements, in the group's flat buffers
  std::int64_t count = 0;
  std::vector<std::size_t> params;
  std::int64_t pending = 0;
  bool ready = false;
  at::Tensor grads;  // view of flat_grad
  at::Tensor bf16;   // view of flat_bf16
  Work work;
};

class GradientReducer::Hook final : public torch::autograd::FunctionPostHook {
 public:
  Hook(GradientReducer* reducer, std::size_t param) : reducer_(reducer), param_(param) {}
  torch::autograd::variable_list operator()(
      const torch::autograd::variable_list& outputs,
      const torch::autograd::variable_list& /*inputs*/) override {
    reducer_->on_gradient(param_);
    return outputs;
  }

 private:
  GradientReducer* reducer_;
  std::size_t param_;
};

GradientReducer::GradientReducer(const std::vector<NamedTensor>& parameters, Communicator& comm,
                                 ReducerOptions options)
    : comm_(comm), options_(options) {
  SGM_CHECK(options_.first_bucket_mb > 0 && options_.bucket_mb > 0,
            "dist.first_bucket_mb and dist.bucket_mb must be positive");
  for (const auto& [name, tensor] : parameters) {
    if (tensor.requires_grad()) params_.emplace_back(name, tensor);
  }
  SGM_CHECK(!params_.empty(), "gradient reducer: no trainable parameters");
  const std::size_t P = params_.size();
  group_of_.resize(P);
  offset_in_group_.resize(P);
  bucket_of_.resize(P);
  const at::Device device = params_.front().second.device();

  // Layout: reverse registration order, one flat buffer per dtype.
  std::map<at::ScalarType, std::size_t> group_index;
  for (std::size_t k = P; k-- > 0;) {
    const at::Tensor& p = params_[k].second;
    SGM_CHECK(p.device() == device, "gradient reducer: parameter '{}' is on {}, others on {}",
              params_[k].first, p.device().str(), device.str());
    auto [it, added] = group_index.emplace(p.scalar_type(), groups_.size());
    if (added) {
      groups_.push_back(std::make_unique<Group>());
      groups_.back()->dtype = p.scalar_type();
    }
    Group& g = *groups_[it->second];
    group_of_[k] = it->second;
    offset_in_group_[k] = g.numel;
    g.numel += p.numel();
  }
  for (auto& g : groups_) {
    const auto opts = at::TensorOptions().dtype(g->dtype).device(device);
    g->flat_param = at::empty({g->numel}, opts);
    g->flat_grad = at::zeros({g->numel}, opts);
    if (options_.reduce_bf16) {
      g->flat_bf16 = at::zeros({g->numel}, opts.dtype(at::kBFloat16));
      g->scale_scratch = at::empty({core::flat_scratch_size(g->numel)}, opts);
    }
    flat_params_.push_back(g->flat_param);
    flat_grads_.push_back(g->flat_grad);
  }
  for (std::size_t k = 0; k < P; ++k) {
    at::Tensor& p = params_[k].second;
    Group& g = *groups_[group_of_[k]];
    at::Tensor data = g.flat_param.narrow(0, offset_in_group_[k], p.numel()).view(p.sizes());
    {
      at::NoGradGuard no_grad;
      data.copy_(p.detach());
    }
    p.set_data(data);
    p.mutable_grad() = g.flat_grad.narrow(0, offset_in_group_[k], p.numel()).view(p.sizes());
  }

  // Buckets, also in reverse registration order: the first up to first_bucket_mb, then
  // bucket_mb; a dtype change closes a bucket; an oversized parameter gets one of its own.
  for (std::size_t k = P; k-- > 0;) {
    const at::Tensor& p = params_[k].second;
    const double cap_mb = buckets_.size() <= 1 ? options_.first_bucket_mb : options_.bucket_mb;
    const auto cap = static_cast<std::int64_t>(cap_mb * 1024 * 1024);
    const std::int64_t bytes = p.numel() * p.element_size();
    Bucket* b = buckets_.empty() ? nullptr : buckets_.back().get();
    const bool fits = b != nullptr && b->group == group_of_[k] &&
                      (b->count * p.element_size() + bytes <= cap || b->count == 0);
    if (!fits) {
      buckets_.push_back(std::make_unique<Bucket>());
      b = buckets_.back().get();
      b->group = group_of_[k];
      b->begin = offset_in_group_[k];
    }
    b->params.push_back(k);
    b->count += p.numel();
    bucket_of_[k] = buckets_.size() - 1;
  }
  for (auto& b : buckets_) {
    Group& g = *groups_[b->group];
    b->grads = g.flat_grad.narrow(0, b->begin, b->count);
    if (options_.reduce_bf16) b->bf16 = g.flat_bf16.narrow(0, b->begin, b->count);
  }

  // Hooks after the gradient accumulators (which must be kept alive, or autograd makes new
  // ones without the hook for the next backward).
  for (std::size_t k = 0; k < P; ++k) {
    std::shared_ptr<torch::autograd::Node> accumulator =
        torch::autograd::impl::grad_accumulator(params_[k].second);
    SGM_CHECK(accumulator != nullptr, "gradient reducer: '{}' is not a leaf", params_[k].first);
    hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<Hook>(this, k)));
    accumulators_.push_back(accumulator);
  }
  seen_.assign(P, false);
}

GradientReducer::~GradientReducer() {
  for (std::size_t k = 0; k < accumulators_.size(); ++k) {
    auto node = std::static_pointer_cast<torch::autograd::Node>(accumulators_[k]);
    node->del_post_hook(hook_keys_[k]);
  }
}

std::vector<NamedTensor> GradientReducer::views_of(const std::vector<at::Tensor>& flat) const {
  SGM_CHECK(flat.size() == groups_.size(), "views_of: {} buffers given, {} expected", flat.size(),
            groups_.size());
  std::vector<NamedTensor> out;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const at::Tensor& p = params_[k].second;
    const at::Tensor& buffer = flat[group_of_[k]];
    SGM_CHECK(buffer.numel() == groups_[group_of_[k]]->numel, "views_of: buffer {} has {} elements",
              group_of_[k], buffer.numel());
    out.emplace_back(params_[k].first,
                     buffer.narrow(0, offset_in_group_[k], p.numel()).view(p.sizes()));
  }
  return out;
}

std::vector<GradientReducer::BucketInfo> GradientReducer::buckets() const {
  std::vector<BucketInfo> out;
  for (const auto& b : buckets_) {
    BucketInfo info;
    info.bytes = b->count * b->grads.element_size();
    for (std::size_t k : b->params) info.parameters.push_back(params_[k].first);
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<GradientReducer::Launch> GradientReducer::last_launches() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return launches_;
}

double GradientReducer::last_wait_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return wait_seconds_;
}

void GradientReducer::set_sync(bool sync) {
  std::lock_guard<std::mutex> lock(mutex_);
  SGM_CHECK(!in_backward_, "set_sync during backward");
  sync_ = sync;
}

void GradientReducer::zero_grad() {
  for (at::Tensor& g : flat_grads_) g.zero_();
}

void GradientReducer::check_gradient_views() const {
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const at::Tensor& p = params_[k].second;
    const Group& g = *groups_[group_of_[k]];
    const auto* expected =
        static_cast<const char*>(g.flat_grad.data_ptr()) + offset_in_group_[k] * p.element_size();
    if (!p.grad().defined() || p.grad().data_ptr() != expected ||
        p.data_ptr() != static_cast<const char*>(g.flat_param.data_ptr()) +
                            offset_in_group_[k] * p.element_size()) {
      throw core::Error(fmt::format(
          "gradient reducer: '{}' no longer lives in the flat buffers (was zero_grad() of a "
          "module or optimizer called? use the reducer's)",
          params_[k].first));
    }
  }
}

void GradientReducer::on_gradient(std::size_t param) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!sync_) return;
  if (!in_backward_) {
    in_backward_ = true;
    started_ = now_seconds();
    launches_.clear();
    next_bucket_ = 0;
    outstanding_ = static_cast<std::int64_t>(params_.size());
    seen_.assign(params_.size(), false);
    for (auto& b : buckets_) {
      b->pending = static_cast<std::int64_t>(b->params.size());
      b->ready = false;
    }
    torch::autograd::Engine::get_default_engine().queue_callback([this] { finish_backward(); });
  }
  if (seen_[param]) return;
  seen_[param] = true;
  --outstanding_;
  Bucket& b = *buckets_[bucket_of_[param]];
  if (--b.pending == 0) b.ready = true;
  launch_ready_buckets();
}

void GradientReducer::launch_ready_buckets() {
  // Strictly in bucket order, so every rank issues the same sequence of collectives.
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_]->ready) {
    Bucket& b = *buckets_[next_bucket_];
    const std::string label = fmt::format("gradient bucket {}", next_bucket_);
    if (options_.reduce_bf16) {
      at::NoGradGuard no_grad;
      // bf16 = grads * (1/W): 1/W folded in before rounding, slice by slice in scratch.
      const at::Tensor& scratch = groups_[b.group]->scale_scratch;
      core::for_each_flat_chunk(b.count, [&](std::int64_t begin, std::int64_t n) {
        at::Tensor scaled = scratch.narrow(0, 0, n);
        at::mul_out(scaled, b.grads.narrow(0, begin, n), 1.0 / comm_.world_size());
        b.bf16.narrow(0, begin, n).copy_(scaled);
      });
      b.work = comm_.all_reduce(b.bf16, ReduceOp::kSum, label + " (bf16)");
    } else {
      b.work = comm_.all_reduce(b.grads, ReduceOp::kAvg, label);
    }
    launches_.push_back({static_cast<int>(next_bucket_), outstanding_, now_seconds() - started_});
    ++next_bucket_;
  }
}

void GradientReducer::finish_backward() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!in_backward_) return;
  in_backward_ = false;
  if (next_bucket_ < buckets_.size()) {
    std::vector<std::string> missing;
    for (std::size_t k = 0; k < params_.size() && missing.size() < 5; ++k) {
      if (!seen_[k]) missing.push_back("'" + params_[k].first + "'");
    }
    throw core::Error(
        fmt::format("gradient reducer: no gradient for {} in this backward (bucket {} of {} never "
                    "launched); every trainable parameter must take part in the loss",
                    fmt::join(missing, ", "), next_bucket_, buckets_.size()));
  }
  const double start = now_seconds();
  for (auto& b : buckets_) {
    b->work.wait();
    b->work = Work();
    if (options_.reduce_bf16) {
      at::NoGradGuard no_grad;
      b->grads.copy_(b->bf16);
    }
  }
  wait_seconds_ = now_seconds() - start;
}

void GradientReducer::broadcast_parameters(const std::vector<at::Tensor>& buffers) {
  for (const at::Tensor& flat : flat_params_) comm_.broadcast(flat, 0, "parameters").wait();
  for (const at::Tensor& buffer : buffers) {
    SGM_CHECK(buffer.is_contiguous(), "broadcast_parameters: buffers must be contiguous");
    comm_.broadcast(buffer, 0, "buffer").wait();
  }
}

void GradientReducer::check_consistency() {
  const std::int64_t P = static_cast<std::int64_t>(params_.size());
  at::Tensor mine = at::empty({P}, at::kLong);
  for (std::int64_t k = 0; k < P; ++k)
    mine.data_ptr<std::int64_t>()[k] = checksum(params_[static_cast<std::size_t>(k)].second);
  at::Tensor reference = mine.clone();
  comm_.broadcast(reference, 0, "parameter checksums").wait();
  std::int64_t first = -1;
  for (std::int64_t k = 0; k < P && first < 0; ++k) {
    if (mine.data_ptr<std::int64_t>()[k] != reference.data_ptr<std::int64_t>()[k]) first = k;
  }
  const std::vector<std::int64_t> firsts = comm_.all_gather(first, "consistency");
  std::vector<std::string> problems;
  for (std::size_t r = 0; r < firsts.size(); ++r) {
    if (firsts[r] >= 0) {
      problems.push_back(fmt::format("rank {} first at '{}'", r,
                                     params_[static_cast<std::size_t>(firsts[r])].first));
    }
  }
  if (!problems.empty()) {
    throw core::Error(
        fmt::format("parameters differ from rank 0's: {}", fmt::join(problems, "; ")));
  }
}

}  // namespace sgm::dist
