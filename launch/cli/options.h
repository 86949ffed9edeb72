// The command line and INI files of every sgm executable, parsed once into a typed Config.
// Precedence: command line > config files (a later --config overrides an earlier one) >
// defaults in config.h. Unknown keys, wrong types and unreadable files throw
// core::UsageError with one line naming the key or file.
#pragma once

#include <string>
#include <vector>

#include "launch/cli/config.h"

namespace sgm::cli {

// What an executable accepts besides the configuration keys.
struct Program {
  std::string name;                // "sgm-train"
  std::string usage;               // "--config FILE [--section.key=value ...] --workdir DIR"
  std::string summary;             // one sentence
  std::vector<std::string> modes;  // sgm-eval/sgm-data: the first positional argument
  bool takes_config = true;        // accepts --config and the configuration keys
  // sgm-eval: the work directory's config.cfg (the training run's resolved configuration) is
  // read first, below every --config file, so the model and data keys match the run.
  bool workdir_config = false;
  // sgm-train: the same, only when no --config is given (`sgm-train --workdir DIR` continues a
  // run as it was configured, an imported one included).
  bool workdir_config_without_files = false;
  bool takes_format = false;  // sgm-eval: --format (of export) and --sigma-rel (of phema)
};

// Options that only the command line gives.
struct Invocation {
  std::vector<std::string> config_files;
  std::string workdir;
  std::string mode;  // first positional argument, for programs with modes
  bool help = false;
  bool dump_config = false;
  bool dry_run = false;    // sgm-train: print the resolved config and a model summary, then exit
  std::string checkpoint;  // programs with modes (sgm-eval): a checkpoint or work directory
  std::string out;         // programs with modes: the output file
  std::string format;      // --format, where the program takes it
  double sigma_rel = 0;    // sgm-eval phema: --sigma-rel
};

struct Parsed {
  Config config;
  Invocation invocation;
};

// Parses and validates (validate.h); --help skips validation.
Parsed parse_command_line(const Program& program, int argc, const char* const argv[]);

// A resolved configuration as to_ini wrote it (a checkpoint's state.json holds one) over the
// defaults, validated; errors name `origin`.
Config parse_ini_text(const std::string& text, const std::string& origin);

// Usage, command-line options and every configuration key with its default and meaning.
std::string help_text(const Program& program);

// The configuration as an INI file that parse_command_line reads back to the same Config.
std::string to_ini(const Config& config);

}  // namespace sgm::cli
