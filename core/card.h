#pragma once
// Card number checks: format normalization, network inference from leading digits, Luhn.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace paystream::core {

enum class CardNetwork : uint8_t { visa, mastercard, amex, discover };

// "visa", "mastercard", "amex", "discover".
std::string_view network_name(CardNetwork network);
// Exact, lowercase; nullopt for anything else.
std::optional<CardNetwork> parse_network_name(std::string_view name);

inline constexpr size_t kMinCardDigits = 12;
inline constexpr size_t kMaxCardDigits = 19;

// A card number reduced to its digits. Holds a secret: never log or echo beyond last4().
class CardDigits {
 public:
  std::string_view digits() const { return {digits_.data(), length_}; }
  // The last four digits; empty when holding no number.
  std::string_view last4() const;

  // 12-19 digits, optionally grouped by single spaces or dashes strictly between digits
  // ("4111 1111-1111 1111"). False (and empty) for anything else.
  bool assign(std::string_view raw);
  void clear() { length_ = 0; }

 private:
  bool collect_digits(std::string_view raw);

  std::array<char, kMaxCardDigits> digits_{};
  uint8_t length_ = 0;
};

// 4 visa; 51-55 and 2221-2720 mastercard; 34, 37 amex; 6011, 65 discover.
std::optional<CardNetwork> detect_network(std::string_view digits);

// The Luhn (mod 10) checksum over a string of digits.
bool luhn_valid(std::string_view digits);

}  // namespace paystream::core
