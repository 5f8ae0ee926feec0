// Durations: Go / Kubernetes ("1m30s", "500ms"), Prometheus ("5m", "1h", "2d") and
// the time scale that divides every one of them consistently.

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

// "1m30s" -> 90000. Accepts the units of both Go and Prometheus (ms s m h d w y);
// a bare number is seconds (Argo's prometheus.timeout, Kubernetes' *Seconds fields).
export function parseDuration(text) {
  if (typeof text === "number") return text * 1000;
  const s = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let pos = 0;
  let m;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== s.length || s.length === 0) throw new Error(`invalid duration "${text}"`);
  return total;
}

// Prometheus range/offset syntax: whole units only, largest first ("1m30s", "750ms").
export function formatPromDuration(ms) {
  let rest = Math.max(1, Math.round(ms));
  if (rest % 1000 !== 0) return `${rest}ms`;
  let out = "";
  for (const [u, f] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]]) {
    const n = Math.floor(rest / f);
    if (n) out += `${n}${u}`;
    rest -= n * f;
  }
  return out;
}

// Human form for logs: "90s", "5m", "1.5s".
export function formatShort(ms) {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 120) return `${+s.toFixed(1)}s`;
  const m = s / 60;
  return `${+m.toFixed(1)}m`;
}

// Divides every range selector [d], subquery [d:r] and offset d of a PromQL expression
// by the time scale. Durations inside string literals (label values) are left alone.
export function scalePromQL(expr, scale) {
  if (scale === 1) return expr;
  let out = "";
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === "\\" && c !== "`" ? 2 : 1;
      out += expr.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === "[") {
      const m = /^\[\s*([0-9a-z]+)\s*(?::\s*([0-9a-z]*)\s*)?\]/.exec(expr.slice(i));
      if (m && isDuration(m[1])) {
        const range = formatPromDuration(parseDuration(m[1]) / scale);
        const step = m[2] === undefined ? null : m[2] === "" ? "" : formatPromDuration(parseDuration(m[2]) / scale);
        out += `[${range}${step === null ? "" : `:${step}`}]`;
        i += m[0].length;
        continue;
      }
    }
    const off = /^offset(\s+)(-?)([0-9a-z]+)/.exec(expr.slice(i));
    if (off && (i === 0 || /[\s)\]}]/.test(expr[i - 1])) && isDuration(off[3])) {
      out += `offset${off[1]}${off[2]}${formatPromDuration(parseDuration(off[3]) / scale)}`;
      i += off[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function isDuration(s) {
  try {
    parseDuration(s);
    return /[a-z]$/.test(s);
  } catch {
    return false;
  }
}
