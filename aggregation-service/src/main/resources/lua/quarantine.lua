-- Moves one rule's fence for one partition past a batch that cannot be applied to it (it is on the dead-letter
-- topic now), writing nothing else. KEYS[1] fence hash; ARGV[1] partition, ARGV[2] the fence the writer expects,
-- ARGV[3] the batch's last offset, ARGV[4] how long the fence hash lives after this write (ms).
-- Returns 1 when moved, 0 when already that far, -1 when the fence moved under the writer.
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if current >= tonumber(ARGV[3]) then
  return 0
end
if current ~= tonumber(ARGV[2]) then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
