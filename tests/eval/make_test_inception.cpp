// Writes a stand-in for the converted FID Inception weights, for end-to-end tests of sgm-eval
// where pytorch-fid's file is not available: the network's keys with the metric fixtures'
// deterministic fill-rule weights, and a source_sha256 attribute that carries the expected
// prefix followed by a TEST marker. Numbers computed with it are not FIDs.
//   make_test_inception OUT.h5
#include <cstdio>

#include "data/named_arrays.h"
#include "eval/inception.h"
#include "tests/support/inception_fixture.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_test_inception OUT.h5\n");
    return 2;
  }
  sgm::eval::FidInception net;
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> keys;
  for (const auto& [name, t] : sgm::eval::state_of(*net)) keys.emplace_back(name, t.sizes().vec());
  std::vector<std::pair<std::string, at::Tensor>> arrays;
  for (const auto& [name, t] : sgm::testing::fill_rule_weights(keys))
    arrays.emplace_back("weights/" + name, t);
  sgm::data::write_named_arrays(
      argv[1], arrays, {{"source_sha256", "6726825d-TEST-fill-rule-weights-not-pytorch-fid"}});
  return 0;
}
