-- A node leaves the cluster: ARGV = prefix, node. Forgets it and every room it held.
local node = ARGV[2]
local held = p .. ':node:' .. node .. ':rooms'
for _, name in ipairs(redis.call('SMEMBERS', held)) do
  if redis.call('HGET', p .. ':room:' .. name, 'node') == node then
    drop_room(name)
  end
end
redis.call('DEL', held, p .. ':node:' .. node, p .. ':node:' .. node .. ':users')
redis.call('SREM', p .. ':nodes', node)
return 1
