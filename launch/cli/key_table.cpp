#include "launch/cli/key_table.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "trainer/core/error.h"

namespace sgm::cli {
namespace po = boost::program_options;

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string leaf(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

}  // namespace

namespace {

// Splits "1,2,2,2", "(1, 2, 2, 2)", "[1,3,3,1]", "(8,)" or "" and converts each item with
// `convert` (which must consume the whole item).
template <typename T, typename Convert>
std::vector<T> parse_list(const std::string& key, const std::string& text, const char* what,
                          Convert convert) {
  std::string body;
  for (char ch : text) {
    if (ch != '(' && ch != ')' && ch != '[' && ch != ']' &&
        !std::isspace(static_cast<unsigned char>(ch)))
      body += ch;
  }
  std::vector<T> values;
  if (body.empty()) return values;
  if (body.back() == ',') body.pop_back();  // "(8,)"
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = body.find(',', start);
    const std::string item =
        body.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::size_t used = 0;
    T v{};
    try {
      v = convert(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size()) {
      throw core::UsageError(
          fmt::format("{}: '{}' is not a comma-separated list of {}", key, text, what));
    }
    values.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

}  // namespace

std::vector<std::int64_t> parse_int_list(const std::string& key, const std::string& text) {
  return parse_list<std::int64_t>(
      key, text, "integers",
      [](const std::string& s, std::size_t* used) { return std::stoll(s, used); });
}

std::vector<double> parse_number_list(const std::string& key, const std::string& text) {
  return parse_list<double>(key, text, "numbers", [](const std::string& s, std::size_t* used) {
    return std::stod(s, used);
  });
}

std::string format_number_list(const std::vector<double>& values) {
  if (values.empty()) return "()";
  return fmt::format("{}", fmt::join(values, ","));
}

std::string format_int_list(const std::vector<std::int64_t>& values) {
  // An empty list is written "()": Boost.Program_options refuses an empty "--key=".
  if (values.empty()) return "()";
  return fmt::format("{}", fmt::join(values, ","));
}

KeyTable::KeyTable(Config& config) : all_("configuration keys") {
  const std::pair<const char*, const char*> sections[] = {
      {"", "Top-level keys (before any [section] in a file)"},
      {"training", "[training] (score_sde: config.training)"},
      {"sampling", "[sampling] (score_sde: config.sampling)"},
      {"eval", "[eval] (score_sde: config.eval)"},
      {"data", "[data] (score_sde: config.data)"},
      {"model", "[model] (score_sde: config.model)"},
      {"optim", "[optim] (score_sde: config.optim)"},
      {"dist", "[dist] (sgm: ranks and devices)"},
  };
  for (const auto& [name, caption] : sections)
    sections_.push_back({name, std::make_unique<po::options_description>(caption), {}});
  config.declare_keys(*this);
  // Retired keys parse (so that old config.cfg files still load) but are not shown or dumped.
  retired_values_.resize(retired().size());
  for (std::size_t i = 0; i < retired().size(); ++i)
    all_.add_options()(retired()[i].c_str(), po::value<std::string>(&retired_values_[i]), "");
  for (const auto& s : sections_) all_.add(*s.description);
}

const std::vector<std::string>& KeyTable::retired() {
  // training.eval_freq: score_sde's evaluation loss during training; sgm computes the
  // evaluation loss in sgm-eval's sweeps instead (eval.enable_loss).
  static const std::vector<std::string> keys = {"training.eval_freq"};
  return keys;
}

std::vector<std::string> KeyTable::retired_given() const {
  std::vector<std::string> given;
  for (std::size_t i = 0; i < retired().size(); ++i) {
    if (!retired_values_[i].empty()) given.push_back(retired()[i]);
  }
  return given;
}

KeyTable::Section& KeyTable::section_of(const std::string& name) {
  const auto dot = name.find('.');
  const std::string section = dot == std::string::npos ? "" : name.substr(0, dot);
  for (auto& s : sections_) {
    if (s.name == section) return s;
  }
  throw core::Error(fmt::format("key {}: no section [{}] in the configuration", name, section));
}

void KeyTable::operator()(const char* name, std::int64_t& field, const std::string& help) {
  Section& s = section_of(name);
  s.description->add_options()(name, po::value<std::int64_t>(&field)->default_value(field),
                               help.c_str());
  s.keys.push_back({name, "an integer", [&field] { return fmt::format("{}", field); }});
}

void KeyTable::operator()(const char* name, double& field, const std::string& help) {
  Section& s = section_of(name);
  s.description->add_options()(
      name, po::value<double>(&field)->default_value(field, fmt::format("{}", field)),
      help.c_str());
  s.keys.push_back({name, "a number", [&field] { return fmt::format("{}", field); }});
}

void KeyTable::operator()(const char* name, bool& field, const std::string& help) {
  Section& s = section_of(name);
  s.description->add_options()(
      name, po::value<bool>(&field)->default_value(field, field ? "true" : "false"), help.c_str());
  s.keys.push_back(
      {name, "true or false", [&field] { return std::string(field ? "true" : "false"); }});
}

void KeyTable::operator()(const char* name, std::string& field, const std::string& help) {
  Section& s = section_of(name);
  s.description->add_options()(
      name, po::value<std::string>(&field)->default_value(field, field.empty() ? "\"\"" : field),
      help.c_str());
  s.keys.push_back({name, "a string", [&field] { return field; }});
}

void KeyTable::operator()(const char* name, std::vector<std::int64_t>& field,
                          const std::string& help) {
  Section& s = section_of(name);
  std::string key = name;
  s.description->add_options()(
      name,
      po::value<std::string>()
          ->default_value(format_int_list(field))
          ->notifier([&field, key](const std::string& text) { field = parse_int_list(key, text); }),
      help.c_str());
  s.keys.push_back({name, "a list of integers", [&field] { return format_int_list(field); }});
}

void KeyTable::operator()(const char* name, std::vector<double>& field, const std::string& help) {
  Section& s = section_of(name);
  std::string key = name;
  s.description->add_options()(name,
                               po::value<std::string>()
                                   ->default_value(format_number_list(field))
                                   ->notifier([&field, key](const std::string& text) {
                                     field = parse_number_list(key, text);
                                   }),
                               help.c_str());
  s.keys.push_back({name, "a list of numbers", [&field] { return format_number_list(field); }});
}

const KeyTable::Key* KeyTable::find(const std::string& name) const {
  for (const auto& s : sections_) {
    for (const auto& k : s.keys) {
      if (k.name == name) return &k;
    }
  }
  return nullptr;
}

std::string KeyTable::closest(const std::string& name) const {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(3, name.size() / 4) + 1;
  for (const auto& s : sections_) {
    for (const auto& k : s.keys) {
      std::size_t d = edit_distance(name, k.name);
      // A right key in the wrong section ("training.nf" for "model.nf") is close too.
      if (leaf(name) == leaf(k.name)) d = std::min<std::size_t>(d, 1);
      if (d < best_distance) {
        best_distance = d;
        best = k.name;
      }
    }
  }
  return best;
}

void store_command_line(int argc, const char* const argv[], const po::options_description& options,
                        const po::positional_options_description& positional,
                        po::variables_map& vm) {
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  po::store(po::command_line_parser(argc, argv)
                .options(options)
                .positional(positional)
                .style(style)
                .run(),
            vm);
}

}  // namespace sgm::cli
