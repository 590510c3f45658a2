-- Closes a rule up to a window close time: every window whose end plus the allowed lateness is at or before
-- it is final from now on (the apply script refuses batches folded before the mark moved). Moving the mark
-- increments the rule's update sequence, so readers and subscribers see the windows turn final.
-- KEYS[1] the rule's meta hash. ARGV[1] the new mark (epoch ms), ARGV[2] the meta hash's lifetime (ms),
-- ARGV[3] the tenant's finality watermark the mark comes from (kept beside it, raised only, for readers).
-- A rule with a rollup tier also gets, from ARGV[4]: the prefix of its windows' keys, of its distinct keys, of its
-- rollup windows' keys, of its rollup distinct keys, the window size, the allowed lateness, the rollup resolution,
-- the rollup retention and the rule's retention (ms), the number of aggregations, then each aggregation's name and
-- kind ('i' add whole numbers, 'f' add sums, '<' minimum, '>' maximum, 'a' average parts, 'h' HyperLogLog,
-- 't:<capacity>' topk sketch). Every window that turns final by this move is then added into the rollup window that
-- holds it, in this same script: a window is rolled up once, when it turns final, however often the mark is moved.
-- Returns {previous mark or -1, new sequence} when it moved, {previous mark, 0} when it was already there.
local wm = redis.call('HGET', KEYS[1], 'watermark')
if (not wm) or tonumber(ARGV[3]) > tonumber(wm) then
  redis.call('HSET', KEYS[1], 'watermark', ARGV[3])
end
local old = tonumber(redis.call('HGET', KEYS[1], 'closed') or '-1')
if tonumber(ARGV[1]) <= old then
  return {old, 0}
end
local mark = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'closed', ARGV[1])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])

if #ARGV >= 13 then
  local SEP = '\31'
  local MAX = '1.7976931348623157e308'
  local fine, fineH, coarse, coarseH = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
  local fineT = string.sub(fineH, 1, -3) .. 't:'
  local coarseT = string.sub(coarseH, 1, -3) .. 't:'
  local size, late, res = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
  local keep, retention = tonumber(ARGV[11]), tonumber(ARGV[12])
  local kinds, hlls, topks = {}, {}, {}
  for a = 1, tonumber(ARGV[13]) do
    local name, kind = ARGV[12 + 2 * a], ARGV[13 + 2 * a]
    kinds[name] = kind
    if kind == 'h' then
      hlls[#hlls + 1] = name
    elseif string.sub(kind, 1, 2) == 't:' then
      topks[#topks + 1] = {name, tonumber(string.sub(kind, 3))}
    end
  end
  -- The windows whose close time (start + size + lateness) is in (old, mark]; on a first close, those still kept.
  local lastStart = mark - size - late
  local firstStart
  if old < 0 then
    firstStart = lastStart - retention - size
  else
    firstStart = old - size - late + 1
  end
  firstStart = math.ceil(firstStart / size) * size
  lastStart = math.floor(lastStart / size) * size
  if (lastStart - firstStart) / size > 100000 then
    firstStart = lastStart - 100000 * size
  end
  for s = firstStart, lastStart, size do
    local fk = fine .. s
    if redis.call('EXISTS', fk) == 1 then
      local cs = math.floor(s / res) * res
      local ck = coarse .. cs
      local expireAt = cs + res + keep
      local fields = redis.call('HGETALL', fk)
      for f = 1, #fields, 2 do
        local field, value = fields[f], fields[f + 1]
        local cut = string.find(field, SEP, 1, true)
        if cut and cut > 1 then
          local group = string.sub(field, 1, cut - 1)
          local rest = string.sub(field, cut + 1)
          if rest == '' then
            -- The group's events: new to the rollup window, it is counted among its groups; its sketches are merged.
            if redis.call('HEXISTS', ck, field) == 0 then
              redis.call('HINCRBY', ck, SEP .. 'g', 1)
            end
            redis.call('HINCRBY', ck, field, value)
            local hash = string.sub(redis.sha1hex(group), 1, 16)
            local place = cs .. ':' .. hash .. ':'
            local from = s .. ':' .. hash .. ':'
            for _, h in ipairs(hlls) do
              if redis.call('EXISTS', fineH .. from .. h) == 1 then
                redis.call('PFMERGE', coarseH .. place .. h, coarseH .. place .. h, fineH .. from .. h)
                redis.call('PEXPIREAT', coarseH .. place .. h, expireAt)
              end
            end
            for _, t in ipairs(topks) do
              local dst = coarseT .. place .. t[1]
              local counted = redis.call('ZRANGE', fineT .. from .. t[1], 0, -1, 'WITHSCORES')
              for c = 1, #counted, 2 do
                redis.call('ZINCRBY', dst, counted[c + 1], counted[c])
              end
              if #counted > 0 then
                local over = redis.call('ZCARD', dst) - t[2]
                if over > 0 then
                  redis.call('ZREMRANGEBYRANK', dst, 0, over - 1)
                end
                redis.call('PEXPIREAT', dst, expireAt)
              end
            end
          else
            local sub = string.find(rest, SEP, 1, true)
            local agg = sub and string.sub(rest, 1, sub - 1) or rest
            local part = sub and string.sub(rest, sub + 1) or ''
            local kind = kinds[agg]
            if kind == 'i' or (kind == 'a' and part == 'n') then
              redis.call('HINCRBY', ck, field, value)
            elseif kind == 'f' or (kind == 'a' and part == 's') then
              local total = tonumber(redis.call('HGET', ck, field) or '0') + tonumber(value)
              if total == math.huge or total == -math.huge then
                redis.call('HSET', ck, field, (total > 0) and MAX or ('-' .. MAX))
              else
                redis.call('HINCRBYFLOAT', ck, field, value)
              end
            elseif kind == '<' then
              local held = redis.call('HGET', ck, field)
              if (not held) or tonumber(value) < tonumber(held) then
                redis.call('HSET', ck, field, value)
              end
            elseif kind == '>' then
              local held = redis.call('HGET', ck, field)
              if (not held) or tonumber(value) > tonumber(held) then
                redis.call('HSET', ck, field, value)
              end
            end
          end
        end
      end
      if redis.call('EXISTS', fk .. ':of') == 1 then
        redis.call('PFMERGE', ck .. ':of', ck .. ':of', fk .. ':of')
        redis.call('PEXPIREAT', ck .. ':of', expireAt)
      end
      redis.call('PEXPIREAT', ck, expireAt)
    end
  end
end
return {old, seq}
