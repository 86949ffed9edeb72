#include "trainer/models/reference_modules.h"

namespace sgm::models {

std::shared_ptr<torch::nn::Module> namespace_module(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

std::vector<std::pair<std::string, std::string>> ReferenceModules::names(const std::vector<std::string>& buffers) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    const auto& [path, module] = modules_[i];
    for (const auto& item : module->named_parameters(/*recurse=*/true)) {
      out.emplace_back(path + "." + item.key(), "all_modules." + std::to_string(i) + "." + item.key());
    }
  }
  for (const auto& b : buffers) out.emplace_back(b, b);
  return out;
}

}  // namespace sgm::models
