-- wrk script for bench/run: POSTs GraphQL requests to the gateway, cycling through a file of
-- request bodies (one JSON body per line, each with different keys: SKUs, customer numbers,
-- listing pages), and prints a machine-readable summary line with p50/p90/p99/p99.9.
--
-- Environment:
--   BENCH_BODIES   file with one JSON request body per line (required)
--   BENCH_HEADERS  extra headers, "name: value" separated by "|" (optional)
--   BENCH_CHECK    "1" (default) counts answers whose body carries GraphQL "errors" or no "data"
--   BENCH_SALT     replaces "@SALT@" in the bodies, with the thread's id after it (fresh
--                  idempotency keys for each run of the checkout workload)

local bodies_file = os.getenv("BENCH_BODIES")
local check = (os.getenv("BENCH_CHECK") or "1") == "1"
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

local bodies = {}
local i = 0
gqlerrors = 0
answers = 0

function init(args)
  if not bodies_file then
    error("BENCH_BODIES is not set")
  end
  local f = assert(io.open(bodies_file, "r"), "cannot open " .. bodies_file)
  for line in f:lines() do
    if #line > 0 then
      bodies[#bodies + 1] = line
    end
  end
  f:close()
  assert(#bodies > 0, bodies_file .. " has no request bodies")
  local salt = os.getenv("BENCH_SALT")
  if salt then
    salt = salt .. "t" .. (id or 1)
    for k, b in ipairs(bodies) do
      bodies[k] = string.gsub(b, "@SALT@", salt)
    end
  end
  -- Threads start at different places in the key list.
  i = ((id or 1) * 7919) % #bodies
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  local extra = os.getenv("BENCH_HEADERS")
  if extra then
    for h in string.gmatch(extra, "[^|]+") do
      local k, v = string.match(h, "^%s*([^:]+):%s*(.-)%s*$")
      if k then wrk.headers[k] = v end
    end
  end
end

function request()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end

if check then
  function response(status, headers, body)
    answers = answers + 1
    if status == 200 and (string.find(body, '"errors"', 1, true) or not string.find(body, '"data":{', 1, true)) then
      gqlerrors = gqlerrors + 1
      if gqlerrors == 1 then
        -- The first error answer of each thread, for the logs.
        local at = string.find(body, '"errors"', 1, true) or 1
        io.stderr:write("first error answer: " .. string.sub(body, at, at + 400) .. "\n")
      end
    end
  end
end

function done(summary, latency, requests)
  local errs, checked = 0, 0
  for _, t in ipairs(threads) do
    errs = errs + (t:get("gqlerrors") or 0)
    checked = checked + (t:get("answers") or 0)
  end
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.0f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d gql_errors=%d checked=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout, errs, checked))
end
