-- wrk script used by bench/service/load.ts: POSTs one file as the body of every request and counts answers
-- by status class (anything >= 300 counts as an error; 503, the service's "busy / over budget"
-- answer, is counted apart). At the end it prints the latency percentiles and error counts, and
-- one line "WRK_JSON {...}" for load.ts to read.
--
--   WRK_BODY=body.json WRK_TYPE=application/json \
--     wrk -t1 -c32 -d60s --timeout 30s --latency -s bench/service/wrk_post.lua http://127.0.0.1:8000/rle/decode
--
-- Environment: WRK_BODY (path of the body, required), WRK_TYPE (Content-Type, default
-- application/octet-stream), WRK_ACCEPT (Accept, optional).

local path = assert(os.getenv("WRK_BODY"), "WRK_BODY (the body's path) is not set")
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("WRK_TYPE") or "application/octet-stream"
local accept = os.getenv("WRK_ACCEPT")
if accept and accept ~= "" then wrk.headers["Accept"] = accept end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, s3xx, s4xx, s503, s5xx = 0, 0, 0, 0, 0
  first_error = ""
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    if status < 400 then
      s3xx = s3xx + 1
    elseif status < 500 then
      s4xx = s4xx + 1
    elseif status == 503 then
      s503 = s503 + 1
    else
      s5xx = s5xx + 1
    end
    if first_error == "" then
      first_error = status .. " " .. string.sub(body or "", 1, 160)
    end
  end
end

-- A string safe inside a JSON string literal.
local function clean(s)
  return (s:gsub("[%c\"\\]", " "):gsub("[\128-\255]", "?"))
end

function done(summary, latency, requests)
  local t = { ok = 0, s3xx = 0, s4xx = 0, s503 = 0, s5xx = 0 }
  local first = ""
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + (thread:get(k) or 0)
    end
    local e = thread:get("first_error") or ""
    if first == "" then first = e end
  end
  local e = summary.errors
  local errors = t.s3xx + t.s4xx + t.s503 + t.s5xx
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "%d requests in %.1f s, %.1f req/s; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format(
    "errors: %d non-2xx (3xx %d, 4xx %d, 503 %d, other 5xx %d); socket: connect %d, read %d, " ..
    "write %d, timeout %d\n",
    errors, t.s3xx, t.s4xx, t.s503, t.s5xx, e.connect, e.read, e.write, e.timeout))
  if first ~= "" then io.write("first error: " .. clean(first) .. "\n") end
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"ok":%d,"s3xx":%d,"s4xx":%d,"s503":%d,"s5xx":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d,"first_error":"%s"}\n',
    summary.duration, summary.requests, summary.bytes, math.floor(latency:percentile(50)),
    math.floor(latency:percentile(90)), math.floor(latency:percentile(99)), latency.max,
    latency.mean, t.ok, t.s3xx,
    t.s4xx, t.s503, t.s5xx, e.connect, e.read, e.write, e.timeout, clean(first)))
end
