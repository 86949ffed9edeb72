#include "launch/cli/options.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "launch/cli/key_table.h"
#include "launch/cli/main_support.h"
#include "launch/cli/validate.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"

namespace sgm::cli {
namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

po::options_description invocation_options(const Program& program, Invocation& inv) {
  po::options_description d("Command-line options");
  d.add_options()("help,h", po::bool_switch(&inv.help), "print this help and exit");
  if (!program.takes_config) return d;
  d.add_options()("config", po::value<std::vector<std::string>>(&inv.config_files)->composing(),
                  "INI configuration file; repeatable, a later file overrides an earlier one")(
      "workdir", po::value<std::string>(&inv.workdir),
      "work directory (checkpoints, logs, results)")(
      "dump-config", po::bool_switch(&inv.dump_config),
      "print the resolved configuration as INI and exit")(
      "dry-run", po::bool_switch(&inv.dry_run),
      "print the resolved configuration and a model summary (last line 'parameters: N') and exit");
  if (program.modes.empty()) return d;
  d.add_options()("checkpoint", po::value<std::string>(&inv.checkpoint),
                  "a checkpoint directory, or a work directory (its newest valid checkpoint)")(
      "out", po::value<std::string>(&inv.out), "output file");
  if (program.takes_format) {
    d.add_options()("format", po::value<std::string>(&inv.format),
                    "export: pth (torch.save, score_sde's layout) or h5 (default: by --out's "
                    "extension)")(
        "sigma-rel", po::value<double>(&inv.sigma_rel),
        "phema: the relative width of the post-hoc EMA to reconstruct (edm2's sigma_rel)");
  }
  return d;
}

// "--model.nf=3" -> "model.nf"
std::string key_name(std::string name) {
  while (!name.empty() && name.front() == '-') name.erase(0, 1);
  return name.substr(0, name.find('='));
}

// Boost says "the argument ('abc') for option '--model.nf' is invalid": take out 'abc'.
std::string rejected_value(const std::string& what) {
  auto begin = what.find("('");
  auto end = what.find("')", begin == std::string::npos ? 0 : begin);
  if (begin == std::string::npos || end == std::string::npos) return "";
  return what.substr(begin + 2, end - begin - 2);
}

// Turns a Boost.Program_options error into one line naming the key and where it came from. Names,
// values and lines from the input are printed with bytes outside printable ASCII escaped (a NUL
// would end the message early, a line break would make it two lines).
[[noreturn]] void rethrow_as_usage(const po::error& e, const KeyTable& keys,
                                   const std::string& where) {
  if (const auto* unknown = dynamic_cast<const po::unknown_option*>(&e)) {
    std::string name = key_name(unknown->get_option_name());
    std::string suggestion = keys.closest(name);
    throw core::UsageError(
        fmt::format("unknown key '{}' {}{}", core::printable(name), where,
                    suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion)));
  }
  if (const auto* invalid = dynamic_cast<const po::validation_error*>(&e)) {
    std::string name = key_name(invalid->get_option_name());
    const KeyTable::Key* key = keys.find(name);
    throw core::UsageError(fmt::format("{}: invalid value '{}' {}{}", core::printable(name),
                                       core::printable(rejected_value(e.what())), where,
                                       key ? fmt::format(" (expected {})", key->type) : ""));
  }
  if (const auto* twice = dynamic_cast<const po::multiple_occurrences*>(&e)) {
    throw core::UsageError(fmt::format("{}: given more than once {}",
                                       core::printable(key_name(twice->get_option_name())), where));
  }
  throw core::UsageError(fmt::format("{} ({})", core::printable(e.what(), 200), where));
}

void store_config(std::istream& in, const std::string& path, const KeyTable& keys,
                  po::variables_map& vm) {
  try {
    po::store(po::parse_config_file(in, keys.all(), /*allow_unregistered=*/false), vm);
  } catch (const po::error& e) {
    rethrow_as_usage(e, keys, "in " + path);
  }
}

void store_config_file(const std::string& path, const KeyTable& keys, po::variables_map& vm) {
  std::ifstream in(path);
  if (!in) throw core::UsageError(fmt::format("cannot read config file {}", path));
  store_config(in, path, keys, vm);
}

}  // namespace

