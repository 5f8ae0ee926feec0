// Every document validates against its model, strictly; kinds and versions are known.
import { findModel, validateStrict } from "../schema.mjs";
import { CLUSTER_SCOPED } from "../k8s.mjs";

export async function checkSchemas(ctx) {
  const seen = new Map();
  for (const d of ctx.docs) {
    if (!d.obj || typeof d.obj !== "object" || Array.isArray(d.obj)) {
      ctx.error(d, "", "document is not a mapping");
      continue;
    }
    const rejected = (ctx.config.rejectedApiVersions || {})[d.apiVersion];
    if (rejected) ctx.error(d, "/apiVersion", `apiVersion "${d.apiVersion}" is not accepted: ${rejected}`);
    const cls = await findModel(d.apiVersion, d.kind);
    if (!cls) {
      ctx.error(d, "/kind", `unknown apiVersion/kind "${d.apiVersion}" "${d.kind}": no schema in the pinned model packages`);
      continue;
    }
    for (const p of validateStrict(cls, d.obj)) ctx.error(d, p.pointer, p.message);

    if (!d.name) ctx.error(d, "/metadata/name", "metadata.name is required");
    if (CLUSTER_SCOPED.has(d.kind)) {
      if (d.namespace) ctx.error(d, "/metadata/namespace", `${d.kind} is cluster-scoped: remove metadata.namespace`);
    } else if (!d.namespace) {
      ctx.error(d, "/metadata/namespace", "metadata.namespace is required (kubectl apply would otherwise use whatever namespace the current context has)");
    } else if (!ctx.isTreeNamespace(d.namespace)) {
      ctx.error(d, "/metadata/namespace", `namespace "${d.namespace}" is not created by any Namespace document in the tree`);
    }
    const key = `${d.apiVersion.split("/").length > 1 ? d.apiVersion.split("/")[0] : ""}/${d.kind}/${d.namespace || ""}/${d.name}`;
    if (seen.has(key)) ctx.error(d, "/metadata/name", `duplicate object: also defined in ${seen.get(key)}`);
    else seen.set(key, `${d.file} doc ${d.index}`);
  }
}
