#include "bench/authload/json_writer.h"

#include <gtest/gtest.h>

#include <limits>

namespace paystream::bench {
namespace {

TEST(JsonWriter, NestedContainersCommasAndEscapes) {
  JsonWriter w;
  w.begin_object()
      .string("name", "a\"b\\c\n")
      .number("rate", 4999.5)
      .number("whole", 3.0)
      .number("nan", std::numeric_limits<double>::quiet_NaN())
      .integer("count", 18'446'744'073'709'551'615u)
      .boolean("valid", false)
      .null("best")
      .begin_array("reasons")
      .string("", "x")
      .string("", "y")
      .end_array()
      .begin_object("empty")
      .end_object()
      .begin_array("none")
      .end_array()
      .end_object();
  EXPECT_EQ(w.text(),
            "{\n"
            "  \"name\": \"a\\\"b\\\\c\\n\",\n"
            "  \"rate\": 4999.5,\n"
            "  \"whole\": 3,\n"
            "  \"nan\": null,\n"
            "  \"count\": 18446744073709551615,\n"
            "  \"valid\": false,\n"
            "  \"best\": null,\n"
            "  \"reasons\": [\n"
            "    \"x\",\n"
            "    \"y\"\n"
            "  ],\n"
            "  \"empty\": {},\n"
            "  \"none\": []\n"
            "}\n");
}

TEST(JsonWriter, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  JsonWriter w;
  w.begin_object().string("target", "h\xffst\x01").end_object();
  EXPECT_EQ(w.text(), "{\n  \"target\": \"h\\ufffdst\\u0001\"\n}\n");
}

}  // namespace
}  // namespace paystream::bench
