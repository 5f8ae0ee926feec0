#include "core/secret_text.h"

#include <gtest/gtest.h>

#include "core/sha256.h"

namespace paystream::core {
namespace {

TEST(SecretText, TrimsTrailingWhitespaceOnly) {
  EXPECT_EQ(trim_trailing_whitespace("token\n"), "token");
  EXPECT_EQ(trim_trailing_whitespace("token \t\r\n \n"), "token");
  EXPECT_EQ(trim_trailing_whitespace("  to ken"), "  to ken");
  EXPECT_EQ(trim_trailing_whitespace(" \n"), "");
}

TEST(SecretText, EmptyAfterTrimIsNoSecret) {
  EXPECT_EQ(secret_from_file_content("s3cret\r\n"), "s3cret");
  EXPECT_FALSE(secret_from_file_content(""));
  EXPECT_FALSE(secret_from_file_content("\n\t \r\n"));
}

TEST(SecretText, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "xbc"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
  EXPECT_FALSE(constant_time_equals("", "a"));
}

TEST(SecretText, ParsesBearerTokens) {
  EXPECT_EQ(parse_bearer_token("Bearer abc.def-123"), "abc.def-123");
  EXPECT_EQ(parse_bearer_token("bearer abc"), "abc");
  EXPECT_EQ(parse_bearer_token("BEARER   abc \t"), "abc");
  EXPECT_FALSE(parse_bearer_token("Bearer"));
  EXPECT_FALSE(parse_bearer_token("Bearer "));
  EXPECT_FALSE(parse_bearer_token("Bearerabc"));
  EXPECT_FALSE(parse_bearer_token("Basic YWxhZGRpbjpvcGVuc2VzYW1l"));
  EXPECT_FALSE(parse_bearer_token("Bearer abc def"));
  EXPECT_FALSE(parse_bearer_token(""));
}

TEST(SecretText, FingerprintIsTheDigestPrefix) {
  EXPECT_EQ(fingerprint("abc"), "ba7816bf");
  EXPECT_EQ(fingerprint("abc"), sha256_hex("abc").substr(0, 8));
  EXPECT_NE(fingerprint("token-1"), fingerprint("token-2"));
}

}  // namespace
}  // namespace paystream::core
