// score_sde networks keep their layers in one flat list, all_modules, whose index names every
// parameter (all_modules.<k>.<name>). Ours are structured (down.1.res_0.Conv_0.weight); this
// list records, in the reference's construction order, which of our modules is all_modules.k.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace sgm::models {

// An empty module used as a named level of the parameter hierarchy ("down", "down.0", ...).
std::shared_ptr<torch::nn::Module> namespace_module(torch::nn::Module& parent, const std::string& name);

class ReferenceModules {
 public:
  // Registers `module` as `name` under `parent` (whose path is `parent_path`) and appends it to
  // all_modules. Returns the module.
  template <typename M>
  M add(torch::nn::Module& parent, const std::string& parent_path, const std::string& name, M module) {
    std::shared_ptr<torch::nn::Module> ptr = as_module(module);
    parent.register_module(name, ptr);
    modules_.emplace_back(parent_path.empty() ? name : parent_path + "." + name, ptr);
    return module;
  }

  // (our name, reference name) of every parameter, in all_modules order, then `buffers`
  // (named the same on both sides).
  std::vector<std::pair<std::string, std::string>> names(const std::vector<std::string>& buffers) const;

 private:
  template <typename T>
  static std::shared_ptr<torch::nn::Module> as_module(const std::shared_ptr<T>& m) {
    return m;
  }
  template <typename T>
  static std::shared_ptr<torch::nn::Module> as_module(const torch::nn::ModuleHolder<T>& m) {
    return m.ptr();
  }

  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules_;
};

}  // namespace sgm::models
