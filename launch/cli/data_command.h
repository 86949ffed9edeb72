// The command line of sgm-data: make | info | verify | noise-schedule, with its own options
// (datasets are made before any training configuration exists).
#pragma once

#include <cstdint>
#include <string>

namespace sgm::cli {

struct DataCommand {
  std::string command;  // make | info | verify | noise-schedule
  std::string dir;      // info, verify: the dataset directory
  std::string from;     // make: cifar10 | folder | npy | shapes
  std::string input;    // make --from cifar10 | folder: the input folder
  std::string out;      // make: output dataset directory
  std::string split = "train";
  std::string name = "data";  // shard file prefix
  std::int64_t shards = 1;
  std::int64_t num = 1000;      // shapes: number of images
  std::int64_t resolution = 0;  // folder: resize to this (0 keeps); shapes: size (0 means 32)
  std::int64_t channels = 3;
  std::string array;        // npy: the images array in a .npz ("" picks images / x)
  std::string label_array;  // npy: the labels array ("" picks labels / y when present)    //
                            // folder: decode to 1 or 3 channels
  std::int64_t seed = 0;
  std::int64_t steps = 5;   // noise-schedule: Langevin steps per noise level
  double sigma_min = 0.01;  // noise-schedule: the smallest noise level
  bool labels = true;
  bool overwrite = false;
  bool help = false;
};

// Throws core::UsageError with one line naming the option on bad input.
DataCommand parse_data_command(int argc, const char* const argv[]);
std::string data_help();

}  // namespace sgm::cli
