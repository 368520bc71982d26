-- wrk script for `landscape bench --peers`: the request comes from the arguments after `--`:
--   method, body ("-" for none), then header lines "Name: value".
--
-- WRK_RATE (environment, for the overhead measurement): requests at that constant rate, not
-- wrk's closed loop. Left alone, each connection sends its next request when the answer is in,
-- so over a fixed latency the connections bunch into volleys and a slow answer delays what
-- follows. Paced, every send claims the next slot of a fixed schedule (one every 1/WRK_RATE s)
-- and waits for it; with more connections than requests in flight (rate x latency) a free one
-- is always waiting, so a slow answer delays nothing, and wrk's latency, counted from each send,
-- is counted from its slot. A send claimed more than 1 ms after its slot (no connection was
-- free, or wrk itself was late) is counted as late and reported: many late sends mean too few
-- connections for the rate, and the figures would hide a stall.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } landscape_timespec;
int clock_gettime(int clock, landscape_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("landscape_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local rate = tonumber(os.getenv("WRK_RATE") or "") or 0
local first_slot = nil
sent = 0  -- globals: read from each thread in `done`
late = 0

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = args[1]
  if args[2] ~= "-" then wrk.body = args[2] end
  for i = 3, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
end

if rate > 0 then
  function delay()
    local now = now_ms()
    first_slot = first_slot or now
    local wait = first_slot + sent * 1000 / rate - now
    sent = sent + 1
    if wait < -1 then late = late + 1 end
    return wait > 0 and math.floor(wait + 0.5) or 0  -- wrk waits whole ms
  end
end

function done(summary, latency, requests)
  io.write(string.format("tail us: p90 %d p99.9 %d max %d\n", latency:percentile(90.0),
                         latency:percentile(99.9), latency.max))
  if rate > 0 then
    local all, behind = 0, 0
    for _, thread in ipairs(threads) do
      all = all + thread:get("sent")
      behind = behind + thread:get("late")
    end
    io.write(string.format("paced: rate %d sent %d late %d\n", rate, all, behind))
  end
end
