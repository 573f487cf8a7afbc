-- The lease holder ended the grant: its end and its audit record in one step. 1, or 0 without the lease.
-- KEYS: grant, lease, ends, reminders, pair, user
-- ARGV: id, token, fields (JSON object), retention, audit config (JSON), record (JSON field list)
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
for name, value in pairs(cjson.decode(ARGV[3])) do redis.call('HSET', KEYS[1], name, value) end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('GET', KEYS[5]) == ARGV[1] then redis.call('DEL', KEYS[5]) end
redis.call('SREM', KEYS[6], ARGV[1])
redis.call('DEL', KEYS[2])
-- a break-glass grant still owed its review stays until reviewed (review.lua then sets its expiry)
local reviewer = redis.call('HGET', KEYS[1], 'reviewed_by')
if redis.call('HGET', KEYS[1], 'break_glass') ~= '1' or (reviewer and reviewer ~= '') then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
audit_append(cjson.decode(ARGV[5]), cjson.decode(ARGV[6]), {})
return 1
