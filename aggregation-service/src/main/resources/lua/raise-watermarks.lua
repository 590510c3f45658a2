-- Raises a partition's per-tenant watermarks and last-seen times, never lowers one: an instance that lost its
-- partitions while paused (a zombie) and writes late must not move either back.
-- KEYS[1] the partition's watermark hash, KEYS[2] its last-seen hash (wall-clock ms of the tenant's last events).
-- ARGV[1] n, then n pairs tenant, watermark (epoch ms), then pairs tenant, last seen (epoch ms).
local function raise(key, field, value)
  local old = redis.call('HGET', key, field)
  if (not old) or tonumber(value) > tonumber(old) then
    redis.call('HSET', key, field, value)
  end
end
local n = tonumber(ARGV[1])
for i = 2, 1 + 2 * n, 2 do
  raise(KEYS[1], ARGV[i], ARGV[i + 1])
end
for i = 2 + 2 * n, #ARGV, 2 do
  raise(KEYS[2], ARGV[i], ARGV[i + 1])
end
return 1
