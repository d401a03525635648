-- Snapshot of one member for the engine, in one round trip.
-- KEYS[1] core hash {m:ID}, KEYS[2] source records {m:ID}:src, KEYS[3] held inputs {m:ID}:held
-- ARGV: source ids whose records the batch needs (its own ids and the originals they correct)
-- Returns { core field/value list, record per ARGV id (or false), held field/value list }
local core = redis.call('HGETALL', KEYS[1])
local records = {}
if #ARGV > 0 then
  records = redis.call('HMGET', KEYS[2], unpack(ARGV))
end
local held = redis.call('HGETALL', KEYS[3])
return {core, records, held}
