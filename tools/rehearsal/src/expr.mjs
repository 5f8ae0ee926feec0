// The subset of the expr language (github.com/expr-lang/expr) that Argo Rollouts uses
// for successCondition / failureCondition, evaluated with the same semantics:
//
//   result                the measurement: an array of numbers (Prometheus vector) or
//                         a number (scalar)
//   result[i]             indexing (negative counts from the end; out of range: error)
//   len(x)  isNaN(x)  isInf(x)
//   all(array, pred)      pred with "#" for the element, braced {…} or bare
//   < <= > >= == !=       numbers (IEEE: NaN compares false, != true) or booleans
//   && || !               booleans only, short-circuit
//   numbers, true, false, parentheses, unary minus
//
// Anything else (strings, other functions, arithmetic, and/or/not, member access…) is
// rejected when the condition is compiled: a condition the rehearsal cannot evaluate
// exactly like the controller must fail loudly, never be approximated.
// Errors at evaluation (type mismatch, index out of range, non-boolean result) are
// ExprRuntimeError: the controller records such a measurement as Error.

export class ExprSyntaxError extends Error {}
export class ExprRuntimeError extends Error {}

const FUNCS = new Set(["len", "isNaN", "isInf", "all"]);

function tokenize(src) {
  const toks = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/.exec(src.slice(i));
    if (num) {
      toks.push({ t: "num", v: Number(num[1]), pos: i });
      i += num[1].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      toks.push({ t: "id", v: id[0], pos: i });
      i += id[0].length;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (["&&", "||", "<=", ">=", "==", "!="].includes(two)) {
      toks.push({ t: "op", v: two, pos: i });
      i += 2;
      continue;
    }
    if ("<>!-()[]{},#".includes(c)) {
      toks.push({ t: "op", v: c, pos: i });
      i++;
      continue;
    }
    throw new ExprSyntaxError(`unsupported character ${JSON.stringify(c)} at ${i}`);
  }
  toks.push({ t: "eof", pos: src.length });
  return toks;
}

// Parses a condition into an AST; throws ExprSyntaxError for anything outside the subset.
export function compile(src) {
  if (typeof src !== "string" || !src.trim()) throw new ExprSyntaxError("empty condition");
  const toks = tokenize(src);
  let p = 0;
  let predicateDepth = 0;
  const peek = () => toks[p];
  const next = () => toks[p++];
  const expect = (v) => {
    const t = next();
    if (t.t !== "op" || t.v !== v) throw new ExprSyntaxError(`expected "${v}" at ${t.pos}${t.t === "eof" ? " (end)" : `, found ${JSON.stringify(t.v)}`}`);
  };
  const isOp = (v) => peek().t === "op" && peek().v === v;

  function parseOr() {
    let left = parseAnd();
    while (isOp("||")) {
      next();
      left = { k: "or", a: left, b: parseAnd() };
    }
    return left;
  }
  function parseAnd() {
    let left = parseCmp();
    while (isOp("&&")) {
      next();
      left = { k: "and", a: left, b: parseCmp() };
    }
    return left;
  }
  function parseCmp() {
    const left = parseUnary();
    const t = peek();
    if (t.t === "op" && ["<", "<=", ">", ">=", "==", "!="].includes(t.v)) {
      next();
      const right = parseUnary();
      const n = peek();
      if (n.t === "op" && ["<", "<=", ">", ">=", "==", "!="].includes(n.v)) throw new ExprSyntaxError(`chained comparison at ${n.pos}: use && between comparisons`);
      return { k: "cmp", op: t.v, a: left, b: right };
    }
    return left;
  }
  function parseUnary() {
    if (isOp("!")) {
      next();
      return { k: "not", a: parseUnary() };
    }
    if (isOp("-")) {
      next();
      return { k: "neg", a: parseUnary() };
    }
    return parsePostfix();
  }
  function parsePostfix() {
    let node = parsePrimary();
    while (isOp("[")) {
      next();
      const idx = parseOr();
      expect("]");
      node = { k: "index", a: node, i: idx };
    }
    const t = peek();
    if (t.t === "op" && t.v === ".") throw new ExprSyntaxError(`member access at ${t.pos} is outside the supported subset`);
    return node;
  }
  function parsePrimary() {
    const t = next();
    if (t.t === "num") return { k: "num", v: t.v };
    if (t.t === "op" && t.v === "(") {
      const e = parseOr();
      expect(")");
      return e;
    }
    if (t.t === "op" && t.v === "#") {
      if (!predicateDepth) throw new ExprSyntaxError(`"#" at ${t.pos} outside a predicate of all()`);
      return { k: "elem" };
    }
    if (t.t === "id") {
      if (t.v === "true" || t.v === "false") return { k: "bool", v: t.v === "true" };
      if (["and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith", "nil", "let"].includes(t.v))
        throw new ExprSyntaxError(`"${t.v}" at ${t.pos} is outside the supported subset (use && || !)`);
      if (isOp("(")) {
        if (!FUNCS.has(t.v)) throw new ExprSyntaxError(`function ${t.v}() at ${t.pos} is outside the supported subset (len, isNaN, isInf, all)`);
        next();
        if (t.v === "all") {
          const arr = parseOr();
          expect(",");
          let pred;
          predicateDepth++;
          if (isOp("{")) {
            next();
            pred = parseOr();
            expect("}");
          } else pred = parseOr();
          predicateDepth--;
          expect(")");
          return { k: "all", a: arr, pred };
        }
        const arg = parseOr();
        if (isOp(",")) throw new ExprSyntaxError(`${t.v}() takes one argument`);
        expect(")");
        return { k: "call", f: t.v, a: arg };
      }
      if (t.v === "result") return { k: "result" };
      throw new ExprSyntaxError(`identifier "${t.v}" at ${t.pos} is outside the supported subset (only result)`);
    }
    if (t.t === "eof") throw new ExprSyntaxError("unexpected end of condition");
    throw new ExprSyntaxError(`unexpected ${JSON.stringify(t.v)} at ${t.pos}`);
  }

  const ast = parseOr();
  if (peek().t !== "eof") throw new ExprSyntaxError(`unexpected ${JSON.stringify(peek().v)} at ${peek().pos}`);
  return ast;
}

