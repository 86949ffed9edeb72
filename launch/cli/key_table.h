// Binds every configuration key (section.key) to its field in a Config, with its one-line
// meaning, as the option structs declare them (core::Keys); the Boost.Program_options
// descriptions, the INI dump and the key suggestions are all made from it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "launch/cli/config.h"
#include "trainer/core/keys.h"

namespace sgm::cli {

class KeyTable : public core::Keys {
 public:
  struct Key {
    std::string name;                    // "model.ch_mult"
    std::string type;                    // "integer", "list of integers", ...
    std::function<std::string()> value;  // the field's current value, INI-formatted
  };
  struct Section {
    std::string name;  // "" for top-level keys
    std::unique_ptr<boost::program_options::options_description> description;
    std::vector<Key> keys;
  };

  // Binds the keys to the fields of `config`, whose current values become the defaults.
  explicit KeyTable(Config& config);

  // Keys that configurations of earlier versions hold and that nothing reads any more: accepted
  // and ignored (a warning names each one given), never written by --dump-config.
  static const std::vector<std::string>& retired();
  // The retired keys that the parsed input gave.
  std::vector<std::string> retired_given() const;

  const std::vector<Section>& sections() const { return sections_; }
  // Every key of every section, for parsing.
  const boost::program_options::options_description& all() const { return all_; }
  const Key* find(const std::string& name) const;
  // The known key closest to `name` (edit distance), or "" when none is close.
  std::string closest(const std::string& name) const;

 private:
  void operator()(const char* name, std::int64_t& field, const std::string& help) override;
  void operator()(const char* name, double& field, const std::string& help) override;
  void operator()(const char* name, bool& field, const std::string& help) override;
  void operator()(const char* name, std::string& field, const std::string& help) override;
  void operator()(const char* name, std::vector<std::int64_t>& field,
                  const std::string& help) override;
  void operator()(const char* name, std::vector<double>& field, const std::string& help) override;

  // The section of `name` ("training" of "training.batch_size"); throws core::Error for a
  // section that is not one of the configuration's.
  Section& section_of(const std::string& name);

  std::vector<Section> sections_;
  std::vector<std::string> retired_values_;  // storage for the retired keys
  boost::program_options::options_description all_;
};

// "1,2,2,2", "(1, 2, 2, 2)", "[1,3,3,1]" or "" -> integers; throws UsageError naming `key`.
std::vector<std::int64_t> parse_int_list(const std::string& key, const std::string& text);
std::vector<double> parse_number_list(const std::string& key, const std::string& text);
std::string format_int_list(const std::vector<std::int64_t>& values);
std::string format_number_list(const std::vector<double>& values);

// Parses the command line into `vm` without abbreviations: a misspelled key must be an error,
// never a guess. Throws boost::program_options::error.
void store_command_line(int argc, const char* const argv[],
                        const boost::program_options::options_description& options,
                        const boost::program_options::positional_options_description& positional,
                        boost::program_options::variables_map& vm);

}  // namespace sgm::cli
