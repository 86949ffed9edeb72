// Configuration: precedence (command line > later file > earlier file > default), unknown keys,
// types, lists, the --dump-config round trip, the validator, and every shipped config file.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "eval/ode_solvers.h"
#include "eval/pc_steps.h"
#include "launch/cli/key_table.h"
#include "launch/cli/options.h"
#include "launch/cli/validate.h"
#include "trainer/core/error.h"
#include "trainer/core/registry.h"
#include "trainer/models/registry.h"
#include "trainer/sde/registry.h"

namespace sgm::cli {
namespace {

namespace fs = std::filesystem;

const Program kTrain{"sgm-train", "", "", {}};

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("sgm-cli-{}", ::getpid());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  static Parsed parse(std::vector<std::string> args) {
    args.insert(args.begin(), "sgm-train");
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    return parse_command_line(kTrain, static_cast<int>(argv.size()), argv.data());
  }

  // The UsageError message of parsing `args`; fails the test when parsing succeeds.
  static std::string error_of(std::vector<std::string> args) {
    try {
      parse(std::move(args));
    } catch (const core::UsageError& e) {
      std::printf("[evidence] message: %s\n", e.what());
      return e.what();
    }
    ADD_FAILURE() << "no UsageError";
    return "";
  }

  fs::path dir_;
};

TEST_F(ConfigTest, DefaultsAreScoreSdeVeNcsnppContinuous) {
  Parsed p = parse({});
  EXPECT_EQ(p.config.train.loader.global_batch, 128);
  EXPECT_EQ(p.config.train.sde.name, "vesde");
  EXPECT_EQ(p.config.train.model.ch_mult, (std::vector<std::int64_t>{1, 2, 2, 2}));
  EXPECT_DOUBLE_EQ(p.config.train.adam.lr, 2e-4);
  EXPECT_EQ(p.config.train.adam.warmup, 5000);
  EXPECT_EQ(p.config.train.seed, 42);
}

TEST_F(ConfigTest, PrecedenceCommandLineOverLaterFileOverEarlierFileOverDefault) {
  std::string base =
      file("base.cfg", "seed = 7\n[model]\nnf = 64\nnum_res_blocks = 2\ndropout = 0.2\n");
  std::string over = file("over.cfg", "[model]\nnf = 96\nnum_res_blocks = 3\n");
  Parsed p = parse({"--config", base, "--config", over, "--model.nf=32"});
  EXPECT_EQ(p.config.train.model.nf, 32);               // command line
  EXPECT_EQ(p.config.train.model.num_res_blocks, 3);    // later file
  EXPECT_DOUBLE_EQ(p.config.train.model.dropout, 0.2);  // earlier file
  EXPECT_EQ(p.config.train.seed, 7);                    // top-level key in a file
  EXPECT_EQ(p.config.train.model.ch_mult.size(), 4u);   // default
  EXPECT_EQ(p.invocation.config_files, (std::vector<std::string>{base, over}));
  // The space-separated form works too.
  EXPECT_EQ(parse({"--model.nf", "48"}).config.train.model.nf, 48);
}

TEST_F(ConfigTest, UnknownKeysNameKeyPlaceAndSuggestion) {
  std::string bad = file("bad.cfg", "[model]\nch_mul = 1,2\n");
  std::string msg = error_of({"--config", bad});
  EXPECT_EQ(msg,
            fmt::format("unknown key 'model.ch_mul' in {} (did you mean 'model.ch_mult'?)", bad));
  msg = error_of({"--model.nff=3"});
  EXPECT_EQ(msg, "unknown key 'model.nff' on the command line (did you mean 'model.nf'?)");
  // Right key, wrong section.
  msg = error_of({"--training.nf=3"});
  EXPECT_NE(msg.find("did you mean 'model.nf'"), std::string::npos);
  // No abbreviations are guessed.
  EXPECT_NE(error_of({"--model.num_res=3"}).find("unknown key 'model.num_res'"), std::string::npos);
  std::string unknown_section = file("section.cfg", "[modle]\nnf = 3\n");
  EXPECT_NE(error_of({"--config", unknown_section}).find("unknown key 'modle.nf'"),
            std::string::npos);
}

TEST_F(ConfigTest, WrongTypesNameKeyValueAndExpectedType) {
  EXPECT_EQ(error_of({"--model.nf=abc"}),
            "model.nf: invalid value 'abc' on the command line (expected an integer)");
  std::string bad = file("types.cfg", "[optim]\nlr = fast\n");
  EXPECT_EQ(error_of({"--config", bad}),
            fmt::format("optim.lr: invalid value 'fast' in {} (expected a number)", bad));
  EXPECT_NE(error_of({"--model.fir=maybe"}).find("expected true or false"), std::string::npos);
  EXPECT_NE(error_of({"--training.n_iters=1.5"}).find("expected an integer"), std::string::npos);
  std::string twice = file("twice.cfg", "[model]\nnf = 1\nnf = 2\n");
  EXPECT_NE(error_of({"--config", twice}).find("model.nf: given more than once"),
            std::string::npos);
}

TEST_F(ConfigTest, UnreadableFileIsNamed) {
  const std::string missing = (dir_ / "missing.cfg").string();
  EXPECT_EQ(error_of({"--config", missing}), "cannot read config file " + missing);
  std::string syntax = file("syntax.cfg", "[model]\nthis line has no equals sign\n");
  EXPECT_NE(error_of({"--config", syntax}).find(syntax), std::string::npos);
}

TEST_F(ConfigTest, ListsInEveryScoreSdeSpelling) {
  EXPECT_EQ(parse({"--model.ch_mult=1,2,4"}).config.train.model.ch_mult,
            (std::vector<std::int64_t>{1, 2, 4}));
  std::string tuple =
      file("tuple.cfg",
           "[model]\nch_mult = (1, 2, 2)\nattn_resolutions = (8,)\nfir_kernel = [1, 3, 3, 1]\n");
  Parsed p = parse({"--config", tuple, "--data.image_size=16"});
  EXPECT_EQ(p.config.train.model.ch_mult, (std::vector<std::int64_t>{1, 2, 2}));
  EXPECT_EQ(p.config.train.model.attn_resolutions, (std::vector<std::int64_t>{8}));
  EXPECT_EQ(p.config.train.model.fir_kernel, (std::vector<std::int64_t>{1, 3, 3, 1}));
  EXPECT_TRUE(parse({"--model.attn_resolutions=()"}).config.train.model.attn_resolutions.empty());
  EXPECT_TRUE(parse({"--config", file("empty.cfg", "[model]\nattn_resolutions =\n")})
                  .config.train.model.attn_resolutions.empty());
  EXPECT_EQ(error_of({"--model.ch_mult=1,x,2"}),
            "model.ch_mult: '1,x,2' is not a comma-separated list of integers");
  EXPECT_THROW(parse_int_list("k", "1,,2"), core::UsageError);
}

// A configuration written by an earlier version (a run's config.cfg) still loads: a key that
// nothing reads any more is accepted with a warning and left out of the dump.
TEST_F(ConfigTest, RetiredKeysAreAcceptedAndNotDumped) {
  Parsed p = parse({"--config", file("old.cfg", "[training]\neval_freq = 100\nn_iters = 7\n")});
  EXPECT_EQ(p.config.train.n_iters, 7);
  const std::string dumped = to_ini(p.config);
  std::printf("[evidence] retired: training.eval_freq; dumped has eval_freq: %d\n",
              dumped.find("eval_freq") != std::string::npos);
  EXPECT_EQ(dumped.find("eval_freq"), std::string::npos);
  EXPECT_NE(error_of({"--training.eval_fre=1"}).find("unknown key 'training.eval_fre'"),
            std::string::npos);
}

TEST_F(ConfigTest, DumpConfigRoundTrips) {
  Parsed p = parse({"--model.nf=64", "--model.attn_resolutions=()", "--optim.lr=3.3e-5",
                    "--data.path=/data/cifar", "--training.sde=vpsde", "--sampling.corrector=none",
                    "--model.ch_mult=1,2", "--seed=9"});
  const std::string dumped = to_ini(p.config);
  std::printf("[evidence] dump (head):\n%s\n", dumped.substr(0, 160).c_str());
  Parsed again = parse({"--config", file("dumped.cfg", dumped)});
  EXPECT_EQ(to_ini(again.config), dumped);
  EXPECT_EQ(again.config.train.model.nf, 64);
  EXPECT_DOUBLE_EQ(again.config.train.adam.lr, 3.3e-5);
  EXPECT_TRUE(again.config.train.model.attn_resolutions.empty());
  EXPECT_EQ(again.config.train.data_path, "/data/cifar");
  EXPECT_EQ(again.config.train.seed, 9);
  // Every key appears exactly once.
  Config c;
  KeyTable keys(c);
  std::size_t count = 0;
  for (const auto& s : keys.sections()) count += s.keys.size();
  std::size_t lines = 0;
  for (char ch : dumped) lines += ch == '=';
  EXPECT_EQ(lines, count);
}

TEST_F(ConfigTest, ValidatorCrossFieldRules) {
  EXPECT_EQ(error_of({"--training.continuous=false"}),
            "model.embedding_type: fourier needs training.continuous = true (use positional for "
            "discrete training)");
  EXPECT_NE(error_of({"--training.sde=subvpsde", "--sampling.corrector=langevin"})
                .find("sampling.corrector:"),
            std::string::npos);
  EXPECT_NE(error_of({"--training.sde=subvpsde", "--sampling.corrector=none",
                      "--sampling.predictor=ancestral_sampling"})
                .find("sampling.predictor:"),
            std::string::npos);
  EXPECT_NE(error_of({"--model.attn_resolutions=12"})
                .find("model.attn_resolutions: 12 is not a resolution"),
            std::string::npos);
  EXPECT_NE(error_of({"--data.image_size=20"}).find("data.image_size: 20 is not divisible by 2^3"),
            std::string::npos);
  EXPECT_NE(error_of({"--model.sigma_max=0.001"}).find("model.sigma_max:"), std::string::npos);
  // The objectives: a name from the registry; ISM's exact trace only for small data; ISM and SSM
  // in continuous time only; SSM's probes.
  const std::string ism_images = error_of({"--training.loss=ism"});
  std::printf("[evidence] %s\n", ism_images.c_str());
  EXPECT_NE(ism_images.find("training.loss: ism takes one backward pass per data dimension: "
                            "3x32x32 = 3072 is above training.ism_max_dims = 64"),
            std::string::npos);
  EXPECT_NO_THROW(parse({"--training.loss=ism", "--training.ism_max_dims=4096"}));
  EXPECT_NE(error_of({"--training.loss=sliced"})
                .find("training.loss: 'sliced' is not one of dsm, ism, ssm, ssm_vr"),
            std::string::npos);
  EXPECT_NE(error_of({"--training.loss=ssm", "--training.continuous=false",
                      "--model.embedding_type=positional"})
                .find("training.loss: ssm needs training.continuous = true"),
            std::string::npos);
  EXPECT_NE(error_of({"--training.loss=ssm", "--training.ssm_projections=0"})
                .find("training.ssm_projections: 0 is below the minimum 1"),
            std::string::npos);
  EXPECT_NE(error_of({"--training.loss=ssm", "--training.ssm_probe=uniform"})
                .find("training.ssm_probe:"),
            std::string::npos);
  EXPECT_NE(error_of({"--training.sde=ve"})
                .find("training.sde: 've' is not one of vesde, vpsde, subvpsde"),
            std::string::npos);
  EXPECT_NE(error_of({"--model.dropout=1.5"}).find("model.dropout: 1.5 must lie in [0, 1)"),
            std::string::npos);
  EXPECT_NE(
      error_of({"--training.batch_size=0"}).find("training.batch_size: 0 is below the minimum 1"),
      std::string::npos);
  EXPECT_NE(error_of({"--eval.end_ckpt=3"}).find("eval.end_ckpt: 3 is before eval.begin_ckpt = 9"),
            std::string::npos);
  EXPECT_NE(error_of({"--dist.device=gpu"}).find("dist.device:"), std::string::npos);
  EXPECT_NE(error_of({"--training.n_iters=10", "--training.profile_steps=11"})
                .find("training.profile_steps: 11 steps to profile, but training.n_iters is 10"),
            std::string::npos);
  EXPECT_NE(error_of({"--training.profile_steps=-1"}).find("training.profile_steps:"),
            std::string::npos);
}

TEST_F(ConfigTest, HelpListsEveryKeyWithItsDefault) {
  const std::string help = help_text(kTrain);
  Config c;
  KeyTable keys(c);
  for (const auto& s : keys.sections()) {
    for (const auto& k : s.keys) EXPECT_NE(help.find("--" + k.name), std::string::npos) << k.name;
  }
  EXPECT_NE(help.find("--model.ch_mult arg (=1,2,2,2)"), std::string::npos);
}

// model.name is read from the model registry by --help, the validator and the factory alike:
// every registered model is listed, accepted and built; any other name is refused naming them.
TEST_F(ConfigTest, ModelNamesComeFromTheRegistry) {
  const std::string help = help_text(kTrain);
  for (const models::ModelEntry& e : models::model_registry()) {
    EXPECT_NE(help.find(e.name), std::string::npos) << e.name << " missing from --help";
    // NCSN conditions on a noise level's index: discrete time.
    EXPECT_NO_THROW(parse({"--model.name=" + e.name, "--model.normalization=InstanceNorm++",
                           e.name == "ncsn" ? "--training.continuous=false" : "--seed=42"}))
        << e.name;
  }
  EXPECT_NE(error_of({"--model.name=ncsn", "--model.normalization=InstanceNorm++"})
                .find("training.continuous: model.name = ncsn conditions on the index of a noise "
                      "level"),
            std::string::npos);
  const std::string error = error_of({"--model.name=ncsnv3"});
  std::printf("[evidence] %s\n", error.c_str());
  EXPECT_NE(error.find("model.name: 'ncsnv3' is not one of " + models::model_names()),
            std::string::npos);
}

// The SDE, predictor, corrector and ODE solver tables are read the same way: --help lists every
// entry, the validator accepts each (with an SDE it supports) and refuses any other name,
// listing the table.
TEST_F(ConfigTest, SdeAndSamplerPartsComeFromTheirRegistries) {
  const std::string help = help_text(kTrain);
  auto expect_listed_and_refused = [&](const std::string& key, const std::string& names,
                                       std::vector<std::string> accepted_args) {
    for (const std::string& arg : accepted_args) {
      EXPECT_NE(help.find(arg.substr(arg.find('=') + 1)), std::string::npos) << arg;
      EXPECT_NO_THROW(parse({arg, "--sampling.corrector=none", "--sampling.predictor=none"}))
          << arg;
    }
    const std::string error = error_of({"--" + key + "=bogus"});
    std::printf("[evidence] %s\n", error.c_str());
    EXPECT_NE(error.find(key + ": 'bogus' is not one of " + names), std::string::npos) << error;
  };
  std::vector<std::string> args;
  for (const sde::SdeEntry& e : sde::sde_registry()) args.push_back("--training.sde=" + e.name);
  expect_listed_and_refused("training.sde", core::entry_names(sde::sde_registry(), ", "), args);
  args.clear();
  for (const eval::OdeSolverEntry& e : eval::ode_solver_registry())
    args.push_back("--sampling.ode_solver=" + e.name);
  expect_listed_and_refused("sampling.ode_solver",
                            core::entry_names(eval::ode_solver_registry(), ", "), args);
  // Predictors and correctors: accepted under an SDE that has what they need.
  for (const eval::PredictorEntry& e : eval::predictor_registry()) {
    EXPECT_NE(help.find(e.name), std::string::npos) << e.name;
    EXPECT_NO_THROW(parse({"--training.sde=vpsde", "--sampling.predictor=" + e.name})) << e.name;
    if (e.needs_discrete_form) {
      EXPECT_NE(error_of({"--training.sde=subvpsde", "--sampling.corrector=none",
                          "--sampling.predictor=" + e.name})
                    .find("sampling.predictor:"),
                std::string::npos);
    }
  }
  for (const eval::CorrectorEntry& e : eval::corrector_registry()) {
    EXPECT_NE(help.find(e.name), std::string::npos) << e.name;
    EXPECT_NO_THROW(parse({"--training.sde=vesde", "--sampling.corrector=" + e.name})) << e.name;
  }
  EXPECT_NE(error_of({"--sampling.predictor=bogus"})
                .find("sampling.predictor: 'bogus' is not one of " +
                      core::entry_names(eval::predictor_registry(), ", ")),
            std::string::npos);
  EXPECT_NE(error_of({"--sampling.corrector=bogus"})
                .find("sampling.corrector: 'bogus' is not one of " +
                      core::entry_names(eval::corrector_registry(), ", ")),
            std::string::npos);
}

TEST_F(ConfigTest, EveryShippedConfigParsesAndValidates) {
  const char* source = std::getenv("SGM_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "SGM_SOURCE_DIR is set by ctest";
  std::size_t checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(source) / "configs")) {
    if (entry.path().extension() != ".cfg") continue;
    SCOPED_TRACE(entry.path().string());
    Parsed p = parse({"--config", entry.path().string()});
    std::printf("[evidence] %s: sde %s, model %s, nf %lld\n", entry.path().filename().c_str(),
                p.config.train.sde.name.c_str(), p.config.train.model.name.c_str(),
                static_cast<long long>(p.config.train.model.nf));
    ++checked;
  }
  EXPECT_GE(checked, 6u);
}

}  // namespace
}  // namespace sgm::cli
