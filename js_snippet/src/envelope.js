// The batch envelope POSTed to /v1/events. Pure.

import { json } from './safe.js'

// keepalive fetches and beacons share a 64 KB in-flight budget, counted in bytes: 14,000
// UTF-16 characters stay under it even when every one of them takes three bytes.
export const MAX_BATCH_CHARS = 14000

// The queue's events that fit one batch, oldest first; the first always goes, however large,
// since the queue refuses events too large to ever fit. No event is under 140 characters (its
// event_id, event_type, created_at and page_view_id alone take that), so
// a batch stays within the protocol's 100 events.
export const fillBatch = (events, size = 0) =>
  events.filter((event, i) => (size += json(event).length) < MAX_BATCH_CHARS || !i)

export const envelope = (events, siteId, sentAt, linker) =>
  json({ site_id: siteId, sent_at: sentAt, linker, events })
