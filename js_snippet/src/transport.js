// Sending the queue. While the page lives: fetch with keepalive and a text/plain body (no CORS
// preflight), whose 202 is the only thing that removes events from the queue. When the page is
// being hidden or unloaded: sendBeacon, which cannot report an answer, so those events stay
// queued (and are not sent again by this page) until the next page load sends them again,
// with the same event_id, deduplicated downstream. Where neither exists: the GET pixel, one
// event an image, confirmed by its load.

import { envelope, fillBatch } from './envelope.js'
import { pixelQuery } from './pixel.js'
import { load, remove } from './queue.js'
import { safe, warn } from './safe.js'

const MAX_BACKOFF_MS = 30000

let collector
let siteId
let linker
let timer
let failures = 0
const busy = {} // event_id -> itself while a send of it is unanswered

export const setTarget = (url, site) => {
  collector = url
  siteId = site
}

// The landing page's cross-domain identifier rides with every batch that page sends.
export const setLinker = (value) => (linker = value)

export const schedule = (ms) => {
  timer = timer || setTimeout(safe(flush), ms)
}

// Confirmed (ok) or not: either way the events may be sent again, or are gone.
const answered = (ids, ok) => {
  if (ok) remove(ids)
  ids.map((id) => delete busy[id])
  schedule(ok ? (failures = 0) : Math.min(1000 * 2 ** ++failures, MAX_BACKOFF_MS))
}

export const flush = (hiding) => {
  clearTimeout(timer)
  timer = 0
  const events = fillBatch(load().filter((event) => !busy[event.event_id]))
  const ids = events.map((event) => (busy[event.event_id] = event.event_id))
  const body = envelope(events, siteId, Date.now(), linker)
  if (!ids[0] || (hiding && navigator.sendBeacon?.(collector + '/v1/events', body))) {
  } else if (CT_PIXEL && !window.fetch) {
    events.map((event) => {
      const image = new Image()
      image.onload = image.onerror = safe((loaded) => answered([event.event_id], loaded.type === 'load'))
      image.src = `${collector}/v1/pixel.gif?${pixelQuery(event, siteId, Date.now())}`
    })
  } else {
    // 202, and 400 when every event was invalid, count `accepted`; refusals (`{"error"}`,
    // or no CORS headers at all) and 503 do not. Rejected events are invalid for good: they
    // leave the queue too, with a warning.
    fetch(collector + '/v1/events', { method: 'POST', body, keepalive: true })
      .then((response) => response.json())
      .then(
        safe((answer) => {
          answered(ids, answer.accepted >= 0)
          if (answer.rejected?.[0]) warn('rejected', answer.rejected)
        }),
        safe(() => answered(ids)),
      )
  }
  if (hiding && ids[0]) flush(hiding)
}
