-- Sets KEYS[1] to ARGV[1] (a number) unless it already holds a higher one; it lives a day after its last raise.
local old = redis.call('GET', KEYS[1])
if (not old) or tonumber(ARGV[1]) > tonumber(old) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', 86400000)
end
return 1
