-- Records how far the engine has applied a partition; never moves backwards (a paused worker
-- that resumes late must not rewind the position written by the partition's new owner).
-- KEYS[1] position key, ARGV[1] next offset to read
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
