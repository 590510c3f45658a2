-- Applies one batch of one or more source partitions to one rule (shard), atomically and at most once.
-- KEYS[1] fence hash (field: partition -> last applied offset), KEYS[2] meta hash, KEYS[3..2+n] the window hashes.
-- ARGV[1] the partitions, ARGV[2] the fence the writer expects on each, ARGV[3] the batch's last offset on each (each a
-- comma-separated list, in the same order: several partitions' deltas folded together are applied together), ARGV[4] late events,
-- ARGV[5] how long the fence and meta hashes live after this write (ms), ARGV[6] the finality mark the batch was
-- folded with (windows closed up to it got nothing), ARGV[7] n = number of windows, ARGV[8] the tenant's quota of
-- groups per window (0: none), ARGV[9] the group that takes the groups beyond it (the JSON array of "__other__"),
-- ARGV[10] the prefix of the rule version's distinct keys, ARGV[11..10+n] each window's expiry (epoch ms),
-- ARGV[11+n..10+2n] each window's close time (end + allowed lateness), ARGV[11+2n..10+3n] each window's start,
-- ARGV[11+3n..10+4n] how many groups ('G' operations) the batch has in each window; then operations:
--   'G', window index (1-based), group JSON: the following operations are for this group of this window. A group
--        new to the window while it already holds the quota of groups is counted in the "__other__" group instead,
--        and added to the window's HyperLogLog of overflowed groups (window key .. ':of').
--   'i' HINCRBY, 'f' HINCRBYFLOAT (a sum that would leave the finite doubles is held at +-1.7976931348623157e308),
--   '<' keep the minimum, '>' keep the maximum: op, field suffix (the field is group SEP suffix), value.
--   'H', aggregation name, count, values: PFADD to the group's distinct key of that aggregation.
--   'T', aggregation name, capacity, value, count: a topk value seen count times more, kept in the group's sorted
--        set of that aggregation as a Space-Saving sketch of at most capacity counters: a value not among them
--        replaces the one with the lowest count and starts from that count (each count is then at most the
--        window's events / capacity above the true one, and every value more frequent than that is kept).
-- A window's groups are counted in its field SEP 'g'.
-- Returns {1, seq} when applied, {0, seq} when already applied on every partition (a replay after a crash), {-1, 0} when
-- a fence moved under the writer (or the partitions are partly applied: the writer reads their fences and folds again), {-2, 0} when the rule was closed further since the batch was folded and the batch writes
-- to a window that is final now (it is folded again), {-3, key} when a key holds a value of another type than the
-- batch needs; nothing is written in the last three cases. seq is the rule's update sequence (meta field 'seq'),
-- incremented by every applied batch, so a reader that reads it atomically with values knows exactly what they hold.
local SEP = '\31'
local COUNT = SEP .. 'g'
-- Keys outside KEYS (distinct and topk sketches, overflow estimates) that do not exist yet: this script creates them and
-- gives them their window's expiry, which never changes for a key, so a key that exists has it already.
local fresh = {}
local function wrongType(key, wanted)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' then
    fresh[key] = true
    return false
  end
  return t ~= wanted
end
local function badHll(key)
  if wrongType(key, 'string') then
    return true
  end
  if fresh[key] then
    return false
  end
  local valid = redis.pcall('PFCOUNT', key)
  return type(valid) == 'table' and valid['err'] ~= nil
end
-- Everything that could fail is checked before the first write: a script is all or nothing.
if wrongType(KEYS[1], 'hash') then
  return {-3, KEYS[1]}
end
if wrongType(KEYS[2], 'hash') then
  return {-3, KEYS[2]}
end
local function list(arg)
  local items = {}
  for item in string.gmatch(arg, '[^,]+') do
    items[#items + 1] = item
  end
  return items
end
local partitions, expected, lasts = list(ARGV[1]), list(ARGV[2]), list(ARGV[3])
local applied, moved = 0, false
for k = 1, #partitions do
  local current = tonumber(redis.call('HGET', KEYS[1], partitions[k]) or '-1')
  if current >= tonumber(lasts[k]) then
    applied = applied + 1
  elseif current ~= tonumber(expected[k]) then
    moved = true
  end
end
if applied == #partitions then
  return {0, tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')}
end
if moved or applied > 0 then
  return {-1, 0}
end
local MAX = '1.7976931348623157e308'
local n = tonumber(ARGV[7])
local quota = tonumber(ARGV[8])
local other = ARGV[9]
local prefix = ARGV[10]
local tprefix = string.sub(prefix, 1, -3) .. 't:'
local closed = redis.call('HGET', KEYS[2], 'closed')
if closed and tonumber(closed) > tonumber(ARGV[6]) then
  for w = 1, n do
    if tonumber(ARGV[10 + n + w]) <= tonumber(closed) then
      return {-2, 0}
    end
  end
end
for w = 1, n do
  if wrongType(KEYS[2 + w], 'hash') then
    return {-3, KEYS[2 + w]}
  end
end

-- First pass: which group each 'G' writes to (quota), and the type of every key the writes will touch.
local first = 11 + 4 * n
local args = #ARGV  -- once: Lua searches the table's end each time it is asked
-- A window whose groups cannot reach the quota even if every group of this batch is new to it ("roomy") needs no
-- look-up per group: a group is new to it when its event count, incremented in the second pass, equals this batch's.
local roomy = {}       -- window index -> true when no group of this batch can overflow it
if quota > 0 then
  for w = 1, n do
    if tonumber(redis.call('HGET', KEYS[2 + w], COUNT) or '0') + tonumber(ARGV[10 + 3 * n + w]) <= quota then
      roomy[w] = true
    end
  end
end
local groups = {}      -- op position -> the group written
local added = {}       -- window index -> groups added by this batch
local overflowed = {}  -- op position -> true when the group went to "__other__"
local new = {}         -- op position -> true when the group is new to its window (and counted there)
local places = {}      -- op position -> window start .. ':' .. the written group's hash .. ':' (its distinct and topk keys)
local gAt              -- the position of the 'G' whose place the distinct and topk ops after it need
local checked = {}
local window, group
-- A group's place costs a SHA-1: only groups with distinct or topk values get one.
local function placeOf(at)
  local p = places[at]
  if p == nil then
    p = ARGV[10 + 2 * n + tonumber(ARGV[at + 1])] .. ':' .. string.sub(redis.sha1hex(groups[at]), 1, 16) .. ':'
    places[at] = p
  end
  return p
end
local i = first
while i <= args do
  local op = ARGV[i]
  if op == 'G' then
    window = tonumber(ARGV[i + 1])
    group = ARGV[i + 2]
    if quota > 0 and group ~= other and not roomy[window] and redis.call('HEXISTS', KEYS[2 + window], group .. SEP) == 0 then
      local count = added[window]
      if count == nil then
        count = tonumber(redis.call('HGET', KEYS[2 + window], COUNT) or '0')
      end
      if count >= quota then
        overflowed[i] = true
        group = other
        local spill = KEYS[2 + window] .. ':of'
        if not checked[spill] then
          if badHll(spill) then
            return {-3, spill}
          end
          checked[spill] = true
        end
      else
        added[window] = count + 1
        new[i] = true
      end
    end
    groups[i] = group
    gAt = i
    i = i + 3
  elseif op == 'H' then
    local key = prefix .. placeOf(gAt) .. ARGV[i + 1]
    if not checked[key] then
      if badHll(key) then
        return {-3, key}
      end
      checked[key] = true
    end
    i = i + 3 + tonumber(ARGV[i + 2])
  elseif op == 'T' then
    local key = tprefix .. placeOf(gAt) .. ARGV[i + 1]
    if not checked[key] then
      if wrongType(key, 'zset') then
        return {-3, key}
      end
      checked[key] = true
    end
    i = i + 5
  else
    i = i + 3
  end
end

-- Second pass: the writes.
local expiring = {}  -- keys outside KEYS this script creates -> their window's expiry
i = first
while i <= args do
  local op = ARGV[i]
  if op == 'G' then
    window = tonumber(ARGV[i + 1])
    group = groups[i]
    gAt = i
    local key = KEYS[2 + window]
    if overflowed[i] then
      local spill = key .. ':of'
      redis.call('PFADD', spill, ARGV[i + 2])
      if fresh[spill] then
        expiring[spill] = ARGV[10 + window]
      end
    elseif new[i] then
      redis.call('HINCRBY', key, COUNT, 1)
    end
    i = i + 3
  elseif op == 'H' then
    local count = tonumber(ARGV[i + 2])
    local key = prefix .. placeOf(gAt) .. ARGV[i + 1]
    redis.call('PFADD', key, unpack(ARGV, i + 3, i + 2 + count))
    if fresh[key] then
      expiring[key] = ARGV[10 + window]
    end
    i = i + 3 + count
  elseif op == 'T' then
    local key = tprefix .. placeOf(gAt) .. ARGV[i + 1]
    local value = ARGV[i + 3]
    local count = tonumber(ARGV[i + 4])
    if redis.call('ZSCORE', key, value) then
      redis.call('ZINCRBY', key, count, value)
    elseif redis.call('ZCARD', key) < tonumber(ARGV[i + 2]) then
      redis.call('ZADD', key, count, value)
    else
      local lowest = redis.call('ZPOPMIN', key)
      redis.call('ZADD', key, tonumber(lowest[2]) + count, value)
    end
    if fresh[key] then
      expiring[key] = ARGV[10 + window]
    end
    i = i + 5
  else
    local key = KEYS[2 + window]
    local field = group .. SEP .. ARGV[i + 1]
    local value = ARGV[i + 2]
    if op == 'i' then
      local total = redis.call('HINCRBY', key, field, value)
      if ARGV[i + 1] == '' and roomy[window] and group ~= other and total == tonumber(value) then
        redis.call('HINCRBY', key, COUNT, 1)  -- the group's event count starts here: it is new to the window
      end
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
    i = i + 3
  end
end
for w = 1, n do
  redis.call('PEXPIREAT', KEYS[2 + w], ARGV[10 + w])
end
for key, at in pairs(expiring) do
  redis.call('PEXPIREAT', key, at)
end
if tonumber(ARGV[4]) > 0 then
  redis.call('HINCRBY', KEYS[2], 'late', ARGV[4])
end
for k = 1, #partitions do
  redis.call('HSET', KEYS[1], partitions[k], lasts[k])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return {1, seq}
