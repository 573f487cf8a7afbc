-- An approver reviewed a break-glass grant (active or ended): once, with its audit record. An ended
-- grant kept for its review (finish.lua) is now kept only `retention` more, like any other.
-- KEYS: grant, unreviewed   ARGV: id, reviewer, reviewed_at, retention, audit config (JSON), record (JSON field list)
-- Answers 1; 0 when it was reviewed already; -1 when there is no such break-glass grant.
if redis.call('HGET', KEYS[1], 'break_glass') ~= '1' then return -1 end
local reviewer = redis.call('HGET', KEYS[1], 'reviewed_by')
if reviewer and reviewer ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'reviewed_by', ARGV[2], 'reviewed_at', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'state') == 'ended' then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
audit_append(cjson.decode(ARGV[5]), cjson.decode(ARGV[6]), {})
return 1
