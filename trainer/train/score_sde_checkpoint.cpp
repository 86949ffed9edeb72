#include "trainer/train/score_sde_checkpoint.h"

#include <algorithm>
#include <fstream>

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include "data/named_arrays.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"
#include "trainer/models/reference_import.h"
#include "trainer/models/torch_checkpoint.h"

namespace sgm::train {
namespace {

using models::ReferenceTensor;

bool is_hdf5(const std::string& file) {
  char signature[8] = {};
  std::ifstream in(file, std::ios::binary);
  in.read(signature, sizeof(signature));
  return in.gcount() == 8 && std::string(signature, 8) == std::string("\x89HDF\r\n\x1a\n", 8);
}

const at::Tensor* find(const core::NamedTensors& tensors, const std::string& name) {
  for (const auto& [key, value] : tensors) {
    if (key == name) return &value;
  }
  return nullptr;
}

// A UsageError from the model's loader, with the file named.
template <typename Fn>
void naming_file(const std::string& file, Fn&& fn) {
  try {
    fn();
  } catch (const core::UsageError& e) {
    throw core::UsageError(file + ": " + e.what());
  }
}

// The buffers are functions of the configuration (NCSN++'s sigmas: model.sigma_min, sigma_max,
// num_scales); a file whose buffers differ was trained under another one.
void check_buffers(const std::string& file, const core::NamedTensors& configured,
                   models::ScoreModel& model) {
  const core::NamedTensors loaded = models::named_state(model);
  for (const auto& [name, expected] : configured) {
    const at::Tensor& got = *find(loaded, name);
    const double diff = (got.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>();
    const double scale = expected.to(at::kDouble).abs().max().item<double>();
    if (diff > 1e-5 * std::max(scale, 1.0)) {
      throw core::UsageError(fmt::format(
          "{}: buffer '{}' differs from what the configuration gives (max abs diff {:.3g}): "
          "model.sigma_min, model.sigma_max, model.num_scales or model.beta_* do not match "
          "the run that wrote it",
          file, name, diff));
    }
  }
}

// The model's buffers as the configuration builds them (before anything is loaded).
core::NamedTensors configured_buffers(models::ScoreModel& model) {
  core::NamedTensors out;
  for (const auto& item : model.named_buffers()) out.emplace_back(item.key(), item.value().clone());
  return out;
}

// torch.optim.Adam's state by parameter index (the frozen Fourier W counts in the numbering)
// as sgm's moments of the trainable parameters; zeros where it has none (never stepped).
std::int64_t import_adam(const std::string& file, const models::ReferenceCheckpoint& ref,
                         const std::vector<ReferenceTensor>& layout, models::ScoreModel& model,
                         Checkpoint& c) {
  auto params = model.named_parameters(true);
  std::int64_t index = 0, steps = -1, stepped = 0, trainable = 0;
  for (const ReferenceTensor& t : layout) {
    if (!t.parameter) continue;
    const std::int64_t i = index++;
    const auto it = ref.adam.find(i);
    if (!t.trainable) {
      if (it != ref.adam.end())
        throw core::UsageError(
            fmt::format("{}: optimizer.state[{}] is for the frozen {}", file, i, t.theirs));
      continue;
    }
    ++trainable;
    const at::Tensor& p = *params.find(t.ours);
    at::Tensor m = at::zeros_like(p, at::TensorOptions().device(at::kCPU));
    at::Tensor v = at::zeros_like(m);
    if (it != ref.adam.end()) {
      const models::AdamMoments& a = it->second;
      if (a.exp_avg.sizes() != p.sizes() || a.exp_avg_sq.sizes() != p.sizes())
        throw core::UsageError(
            fmt::format("{}: optimizer.state[{}] ({}) has another shape", file, i, t.theirs));
      if (steps >= 0 && a.steps != steps)
        throw core::UsageError(fmt::format(
            "{}: optimizer.state[{}] has step {}, the others {} (sgm keeps one Adam step count)",
            file, i, a.steps, steps));
      steps = a.steps;
      ++stepped;
      m = a.exp_avg.to(p.dtype()).contiguous();
      v = a.exp_avg_sq.to(p.dtype()).contiguous();
    }
    c.exp_avg.emplace_back(t.ours, m);
    c.exp_avg_sq.emplace_back(t.ours, v);
  }
  if (ref.adam_parameters != 0 && ref.adam_parameters != index)
    throw core::UsageError(
        fmt::format("{}: optimizer.param_groups number {} parameters, the model has {}", file,
                    ref.adam_parameters, index));
  if (stepped != 0 && stepped != trainable)
    throw core::UsageError(fmt::format("{}: optimizer.state has moments for {} of {} parameters",
                                       file, stepped, trainable));
  return std::max<std::int64_t>(steps, 0);
}

std::int64_t step_attribute(const data::NamedArrayFile& f) {
  if (!f.has_attribute("step")) return 0;
  try {
    return f.int_attribute("step");
  } catch (const core::UsageError&) {
    return std::stoll(f.string_attribute("step"));
  }
}

void import_hdf5(const std::string& file, const std::vector<ReferenceTensor>& layout,
                 models::ScoreModel& model, const core::NamedTensors& configured, Checkpoint& c) {
  const data::NamedArrayFile f(file);
  if (!f.has("params"))
    throw core::UsageError(file + ": no /params group (a score_sde state_dict by key)");
  naming_file(file, [&] { models::load_reference_state(model, f.read_group("params")); });
  check_buffers(file, configured, model);
  const auto ema =
      f.has("ema_params") ? f.read_group("ema_params") : std::map<std::string, at::Tensor>{};
  auto params = model.named_parameters(true);
  for (const ReferenceTensor& t : layout) {
    if (!t.trainable) continue;
    const at::Tensor& p = *params.find(t.ours);
    at::Tensor value = p.detach().cpu().clone();
    if (!ema.empty()) {
      const auto it = ema.find(t.theirs);
      if (it == ema.end() || it->second.sizes() != p.sizes())
        throw core::UsageError(
            fmt::format("{}: ema_params/{} is missing or of another shape", file, t.theirs));
      value = it->second.to(p.dtype()).contiguous();
    }
    c.ema.emplace_back(t.ours, value);
    c.exp_avg.emplace_back(t.ours, at::zeros_like(value));
    c.exp_avg_sq.emplace_back(t.ours, at::zeros_like(value));
  }
  c.state.step = step_attribute(f);
}

void import_torch(const std::string& file, const std::vector<ReferenceTensor>& layout,
                  models::ScoreModel& model, const core::NamedTensors& configured, Checkpoint& c) {
  const models::ReferenceCheckpoint ref = models::read_reference_checkpoint(file);
  naming_file(file, [&] { models::load_reference_state(model, ref.model); });
  check_buffers(file, configured, model);
  naming_file(file, [&] {
    for (auto& [name, value] : models::reference_ema(model, ref.ema_shadow))
      c.ema.emplace_back(name, value.contiguous());
  });
  c.state.adam_steps = import_adam(file, ref, layout, model, c);
  c.state.ema_updates = ref.ema_num_updates;
  c.state.step = ref.step;
}

using c10::IValue;

c10::impl::GenericDict any_dict(const c10::TypePtr& key) {
  return c10::impl::GenericDict(key, c10::AnyType::get());
}
c10::impl::GenericList any_list() { return c10::impl::GenericList(c10::AnyType::get()); }

// torch.optim.Adam.state_dict() of score_sde's optimizer over model.parameters().
IValue adam_state_dict(const Checkpoint& c, const std::vector<ReferenceTensor>& layout,
                       const AdamOptions& adam) {
  auto state = any_dict(c10::IntType::get());
  auto indices = any_list();
  std::int64_t index = 0;
  for (const ReferenceTensor& t : layout) {
    if (!t.parameter) continue;
    const std::int64_t i = index++;
    indices.push_back(IValue(i));
    if (!t.trainable || c.state.adam_steps == 0) continue;
    auto entry = any_dict(c10::StringType::get());
    entry.insert("step", at::scalar_tensor(static_cast<double>(c.state.adam_steps), at::kFloat));
    entry.insert("exp_avg", *find(c.exp_avg, t.ours));
    entry.insert("exp_avg_sq", *find(c.exp_avg_sq, t.ours));
    state.insert(IValue(i), IValue(entry));
  }
  const double ramp =
      adam.warmup > 0
          ? std::min(1.0, static_cast<double>(c.state.step) / static_cast<double>(adam.warmup))
          : 1.0;
  auto group = any_dict(c10::StringType::get());
  group.insert("lr", adam.lr * ramp);
  group.insert("betas", c10::ivalue::Tuple::create({IValue(adam.beta1), IValue(adam.beta2)}));
  group.insert("eps", adam.eps);
  group.insert("weight_decay", adam.weight_decay);
  for (const char* flag : {"amsgrad", "maximize"}) group.insert(flag, false);
  group.insert("foreach", IValue());
  for (const char* flag : {"capturable", "differentiable", "fused"}) group.insert(flag, false);
  group.insert("params", indices);
  auto groups = any_list();
  groups.push_back(IValue(group));
  auto out = any_dict(c10::StringType::get());
  out.insert("state", state);
  out.insert("param_groups", groups);
  return out;
}

// torch.save's zip: data.pkl (pickle protocol 2, tensors as persistent storage ids) and one
// record data/<id> per storage. Python's torch.load, weights_only included, reads it.
std::string torch_save_bytes(const IValue& root) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&](const char* data, std::size_t size) { pickle.insert(pickle.end(), data, data + size); },
      nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(root);
  pickler.stop();
  std::string bytes;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  const std::string order = "little";
  writer.writeRecord("byteorder", order.data(), order.size());
  const auto& storages = pickler.tensorData();
  for (std::size_t i = 0; i < storages.size(); ++i) {
    const auto data = torch::jit::getWriteableTensorData(storages[i]);
    writer.writeRecord("data/" + std::to_string(i), data.data(), data.sizeInBytes());
  }
  writer.writeEndOfFile();
  return bytes;
}

}  // namespace

