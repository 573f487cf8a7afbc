-- Audit library fragment: prepended to every script that writes audit records, so that a state
-- change and its audit entry commit in one atomic step. It defines a function and returns nothing.
--
-- cfg:       {stream, maxlen, index_prefix, index_ttl}, from AuditLog.lua_config()
-- fields:    the flat [name, value, ...] list from AuditRecord.to_fields(), the one field layout
-- overrides: name -> value for what only the script knows (the outcome, the request's verb, ...)
--
-- Every record appended is also kept in AUDITED (flat field lists, in order): a script returns it,
-- so that the caller hands what was written to the recorder (audit channel, metrics).
local AUDITED = {}
local function audit_append(cfg, fields, overrides)
  local out = {}
  local approval_id = ''
  for i = 1, #fields, 2 do
    local name = fields[i]
    local value = overrides[name]
    if value == nil then value = fields[i + 1] end
    out[i], out[i + 1] = name, value
    if name == 'approval_id' then approval_id = value end
  end
  local entry = redis.call('XADD', cfg.stream, 'MAXLEN', '~', cfg.maxlen, '*', unpack(out))
  AUDITED[#AUDITED + 1] = out
  if approval_id ~= '' then
    -- a per-approval list of entry ids: for_approval() then reads a few entries, never scans the stream
    local index = cfg.index_prefix .. approval_id
    redis.call('RPUSH', index, entry)
    redis.call('EXPIRE', index, cfg.index_ttl)
  end
  return entry
end
