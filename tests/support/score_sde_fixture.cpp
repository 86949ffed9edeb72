#include "tests/support/score_sde_fixture.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sgm::testing {
namespace {

template <typename T>
void get(const nlohmann::json& section, const char* key, T& field) {
  if (section.contains(key)) field = section.at(key).get<T>();
}

}  // namespace

std::string fixtures_dir() {
  if (const char* env = std::getenv("SGM_FIXTURES"); env != nullptr && *env != '\0') return env;
  const char* source = std::getenv("SGM_SOURCE_DIR");
  return std::string(source != nullptr ? source : ".") + "/../shared/fixtures";
}

std::vector<std::string> fixture_files(const std::string& subdir) {
  const std::filesystem::path dir = std::filesystem::path(fixtures_dir()) / subdir;
  std::vector<std::string> files;
  if (std::filesystem::is_directory(dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() == ".h5") files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  EXPECT_FALSE(files.empty()) << "no *.h5 fixtures in " << dir << " (set SGM_FIXTURES)";
  return files;
}

ScoreSdeCase read_score_sde_case(const data::NamedArrayFile& file) {
  ScoreSdeCase c;
  c.name = std::filesystem::path(file.path()).stem().string();
  const nlohmann::json config = nlohmann::json::parse(file.string_attribute("config_json"));
  const auto& m = config.at("model");
  get(m, "name", c.model.name);
  get(m, "sigma_min", c.sde.sigma_min);
  get(m, "sigma_max", c.sde.sigma_max);
  get(m, "num_scales", c.sde.num_scales);
  get(m, "beta_min", c.sde.beta_min);
  get(m, "beta_max", c.sde.beta_max);
  get(m, "dropout", c.model.dropout);
  get(m, "embedding_type", c.model.embedding_type);
  get(m, "scale_by_sigma", c.model.scale_by_sigma);
  get(m, "normalization", c.model.normalization);
  get(m, "nonlinearity", c.model.nonlinearity);
  get(m, "nf", c.model.nf);
  get(m, "ch_mult", c.model.ch_mult);
  get(m, "num_res_blocks", c.model.num_res_blocks);
  get(m, "attn_resolutions", c.model.attn_resolutions);
  get(m, "resamp_with_conv", c.model.resamp_with_conv);
  get(m, "conditional", c.model.conditional);
  get(m, "fir", c.model.fir);
  get(m, "fir_kernel", c.model.fir_kernel);
  get(m, "skip_rescale", c.model.skip_rescale);
  get(m, "resblock_type", c.model.resblock_type);
  get(m, "progressive", c.model.progressive);
  get(m, "progressive_input", c.model.progressive_input);
  get(m, "progressive_combine", c.model.progressive_combine);
  get(m, "attention_type", c.model.attention_type);
  get(m, "init_scale", c.model.init_scale);
  get(m, "fourier_scale", c.model.fourier_scale);
  get(m, "conv_size", c.model.conv_size);
  const auto& d = config.at("data");
  get(d, "image_size", c.data.image_size);
  get(d, "num_channels", c.data.num_channels);
  get(d, "centered", c.data.centered);
  const auto& t = config.at("training");
  get(t, "continuous", c.sde.continuous);
  get(t, "reduce_mean", c.reduce_mean);
  get(t, "likelihood_weighting", c.likelihood_weighting);
  get(t, "sde", c.sde.name);
  c.num_parameters = file.int_attribute("num_parameters");
  return c;
}

}  // namespace sgm::testing