Checkpoint import_score_sde(const std::string& file, models::ScoreModel& model) {
  const std::vector<ReferenceTensor> layout = models::reference_layout(model);
  if (layout.empty())
    throw core::UsageError(file + ": the configured model has no score_sde counterpart");
  const core::NamedTensors configured = configured_buffers(model);
  Checkpoint c;
  c.path = file;
  if (is_hdf5(file))
    import_hdf5(file, layout, model, configured, c);
  else
    import_torch(file, layout, model, configured, c);
  c.model = core::host_copies(models::named_state(model));
  return c;
}

core::NamedTensors score_sde_state(models::ScoreModel& model, const core::NamedTensors& weights,
                                   const core::NamedTensors& fallback) {
  core::NamedTensors out;
  for (const ReferenceTensor& t : models::reference_layout(model)) {
    const at::Tensor* value = find(weights, t.ours);
    if (value == nullptr) value = find(fallback, t.ours);
    SGM_CHECK(value != nullptr, "checkpoint has no tensor {}", t.ours);
    out.emplace_back(t.theirs, *value);
  }
  return out;
}

void export_score_sde(const Checkpoint& c, models::ScoreModel& model, const AdamOptions& adam,
                      double ema_rate, const std::string& out) {
  const std::vector<ReferenceTensor> layout = models::reference_layout(model);
  if (layout.empty())
    throw core::UsageError("--format pth: the model has no score_sde counterpart (use h5)");
  c10::Dict<std::string, at::Tensor> state_dict;
  for (const auto& [key, value] : score_sde_state(model, c.model, {}))
    state_dict.insert("module." + key, value.contiguous());
  auto shadow = any_list();
  for (const ReferenceTensor& t : layout) {
    if (!t.trainable) continue;
    const at::Tensor* value = find(c.ema, t.ours);
    SGM_CHECK(value != nullptr, "checkpoint has no EMA of {}", t.ours);
    shadow.push_back(value->contiguous());
  }
  auto ema = any_dict(c10::StringType::get());
  ema.insert("decay", ema_rate);
  ema.insert("num_updates", c.state.ema_updates);
  ema.insert("shadow_params", shadow);
  // The order and names of score_sde's utils.save_checkpoint.
  auto root = any_dict(c10::StringType::get());
  root.insert("optimizer", adam_state_dict(c, layout, adam));
  root.insert("model", state_dict);
  root.insert("ema", ema);
  root.insert("step", c.state.step);
  core::write_file_atomic(out, torch_save_bytes(root));
}

}  // namespace sgm::train
