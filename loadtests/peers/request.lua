-- wrk script for `landscape bench --peers`: the request comes from the arguments after `--`:
--   method, body ("-" for none), then header lines "Name: value".
-- WRK_STAGGER_MS (environment, for the overhead measurement): wrk opens every connection at
-- once, and in a closed loop over a fixed latency they would stay in step, a volley of all of
-- them every period; the first request of each connection is instead delayed so that the first
-- WRK_STAGGER_CONNECTIONS requests are spread evenly over that many ms (latency is measured
-- from each request's send, so the delay itself is not counted).
local stagger = tonumber(os.getenv("WRK_STAGGER_MS") or "") or 0
local spread_over = tonumber(os.getenv("WRK_STAGGER_CONNECTIONS") or "") or 0
local first = 0

function init(args)
  wrk.method = args[1]
  if args[2] ~= "-" then wrk.body = args[2] end
  for i = 3, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
end

if stagger > 0 and spread_over > 0 then
  function delay()
    if first >= spread_over then return 0 end
    first = first + 1
    return math.floor((first - 1) * stagger / spread_over)
  end
end

function done(summary, latency, requests)
  io.write(string.format("tail us: p90 %d p99.9 %d max %d\n", latency:percentile(90.0),
                         latency:percentile(99.9), latency.max))
end
