-- Reads one rule's windows atomically with the rule's update sequence, so a reader knows exactly
-- which applied batches its values contain (every batch is applied, and increments the sequence, in
-- one script on the same slot).
-- KEYS[1] the rule's meta hash, KEYS[2..n+1] window hashes.
-- ARGV[1] the prefix of the rule version's distinct keys, ARGV[2] n, ARGV[3..2+n] window starts,
-- ARGV[3+n..] names of the distinct aggregations.
-- Returns {seq, late, closed, watermark, fields of window 1, distinct counts of window 1, ...}; fields and
-- counts are flat name/value lists, empty for a window without data (counts end with SEP 'of' and the number of
-- groups the window counted in "__other__", when there were any); closed: windows whose end plus the
-- allowed lateness is at or before it are final (never written again); watermark: the tenant's finality
-- watermark that closed them ('' for both until the aggregation first closed the rule).
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local late = tonumber(redis.call('HGET', KEYS[1], 'late') or '0')
local closed = redis.call('HGET', KEYS[1], 'closed') or ''
local watermark = redis.call('HGET', KEYS[1], 'watermark') or ''

local n = tonumber(ARGV[2])
local result = {seq, late, closed, watermark}
local sep = '\31'
for w = 1, n do
  local fields = redis.call('HGETALL', KEYS[1 + w])
  local counts = {}
  if #ARGV > 2 + n and #fields > 0 then
    local start = ARGV[2 + w]
    for i = 1, #fields, 2 do
      local field = fields[i]
      if string.sub(field, -1) == sep then
        local group = string.sub(field, 1, -2)
        local hash = string.sub(redis.sha1hex(group), 1, 16)
        for d = 3 + n, #ARGV do
          counts[#counts + 1] = group .. sep .. ARGV[d]
          counts[#counts + 1] = redis.call('PFCOUNT', ARGV[1] .. start .. ':' .. hash .. ':' .. ARGV[d])
        end
      end
    end
  end
  if #fields > 0 then
    -- Groups beyond the tenant's quota went to "__other__"; how many, estimated (HyperLogLog).
    local spilled = redis.call('PFCOUNT', KEYS[1 + w] .. ':of')
    if spilled > 0 then
      counts[#counts + 1] = sep .. 'of'
      counts[#counts + 1] = spilled
    end
  end
  result[#result + 1] = fields
  result[#result + 1] = counts
end
return result
