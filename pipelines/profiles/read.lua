-- Reads a visitor's profile in one round trip, following its links (see apply.lua).
-- KEYS[1]: profile:<site>:v:<visitor>. Returns {key of the profile, HGETALL of it}.
local key = redis.call('HGET', KEYS[1], '=>')
if not key then
  key = KEYS[1]
  for _ = 1, 16 do
    local next_key = redis.call('HGET', key, '->')
    if not next_key then break end
    key = next_key
  end
end
return {key, redis.call('HGETALL', key)}
