-- wrk script: POSTs pre-signed webhook bodies (benchmarks/webhook/load.py bodies), each thread its own share,
-- so every request carries a new event.   BODIES=file WRK_THREADS=n wrk -tn ... -s post.lua URL
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local threads = tonumber(os.getenv("WRK_THREADS") or "2")
  signatures, bodies, count, index = {}, {}, 0, 0
  local line_number = 0
  for line in io.lines(os.getenv("BODIES")) do
    if line_number % threads == id then
      local tab = line:find("\t", 1, true)
      count = count + 1
      signatures[count] = line:sub(1, tab - 1)
      bodies[count] = line:sub(tab + 1)
    end
    line_number = line_number + 1
  end
end

function request()
  index = index % count + 1
  return wrk.format("POST", "/line/webhook",
    { ["Content-Type"] = "application/json", ["X-Line-Signature"] = signatures[index] }, bodies[index])
end
