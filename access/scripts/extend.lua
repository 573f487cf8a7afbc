-- A later end for an active grant that is not being ended right now, with its audit record.
-- KEYS: grant, lease, ends, reminders
-- ARGV: id, ends, remind_at, by_self ('1': the member's one self-extension), audit config, record
-- Answers 1; 0 when the grant is over or ending; -1 when the self-extension was used already.
if redis.call('HGET', KEYS[1], 'state') ~= 'active' or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if ARGV[4] == '1' then
  if redis.call('HGET', KEYS[1], 'self_extended') == '1' then return -1 end
  redis.call('HSET', KEYS[1], 'self_extended', '1')
end
redis.call('HSET', KEYS[1], 'ends', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'extensions', 1)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
audit_append(cjson.decode(ARGV[5]), cjson.decode(ARGV[6]), {})
return 1
