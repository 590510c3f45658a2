-- Applies one batch of one source partition to one rule, atomically and at most once.
-- KEYS[1] fence hash (field: partition -> last applied offset), KEYS[2] meta hash, KEYS[3..] state keys.
-- ARGV[1] partition, ARGV[2] the fence the writer expects, ARGV[3] the batch's last offset,
-- ARGV[4] late events, ARGV[5] how long the fence and meta hashes live after this write (ms),
-- ARGV[6] the finality mark the batch was folded with (windows closed up to it got nothing),
-- ARGV[7] n = number of state keys, ARGV[8..7+n] expiry (epoch ms) per state key, ARGV[8+n..7+2n] the close
-- time (window end + allowed lateness) of each state key's window, ARGV[8+2n..7+3n] each state key's type ('h' a
-- hash of counters, 's' a HyperLogLog string), then operations: op, state key index (1-based), field, value — or, for 'H' (add to a HyperLogLog),
-- 'H', state key index, n, then n values. Ops: 'i' HINCRBY, 'f' HINCRBYFLOAT (a sum that would leave the
-- finite doubles is held at +-1.7976931348623157e308 instead: no op can fail half-way through a batch),
-- '<' keep the minimum, '>' keep the maximum.
-- Returns {1, seq} when applied, {0, seq} when already applied (a replay after a crash), {-1, 0} when the
-- fence moved under the writer, {-2, 0} when the rule was closed further since the batch was folded and the
-- batch writes to a window that is final now (it is folded again; nothing of it was written), {-3, key} when a key
-- holds a value of another type than the batch needs (nothing was written: the batch is poison for this rule and
-- is quarantined after a few tries); seq is the rule's update sequence (meta field 'seq'), incremented by
-- every applied batch, so a reader that reads it atomically with values knows exactly what they hold.
-- Everything that could fail is checked before the first write: a script is all or nothing.
local function wrongType(key, wanted)
  local t = redis.call('TYPE', key)['ok']
  return t ~= 'none' and t ~= wanted
end
if wrongType(KEYS[1], 'hash') then
  return {-3, KEYS[1]}
end
if wrongType(KEYS[2], 'hash') then
  return {-3, KEYS[2]}
end
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
local last = tonumber(ARGV[3])
if current >= last then
  return {0, tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')}
end
if current ~= tonumber(ARGV[2]) then
  return {-1, 0}
end
local MAX = '1.7976931348623157e308'
local n = tonumber(ARGV[7])
local closed = redis.call('HGET', KEYS[2], 'closed')
if closed and tonumber(closed) > tonumber(ARGV[6]) then
  for k = 1, n do
    if tonumber(ARGV[7 + n + k]) <= tonumber(closed) then
      return {-2, 0}
    end
  end
end
for k = 1, n do
  local hll = ARGV[7 + 2 * n + k] == 's'
  if wrongType(KEYS[2 + k], hll and 'string' or 'hash') then
    return {-3, KEYS[2 + k]}
  end
  if hll then
    local valid = redis.pcall('PFCOUNT', KEYS[2 + k])
    if type(valid) == 'table' and valid['err'] then
      return {-3, KEYS[2 + k]}
    end
  end
end
local i = 8 + 3 * n
while i <= #ARGV do
  local op = ARGV[i]
  local key = KEYS[2 + tonumber(ARGV[i + 1])]
  local field = ARGV[i + 2]
  local value = ARGV[i + 3]
  local step = 4
  if op == 'H' then
    local count = tonumber(field)
    redis.call('PFADD', key, unpack(ARGV, i + 3, i + 2 + count))
    step = 3 + count
  elseif op == 'i' then
    redis.call('HINCRBY', key, field, value)
  elseif op == 'f' then
    -- Redis adds in long double, so a sum can pass the largest double (readers would see infinity), and fails
    -- beyond long double (having written nothing): either way the sum is held at the largest double.
    local sum = redis.pcall('HINCRBYFLOAT', key, field, value)
    local total
    if type(sum) == 'table' then
      total = tonumber(redis.call('HGET', key, field) or '0') + tonumber(value)
    else
      total = tonumber(sum)
    end
    if total == math.huge or total == -math.huge then
      redis.call('HSET', key, field, (total > 0) and MAX or ('-' .. MAX))
    end
  elseif op == '<' then
    local old = redis.call('HGET', key, field)
    if (not old) or tonumber(value) < tonumber(old) then
      redis.call('HSET', key, field, value)
    end
  elseif op == '>' then
    local old = redis.call('HGET', key, field)
    if (not old) or tonumber(value) > tonumber(old) then
      redis.call('HSET', key, field, value)
    end
  end
  i = i + step
end
for k = 1, n do
  redis.call('PEXPIREAT', KEYS[2 + k], ARGV[7 + k])
end
if tonumber(ARGV[4]) > 0 then
  redis.call('HINCRBY', KEYS[2], 'late', ARGV[4])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return {1, seq}
