// The cross-domain identifier `_ct=<visitor_id>.<base36 seconds>.<fnv1a32 hex>`, exactly as
// docs/protocol.md defines it; clicktrail/contract/linker.py checks the same fixtures.
// Pure: no DOM, so Node's test runner loads it as it is.

export const MAX_AGE_S = 300
export const MAX_FUTURE_S = 60

// FNV-1a over UTF-16 code units, each XORed in whole (charCodeAt gives code units, not
// code points, which is what keeps this equal to the Python side for non-ASCII agents).
export const fnv1a32 = (text) => {
  let hash = 0x811c9dc5
  for (const unit of text.split('')) hash = Math.imul(hash ^ unit.charCodeAt(), 0x01000193)
  return (hash >>> 0).toString(16).padStart(8, 0)
}

export const makeLinker = (visitorId, nowS, userAgent) => {
  const head = visitorId + '.' + nowS.toString(36)
  return head + '.' + fnv1a32(head + '.' + userAgent)
}

// The visitor id a value carries when it is valid for this browser now, else undefined.
// Remaking the value from its parts checks the hash and the stamp's form at once (a value
// with a zero-padded stamp, which no maker writes, is refused here and taken by the server).
export const checkLinker = (value, userAgent, nowS) => {
  const [visitorId, stamp] = value.split('.')
  const age = nowS - parseInt(stamp, 36)
  if (/^[\w-]{1,64}$/.test(visitorId) && makeLinker(visitorId, nowS - age, userAgent) == value && age <= MAX_AGE_S && age >= -MAX_FUTURE_S)
    return visitorId
}
