#include "trainer/models/reference_import.h"

#include <set>
#include <vector>

#include <ATen/core/grad_mode.h>
#include <fmt/ranges.h>

#include "trainer/core/error.h"

namespace sgm::models {
namespace {

std::string strip_module_prefix(const std::string& key) {
  const std::string prefix = "module.";
  return key.compare(0, prefix.size(), prefix) == 0 ? key.substr(prefix.size()) : key;
}

std::string first_few(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < 4; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > 4) out += fmt::format(" and {} more", items.size() - 4);
  return out;
}

// score_sde has no class-conditional networks: nothing of its layout holds a class embedding.
void refuse_classes(const ScoreModel& model, const char* what) {
  if (model.num_classes() > 0)
    throw core::UsageError(
        fmt::format("model.num_classes = {}: score_sde has no class-conditional networks ({})",
                    model.num_classes(), what));
}

}  // namespace

void load_reference_state(ScoreModel& model, const std::map<std::string, at::Tensor>& state) {
  refuse_classes(model, "its weights cannot be imported into one");
  std::map<std::string, at::Tensor> by_reference;
  for (const auto& [key, value] : state) by_reference[strip_module_prefix(key)] = value;

  auto params = model.named_parameters(true);
  auto buffers = model.named_buffers(true);
  std::vector<std::string> missing, mismatched;
  std::set<std::string> used;
  at::NoGradGuard no_grad;
  for (const auto& [ours, theirs] : model.reference_names()) {
    torch::Tensor* target = params.find(ours);
    if (target == nullptr) target = buffers.find(ours);
    SGM_CHECK(target != nullptr, "model has no tensor named {}", ours);
    auto it = by_reference.find(theirs);
    if (it == by_reference.end()) {
      missing.push_back(theirs);
      continue;
    }
    used.insert(theirs);
    if (it->second.sizes() != target->sizes()) {
      mismatched.push_back(fmt::format("{} ({} vs {})", theirs, fmt::join(it->second.sizes(), "x"),
                                       fmt::join(target->sizes(), "x")));
      continue;
    }
    target->copy_(it->second.to(target->dtype()).to(target->device()));
  }
  std::vector<std::string> unexpected;
  for (const auto& [key, value] : by_reference) {
    if (used.count(key) == 0) unexpected.push_back(key);
  }
  if (missing.empty() && unexpected.empty() && mismatched.empty()) return;
  std::string message = "reference weights do not match the model:";
  if (!missing.empty())
    message += fmt::format(" {} missing ({});", missing.size(), first_few(missing));
  if (!unexpected.empty())
    message += fmt::format(" {} unexpected ({});", unexpected.size(), first_few(unexpected));
  if (!mismatched.empty())
    message += fmt::format(" {} of another shape ({});", mismatched.size(), first_few(mismatched));
  message.pop_back();
  throw core::UsageError(message);
}

std::vector<ReferenceTensor> reference_layout(ScoreModel& model) {
  refuse_classes(model, "a conditional network cannot be written in its layout");
  auto params = model.named_parameters(true);
  std::vector<ReferenceTensor> out;
  for (const auto& [ours, theirs] : model.reference_names()) {
    const torch::Tensor* p = params.find(ours);
    out.push_back({ours, theirs, p != nullptr, p != nullptr && p->requires_grad()});
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> reference_ema(
    ScoreModel& model, const std::vector<at::Tensor>& shadow) {
  auto params = model.named_parameters(true);
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const ReferenceTensor& t : reference_layout(model)) {
    if (t.trainable) out.emplace_back(t.ours, at::Tensor());
  }
  if (out.size() != shadow.size()) {
    throw core::UsageError(fmt::format(
        "EMA shadow has {} tensors, the model {} trainable parameters", shadow.size(), out.size()));
  }
  for (std::size_t i = 0; i < shadow.size(); ++i) {
    const torch::Tensor* p = params.find(out[i].first);
    if (shadow[i].sizes() != p->sizes()) {
      throw core::UsageError(fmt::format("EMA shadow tensor {} has shape {}, the parameter {}", i,
                                         fmt::join(shadow[i].sizes(), "x"),
                                         fmt::join(p->sizes(), "x")));
    }
    out[i].second = shadow[i].to(p->dtype());
  }
  return out;
}

void load_reference_ema(ScoreModel& model, const std::vector<at::Tensor>& shadow) {
  auto params = model.named_parameters(true);
  at::NoGradGuard no_grad;
  for (const auto& [name, value] : reference_ema(model, shadow)) {
    torch::Tensor* p = params.find(name);
    p->copy_(value.to(p->device()));
  }
}

}  // namespace sgm::models
