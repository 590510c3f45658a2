-- Keeps a batch's new ids in one dedup generation, each with the offset it was first seen at, and sets the
-- generation's expiry in the same step (a key is never left without one).
-- KEYS[1] the generation's hash. ARGV[1] its expiry (epoch ms), then pairs id, offset.
for i = 2, #ARGV, 1000 do
  -- At most 500 pairs per HSET: Lua's unpack has a stack limit.
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
