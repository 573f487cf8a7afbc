-- deny and cancel: PENDING -> P.state (DENIED or CANCELLED)
local id = P.id
local refusal = check_pending(id)
if refusal then return refusal end
if P.requester_only and redis.call('HGET', key(id), 'requester') ~= P.actor then
  return refuse(id, 'not_requester')
end
if is_target(id) then return refuse(id, 'target_decision') end
close(id, P.state, P.outcome, nil, nil, P.fields)
return reply('ok', '', id)
