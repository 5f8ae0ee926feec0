// Environments: k8s/<production>/ is the source, each mirror directory (staging) must be
// exactly its documents with the environment token rewritten. The rewrite is the same
// rule here (checking) and in sync-staging.mjs (generating):
//
//   the word "paystream" becomes "paystream-staging" where it is a namespace-derived
//   name: not preceded by a letter, digit, "_" or "/" and not followed by a letter,
//   digit, "_" or "-". So namespace: paystream, auth-service.paystream.svc, https-
//   paystream, auth-service-paystream and paystream/auth-service change, while
//   ghcr.io/paystream/auth-service, /var/run/secrets/paystream/... and
//   paystream-prometheus-discovery do not. Values of invariant labels (the product name
//   in app.kubernetes.io/part-of) never change.

// Overlays (config.yaml environments.overlays.<mirror>): after the rewrite, each op
// changes one document of one file: set a value, add one to a list, remove a key or list
// item. applyOverlayToObject works on plain objects (checking); sync-staging.mjs applies
// the same ops to the YAML documents (generating, comments kept). Setting a whole list
// item that has a name (an env variable) must keep that name, so an index that moved
// with an insertion fails instead of overwriting another item.
export function overlaysFor(envs, mirror, file) {
  return ((envs.overlays || {})[mirror] || []).filter((o) => o.file === file);
}

export function overlayMatches(o, obj) {
  return obj && obj.kind === o.kind && obj.metadata && obj.metadata.name === o.name;
}

export function applyOverlayToObject(obj, o) {
  const parentPath = o.path.slice(0, -1);
  const last = o.path[o.path.length - 1];
  let cur = obj;
  for (const k of o.op === "add" ? o.path : parentPath) {
    if (cur[k] === undefined && o.op === "set") cur[k] = {};
    cur = cur[k];
    if (cur === undefined || cur === null || typeof cur !== "object") throw new Error(`overlay ${o.op} ${o.path.join("/")}: no such path`);
  }
  if (o.op === "set") {
    const was = cur[last];
    if (was && typeof was === "object" && was.name !== undefined && o.value && o.value.name !== was.name)
      throw new Error(`overlay set ${o.path.join("/")}: that item is "${was.name}", not "${o.value.name}" (the list moved: update the index)`);
    cur[last] = structuredClone(o.value);
  }
  else if (o.op === "add") {
    if (!Array.isArray(cur)) throw new Error(`overlay add ${o.path.join("/")}: not a list`);
    cur.push(structuredClone(o.value));
  } else if (o.op === "remove") {
    if (!(last in cur)) throw new Error(`overlay remove ${o.path.join("/")}: no such key`);
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else throw new Error(`overlay: unknown op ${o.op}`);
  return obj;
}

export function tokenRegExp(token) {
  const esc = token.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![A-Za-z0-9_/])${esc}(?![A-Za-z0-9_-])`, "g");
}

export function rewriteString(s, from, to) {
  return s.replace(tokenRegExp(from), to);
}

// Deep copy of obj with every string value rewritten, except invariant label values.
export function rewriteDoc(obj, from, to, invariantLabels) {
  const walk = (v, parentKey) => {
    if (Array.isArray(v)) return v.map((x) => walk(x, null));
    if (v && typeof v === "object") {
      const out = {};
      for (const [k, x] of Object.entries(v)) {
        if (parentKey === "labels" && invariantLabels.includes(k)) out[k] = x;
        else out[k] = walk(x, k);
      }
      return out;
    }
    return typeof v === "string" ? rewriteString(v, from, to) : v;
  };
  return walk(obj, null);
}

// Text form (for generation): rewrite every line except invariant label lines.
export function rewriteText(text, from, to, invariantLabels) {
  return text
    .split("\n")
    .map((line) => (invariantLabels.some((l) => line.trimStart().startsWith(`${l}:`)) ? line : rewriteString(line, from, to)))
    .join("\n");
}

function firstDifference(a, b, ptr = "") {
  if (JSON.stringify(a) === JSON.stringify(b)) return null;
  if (a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference(a[k], b[k], `${ptr}/${k}`);
      if (d) return d;
    }
  }
  return { ptr: ptr || "/", expected: a, found: b };
}

export function checkEnvironments(ctx) {
  const envs = ctx.config.environments;
  if (!envs) return;
  const prod = envs.production;
  const inv = envs.invariantLabels || [];
  const prodDocs = ctx.docs.filter((d) => d.rel.split("/")[0] === prod);
  if (!prodDocs.length) return; // validating a tree without environments (e.g. a fixture)
  for (const d of prodDocs) {
    if (d.namespace && d.namespace !== prod) ctx.error(d, "/metadata/namespace", `documents in ${prod}/ belong to namespace "${prod}"`);
  }
  for (const mirror of envs.mirrors || []) {
    const mirrorDocs = ctx.docs.filter((d) => d.rel.split("/")[0] === mirror);
    if (!mirrorDocs.length) {
      ctx.globalError(`environment directory ${mirror}/ is missing (it must mirror ${prod}/; run node tools/manifest-validator/src/sync-staging.mjs)`);
      continue;
    }
    const key = (d) => `${d.rel.split("/").slice(1).join("/")}#${d.index}`;
    const mirrorByKey = new Map(mirrorDocs.map((d) => [key(d), d]));
    const seen = new Set();
    for (const p of prodDocs) {
      const k = key(p);
      const m = mirrorByKey.get(k);
      if (!m) {
        ctx.error(p, "", `has no counterpart in ${mirror}/ (same file, same document position); run node tools/manifest-validator/src/sync-staging.mjs`);
        continue;
      }
      seen.add(k);
      const want = rewriteDoc(p.obj, prod, mirror, inv);
      for (const o of overlaysFor(envs, mirror, p.rel.split("/").slice(1).join("/")))
        if (overlayMatches(o, want)) {
          try {
            applyOverlayToObject(want, o);
          } catch (e) {
            ctx.globalError(`environments.overlays.${mirror}: ${o.file} ${o.kind}/${o.name}: ${e.message}`);
          }
        }
      const diff = firstDifference(want, m.obj);
      if (diff)
        ctx.error(m, diff.ptr, `differs from ${p.file} doc ${p.index} with "${prod}" rewritten to "${mirror}" and the overlays of config.yaml applied: expected ${JSON.stringify(diff.expected)}, found ${JSON.stringify(diff.found)} (edit ${prod}/ and run node tools/manifest-validator/src/sync-staging.mjs)`);
    }
    for (const m of mirrorDocs) if (!seen.has(key(m))) ctx.error(m, "", `has no counterpart in ${prod}/: environments must not drift`);
  }
}
