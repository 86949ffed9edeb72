// From network output to score, exactly as score_sde's models/utils.py::get_score_fn:
//   VP continuous and sub-VP: label 999 t,       score = -net(x, 999 t) / std(t)
//   VP discrete:              label t (N-1),     score = -net / sqrt(1 - alphabar)[floor(t (N-1))]
//   VE continuous:            label sigma(t),    score = net(x, sigma(t))
//   VE discrete:              label round((T - t)(N-1)) as int64, score = net(x, label)
#pragma once

#include <functional>
#include <memory>

#include <ATen/core/Tensor.h>

#include "trainer/sde/sde.h"

namespace sgm::sde {

// The label the network receives for time t [B] (what score_fn feeds to `net`).
at::Tensor network_labels(const SDE& sde, const at::Tensor& t, bool continuous);

ScoreFn get_score_fn(std::shared_ptr<const SDE> sde, ModelFn net, bool continuous);

}  // namespace sgm::sde
