// The command line of sgm-data: make | info | verify | grid | noise-schedule, with its own options
// (datasets are made before any training configuration exists).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sgm::cli {

struct DataCommand {
  std::string command;  // make | info | verify | grid | noise-schedule
  std::string dir;      // info, verify, grid, noise-schedule: the dataset directory
  std::string from;     // make: cifar10 | folder | npy | shapes | toy
  std::string input;    // make --from cifar10 | folder | npy: the input folder or file
  std::string out;      // make: output dataset directory; grid: the PNG
  std::string split = "train";
  std::string name = "data";  // shard file prefix
  std::int64_t shards = 0;    // 0: as many as keep each under shard_mib
  std::int64_t shard_mib = 128;
  std::int64_t num = 1000;  // shapes, toy: number of images / points; grid: images shown
  std::int64_t resolution =
      0;                      // folder: resize to this (0 keeps); shapes: size (32 when not given)
  std::int64_t channels = 3;  // folder: decode to 1 or 3 channels
  std::string array;          // npy: the images array in a .npz ("" picks images / x)
  std::string label_array;    // npy: the labels array ("" picks labels / y when present)
  std::string toy = "gmm";    // toy: gmm | checkerboard | moons | swissroll
  std::vector<std::array<double, 2>> modes;  // toy gmm: "x,y;x,y;..." (default 8 on a circle)
  std::vector<double> weights;               // toy gmm: "w,w,..." (default equal)
  double std = 0.1;  // toy: component std (gmm) or noise std (moons, swissroll)
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
