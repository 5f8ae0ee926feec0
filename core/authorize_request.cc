#include "core/authorize_request.h"

#include <simdjson.h>

#include <array>
#include <cstring>
#include <utility>

#include "base/ascii.h"
#include "core/authorize_fields.h"
#include "core/json_body_errors.h"
#include "core/json_syntax.h"

namespace paystream::core {
namespace {

namespace ondemand = simdjson::ondemand;

constexpr std::string_view kEmptyBody = "body is empty";
constexpr std::string_view kTooLarge = "body is too large";
constexpr std::string_view kTrailing = "body has content after the JSON object";
constexpr std::string_view kTooDeep = "body nests deeper than 64 levels";
constexpr std::string_view kTooManyKeys = "body has more than 256 keys";
constexpr std::string_view kRepeatedUnnamed = "body repeats a key";

constexpr DecodeError body_error(std::string_view message) {
  return {{}, message};
}

uint32_t fnv1a(std::string_view text) {
  uint32_t hash = 2166136261u;
  for (char c : text) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 16777619u;
  }
  return hash;
}

struct SeenKey {
  uint32_t hash;
  std::string_view key;  // unescaped, in the parser's string buffer
};

}  // namespace

struct AuthorizeDecoder::State {
  explicit State(size_t max_body)
      : max_body_bytes(max_body),
        padded(new char[max_body + simdjson::SIMDJSON_PADDING]),
        allocation(parser.allocate(max_body, kMaxDepth + 1)) {}

  DecodeError decode(std::string_view body, AuthorizeRequest& out);
  DecodeError walk_body(std::string_view body);
  DecodeError walk_value(ondemand::value& value, size_t depth, FieldValue* capture);
  DecodeError note_key(std::string_view key);

  const size_t max_body_bytes;
  const std::unique_ptr<char[]> padded;
  ondemand::parser parser;
  const simdjson::error_code allocation;

  // Per-decode scratch.
  RequestFieldValues values;
  std::array<SeenKey, kMaxTopLevelKeys> seen{};
  size_t seen_count = 0;
  DecodeError first_repeat;
  std::array<char, kMaxReportedKeyBytes> repeated_key{};
};

DecodeError AuthorizeDecoder::State::decode(std::string_view body, AuthorizeRequest& out) {
  if (base::trim_left(body, base::kWhitespace).empty()) return body_error(kEmptyBody);
  if (body.size() > max_body_bytes || allocation != simdjson::SUCCESS) {
    return body_error(kTooLarge);
  }
  values = {};
  seen_count = 0;
  first_repeat = {};
  const DecodeError shape = walk_body(body);
  if (!shape.ok()) return shape;
  return validate_request_fields(values, out);
}

// Validates the whole body as JSON and captures the known fields' values. Invalid JSON anywhere
// outranks a repeated key, which outranks every field error.
DecodeError AuthorizeDecoder::State::walk_body(std::string_view body) {
  std::memcpy(padded.get(), body.data(), body.size());
  std::memset(padded.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);

  ondemand::document document;
  if (parser.iterate(padded.get(), body.size(), body.size() + simdjson::SIMDJSON_PADDING)
          .get(document)) {
    return body_error(kBodyNotJson);
  }
  ondemand::json_type type;
  if (document.type().get(type)) return body_error(kBodyNotJson);
  if (type != ondemand::json_type::object) return body_error(kBodyNotObject);
  ondemand::object object;
  if (document.get_object().get(object)) return body_error(kBodyNotJson);

  for (auto field_result : object) {
    ondemand::field field;
    if (std::move(field_result).get(field)) return body_error(kBodyNotJson);
    std::string_view key;
    if (field.unescaped_key().get(key)) return body_error(kBodyNotJson);
    const DecodeError key_error = note_key(key);
    if (!key_error.ok()) return key_error;

    FieldValue* capture = nullptr;
    if (const std::optional<RequestField> known = find_request_field(key)) {
      FieldValue& slot = values[static_cast<size_t>(*known)];
      if (slot.kind == ValueKind::absent) capture = &slot;  // a repeat keeps the first value
    }
    const DecodeError value_error = walk_value(field.value(), 2, capture);
    if (!value_error.ok()) return value_error;
  }

  // 3.0.1 has no at_end(): past the object's end, the location is OUT_OF_BOUNDS.
  const char* location = nullptr;
  if (document.current_location().get(location) != simdjson::OUT_OF_BOUNDS) {
    return body_error(kTrailing);
  }
  return first_repeat;
}

