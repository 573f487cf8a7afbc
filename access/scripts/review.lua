-- An approver reviewed a break-glass grant (active or ended): once, with its audit record.
-- KEYS: grant, unreviewed   ARGV: id, reviewer, audit config (JSON), record (JSON field list)
-- Answers 1; 0 when it was reviewed already; -1 when there is no such break-glass grant.
if redis.call('HGET', KEYS[1], 'break_glass') ~= '1' then return -1 end
local reviewer = redis.call('HGET', KEYS[1], 'reviewed_by')
if reviewer and reviewer ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'reviewed_by', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
audit_append(cjson.decode(ARGV[3]), cjson.decode(ARGV[4]), {})
return 1
