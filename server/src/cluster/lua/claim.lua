-- Claims a room name for a node: ARGV = prefix, name, node, capacity, private (0/1),
-- ttl_ms. Returns '' when the name is now this node's, the live node that holds it, or
-- '!settling' while the directory is younger than a heartbeat's lifetime (it may not
-- list every room yet: a node that opened the name before a Redis restart has not said).
local name, node = ARGV[2], ARGV[3]
if age() < tonumber(ARGV[6]) then
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
