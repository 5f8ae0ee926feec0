// The expr-language subset: Argo's semantics for every form the templates use, and a
// loud refusal of everything else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compile, evaluate, thresholds, ExprSyntaxError, ExprRuntimeError } from "../src/expr.mjs";

const ev = (src, result) => evaluate(compile(src), result);

test("guarded comparisons on a vector result", () => {
  const c = "len(result) > 0 && !isNaN(result[0]) && result[0] < 0.01";
  assert.equal(ev(c, [0.005]), true);
  assert.equal(ev(c, [0.01]), false);
  assert.equal(ev(c, [NaN]), false);
  assert.equal(ev(c, []), false, "empty vector: the guard short-circuits, no index error");
});

test("NaN compares false with every operator but !=", () => {
  for (const op of ["<", "<=", ">", ">=", "=="]) assert.equal(ev(`result[0] ${op} 1`, [NaN]), false, op);
  assert.equal(ev("result[0] != 1", [NaN]), true);
});

test("isInf, negative literals, parentheses, ||", () => {
  assert.equal(ev("isInf(result[0])", [Infinity]), true);
  assert.equal(ev("isInf(result[0])", [-Infinity]), true);
  assert.equal(ev("isInf(result[0])", [1e308]), false);
  assert.equal(ev("result[0] >= -0.05", [-0.049]), true);
  assert.equal(ev("result[0] >= -0.05", [-0.051]), false);
  assert.equal(ev("!(result[0] > 1) || false", [2]), false);
  assert.equal(ev("(true)", []), true);
  assert.equal(ev("false", [1]), false);
  assert.equal(ev("result[-1] == 3", [1, 2, 3]), true, "negative index counts from the end, as in expr");
});

test("all() with braced and bare predicates; empty array is true", () => {
  assert.equal(ev("all(result, {# == 0})", [0, 0]), true);
  assert.equal(ev("all(result, # == 0)", [0, 2]), false);
  assert.equal(ev("all(result, {!isNaN(#) && # == 0})", [0, NaN]), false);
  assert.equal(ev("all(result, {# < 1})", []), true, "hence the len(result) > 0 guard");
  const breakerFail = "len(result) > 0 && !all(result, {isNaN(#) || # == 0})";
  assert.equal(ev(breakerFail, [0, 2]), true);
  assert.equal(ev(breakerFail, [0, NaN]), false);
  assert.equal(ev(breakerFail, []), false);
});

test("&& and || short-circuit like expr (no error behind a false guard)", () => {
  assert.equal(ev("len(result) > 0 && result[0] > 1", []), false);
  assert.equal(ev("len(result) == 0 || result[0] > 1", []), true);
});

test("runtime errors: index out of range, type mismatches, non-boolean result", () => {
  assert.throws(() => ev("result[0] > 1", []), ExprRuntimeError);
  assert.throws(() => ev("result > 1", [1]), ExprRuntimeError, "array compared with a number");
  assert.throws(() => ev("len(result) > 0", 0.5), ExprRuntimeError, "len of a scalar result");
  assert.throws(() => ev("result[0]", [1]), /expected bool/);
  assert.throws(() => ev("len(result) && true", [1]), ExprRuntimeError);
  assert.throws(() => ev("!result[0]", [1]), ExprRuntimeError);
  assert.throws(() => ev("isNaN(result)", [1]), ExprRuntimeError);
  assert.throws(() => ev("all(result[0], {# > 1})", [1]), ExprRuntimeError);
  assert.throws(() => ev("result[0.5] > 1", [1]), ExprRuntimeError);
});

test("scalar results (a Prometheus scalar) are numbers", () => {
  assert.equal(ev("!isNaN(result) && result < 0.3", 0.2), true);
  assert.equal(ev("result == 0", 0), true);
});

test("everything outside the subset is rejected when compiled", () => {
  const bad = [
    "result[0] + 1 > 2",
    "result[0] * 2 > 1",
    "result[0] / 2 > 1",
    "result[0] > 1 and true",
    "not true",
    "result[0] in [1, 2]",
    'result == "x"',
    "asFloat(result[0]) > 1",
    "asInt(result[0]) > 1",
    "any(result, {# > 1})",
    "default(result, 0) > 1",
    "result.Value > 1",
    "foo > 1",
    "# > 1",
    "1 < result[0] < 2",
    "result[0] > 1 ? true : false",
    "result[0] ?? 0",
    "",
    "result[0] >",
    "(result[0] > 1",
  ];
  for (const b of bad) assert.throws(() => compile(b), ExprSyntaxError, b);
});

test("thresholds are the literals compared with the result", () => {
  assert.deepEqual(thresholds(compile("len(result) > 0 && !isNaN(result[0]) && result[0] >= -0.05")), [-0.05]);
  assert.deepEqual(thresholds(compile("len(result) > 0 && all(result, {!isNaN(#) && # == 0})")), [0]);
  assert.deepEqual(thresholds(compile("len(result) > 0 && !isInf(result[0]) && result[0] < 1.2")), [1.2]);
});
