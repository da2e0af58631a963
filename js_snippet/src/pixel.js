// The GET pixel's query string for one event (docs/protocol.md, fixtures: pixel.json). Pure.
// Used only where neither fetch nor sendBeacon exists (pages that removed them), so it carries
// what makes each event type valid, its ids and its address; the rest (title, properties,
// commerce details, line items) needs fetch or sendBeacon.

// query key, event field, ... : one string, because it gzips better than an object literal.
const KEYS = ('e event_type eid event_id ct created_at vid visitor_id sid session_id si session_index ' +
  'pv page_view_id uid user_id url url ref referrer em engaged_ms sku sku tu target_url bid banner_id ' +
  'n name cs consent').split(' ')

export const pixelQuery = (event, siteId, sentAt) => {
  const query = new URLSearchParams({ s: siteId, st: sentAt })
  for (let i = 0; i < KEYS.length; i += 2) {
    const value = event[KEYS[i + 1]]
    if (value != null) query.set(KEYS[i], value)
  }
  return query
}
