-- Compare-and-set of one member: applies everything a batch changed, or nothing.
-- KEYS[1] core hash, KEYS[2] source records, KEYS[3] held inputs, KEYS[4] recent ledger (list)
-- ARGV[1] the version the changes were decided on, ARGV[2] the save token ('n') seen with it ('' when
-- none), ARGV[3] the token this save writes, ARGV[4] how many ledger entries to keep,
-- then six groups, each a count followed by its items:
--   source ids that must not be recorded yet (id)*,
--   core fields to set (field, value)*, core fields to delete (field)*,
--   source records to set (id, record)*, held inputs to set (id, blob)*, held inputs to delete (id)*,
--   ledger entries to append (entry)*
-- Returns {1, new version} when applied, {0, current version} when the member changed meanwhile or
-- one of the ids is already recorded (the engine then reloads the member and decides again: nothing
-- is lost or applied twice). The token is random per save, so a snapshot kept by a worker (its member
-- cache) can never match a state Redis reached another way, even if the version repeats after Redis
-- lost writes.
local seen = redis.call('HMGET', KEYS[1], 'v', 'n')
local current = tonumber(seen[1] or '0')
if current ~= tonumber(ARGV[1]) or (seen[2] or '') ~= ARGV[2] then
  return {0, current}
end
local keep = tonumber(ARGV[4])
local i = 5

local fresh = tonumber(ARGV[i]); i = i + 1
for j = 1, fresh do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then
    return {0, current}
  end
  i = i + 1
end

local function pairs_into(key)
  local n = tonumber(ARGV[i]); i = i + 1
  local chunk = {}
  for j = 1, n do
    chunk[#chunk + 1] = ARGV[i]; chunk[#chunk + 1] = ARGV[i + 1]; i = i + 2
    if #chunk >= 200 then redis.call('HSET', key, unpack(chunk)); chunk = {} end
  end
  if #chunk > 0 then redis.call('HSET', key, unpack(chunk)) end
end

local function delete_from(key)
  local n = tonumber(ARGV[i]); i = i + 1
  for j = 1, n do redis.call('HDEL', key, ARGV[i]); i = i + 1 end
end

pairs_into(KEYS[1])
delete_from(KEYS[1])
pairs_into(KEYS[2])
pairs_into(KEYS[3])
delete_from(KEYS[3])
local n = tonumber(ARGV[i]); i = i + 1
if n > 0 then
  local first = math.max(i, i + n - keep)  -- entries beyond what is kept are not even pushed
  for j = first, i + n - 1, 200 do
    redis.call('RPUSH', KEYS[4], unpack(ARGV, j, math.min(j + 199, i + n - 1)))
  end
  i = i + n
  redis.call('LTRIM', KEYS[4], -keep, -1)
end
redis.call('HSET', KEYS[1], 'v', current + 1, 'n', ARGV[3])
return {1, current + 1}
