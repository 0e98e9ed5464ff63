// The interner (catalog.h): names up to 23 bytes live in the slot and compare as three
// words; longer ones compare against the stored string.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "projections/catalog.h"
#include "projections/serde.h"

namespace roster::projections {
namespace {

std::vector<std::string> Names() {
  std::vector<std::string> names = {"", "a", "ab", std::string(1, '\0'), std::string(2, '\0'),
                                    std::string("a\0", 2), std::string(22, 'x'),
                                    std::string(23, 'x'), std::string(24, 'x'),
                                    std::string(25, 'x'), std::string(200, 'y')};
  // Pairs that differ only at the end, at every length around the inline limit.
  for (size_t n = 1; n <= 30; ++n) {
    std::string s(n, 'k');
    names.push_back(s);
    s.back() = 'l';
    names.push_back(s);
  }
  for (int i = 0; i < 100000; ++i) names.push_back("u" + std::to_string(i));
  for (int i = 0; i < 2000; ++i) names.push_back("user:admin-of-a-long-account-" + std::to_string(i));
  return names;
}

TEST(Interner, EveryNameGetsOneIdAndIsFoundAgain) {
  const std::vector<std::string> names = Names();
  Interner in;
  std::vector<uint32_t> ids;
  for (const auto& n : names) ids.push_back(in.Intern(n));
  ASSERT_EQ(in.size(), names.size()) << "no two names may share an id";
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(ids[i], i);
    ASSERT_EQ(in.Intern(names[i]), i) << "a second Intern returns the first id";
    ASSERT_EQ(in.Find(names[i]), i);
    ASSERT_EQ(in.FindRecent(names[i]), i);
    ASSERT_EQ(in.Name(ids[i]), names[i]);
  }
  EXPECT_EQ(in.Find("u100000"), kNone);
  EXPECT_EQ(in.FindRecent("u100000"), kNone);
  EXPECT_EQ(in.Find(std::string(23, 'z')), kNone);
  EXPECT_EQ(in.Find(std::string(201, 'y')), kNone);
  EXPECT_EQ(in.Find(std::string(3, '\0')), kNone);
  EXPECT_EQ(in.Name(kNone), "");
}

TEST(Interner, SavedAndLoadedKeepsEveryId) {
  const std::vector<std::string> names = Names();
  Interner in;
  for (const auto& n : names) in.Intern(n);
  Writer w;
  in.Save(w);
  Reader r(w.bytes());
  Interner loaded;
  ASSERT_TRUE(loaded.Load(r));
  ASSERT_EQ(loaded.size(), names.size());
  for (size_t i = 0; i < names.size(); i += 7) ASSERT_EQ(loaded.Find(names[i]), i);
}

// State::Serialize writes each section in place behind a length padded to 10 bytes
// (Writer::BeginLength/EndLength); a reader must see exactly what Writer::Str framing gives.
TEST(SerdeTest, APaddedLengthReadsLikeAMinimalOne) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{16383}, size_t{16384},
                   size_t{1} << 20}) {
    std::string payload(n, 'p');
    Writer padded, minimal;
    size_t at = padded.BeginLength();
    padded.bytes().append(payload);
    padded.EndLength(at);
    padded.U64(7);
    minimal.Str(payload);
    minimal.U64(7);
    EXPECT_EQ(padded.bytes().size(), Writer::kPaddedVarint + n + 1) << n;
    for (Writer* w : {&padded, &minimal}) {
      Reader r(w->bytes());
      EXPECT_EQ(r.View(), payload) << n;
      EXPECT_EQ(r.U64(), 7u) << n;
      EXPECT_TRUE(r.done()) << n;
    }
  }
}

}  // namespace
}  // namespace roster::projections
