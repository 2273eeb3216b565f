-- wrk script: POST a real Evolution messages.upsert envelope with a unique message id and a
-- distinct parent phone per request (no duplicate, no lock contention on one conversation).
-- Environment: BENCH_BODY (path of the JSON template with the markers MSGID and PHONE),
-- BENCH_SECRET (X-Webhook-Secret). Prints one JSON line of results at the end.
local counter = 0
local threads = {}
local template, secret, prefix

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_BODY"), "r"))
  template = f:read("*a")
  f:close()
  secret = os.getenv("BENCH_SECRET") or ""
  prefix = os.getenv("BENCH_RUN") or "R"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Webhook-Secret"] = secret
end

function request()
  counter = counter + 1
  local id = string.format("%s%02dX%09d", prefix, tid, counter)
  local phone = string.format("55119%02d%06d", tid % 100, counter % 1000000)
  local body = template:gsub("MSGID", id):gsub("PHONE", phone)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