const typeOf = (v) => (Array.isArray(v) ? "array" : typeof v === "number" ? "float64" : typeof v === "boolean" ? "bool" : v === null || v === undefined ? "nil" : typeof v);

function evalNode(n, env) {
  switch (n.k) {
    case "num":
    case "bool":
      return n.v;
    case "result":
      return env.result;
    case "elem":
      return env.elem;
    case "not": {
      const v = evalNode(n.a, env);
      if (typeof v !== "boolean") throw new ExprRuntimeError(`invalid operation: ! (mismatched type ${typeOf(v)})`);
      return !v;
    }
    case "neg": {
      const v = evalNode(n.a, env);
      if (typeof v !== "number") throw new ExprRuntimeError(`invalid operation: - (mismatched type ${typeOf(v)})`);
      return -v;
    }
    case "and":
    case "or": {
      const a = evalNode(n.a, env);
      if (typeof a !== "boolean") throw new ExprRuntimeError(`invalid operation: ${n.k === "and" ? "&&" : "||"} (mismatched type ${typeOf(a)})`);
      if (n.k === "and" ? !a : a) return a;
      const b = evalNode(n.b, env);
      if (typeof b !== "boolean") throw new ExprRuntimeError(`invalid operation: ${n.k === "and" ? "&&" : "||"} (mismatched type ${typeOf(b)})`);
      return b;
    }
    case "cmp": {
      const a = evalNode(n.a, env);
      const b = evalNode(n.b, env);
      const ta = typeOf(a);
      const tb = typeOf(b);
      if (ta === "float64" && tb === "float64") {
        switch (n.op) {
          case "<": return a < b;
          case "<=": return a <= b;
          case ">": return a > b;
          case ">=": return a >= b;
          case "==": return a === b;
          case "!=": return a !== b;
        }
      }
      if (ta === "bool" && tb === "bool" && (n.op === "==" || n.op === "!=")) return n.op === "==" ? a === b : a !== b;
      throw new ExprRuntimeError(`invalid operation: ${n.op} (mismatched types ${ta} and ${tb})`);
    }
    case "index": {
      const a = evalNode(n.a, env);
      const i = evalNode(n.i, env);
      if (!Array.isArray(a)) throw new ExprRuntimeError(`cannot index ${typeOf(a)}`);
      if (typeof i !== "number" || !Number.isInteger(i)) throw new ExprRuntimeError(`non-integer index ${i}`);
      const j = i < 0 ? a.length + i : i;
      if (j < 0 || j >= a.length) throw new ExprRuntimeError(`index out of range: ${i} (array of length ${a.length})`);
      return a[j];
    }
    case "call": {
      const v = evalNode(n.a, env);
      if (n.f === "len") {
        if (!Array.isArray(v)) throw new ExprRuntimeError(`invalid argument for len (type ${typeOf(v)})`);
        return v.length;
      }
      if (typeof v !== "number") throw new ExprRuntimeError(`${n.f}() wants a float64, got ${typeOf(v)}`);
      return n.f === "isNaN" ? Number.isNaN(v) : v === Infinity || v === -Infinity;
    }
    case "all": {
      const arr = evalNode(n.a, env);
      if (!Array.isArray(arr)) throw new ExprRuntimeError(`all() wants an array, got ${typeOf(arr)}`);
      for (const e of arr) {
        const r = evalNode(n.pred, { ...env, elem: e });
        if (typeof r !== "boolean") throw new ExprRuntimeError(`all() predicate must be bool, got ${typeOf(r)}`);
        if (!r) return false;
      }
      return true;
    }
  }
  throw new ExprRuntimeError(`internal: unknown node ${n.k}`);
}

// Evaluates a compiled condition against a measurement; like Argo's EvalCondition the
// result must be a boolean.
export function evaluate(ast, result) {
  const out = evalNode(ast, { result });
  if (typeof out !== "boolean") throw new ExprRuntimeError(`expected bool, but got ${typeOf(out)}`);
  return out;
}

// Numbers a condition compares the result with (for drawing thresholds): every
// comparison between something that reads result and a number literal.
export function thresholds(ast) {
  const out = [];
  const readsResult = (n) => n && (n.k === "result" || n.k === "elem" || ["index", "neg", "not"].some((k) => n.k === k && readsResult(n.a)));
  const lit = (n) => (n.k === "num" ? n.v : n.k === "neg" && n.a.k === "num" ? -n.a.v : null);
  const walk = (n) => {
    if (!n || typeof n !== "object") return;
    if (n.k === "cmp") {
      if (readsResult(n.a) && lit(n.b) !== null) out.push(lit(n.b));
      else if (readsResult(n.b) && lit(n.a) !== null) out.push(lit(n.a));
    }
    for (const k of ["a", "b", "i", "pred"]) walk(n[k]);
  };
  walk(ast);
  return [...new Set(out)];
}
