// A simulated clock for code that takes { now, setTimeout, clearTimeout }: time stands
// still until the clock is driven, then timers fire in time order (ties in the order
// they were set). The Monte Carlo runs whole rollouts on it; the unit tests step it.
export function fakeClock() {
  let now = 0;
  let seq = 0;
  const timers = new Map();
  // The earliest timer due at or before limit, or null.
  const nextDue = (limit) => {
    let first = null;
    for (const t of timers.values()) if (!first || t.at < first.at || (t.at === first.at && t.id < first.id)) first = t;
    return first && first.at <= limit ? first : null;
  };
  const fire = async (t) => {
    timers.delete(t.id);
    now = t.at;
    await t.f();
  };
  return {
    now: () => now,
    setTimeout: (f, ms) => {
      const id = ++seq;
      timers.set(id, { at: now + ms, f, id });
      return id;
    },
    clearTimeout: (id) => timers.delete(id),
    // Runs timers in order until done() or the time limit; returns false at the limit.
    async runUntil(done, limit) {
      for (;;) {
        if (done()) return true;
        const t = nextDue(limit);
        if (!t) {
          now = Math.max(now, limit);
          return done();
        }
        await fire(t);
      }
    },
    // Moves time forward by ms, firing the timers due on the way; after each one the
    // promise callbacks it started get to run.
    async advance(ms) {
      const end = now + ms;
      for (let t = nextDue(end); t; t = nextDue(end)) {
        await fire(t);
        await new Promise((r) => setImmediate(r));
      }
      now = end;
    },
  };
}
