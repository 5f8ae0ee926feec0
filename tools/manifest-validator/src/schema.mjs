// Offline schema validation with the kubernetes-models family, made strict.
//
// The models validate types, enums, required fields and formats with compiled (ajv)
// validators, but accept keys their schema does not define. To reject those (like
// `kubeconform -strict`), the object is handed to the validator wrapped in Proxies that
// record every key the validator reads. A compiled validator reads each property its
// schema defines (to test it) and, for maps (labels, data, ...), every key it iterates
// over (to test the value). So on any object where the validator read some keys, a key
// it never read is a key the schema does not define: an unknown field. Objects it did
// not read at all are schema-less (x-kubernetes-preserve-unknown-fields, e.g. the
// Rollout's traffic-router plugin config); those are checked elsewhere.

const GROUP_PACKAGES = [
  [/^argoproj\.io$/, "@kubernetes-models/argo-rollouts"],
  [/^gateway\.networking\.(x-)?k8s\.io$/, "@kubernetes-models/gateway-api"],
  [/^(generators\.)?external-secrets\.io$/, "@kubernetes-models/external-secrets"],
  [/(^|\.)istio\.io$/, "@kubernetes-models/istio"],
];

const API_VERSION_RE = /^(?:([a-z0-9]([a-z0-9.-]*[a-z0-9])?)\/)?(v[0-9]+(?:(?:alpha|beta)[0-9]+)?)$/;
const KIND_RE = /^[A-Z][A-Za-z0-9]*$/;

const modelCache = new Map();

// Resolves the model class for apiVersion/kind, or returns null when the pinned model
// packages do not know it.
export async function findModel(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const m = API_VERSION_RE.exec(apiVersion);
  if (!m || !KIND_RE.test(kind)) return null;
  const group = m[1] || "";
  const version = m[3];
  const key = `${apiVersion}/${kind}`;
  if (modelCache.has(key)) return modelCache.get(key);
  let pkg = "kubernetes-models";
  for (const [re, p] of GROUP_PACKAGES) if (re.test(group)) pkg = p;
  const spec = group ? `${pkg}/${group}/${version}/${kind}` : `${pkg}/${version}/${kind}`;
  let cls = null;
  try {
    const mod = await import(spec);
    const c = mod[kind];
    if (c && c.apiVersion === apiVersion && c.kind === kind && typeof c.prototype.validate === "function") cls = c;
  } catch {
    cls = null;
  }
  modelCache.set(key, cls);
  return cls;
}

function track(value, pointer, records) {
  if (Array.isArray(value)) return value.map((v, i) => track(v, `${pointer}/${i}`, records));
  if (value === null || typeof value !== "object") return value;
  const target = {};
  for (const k of Object.keys(value)) target[k] = track(value[k], `${pointer}/${escapePointer(k)}`, records);
  const rec = { pointer, keys: Object.keys(value), seen: new Set() };
  records.push(rec);
  return new Proxy(target, {
    get(t, p, r) {
      if (typeof p === "string") rec.seen.add(p);
      return Reflect.get(t, p, r);
    },
    has(t, p) {
      if (typeof p === "string") rec.seen.add(p);
      return Reflect.has(t, p);
    },
    // Not recorded: Object.keys() (minProperties, maxProperties) asks for every key's
    // descriptor without looking at the key itself.
    getOwnPropertyDescriptor(t, p) {
      return Reflect.getOwnPropertyDescriptor(t, p);
    },
  });
}

export function escapePointer(k) {
  return String(k).replace(/~/g, "~0").replace(/\//g, "~1");
}

// Validates obj against the model. Returns [{pointer, message}].
export function validateStrict(cls, obj) {
  const records = [];
  const proxied = track(obj, "", records);
  const problems = [];
  try {
    cls.prototype.validate.call(proxied);
  } catch (e) {
    const errs = Array.isArray(e.errors) ? e.errors : [{ instancePath: "", message: e.message }];
    for (const err of errs) {
      let msg = err.message || String(err.keyword);
      if (err.keyword === "enum" && err.params && err.params.allowedValues)
        msg += `: ${err.params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
      if (err.keyword === "additionalProperties" && err.params)
        msg = `unknown field "${err.params.additionalProperty}"`;
      problems.push({ pointer: err.instancePath || "", message: msg });
    }
  }
  for (const rec of records) {
    if (rec.seen.size === 0) continue;
    for (const k of rec.keys) {
      if (!rec.seen.has(k))
        problems.push({ pointer: `${rec.pointer}/${escapePointer(k)}`, message: `unknown field "${k}" (not in the schema)` });
    }
  }
  // de-duplicate (oneOf branches can report the same thing twice)
  const seen = new Set();
  return problems.filter((p) => {
    const k = `${p.pointer}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
