-- The load suite's wrk script (monitor-examples/tests/load.rs): counts every response by status,
-- per thread, and prints the totals of all threads when wrk is done.
--
-- wrk cuts off the requests in flight when its run ends, so its count can fall short of the
-- server's by up to one request a connection. To make the count exact, measured requests stop
-- once the stop file exists: every request after that goes to a path the measured site does not
-- serve (it answers 404), and the test ends wrk seconds later, when every measured request has
-- been answered. `measured_sent` lets the test check that: it must equal the responses that are
-- not 404s.
--
-- Arguments (after `--`): the stop file, the unmeasured path, then the measured paths, in turn.
-- Lines printed for the test:
--   progress <thread> <200s so far>   every 1,000 200s of a thread, and at most once a second
--   counts key=value ...              at the end: what was sent, answered by status, wrk's errors

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  stop_file = args[1]
  unmeasured = wrk.format("GET", args[2])
  measured = {}
  for i = 3, #args do
    measured[#measured + 1] = wrk.format("GET", args[i])
  end
  turn = 0
  -- wrk calls request() once on its first thread before any connection, to check what it
  -- returns: that call sends nothing and is not counted.
  checking = id == 1
  measuring = true
  checked_at = 0
  reported_at = 0
  measured_sent = 0
  unmeasured_sent = 0
  ok = 0
  statuses = {}
end

function request()
  if checking then
    checking = false
    return measured[1]
  end
  if measuring then
    -- One look at the file a second: the test waits longer than that before it ends wrk.
    local now = os.time()
    if now ~= checked_at then
      checked_at = now
      local file = io.open(stop_file, "r")
      if file then
        file:close()
        measuring = false
      end
    end
  end
  if measuring then
    measured_sent = measured_sent + 1
    turn = turn % #measured + 1
    return measured[turn]
  end
  unmeasured_sent = unmeasured_sent + 1
  return unmeasured
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 then
    ok = ok + 1
    local now = os.time()
    if ok % 1000 == 0 or now ~= reported_at then
      reported_at = now
      io.write(string.format("progress %d %d\n", id, ok))
      io.flush()
    end
  end
end

function done(summary, latency, requests)
  local sent = { measured = 0, unmeasured = 0 }
  local by_status = {}
  for _, thread in ipairs(threads) do
    sent.measured = sent.measured + thread:get("measured_sent")
    sent.unmeasured = sent.unmeasured + thread:get("unmeasured_sent")
    for status, n in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + n
    end
  end
  local e = summary.errors
  local line = string.format(
    "counts measured_sent=%d unmeasured_sent=%d requests=%d duration_us=%d"
      .. " connect_errors=%d read_errors=%d write_errors=%d timeouts=%d",
    sent.measured, sent.unmeasured, summary.requests, summary.duration,
    e.connect, e.read, e.write, e.timeout
  )
  for status, n in pairs(by_status) do
    line = line .. string.format(" status_%d=%d", status, n)
  end
  io.write(line .. "\n")
  io.flush()
end
