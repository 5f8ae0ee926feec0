// PNG timeline of a rehearsal with gnuplot (Debian package gnuplot-nox): the canary
// weight over time, then one panel per metric with every measurement (gate runs filled,
// background run open), coloured by verdict, the thresholds of its conditions dashed,
// and the fault and the verdict as vertical lines. Time is production-equivalent
// minutes (rehearsal seconds x time scale).
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";

const COLORS = { Successful: "#2ca02c", Failed: "#d62728", Inconclusive: "#7f7f7f", Error: "#000000" };

const gq = (s) => `"${String(s).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

export function gnuplotAvailable() {
  return spawnSync("gnuplot", ["--version"], { encoding: "utf8" }).status === 0;
}

// record: the rehearsal's JSON record; metrics: [{name, thresholds: [numbers]}].
export function plotTimeline(record, metrics, pngFile) {
  const dir = fs.mkdtempSync(path.join(path.dirname(pngFile), ".plot-"));
  try {
    const min = (tRealS) => tRealS / 60;
    const endMin = min(record.endedAtReal || 0);
    const startMin = Math.min(0, ...record.trafficWeights.map((x) => min(x.real)));
    const w = [];
    for (const p of record.weights) w.push(`${min(p.real).toFixed(4)} ${p.weight}`);
    w.push(`${endMin.toFixed(4)} ${record.weights.length ? record.weights[record.weights.length - 1].weight : 0}`);
    fs.writeFileSync(path.join(dir, "weights.dat"), w.join("\n") + "\n");
    const lines = [];
    const panels = metrics.length + 1;
    const cols = 2;
    const rows = Math.ceil(panels / cols);
    lines.push(`set terminal pngcairo size 1400,${320 * rows} font "DejaVu Sans,10"`);
    lines.push(`set output ${gq(pngFile)}`);
    lines.push(`set multiplot layout ${rows},${cols} title ${gq(`canary rehearsal: ${record.scenario} -> ${record.verdict}${record.faultToVerdict ? ` (fault to verdict ${record.faultToVerdict.realMinutes.toFixed(1)} min)` : ""}, time scale ${record.timeScale}`)}`);
    lines.push(`set xrange [${startMin.toFixed(3)}:${Math.max(endMin, 0.1).toFixed(3)}]`);
    lines.push('set xlabel "production-equivalent minutes since the rollout started"');
    lines.push("set grid");
    lines.push("set lmargin 10");
    lines.push("set rmargin 28");
    lines.push('set key outside right top font ",8"');
    const vlines = [];
    if (record.faultAtReal !== null && record.faultAtReal !== undefined) vlines.push([min(record.faultAtReal), "#ff7f0e", "fault"]);
    if (record.verdictAtReal !== null && record.verdictAtReal !== undefined) vlines.push([min(record.verdictAtReal), "#9467bd", record.verdict]);
    const arrows = () => {
      lines.push("unset arrow");
      vlines.forEach(([x, c], i) => lines.push(`set arrow ${i + 1} from ${x.toFixed(4)}, graph 0 to ${x.toFixed(4)}, graph 1 nohead lc rgb "${c}" lw 2 dt 3`));
    };
    // Weight panel.
    lines.push('set title "canary weight (setWeight steps; traffic actually sent)"');
    lines.push('set ylabel "% to canary"');
    lines.push("set yrange [-5:105]");
    arrows();
    const sent = record.trafficWeights.map((p) => `${min(p.real).toFixed(4)} ${p.weight}`);
    sent.push(`${endMin.toFixed(4)} ${record.trafficWeights.length ? record.trafficWeights[record.trafficWeights.length - 1].weight : 0}`);
    fs.writeFileSync(path.join(dir, "sent.dat"), sent.join("\n") + "\n");
    lines.push(`plot ${gq(path.join(dir, "weights.dat"))} using 1:2 with steps lw 3 lc rgb "#1f77b4" title "Rollout weight", ${gq(path.join(dir, "sent.dat"))} using 1:2 with steps lw 1 dt 2 lc rgb "#ff7f0e" title "load generator weight"`);
    // One panel per metric.
    metrics.forEach((m, k) => {
      const pts = [];
      for (const run of record.runs)
        for (const mm of run.metrics)
          if (mm.name === m.name) for (const meas of mm.measurements) pts.push({ ...meas, bg: run.kind === "background" });
      const vals = pts.map((p) => p.plotValue).filter((v) => Number.isFinite(v));
      const all = [...vals, ...m.thresholds];
      let lo = all.length ? Math.min(...all) : 0;
      let hi = all.length ? Math.max(...all) : 1;
      if (lo === hi) {
        lo -= Math.abs(lo) * 0.5 + 0.5;
        hi += Math.abs(hi) * 0.5 + 0.5;
      }
      const pad = (hi - lo) * 0.12;
      lo -= pad;
      hi += pad;
      const floor = lo + pad * 0.4;
      const series = [];
      for (const phase of Object.keys(COLORS))
        for (const bg of [false, true]) {
          const rows2 = pts.filter((p) => p.phase === phase && p.bg === bg).map((p) => `${min(p.real).toFixed(4)} ${Number.isFinite(p.plotValue) ? p.plotValue : floor}`);
          if (!rows2.length) continue;
          const f = path.join(dir, `m${k}-${phase}-${bg ? "bg" : "gate"}.dat`);
          fs.writeFileSync(f, rows2.join("\n") + "\n");
          series.push(`${gq(f)} using 1:2 with points pt ${bg ? 6 : 7} ps ${bg ? 2.2 : 1.2} lc rgb "${COLORS[phase]}" title ${gq(`${phase}${bg ? " (background)" : " (gate)"}`)}`);
        }
      m.thresholds.forEach((t, i) => series.push(`${t} with lines dt 2 lw 2 lc rgb "#d62728" title ${gq(i === 0 ? `threshold${m.thresholds.length > 1 ? "s" : ""}` : "")}`));
      lines.push(`set title ${gq(`${m.name}   (no data / NaN drawn at the bottom)`)}`);
      lines.push(`set ylabel ${gq(m.unit || "")}`);
      lines.push(`set yrange [${lo}:${hi}]`);
      arrows();
      lines.push(series.length ? `plot ${series.join(", ")}` : `plot ${lo - 1} notitle`);
    });
    lines.push("unset multiplot");
    const script = path.join(dir, "timeline.gp");
    fs.writeFileSync(script, lines.join("\n") + "\n");
    const r = spawnSync("gnuplot", [script], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`gnuplot failed: ${r.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
