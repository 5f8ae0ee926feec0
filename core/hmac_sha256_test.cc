#include "core/hmac_sha256.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string>

#include "base/allocation_counter.h"

namespace paystream::core {
namespace {

std::string hex(const HmacDigest& d) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

// RFC 4231, test cases 1, 2 and 6 (a key longer than the block).
TEST(HmacSha256, Rfc4231Vectors) {
  EXPECT_EQ(hex(HmacSha256(std::string(20, '\x0b')).mac("Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex(HmacSha256("Jefe").mac("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex(HmacSha256(std::string(131, '\xaa'))
                    .mac("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, PartsEqualTheirConcatenationAndOpenSsl) {
  for (size_t key_len : {0, 1, 32, 64, 65, 200}) {
    std::string key(key_len, '\0');
    for (size_t i = 0; i < key_len; ++i) key[i] = static_cast<char>(i * 7 + 3);
    const HmacSha256 hmac(key);
    for (size_t len : {0, 1, 55, 56, 64, 100, 1000}) {
      std::string data(len, '\0');
      for (size_t i = 0; i < len; ++i) data[i] = static_cast<char>(i * 13 + key_len);
      unsigned char expected[32];
      unsigned int expected_len = 0;
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), expected,
           &expected_len);
      ASSERT_EQ(expected_len, 32u);
      const HmacDigest whole = hmac.mac(data);
      EXPECT_EQ(0, std::memcmp(whole.data(), expected, 32)) << key_len << " " << len;
      HmacSha256::Message parts = hmac.begin();
      parts.add(std::string_view(data).substr(0, len / 3));
      parts.add(std::string_view(data).substr(len / 3));
      EXPECT_EQ(parts.finish(), whole);
    }
  }
}

TEST(HmacSha256, DifferentSecretsDifferentMacs) {
  EXPECT_NE(HmacSha256("a").mac("x"), HmacSha256("b").mac("x"));
  EXPECT_NE(HmacSha256("a").mac("x"), HmacSha256("a").mac("y"));
}

TEST(HmacSha256, AllocatesNothing) {
  const HmacSha256 hmac("secret");
  base::test_support::AllocationCounter counter;
  HmacSha256::Message m = hmac.begin();
  m.add("merchant");
  m.add("key");
  const HmacDigest d = m.finish();
  EXPECT_EQ(counter.count(), 0);
  EXPECT_NE(d, HmacDigest{});
}

}  // namespace
}  // namespace paystream::core
