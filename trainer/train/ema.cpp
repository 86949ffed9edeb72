#include "trainer/train/ema.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "trainer/core/error.h"
#include "trainer/core/flat_chunks.h"

namespace sgm::train {

Ema::Ema(const std::vector<at::Tensor>& params, dist::Communicator& comm, EmaOptions options)
    : comm_(comm), options_(options) {
  SGM_CHECK(options_.rate >= 0 && options_.rate <= 1, "model.ema_rate = {} is not in [0, 1]",
            options_.rate);
  for (const at::Tensor& p : params) sizes_.push_back(p.numel());
  load(params);
}

std::int64_t Ema::slice_size(std::int64_t n) const {
  const std::int64_t W = comm_.world_size();
  return (n + W - 1) / W;
}

void Ema::load(const std::vector<at::Tensor>& full) {
  SGM_CHECK(full.size() == sizes_.size(), "EMA: {} buffers given, {} expected", full.size(),
            sizes_.size());
  shadow_.clear();
  scratch_.clear();
  for (std::size_t i = 0; i < full.size(); ++i) {
    SGM_CHECK(full[i].numel() == sizes_[i], "EMA buffer {}: {} elements, {} expected", i,
              full[i].numel(), sizes_[i]);
    const at::Tensor flat = full[i].detach().reshape({-1});
    if (!options_.sharded) {
      shadow_.push_back(flat.clone());
    } else {
      const std::int64_t s = slice_size(sizes_[i]);
      at::Tensor slice = at::zeros({s}, flat.options());
      const std::int64_t begin = std::min<std::int64_t>(comm_.rank() * s, sizes_[i]);
      const std::int64_t count = std::min<std::int64_t>(s, sizes_[i] - begin);
      if (count > 0) slice.narrow(0, 0, count).copy_(flat.narrow(0, begin, count));
      shadow_.push_back(slice);
    }
    scratch_.push_back(
        at::empty({core::flat_scratch_size(shadow_.back().numel())}, flat.options()));
  }
}

double Ema::next_decay() const {
  if (!options_.warmup) return options_.rate;
  const double n = static_cast<double>(num_updates_ + 1);
  return std::min(options_.rate, (1.0 + n) / (10.0 + n));
}

void Ema::update(const std::vector<at::Tensor>& params) { update(params, next_decay()); }

void Ema::update(const std::vector<at::Tensor>& params, double decay) {
  at::NoGradGuard no_grad;
  const double one_minus_decay = 1.0 - decay;
  ++num_updates_;
  for (std::size_t i = 0; i < shadow_.size(); ++i) {
    at::Tensor p = params[i].detach().reshape({-1});
    at::Tensor s = shadow_[i];
    if (options_.sharded) {
      const std::int64_t size = slice_size(sizes_[i]);
      const std::int64_t begin = std::min<std::int64_t>(comm_.rank() * size, sizes_[i]);
      const std::int64_t count = std::min<std::int64_t>(size, sizes_[i] - begin);
      if (count <= 0) continue;
      p = p.narrow(0, begin, count);
      s = s.narrow(0, 0, count);
    }
    // The reference's expression, operation for operation: s.sub_(one_minus_decay * (s - p)),
    // slice by slice with (s - p) * one_minus_decay in scratch.
    const at::Tensor& scratch = scratch_[i];
    core::for_each_flat_chunk(s.numel(), [&](std::int64_t begin, std::int64_t n) {
      const at::Tensor slice = s.narrow(0, begin, n);
      at::Tensor step = scratch.narrow(0, 0, n);
      slice.sub_(at::sub_out(step, slice, p.narrow(0, begin, n)).mul_(one_minus_decay));
    });
  }
}

std::vector<at::Tensor> Ema::gather() const {
  if (!options_.sharded) return shadow_;
  std::vector<at::Tensor> out;
  for (std::size_t i = 0; i < shadow_.size(); ++i) {
    at::Tensor all = at::empty({shadow_[i].numel() * comm_.world_size()}, shadow_[i].options());
    comm_.all_gather(shadow_[i], all, "EMA gather").wait();
    out.push_back(all.narrow(0, 0, sizes_[i]));
  }
  return out;
}

}  // namespace sgm::train
