// The kubelet's readiness probe of one pod, in its own thread (worker_threads) so that a
// busy rehearsal event loop never makes a healthy pod miss its deadline: GET /readyz
// every periodMs (one probe at a time, the next one period after the previous start),
// timeoutMs each; posts {ready, why} when failureThreshold probes in a row failed or
// successThreshold in a row passed after that.
import http from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const { port, periodMs, timeoutMs, failureThreshold, successThreshold } = workerData;
let ready = true;
let fails = 0;
let oks = 0;
let last = "";

function probeOnce() {
  return new Promise((resolve) => {
    let done = false;
    const started = performance.now();
    const finish = (ok, why) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      req.destroy();
      resolve({ ok, why: `${why} after ${(performance.now() - started).toFixed(0)} ms` });
    };
    const req = http.get({ host: "127.0.0.1", port, path: "/readyz", agent: false }, (res) => {
      res.resume();
      finish(res.statusCode >= 200 && res.statusCode < 400, `HTTP ${res.statusCode}`);
    });
    req.on("error", (e) => finish(false, e.code || e.message));
    const t = setTimeout(() => finish(false, "timeout"), timeoutMs);
  });
}

async function tick() {
  const started = Date.now();
  const { ok, why } = await probeOnce();
  if (ok) {
    fails = 0;
    oks++;
    if (!ready && oks >= successThreshold) {
      ready = true;
      parentPort.postMessage({ ready, why: `${oks} passed probe(s)` });
    }
  } else {
    last = why;
    oks = 0;
    fails++;
    if (ready && fails >= failureThreshold) {
      ready = false;
      parentPort.postMessage({ ready, why: `${fails} failed probes, the last: ${last}` });
    }
  }
  setTimeout(tick, Math.max(0, periodMs - (Date.now() - started)));
}
setTimeout(tick, periodMs);
