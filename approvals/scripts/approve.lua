local id = P.id
local refusal = check_pending(id)
if refusal then return refusal end
if redis.call('HGET', key(id), 'requester') == P.actor then return refuse(id, 'self_approval') end
if is_target(id) then return refuse(id, 'target_decision') end
-- scored by the time of the approval, so the message can say who approved when
if redis.call('ZADD', approvers_key(id), 'NX', P.now, P.actor) == 0 then return refuse(id, 'already_approved_by_you') end

local count = redis.call('ZCARD', approvers_key(id))
local needed = tonumber(redis.call('HGET', key(id), 'required_approvals'))
audit(id, 'approved', count .. '/' .. needed .. ' approvals')
if count < needed then return reply('ok', '', id) end

-- The N-th approval: APPROVED and on to EXECUTING in this same step, so this call, and no
-- other ever, is told to execute. Its token fences finish() against any other caller, and the
-- execution lease (scored by expiry, renewed while the action runs) tells the sweeper when to
-- take over from an executor that died.
redis.call('HSET', key(id), 'state', 'EXECUTING', 'started_at', P.now, 'executor', P.token, 'executed_by', P.actor)
redis.call('ZREM', P.keys.pending, id)
redis.call('ZADD', P.keys.executing, P.lease_until, id)
audit(id, 'executing', 'execution claimed')
return reply('execute', '', id)
