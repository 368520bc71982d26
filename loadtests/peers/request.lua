-- wrk script for `landscape bench --peers`: the request comes from the arguments after `--`:
--   method, body ("-" for none), then header lines "Name: value".
function init(args)
  wrk.method = args[1]
  if args[2] ~= "-" then wrk.body = args[2] end
  for i = 3, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
end
