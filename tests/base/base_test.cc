#include <gtest/gtest.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/status.h"

namespace roster {
namespace {

TEST(Status, OkAndErrorsCarryCodeNamesAndExtras) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  Status st = Error(ErrorCode::kInvitePending, "email: already invited").With("invitation_id", "i1");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code_name(), "invite_pending");
  ASSERT_EQ(st.extra().size(), 1u);
  EXPECT_EQ(st.extra()[0].second, "i1");
  EXPECT_EQ(st.ToString(), "invite_pending: email: already invited");
}

TEST(Result, HoldsValueOrError) {
  Result<int> v = 7;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
  Result<int> e = Error(ErrorCode::kNotFound, "x");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code(), ErrorCode::kNotFound);
}

TEST(Crypto, Sha256MatchesKnownVector) {
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("ab", "c"), Sha256("abc"));
}

TEST(Crypto, HmacSha256MatchesRfc4231Case2) {
  EXPECT_EQ(ToHex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, HexAndBase64UrlRoundTrip) {
  std::string bytes = RandomBytes(33);
  std::string back;
  ASSERT_TRUE(FromHex(ToHex(bytes), &back));
  EXPECT_EQ(back, bytes);
  for (size_t n = 0; n < 40; ++n) {
    std::string b = RandomBytes(n);
    std::string enc = Base64UrlEncode(b);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    std::string dec;
    ASSERT_TRUE(Base64UrlDecode(enc, &dec));
    EXPECT_EQ(dec, b);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  std::string dummy;
  EXPECT_FALSE(Base64UrlDecode("ab$c", &dummy));
  EXPECT_FALSE(FromHex("abc", &dummy));
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "ab"));
}

TEST(Clock, FormatsSixFractionalDigitsUtc) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000000Z");
  auto t = ParseRfc3339("2026-11-22T10:00:00.123456Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-22T10:00:00.123456Z");
}

TEST(Clock, ParsesOffsetsAndRejectsGarbage) {
  EXPECT_EQ(ParseRfc3339("2026-11-22T12:00:00+02:00"), ParseRfc3339("2026-11-22T10:00:00Z"));
  EXPECT_EQ(ParseRfc3339("2026-11-22t10:00:00.5z"), ParseRfc3339("2026-11-22T10:00:00.500000Z"));
  EXPECT_FALSE(ParseRfc3339("2026-02-30T10:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2026-11-22 10:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2026-11-22T10:00:00").has_value());
  EXPECT_FALSE(ParseRfc3339("").has_value());
  EXPECT_FALSE(ParseRfc3339("2026-11-22T10:00:00Zjunk").has_value());
}

TEST(Clock, ManualClockAdvances) {
  ManualClock c(100);
  c.Advance(5);
  EXPECT_EQ(c.Now(), 105);
}

}  // namespace
}  // namespace roster
