-- Hands a version being backfilled over to the engine on some partitions, once per partition: the engine counts the
-- version from the offset after the hand-off on, the backfill up to it. KEYS[1] the hand-off hash, KEYS[2] the
-- engine's fence hash of the version (one shard); ARGV[1] how long both live (ms), then pairs of partition and the
-- last offset the engine leaves to the backfill there. A partition handed off before keeps its hand-off (an instance
-- that takes it over later, or replays after a crash, finds it), and the fence starts there unless it moved already.
-- Returns the hand-off of every partition asked, as pairs of partition and offset.
local out = {}
for i = 2, #ARGV, 2 do
  local p = ARGV[i]
  local at = redis.call('HGET', KEYS[1], p)
  if not at then
    at = ARGV[i + 1]
    redis.call('HSET', KEYS[1], p, at)
  end
  redis.call('HSETNX', KEYS[2], p, at)
  out[#out + 1] = p
  out[#out + 1] = at
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return out