Config parse_ini_text(const std::string& text, const std::string& origin) {
  Config config;
  KeyTable keys(config);
  po::variables_map vm;
  std::istringstream in(text);
  store_config(in, origin, keys, vm);
  try {
    po::notify(vm);
  } catch (const po::error& e) {
    rethrow_as_usage(e, keys, "in " + origin);
  } catch (const core::UsageError& e) {  // a value a key's own parser refused (lists)
    throw core::UsageError(fmt::format("{} (in {})", e.what(), origin));
  }
  try {
    validate(config);
  } catch (const core::UsageError& e) {
    throw core::UsageError(fmt::format("{} (in {})", e.what(), origin));
  }
  return config;
}

Parsed parse_command_line(const Program& program, int argc, const char* const argv[]) {
  Parsed parsed;
  KeyTable keys(parsed.config);
  po::options_description all;
  all.add(invocation_options(program, parsed.invocation));
  if (program.takes_config) all.add(keys.all());
  po::positional_options_description positional;
  if (!program.modes.empty()) {
    all.add_options()("mode", po::value<std::string>(&parsed.invocation.mode), "mode");
    positional.add("mode", 1);
  }
  po::variables_map vm;
  try {
    store_command_line(argc, argv, all, positional, vm);
  } catch (const po::error& e) {
    rethrow_as_usage(e, keys, "on the command line");
  }
  // Values already stored win, so files are stored after the command line, the last file first.
  const auto files =
      vm.count("config") ? vm["config"].as<std::vector<std::string>>() : std::vector<std::string>{};
  for (auto it = files.rbegin(); it != files.rend(); ++it) store_config_file(*it, keys, vm);
  const bool base_config =
      program.workdir_config || (program.workdir_config_without_files && files.empty());
  if (base_config && vm.count("workdir")) {
    const std::string base = vm["workdir"].as<std::string>() + "/config.cfg";
    if (std::ifstream(base).good()) store_config_file(base, keys, vm);
  }
  try {
    po::notify(vm);
  } catch (const po::error& e) {
    rethrow_as_usage(e, keys, "on the command line");
  }
  if (parsed.invocation.help) return parsed;
  for (const std::string& key : keys.retired_given()) {
    if (is_output_rank()) core::log::warn("{}: no longer used; the value is ignored", key);
  }
  if (!program.modes.empty() && parsed.invocation.mode.empty()) {
    throw core::UsageError(fmt::format("missing mode: {} <{}> [options]", program.name,
                                       fmt::join(program.modes, "|")));
  }
  if (!program.modes.empty() && std::find(program.modes.begin(), program.modes.end(),
                                          parsed.invocation.mode) == program.modes.end()) {
    throw core::UsageError(fmt::format("unknown mode '{}' (one of: {})", parsed.invocation.mode,
                                       fmt::join(program.modes, ", ")));
  }
  const std::string& workdir = parsed.invocation.workdir;
  std::error_code ec;
  if (!workdir.empty() && fs::exists(workdir, ec) && !fs::is_directory(workdir, ec))
    throw core::UsageError(fmt::format("--workdir {}: exists and is not a directory", workdir));
  if (program.takes_config) validate(parsed.config);
  return parsed;
}

std::string help_text(const Program& program) {
  Config defaults;
  Invocation inv;
  KeyTable keys(defaults);
  std::ostringstream out;
  out << "Usage: " << program.name << " " << program.usage << "\n" << program.summary << "\n";
  if (!program.modes.empty())
    out << "\nModes: " << fmt::format("{}", fmt::join(program.modes, ", ")) << "\n";
  out << "\n" << invocation_options(program, inv) << "\n";
  if (!program.takes_config) return out.str();
  out << "Configuration keys: in an INI file as 'key = value' under [section], or on the command\n"
         "line as --section.key=value (command line > later --config > earlier --config > "
         "default).\n"
         "Lists are comma-separated: ch_mult = 1,2,2,2\n";
  for (const auto& s : keys.sections()) out << "\n" << *s.description;
  return out.str();
}

std::string to_ini(const Config& config) {
  Config copy = config;
  KeyTable keys(copy);
  std::string out = "# sgm resolved configuration\n";
  for (const auto& s : keys.sections()) {
    if (!s.name.empty()) out += fmt::format("\n[{}]\n", s.name);
    for (const auto& k : s.keys) {
      std::string leaf = s.name.empty() ? k.name : k.name.substr(s.name.size() + 1);
      out += fmt::format("{} = {}\n", leaf, k.value());
    }
  }
  return out;
}

}  // namespace sgm::cli
