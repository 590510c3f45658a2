-- The lease of one backfill. KEYS[1] the lease key; ARGV[1] the instance, ARGV[2] the lease time (ms), ARGV[3] 'take'
-- (take it when free, or keep it when held by this instance) or 'done' (the backfill ended: the key says so for
-- ARGV[2] ms, so no instance starts it again). Returns the holder after the call ('done' once done).
local held = redis.call('GET', KEYS[1])
if held == 'done' then
  return held
end
if ARGV[3] == 'done' then
  if held == ARGV[1] or not held then
    redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
    return 'done'
  end
  return held
end
if not held or held == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return held
