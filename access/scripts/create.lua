-- A new grant, unless the user already has an active one for the group (answered with its id).
-- KEYS: grant, ends, reminders, pair, user, unreviewed   ARGV: id, ends, remind_at, fields (JSON object)
local existing = redis.call('GET', KEYS[4])
if existing then return existing end
local fields = cjson.decode(ARGV[4])
for name, value in pairs(fields) do redis.call('HSET', KEYS[1], name, value) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('SET', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[1])
if fields['break_glass'] == '1' then redis.call('ZADD', KEYS[6], fields['starts'], ARGV[1]) end
return false
