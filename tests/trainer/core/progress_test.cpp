// Progress lines: one per 10 % in a log, with the rate and the time left computed from a clock
// the test drives; in place on a terminal with redraws at most every 0.2 s; a closing line only
// when the task is done.
#include "trainer/core/progress.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sgm::core {
namespace {

struct Capture {
  std::vector<std::string> lines, redraws;
  double t = 0;
  ProgressOptions options(bool in_place) {
    ProgressOptions o;
    o.in_place = in_place;
    o.clock = [this] { return t; };
    o.out = [this](const std::string& text, bool line) {
      (line ? lines : redraws).push_back(text);
    };
    return o;
  }
};

TEST(ProgressTest, OneLinePerTenPercentWithRateAndTimeLeft) {
  Capture c;
  {
    Progress p("make data", 1000, "images", c.options(false));
    for (int i = 1; i <= 1000; ++i) {
      c.t = i * 0.01;  // 100 images/s
      p.update(i);
    }
    p.finish();
  }
  for (const auto& line : c.lines) std::printf("[evidence] %s\n", line.c_str());
  ASSERT_EQ(c.lines.size(), 10u);  // 10 %, ..., 90 %, then the closing line
  EXPECT_EQ(c.lines[0], "make data: 100/1000 images (10%), 100 images/s, 9.0 s left");
  EXPECT_EQ(c.lines[8], "make data: 900/1000 images (90%), 100 images/s, 1.0 s left");
  EXPECT_EQ(c.lines[9], "make data: 1000 images in 10 s (100 images/s)");
  EXPECT_TRUE(c.redraws.empty());
}

TEST(ProgressTest, BigStepsPrintOneLineEachAndLongTimesReadAsMinutes) {
  Capture c;
  Progress p("rounds", 8, "rounds", c.options(false));
  c.t = 60;
  p.update(3);  // 37 %: one line, not three
  c.t = 200;
  p.update(4);
  ASSERT_EQ(c.lines.size(), 2u);
  EXPECT_EQ(c.lines[0], "rounds: 3/8 rounds (37%), 0.05 rounds/s, 1 min 40 s left");
  EXPECT_EQ(c.lines[1], "rounds: 4/8 rounds (50%), 0.02 rounds/s, 3 min 20 s left");
  EXPECT_EQ(format_duration(7620), "2 h 07 min");
}

TEST(ProgressTest, InPlaceRedrawsAtMostFiveTimesASecond) {
  Capture c;
  {
    Progress p("verify", 100, "images", c.options(true));
    for (int i = 1; i <= 100; ++i) {
      c.t = i * 0.01;  // 1 s in all
      p.update(i);
    }
    p.finish();
  }
  std::printf("[evidence] %zu redraws in 1 s, closing line '%s'\n", c.redraws.size() - 1,
              c.lines.back().c_str());
  ASSERT_GE(c.redraws.size(), 5u);
  EXPECT_LE(c.redraws.size(), 7u);  // 5 redraws and the clearing of the line
  EXPECT_EQ(c.redraws.front().rfind("\r\033[Kverify: 1/100 images (1%)", 0), 0u);
  EXPECT_EQ(c.redraws.back(), "\r\033[K");
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0], "verify: 100 images in 1.0 s (100 images/s)");
}

TEST(ProgressTest, AnInterruptedTaskDoesNotClaimToBeDone) {
  for (bool in_place : {false, true}) {
    Capture c;
    {
      Progress p("make data", 100, "images", c.options(in_place));
      c.t = 1;
      p.update(50);
    }  // an exception or a stop signal leaves without finish()
    for (const auto& line : c.lines) EXPECT_EQ(line.find(" in "), std::string::npos) << line;
    if (in_place) {
      EXPECT_EQ(c.redraws.back(), "\n");  // the next message starts on its own line
    }
  }
}

}  // namespace
}  // namespace sgm::core
