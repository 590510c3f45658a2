-- Closes a rule up to a window close time: every window whose end plus the allowed lateness is at or before
-- it is final from now on (the apply script refuses batches folded before the mark moved). Moving the mark
-- increments the rule's update sequence, so readers and subscribers see the windows turn final.
-- KEYS[1] the rule's meta hash. ARGV[1] the new mark (epoch ms), ARGV[2] the meta hash's lifetime (ms),
-- ARGV[3] the tenant's finality watermark the mark comes from (kept beside it, raised only, for readers).
-- Returns {previous mark or -1, new sequence} when it moved, {previous mark, 0} when it was already there.
local wm = redis.call('HGET', KEYS[1], 'watermark')
if (not wm) or tonumber(ARGV[3]) > tonumber(wm) then
  redis.call('HSET', KEYS[1], 'watermark', ARGV[3])
end
local old = tonumber(redis.call('HGET', KEYS[1], 'closed') or '-1')
if tonumber(ARGV[1]) <= old then
  return {old, 0}
end
redis.call('HSET', KEYS[1], 'closed', ARGV[1])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {old, seq}
