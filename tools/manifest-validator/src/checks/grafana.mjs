// Grafana: a datasource with a fixed uid, a dashboard provider whose path really is a
// mounted ConfigMap, dashboards that parse and reference the datasource by that uid.
import YAML from "yaml";
import { workloadContainers, envValue } from "../k8s.mjs";

function mountedConfigMap(ctx, doc, spec, c, mountPath) {
  const m = (c.volumeMounts || []).find((x) => x.mountPath.replace(/\/$/, "") === mountPath.replace(/\/$/, "") && !x.subPath);
  if (!m) return null;
  const v = (spec.volumes || []).find((x) => x.name === m.name);
  if (!v || !v.configMap) return null;
  return ctx.get("ConfigMap", ctx.nsOf(doc), v.configMap.name);
}

function collectDatasourceRefs(node, ptr, out) {
  if (Array.isArray(node)) return node.forEach((x, i) => collectDatasourceRefs(x, `${ptr}/${i}`, out));
  if (!node || typeof node !== "object") return;
  for (const [k, v] of Object.entries(node)) {
    if (k === "datasource") out.push({ ptr: `${ptr}/datasource`, ref: v });
    collectDatasourceRefs(v, `${ptr}/${k}`, out);
  }
}

function collectExprs(dash) {
  const out = [];
  const walk = (panels, ptr) =>
    (panels || []).forEach((p, i) => {
      (p.targets || []).forEach((t, j) => {
        if (typeof t.expr === "string" && t.expr.trim()) out.push({ ptr: `${ptr}/${i}/targets/${j}/expr`, expr: t.expr });
      });
      if (p.panels) walk(p.panels, `${ptr}/${i}/panels`);
    });
  walk(dash.panels, "/panels");
  return out;
}

// Grafana variables -> something PromQL parses (the query is only parsed).
function grafanaToPromQL(expr) {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, "5m")
    .replace(/\[\$\{?[A-Za-z_]\w*\}?\]/g, "[5m]")
    .replace(/\$\{?[A-Za-z_]\w*\}?/g, "placeholder");
}

export function checkGrafana(ctx) {
  const queries = [];
  const grafanas = workloadContainers(ctx, (c) => /(^|\/)grafana(:|@|$)/.test(c.image || ""));
  for (const g of grafanas) {
    const prov = (envValue(g.c, "GF_PATHS_PROVISIONING") || {}).value || "/etc/grafana/provisioning";
    const dsCm = mountedConfigMap(ctx, g.doc, g.spec, g.c, `${prov}/datasources`);
    const uids = new Set();
    if (!dsCm) ctx.error(g.doc, `${g.pointer}/volumeMounts`, `no ConfigMap mounted at ${prov}/datasources`);
    else
      for (const [key, text] of Object.entries(dsCm.obj.data || {})) {
        let y;
        try {
          y = YAML.parse(text);
        } catch (e) {
          ctx.error(dsCm, `/data/${key}`, `not valid YAML: ${e.message.split("\n")[0]}`);
          continue;
        }
        ((y && y.datasources) || []).forEach((ds, i) => {
          if (!ds.uid) ctx.error(dsCm, `/data/${key}`, `datasources[${i}] (${ds.name}) has no fixed uid: dashboards could not reference it`);
          else uids.add(ds.uid);
        });
      }
    const provCm = mountedConfigMap(ctx, g.doc, g.spec, g.c, `${prov}/dashboards`);
    if (!provCm) {
      ctx.error(g.doc, `${g.pointer}/volumeMounts`, `no ConfigMap mounted at ${prov}/dashboards (dashboard providers)`);
      continue;
    }
    for (const [key, text] of Object.entries(provCm.obj.data || {})) {
      let y;
      try {
        y = YAML.parse(text);
      } catch (e) {
        ctx.error(provCm, `/data/${key}`, `not valid YAML: ${e.message.split("\n")[0]}`);
        continue;
      }
      ((y && y.providers) || []).forEach((pv, i) => {
        const p = pv.options && pv.options.path;
        const dashCm = p && mountedConfigMap(ctx, g.doc, g.spec, g.c, p);
        if (!dashCm) return ctx.error(provCm, `/data/${key}`, `providers[${i}] loads dashboards from ${p}, where no ConfigMap is mounted in ${g.doc.kind}/${g.doc.name}`);
        const jsonKeys = Object.keys(dashCm.obj.data || {}).filter((k) => k.endsWith(".json"));
        if (!jsonKeys.length) ctx.error(dashCm, "/data", `provider "${pv.name}" would load no dashboard: no .json key`);
        for (const k of jsonKeys) {
          let dash;
          try {
            dash = JSON.parse(dashCm.obj.data[k]);
          } catch (e) {
            ctx.error(dashCm, `/data/${k}`, `dashboard is not valid JSON: ${e.message}`);
            continue;
          }
          if (!dash.uid) ctx.error(dashCm, `/data/${k}`, "dashboard has no uid (links to it would break on every re-provisioning)");
          if (!dash.title) ctx.error(dashCm, `/data/${k}`, "dashboard has no title");
          const refs = [];
          collectDatasourceRefs(dash, "", refs);
          for (const { ptr, ref } of refs) {
            if (ref && typeof ref === "object" && ref.uid && ref.uid.startsWith("$")) continue;
            if (ref && typeof ref === "object" && ["-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana"].includes(ref.uid)) continue;
            if (!ref || typeof ref !== "object" || !uids.has(ref.uid))
              ctx.error(dashCm, `/data/${k}${ptr}`, `datasource ${JSON.stringify(ref)} is not referenced by a provisioned uid (${[...uids].join(", ") || "none"})`);
          }
          for (const e of collectExprs(dash)) queries.push({ doc: dashCm, pointer: `/data/${k}${e.ptr}`, expr: grafanaToPromQL(e.expr) });
        }
      });
    }
  }
  return queries;
}
