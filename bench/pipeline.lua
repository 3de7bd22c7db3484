-- wrk script for the pipelined scenario (bench/README.md): every write carries
-- DEPTH requests (default 16) for wrk's URL, back to back, as TechEmpower's
-- plaintext test does. wrk counts replies, so Requests/sec is replies per second.
--
--   DEPTH=16 wrk -t1 -c64 -d4s -s bench/pipeline.lua http://127.0.0.1:8080/plaintext
local depth = tonumber(os.getenv("DEPTH") or "") or 16
local batch

function init(args)
  batch = string.rep(wrk.format(), depth)
end

function request()
  return batch
end
