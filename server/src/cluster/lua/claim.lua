-- Claims a room name for a node: ARGV = prefix, name, node, capacity, private (0/1).
-- Returns '' when the name is now this node's, the live node that holds it, or
-- '!settling' while the directory may not list every room: the claiming node has not
-- beaten into it yet, or a node came back to it empty (Redis restarted) less than a
-- heartbeat's lifetime ago, and some node may not have listed its rooms again.
local name, node = ARGV[2], ARGV[3]
if redis.call('EXISTS', p .. ':node:' .. node) == 0
  or now_ms() < (tonumber(redis.call('GET', p .. ':settle_until')) or 0) then
  return '!settling'
end
local rk = p .. ':room:' .. name
local owner = redis.call('HGET', rk, 'node')
if owner and owner ~= node and alive(owner) then
  return owner
end
redis.call('HSET', rk, 'node', node, 'taken', 0, 'capacity', ARGV[4], 'private', ARGV[5])
redis.call('SADD', p .. ':rooms', name)
redis.call('SADD', p .. ':node:' .. node .. ':rooms', name)
return ''
