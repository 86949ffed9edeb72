// Configuration keys, declared by the library that consumes them. An option struct lists its
// keys in one member function,
//
//   void declare_keys(core::Keys& keys) {
//     keys("optim.lr", lr, "learning rate");
//     ...
//   }
//
// next to the fields that hold the defaults. The launch layer implements Keys to bind every key
// to the command line and INI files, to print --help and --dump-config, and to suggest a key for
// a misspelled one; the libraries never see how.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sgm::core {

class Keys {
 public:
  virtual ~Keys() = default;
  // `name` is section.key as in score_sde's configs ("training.batch_size"), or a top-level key
  // ("seed"); `help` is its meaning in one line.
  virtual void operator()(const char* name, std::int64_t& field, const std::string& help) = 0;
  virtual void operator()(const char* name, double& field, const std::string& help) = 0;
  virtual void operator()(const char* name, bool& field, const std::string& help) = 0;
  virtual void operator()(const char* name, std::string& field, const std::string& help) = 0;
  virtual void operator()(const char* name, std::vector<std::int64_t>& field,
                          const std::string& help) = 0;
  virtual void operator()(const char* name, std::vector<double>& field,
                          const std::string& help) = 0;
};

}  // namespace sgm::core
