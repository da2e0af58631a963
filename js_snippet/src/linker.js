// The cross-domain identifier `_ct=<visitor_id>.<base36 seconds>.<fnv1a32 hex>`, exactly as
// docs/protocol.md defines it; clicktrail/contract/linker.py makes the same values from the same
// fixtures, and checks them: the collector judges a landing page's `_ct` (hash, age, user
// agent), the browser only makes them (decorate.js, the linker file).
// Pure: no DOM, so Node's test runner loads it as it is.

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