// On-Demand validates only what it is asked for: every value is visited, containers
// recursively, and scalars checked against the RFC 8259 grammar.
DecodeError AuthorizeDecoder::State::walk_value(ondemand::value& value, size_t depth,
                                                FieldValue* capture) {
  ondemand::json_type type;
  if (value.type().get(type)) return body_error(kBodyNotJson);
  FieldValue captured{ValueKind::other, {}};

  switch (type) {
    case ondemand::json_type::object: {
      if (depth > kMaxDepth) return body_error(kTooDeep);
      ondemand::object object;
      if (value.get_object().get(object)) return body_error(kBodyNotJson);
      for (auto field_result : object) {
        ondemand::field field;
        std::string_view key;
        if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
          return body_error(kBodyNotJson);
        }
        const DecodeError error = walk_value(field.value(), depth + 1, nullptr);
        if (!error.ok()) return error;
      }
      break;
    }
    case ondemand::json_type::array: {
      if (depth > kMaxDepth) return body_error(kTooDeep);
      ondemand::array array;
      if (value.get_array().get(array)) return body_error(kBodyNotJson);
      for (auto element_result : array) {
        ondemand::value element;
        if (element_result.get(element)) return body_error(kBodyNotJson);
        const DecodeError error = walk_value(element, depth + 1, nullptr);
        if (!error.ok()) return error;
      }
      break;
    }
    case ondemand::json_type::string: {
      if (value.get_string().get(captured.text)) return body_error(kBodyNotJson);
      captured.kind = ValueKind::string;
      break;
    }
    case ondemand::json_type::number: {
      captured.text = trim_json_whitespace_right(value.raw_json_token());
      if (!is_json_number(captured.text)) return body_error(kBodyNotJson);
      captured.kind = ValueKind::number;
      break;
    }
    case ondemand::json_type::boolean: {
      const std::string_view token = trim_json_whitespace_right(value.raw_json_token());
      if (token != "true" && token != "false") return body_error(kBodyNotJson);
      break;
    }
    case ondemand::json_type::null: {
      if (trim_json_whitespace_right(value.raw_json_token()) != "null") {
        return body_error(kBodyNotJson);
      }
      captured.kind = ValueKind::null;
      break;
    }
  }
  if (capture != nullptr) *capture = captured;
  return {};
}

// Records a top-level key, remembering the first one that repeats (compared unescaped).
DecodeError AuthorizeDecoder::State::note_key(std::string_view key) {
  const uint32_t hash = fnv1a(key);
  for (size_t i = 0; i < seen_count; ++i) {
    if (seen[i].hash != hash || seen[i].key != key) continue;
    if (!first_repeat.ok()) return {};
    if (const std::optional<RequestField> known = find_request_field(key)) {
      first_repeat = {request_field_name(*known), kKeyRepeated};
    } else if (!key.empty() && key.size() <= repeated_key.size()) {
      std::memcpy(repeated_key.data(), key.data(), key.size());
      first_repeat = {{repeated_key.data(), key.size()}, kKeyRepeated};
    } else {
      first_repeat = body_error(kRepeatedUnnamed);
    }
    return {};
  }
  if (seen_count == seen.size()) return body_error(kTooManyKeys);
  seen[seen_count++] = {hash, key};
  return {};
}

AuthorizeDecoder::AuthorizeDecoder(size_t max_body_bytes)
    : state_(std::make_unique<State>(max_body_bytes)) {}

AuthorizeDecoder::~AuthorizeDecoder() = default;

DecodeError AuthorizeDecoder::decode(std::string_view body, AuthorizeRequest& out) {
  return state_->decode(body, out);
}

}  // namespace paystream::core
