-- wrk script: authorize.lua's request with a unique Idempotency-Key per request:
-- "<prefix>-<n>", the prefix from the script's first argument (random per run; tools/bench
-- --idempotency passes it), n counting from 1 in each thread (run with -t1: one sequence).
--   wrk -t1 -c50 -d10s -s bench/wrk/authorize_keyed.lua URL -- PREFIX [HEADER]
-- HEADER (default Idempotency-Key) names the header: another name (X-Bench-Key) makes the
-- control run, unkeyed requests of the same size built by the same per-request Lua code.
-- At the end it prints "keyed requests generated: N": every request() call, including those
-- still in flight when wrk stopped and the first one, which wrk builds before it connects and
-- never sends (the first key sent is "<prefix>-2").
wrk.method = "POST"
wrk.path = "/v1/authorize"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"card_number":"4111111111111111","currency":"USD","amount":"2450.00",' ..
           '"merchant":"Amazon Web Services","cardholder_name":"Maria Garcia"}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] or string.format("wrk%08x", math.random(0, 0x7fffffff))
  header = args[2] or "Idempotency-Key"
  generated = 0
end

function request()
  generated = generated + 1
  wrk.headers[header] = prefix .. "-" .. generated
  return wrk.format()
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("generated")
  end
  io.write(string.format("keyed requests generated: %d\n", total))
end
