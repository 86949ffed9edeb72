// sgm-data: makes, inspects and verifies sharded HDF5 datasets.
#include <fmt/format.h>

#include "launch/cli/main_support.h"
#include "launch/cli/options.h"
#include "trainer/core/error.h"

namespace {

const sgm::cli::Program kProgram{
    "sgm-data",
    "<command> [options]",
    "Sharded HDF5 datasets: make (from CIFAR-10 batches, image folders, .npy/.npz, or a synthetic\n"
    "generator), info (print attributes), verify (every invariant and a content checksum),\n"
    "noise-schedule (NCSNv2 sigma_max, number of levels and Langevin step from a dataset).",
    {"make", "info", "verify", "noise-schedule"},
    /*takes_config=*/false};

}  // namespace

int main(int argc, char** argv) {
  using namespace sgm;
  return cli::run_main(kProgram.name, [&] {
    const cli::Parsed parsed = cli::parse_command_line(kProgram, argc, argv);
    if (parsed.invocation.help) {
      if (cli::is_output_rank()) fmt::print("{}", cli::help_text(kProgram));
      return core::kExitOk;
    }
    throw core::Error(
        fmt::format("command '{}' is not in this build yet (datasets arrive with the data issue)",
                    parsed.invocation.mode));
  });
}
