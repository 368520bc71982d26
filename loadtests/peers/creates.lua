-- wrk script: creates at saturation into the fake Stripe for as long as wrk runs, a new account
-- (a tenant of the fake) every 20,000 creates so none reaches the fake's cap of 100,000 objects
-- per account; for watching a fake's tail as its heap grows (BENCHMARKS.md, "No stalls as a
-- fake grows"):
--   landscape serve stripe --port 18931 --quiet &
--   wrk -t1 -c16 -d40s --latency -s loadtests/peers/creates.lua http://127.0.0.1:18931
local n = 0

function request()
  n = n + 1
  local headers = {["Authorization"] = "Bearer sk_test_grow" .. math.floor(n / 20000),
                   ["Content-Type"] = "application/x-www-form-urlencoded"}
  return wrk.format("POST", "/v1/customers", headers, "email=c%40example.com&metadata[n]=1")
end

function done(summary, latency, requests)
  io.write(string.format("tail us: p99 %d p99.9 %d p99.99 %d max %d non-2xx %d\n",
                         latency:percentile(99.0), latency:percentile(99.9),
                         latency:percentile(99.99), latency.max, summary.errors.status))
end
