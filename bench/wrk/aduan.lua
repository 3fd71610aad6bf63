-- wrk script of `aduan bench http`: one endpoint per run, chosen by ADUAN_BENCH_MODE.
--   intake    POST /api/v1/complaints (a guest's complaint; every request files a new case)
--   inbox     GET  /api/v1/tasks (ADUAN_BENCH_TOKEN: a verifier's bearer token)
--   complete  POST /api/v1/tasks/<id>/complete, accepting and routing `verify`; the READY task ids come one
--             per line from ADUAN_BENCH_IDS and are taken in turn, each by one request only (thread k of n
--             takes ids k, k+n, k+2n, ...), so no two requests complete the same task
-- Every thread stops after ADUAN_BENCH_MAX responses (and `complete` when it runs out of ids): a run is
-- bounded by requests as well as by wrk's --duration. done() prints one line: RESULT {json}.

local mode = os.getenv("ADUAN_BENCH_MODE") or "intake"
local token = os.getenv("ADUAN_BENCH_TOKEN") or ""
local max_responses = tonumber(os.getenv("ADUAN_BENCH_MAX") or "0")
local threads = tonumber(os.getenv("ADUAN_BENCH_THREADS") or "1")

local made = 0
local setup_threads = {}

function setup(thread)
  thread:set("thread_index", made)
  made = made + 1
  table.insert(setup_threads, thread)
end

local ids = {}
local next_id = 1
local responses = 0
statuses = {}  -- global: done() reads it from each thread with thread:get

function init(args)
  wrk.headers["Content-Type"] = "application/json"
  if token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  if mode == "intake" then
    wrk.method = "POST"
    wrk.path = "/api/v1/complaints"
    wrk.body = '{"title": "Sampah menumpuk di Jl. Ahmad Yani", "body": "Sampah belum diangkut lima hari dan mulai berbau.", '
      .. '"category": "kebersihan", "channel": "web", "reporter": {"name": "Budi", "phone": "+62 812 7000 1234"}}'
  elseif mode == "inbox" then
    wrk.method = "GET"
    wrk.path = "/api/v1/tasks"
    wrk.body = nil
  elseif mode == "complete" then
    local all = {}
    for line in io.lines(os.getenv("ADUAN_BENCH_IDS")) do
      if line ~= "" then table.insert(all, line) end
    end
    for i = thread_index + 1, #all, threads do
      table.insert(ids, all[i])
    end
  end
end

local complete_body = '{"data": {"decision": "accept", "agency": "batam.dlh"}}'

function request()
  if mode == "complete" then
    local id = ids[next_id] or ids[#ids]
    next_id = next_id + 1
    return wrk.format("POST", "/api/v1/tasks/" .. id .. "/complete", nil, complete_body)
  end
  return wrk.request()
end

function response(status, headers, body)
  responses = responses + 1
  statuses[status] = (statuses[status] or 0) + 1
  if (max_responses > 0 and responses >= max_responses) or (mode == "complete" and next_id > #ids) then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(setup_threads) do
    local counted = thread:get("statuses")
    if counted then
      for code, n in pairs(counted) do
        codes[code] = (codes[code] or 0) + n
      end
    end
  end
  local parts = {}
  for code, n in pairs(codes) do
    table.insert(parts, string.format('"%d": %d', code, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout, table.concat(parts, ", ")
  ))
end
