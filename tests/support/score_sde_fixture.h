// Reading the score_sde reference fixtures ($SGM_FIXTURES/score_sde/*.h5: groups params/,
// forward/, score/ and loss/, attributes config_json and num_parameters): the directory, every
// case in it, and each case's configuration as typed options.
#pragma once

#include <string>
#include <vector>

#include "data/named_arrays.h"
#include "trainer/models/options.h"
#include "trainer/sde/registry.h"

namespace sgm::testing {

// $SGM_FIXTURES, else <source>/../shared/fixtures (SGM_SOURCE_DIR is set by ctest).
std::string fixtures_dir();
// Every *.h5 file in fixtures_dir()/subdir, sorted; fails the calling test if there is none.
std::vector<std::string> fixture_files(const std::string& subdir);

struct ScoreSdeCase {
  std::string name;
  models::ModelOptions model;
  models::DataShape data;
  sde::SdeOptions sde;  // with training.continuous
  bool reduce_mean = false;
  bool likelihood_weighting = false;
  std::int64_t num_parameters = 0;  // all parameters, the frozen Fourier W included
};

// Parses the root attributes (config_json, num_parameters) of a fixture.
ScoreSdeCase read_score_sde_case(const data::NamedArrayFile& file);

}  // namespace sgm::testing
