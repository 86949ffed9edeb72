// fixture_config FIXTURE.h5: prints the sgm configuration (INI, every key) of a score_sde
// fixture case, so that the executables can be run on its checkpoint (interop_test.sh).
#include <cstdio>
#include <exception>

#include "data/named_arrays.h"
#include "launch/cli/options.h"
#include "tests/support/score_sde_fixture.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fixture_config FIXTURE.h5\n");
    return 2;
  }
  try {
    const sgm::data::NamedArrayFile file(argv[1]);
    const sgm::testing::ScoreSdeCase c = sgm::testing::read_score_sde_case(file);
    sgm::cli::Config config;
    config.train.model = c.model;
    config.train.shape = c.data;
    config.train.sde = c.sde;
    config.train.loss.reduce_mean = c.reduce_mean;
    config.train.loss.likelihood_weighting = c.likelihood_weighting;
    // As the shipped sub-VP configs: Langevin needs discrete alphas that sub-VP lacks.
    if (c.sde.name == "subvpsde") config.eval.samples.sampling.corrector = "none";
    std::fputs(sgm::cli::to_ini(config).c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fixture_config: %s\n", e.what());
    return 1;
  }
}
