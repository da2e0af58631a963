-- Reads a visitor's profile as read.lua does, and the co-views of its most recent products, in
-- one round trip (a decision's offers need both). KEYS[1]: profile:<site>:v:<visitor> (or :u:).
-- ARGV[1]: the field of the recent products; ARGV[2]: the site's co-view key prefix; ARGV[3]:
-- how many recent products; ARGV[4]: how many co-views of each.
-- Returns {key of the profile, HGETALL of it, sku, ZREVRANGE WITHSCORES of it, sku, ...}.
local key = redis.call('HGET', KEYS[1], '=>')
if not key then
  key = KEYS[1]
  for _ = 1, 16 do
    local next_key = redis.call('HGET', key, '->')
    if not next_key then break end
    key = next_key
  end
end
local out = {key, redis.call('HGETALL', key)}
local wanted, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local recent = wanted > 0 and limit > 0 and redis.call('HGET', key, ARGV[1])
if recent then
  local ok, pairs_ = pcall(cjson.decode, recent)
  if ok and type(pairs_) == 'table' then
    for i = 1, math.min(wanted, #pairs_) do
      local sku = pairs_[i][1]
      out[#out + 1] = sku
      out[#out + 1] = redis.call('ZREVRANGE', ARGV[2] .. sku, 0, limit - 1, 'WITHSCORES')
    end
  end
end
return out
