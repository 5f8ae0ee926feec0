// Child processes (service, Prometheus, load generator) that the rehearsal starts and
// always stops, free ports, and small HTTP helpers. Everything talks to 127.0.0.1 only.
import fs from "node:fs";
import net from "node:net";
import { spawn } from "node:child_process";

const children = new Set();

export function startProcess(name, cmd, args, { env = {}, logFile, cwd } = {}) {
  const log = fs.openSync(logFile, "a");
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd, stdio: ["ignore", "pipe", "pipe"] });
  const p = { name, child, logFile, lines: [], exited: null, listeners: new Set() };
  const onData = (d) => {
    fs.writeSync(log, d);
    for (const line of d.toString().split("\n")) {
      if (!line) continue;
      if (p.lines.length < 2000) p.lines.push(line);
      for (const l of p.listeners) l(line);
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  p.exitPromise = new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      p.exited = { code, signal };
      children.delete(p);
      try {
        fs.closeSync(log);
      } catch {
        /* closed already */
      }
      resolve(p.exited);
    }),
  );
  child.on("error", (e) => {
    p.exited = { code: -1, signal: null, error: e.message };
  });
  children.add(p);
  return p;
}

// Resolves with the first output line matching re, rejects on exit or timeout.
export function waitForLine(p, re, timeoutMs) {
  const hit = p.lines.find((l) => re.test(l));
  if (hit) return Promise.resolve(hit);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      p.listeners.delete(f);
      reject(new Error(`${p.name}: no line matching ${re} within ${timeoutMs} ms (log: ${p.logFile})`));
    }, timeoutMs);
    const f = (line) => {
      if (re.test(line)) {
        clearTimeout(t);
        p.listeners.delete(f);
        resolve(line);
      }
    };
    p.listeners.add(f);
    p.exitPromise.then((e) => {
      clearTimeout(t);
      p.listeners.delete(f);
      reject(new Error(`${p.name} exited (${e.code ?? e.signal}) before it was ready; log: ${p.logFile}\n${p.lines.slice(-10).join("\n")}`));
    });
  });
}

export async function stopProcess(p, { signal = "SIGTERM", graceMs = 3000 } = {}) {
  if (!p || p.exited) return p && p.exited;
  try {
    p.child.kill(signal);
  } catch {
    /* gone */
  }
  const t = setTimeout(() => {
    try {
      p.child.kill("SIGKILL");
    } catch {
      /* gone */
    }
  }, graceMs);
  const r = await p.exitPromise;
  clearTimeout(t);
  return r;
}

export async function stopAll() {
  await Promise.all([...children].map((p) => stopProcess(p)));
}

// Only ever the processes this rehearsal started, by their own handles.
for (const sig of ["SIGINT", "SIGTERM"])
  process.on(sig, () => {
    for (const p of children) {
      try {
        p.child.kill("SIGKILL");
      } catch {
        /* gone */
      }
    }
    process.exit(1);
  });
process.on("exit", () => {
  for (const p of children) {
    try {
      p.child.kill("SIGKILL");
    } catch {
      /* gone */
    }
  }
});

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function httpJson(url, { method = "GET", body, headers = {}, timeoutMs = 5000 } = {}) {
  const r = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, text, json };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
