-- wrk script for bench/soak: bench/run's graphql.lua, and it also counts the answers carrying
-- each error code (an answer with errors of two codes counts for both), printed as
-- SOAK_CODES after the BENCH_RESULT line.
--
-- Environment:
--   BENCH_BODIES   file with one JSON request body per line (required)
--   BENCH_HEADERS  extra headers, "name: value" separated by "|" (optional)
--   BENCH_CHECK    "1" (default) counts answers whose body carries GraphQL "errors" or no "data"

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
local codes = { "UPSTREAM_UNAVAILABLE", "UPSTREAM_TIMEOUT", "RATE_LIMITED", "UPSTREAM_INVALID_RESPONSE",
  "UPSTREAM_AUTH", "UPSTREAM_BAD_REQUEST", "CONFLICT", "NOT_FOUND" }
for _, c in ipairs(codes) do _G["code_" .. c] = 0 end

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
      for _, c in ipairs(codes) do
        if string.find(body, '"code":"' .. c .. '"', 1, true) then
          _G["code_" .. c] = _G["code_" .. c] + 1
        end
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
  local parts = {}
  for _, c in ipairs(codes) do
    local n = 0
    for _, t in ipairs(threads) do n = n + (t:get("code_" .. c) or 0) end
    parts[#parts + 1] = c .. "=" .. n
  end
  io.write("SOAK_CODES " .. table.concat(parts, " ") .. "\n")
end
