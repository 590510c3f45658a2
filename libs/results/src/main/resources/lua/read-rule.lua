-- Reads one rule's windows atomically with the rule's update sequence, so a reader knows exactly
-- which applied batches its values contain (every batch is applied, and increments the sequence, in
-- one script on the same slot).
-- KEYS[1] the rule's meta hash, KEYS[2..n+1] window hashes.
-- ARGV[1] the prefix of the rule version's distinct keys, ARGV[2] n, ARGV[3] how many values a script reads before
-- it stops after the window it is at (0: no bound), ARGV[4..3+n] window starts, ARGV[4+n] d, ARGV[5+n..4+n+d]
-- names of the distinct aggregations, ARGV[5+n+d..] names of the topk aggregations.
-- Returns {seq, late, closed, watermark, m, fields of window 1, distinct counts of window 1, ...} for the first m
-- windows (m < n when the bound was reached: the reader asks for the rest with another script, so no script holds the
-- Redis master, and every tenant's commands there, for long); fields and counts are flat name/value lists, empty for
-- a window without data (counts end with SEP 'of' and the number of groups the window counted in "__other__", when
-- there were any); a topk's counters (kept in one sorted set per
-- group) are added to the fields as group SEP aggregation SEP value; closed: windows whose end plus the
-- allowed lateness is at or before it are final (never written again); watermark: the tenant's finality
-- watermark that closed them ('' for both until the aggregation first closed the rule).
local n = tonumber(ARGV[2])
local bound = tonumber(ARGV[3])
local d = tonumber(ARGV[4 + n] or '0')
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local late = tonumber(redis.call('HGET', KEYS[1], 'late') or '0')
local closed = redis.call('HGET', KEYS[1], 'closed') or ''
local watermark = redis.call('HGET', KEYS[1], 'watermark') or ''

local tprefix = string.sub(ARGV[1], 1, -3) .. 't:'
local result = {seq, late, closed, watermark, 0}
local values = 0
local sep = '\31'
-- A key that holds another type than it should (state broken by something else; its batches are quarantined)
-- reads as empty: one broken key must not fail every read of the rule, nor count against the readers' breaker.
local function read(...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply['err'] then
    return nil
  end
  return reply
end
for w = 1, n do
  local fields = read('HGETALL', KEYS[1 + w]) or {}
  local counts = {}
  if #ARGV > 4 + n and #fields > 0 then
    local start = ARGV[3 + w]
    local groups = {}
    for i = 1, #fields, 2 do
      local field = fields[i]
      if string.sub(field, -1) == sep then
        groups[#groups + 1] = string.sub(field, 1, -2)
      end
    end
    for _, group in ipairs(groups) do
      local hash = string.sub(redis.sha1hex(group), 1, 16)
      for a = 5 + n, 4 + n + d do
        counts[#counts + 1] = group .. sep .. ARGV[a]
        counts[#counts + 1] = read('PFCOUNT', ARGV[1] .. start .. ':' .. hash .. ':' .. ARGV[a]) or 0
      end
      for a = 5 + n + d, #ARGV do
        local top = read('ZRANGE', tprefix .. start .. ':' .. hash .. ':' .. ARGV[a], 0, -1, 'WITHSCORES') or {}
        for t = 1, #top, 2 do
          fields[#fields + 1] = group .. sep .. ARGV[a] .. sep .. top[t]
          fields[#fields + 1] = string.format('%d', tonumber(top[t + 1]))
        end
      end
    end
  end
  if #fields > 0 then
    -- Groups beyond the tenant's quota went to "__other__"; how many, estimated (HyperLogLog).
    local spilled = read('PFCOUNT', KEYS[1 + w] .. ':of') or 0
    if spilled > 0 then
      counts[#counts + 1] = sep .. 'of'
      counts[#counts + 1] = spilled
    end
  end
  result[#result + 1] = fields
  result[#result + 1] = counts
  result[5] = w
  values = values + (#fields + #counts) / 2
  if bound > 0 and values >= bound then
    break
  end
end
return result
