-- Records, on one Redis master, how far each partition's completed flushes reached: KEYS[1] is the master's
-- applied-marks hash (field: partition -> the last offset of the last flush that completed, which this master
-- holds everything of). ARGV triples: partition, the mark the writer expects there ('' for none), the new mark.
-- A field holding anything but the expected mark is left as it is and its partition returned: the master lost
-- writes (it restarted from an older snapshot, or empty) or another writer moved it; the writer then rewinds
-- to the marks as they are, and the rules' fences re-apply exactly what is missing.
local mismatched = {}
for i = 1, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i]) or ''
  if current ~= ARGV[i + 1] then
    table.insert(mismatched, ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  end
end
return mismatched
