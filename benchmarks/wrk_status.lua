-- Counts non-2xx answers (wrk itself only reports socket errors and non-2xx/3xx).
non2xx = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non2xx")
  end
  io.write(string.format("RESULT requests/s=%.1f p50_ms=%.1f p99_ms=%.1f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
