#include "bench/authload/duplicate_picker.h"

namespace paystream::bench {

std::string_view duplicate_mode_name(DuplicateMode mode) {
  switch (mode) {
    case DuplicateMode::sequential:
      return "sequential";
    case DuplicateMode::concurrent:
      return "concurrent";
    case DuplicateMode::mixed:
      return "mixed";
  }
  return "mixed";
}

KeyRole DuplicatePicker::next() {
  if (plan_.duplicate_fraction <= 0 && plan_.conflict_fraction <= 0) return KeyRole::original;
  const double roll = rng_.next_unit();
  if (roll < plan_.duplicate_fraction) {
    switch (plan_.mode) {
      case DuplicateMode::sequential:
        return KeyRole::sequential;
      case DuplicateMode::concurrent:
        return KeyRole::concurrent;
      case DuplicateMode::mixed:
        return rng_.next_below(2) == 0 ? KeyRole::sequential : KeyRole::concurrent;
    }
  }
  if (roll < plan_.duplicate_fraction + plan_.conflict_fraction) return KeyRole::conflicting;
  return KeyRole::original;
}

}  // namespace paystream::bench
