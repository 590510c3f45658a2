-- Applies one flush's batches of one or more source partitions to one rule, atomically and at most once.
-- KEYS[1] fence hash (field: partition -> last applied offset), KEYS[2] meta hash, KEYS[3..] state keys.
-- ARGV[1] k = number of partitions, then k triples: partition, the fence the writer expects there, the batch's
-- last offset there; then (from b = 1 + 3k): ARGV[b+1] late events, ARGV[b+2] how long the fence and meta hashes
-- live after this write (ms), ARGV[b+3] the finality mark the batches were folded with (windows closed up to it
-- got nothing), ARGV[b+4] n = number of state keys, ARGV[b+5..b+4+n] expiry (epoch ms) per state key,
-- ARGV[b+5+n..b+4+2n] the close time (window end + allowed lateness) of each state key's window,
-- then operations: op, state key index (1-based), field, value — or, for 'H' (add to a HyperLogLog),
-- 'H', state key index, n, then n values. Ops: 'i' HINCRBY, 'f' HINCRBYFLOAT (a sum that would leave the
-- finite doubles is held at +-1.7976931348623157e308 instead: no op can fail half-way through a batch),
-- '<' keep the minimum, '>' keep the maximum.
-- Returns {1, seq} when applied, {0, seq} when every partition's batch was applied before (a replay after a
-- crash), {-1, 0} when a fence is not where the writer expects it (another writer; it reloads and folds again),
-- {-2, 0} when the rule was closed further since the batches were folded and they write to a window that is
-- final now (folded again; nothing of them was written); seq is the rule's update sequence (meta field 'seq'),
-- incremented by every applied script, so a reader that reads it atomically with values knows exactly what
-- they hold.
local k = tonumber(ARGV[1])
local moved = false
for j = 0, k - 1 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[2 + 3 * j]) or '-1')
  if current ~= tonumber(ARGV[3 + 3 * j]) then
    return {-1, 0}
  end
  if tonumber(ARGV[4 + 3 * j]) > current then
    moved = true
  end
end
if not moved then
  return {0, tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')}
end
local b = 1 + 3 * k
local MAX = '1.7976931348623157e308'
local n = tonumber(ARGV[b + 4])
local closed = redis.call('HGET', KEYS[2], 'closed')
if closed and tonumber(closed) > tonumber(ARGV[b + 3]) then
  for s = 1, n do
    if tonumber(ARGV[b + 4 + n + s]) <= tonumber(closed) then
      return {-2, 0}
    end
  end
end
local i = b + 5 + 2 * n
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
for s = 1, n do
  redis.call('PEXPIREAT', KEYS[2 + s], ARGV[b + 4 + s])
end
if tonumber(ARGV[b + 1]) > 0 then
  redis.call('HINCRBY', KEYS[2], 'late', ARGV[b + 1])
end
for j = 0, k - 1 do
  if tonumber(ARGV[4 + 3 * j]) > tonumber(ARGV[3 + 3 * j]) then
    redis.call('HSET', KEYS[1], ARGV[2 + 3 * j], ARGV[4 + 3 * j])
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[b + 2])
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[b + 2])
return {1, seq}
