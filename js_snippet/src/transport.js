// Sending the queue. While the page lives: fetch with keepalive and a text/plain body (no CORS
// preflight), whose answer is the only thing that removes events from the queue. When the page
// is being hidden or unloaded: sendBeacon, which cannot report an answer, so those events stay
// queued (and are not sent again by this page) until the next page load sends them again,
// with the same event_id, deduplicated downstream. Where fetch is missing or the page's own
// throws: the GET pixel, one event an image, confirmed by its load; what the pixel cannot
// carry goes by sendBeacon, or waits for a page that can send it.

import { envelope, fillBatch } from './envelope.js'
import { MAX_PIXEL_URL, pixelQuery } from './pixel.js'
import { load, save } from './queue.js'
import { safe, warn } from './safe.js'
import { mayStore, VISITOR, write } from './storage.js'

let target // init's config: collector (origin), site
let linker
let timer
let failures = 0
const busy = {} // event_id -> itself while a send of it is unanswered

// The landing page's cross-domain identifier (value) rides with every batch that page sends.
export const setTarget = (config, value) => {
  target = config
  if (value) linker = value
}

export const schedule = (ms) => {
  timer = timer || setTimeout(safe(flush), ms)
}

// Final (ok) or not: either way the events may be sent again, or are gone. Failures back off
// 2, 4, 8, 16, then 32 s.
const answered = (ids, ok) => {
  if (ok) save(load().filter((event) => !ids.includes(event.event_id)))
  ids.map((id) => delete busy[id])
  schedule(ok ? (failures = 0) : 1000 << Math.min(++failures, 5))
}

// One image: its load is the collector's answer (a GIF, also for events it refused for
// good); a 429 or a 503 has no image, so it fails, like a network error, and is sent again.
const pixel = (event) => {
  const src = `${target.collector}/v1/pixel.gif?${pixelQuery(event, target.site, Date.now(), linker)}`
  if (src.length < MAX_PIXEL_URL) {
    const image = new Image()
    image.onload = image.onerror = safe((loaded) => answered([event.event_id], loaded.type == 'load'))
    return (image.src = src)
  }
}

export const flush = (hiding) => {
  clearTimeout(timer)
  timer = 0
  let events = fillBatch(load().filter((event) => !busy[event.event_id]))
  const ids = events.map((event) => (busy[event.event_id] = event.event_id))
  const beacon = () =>
    events[0] && navigator.sendBeacon?.(target.collector + '/v1/events', envelope(events, target.site, Date.now(), linker))
  if (ids[0] && !(hiding && beacon()))
    try {
      fetch(target.collector + '/v1/events', {
        method: 'POST',
        body: envelope(events, target.site, Date.now(), linker),
        keepalive: true,
      })
        .then((response) =>
          response.json().then(
            safe((answer) => {
              // Final: accepted (202), or refused for good, whole (400, 403, 413) or event by
              // event (`rejected`), the reason in the answer; a 429 or a 503 is sent again.
              answered(ids, response.status < 500 && response.status != 429)
              // A landing page's valid cross-domain identifier: the collector names its visitor.
              if (answer.linked && mayStore) write(VISITOR, answer.linked)
              if (answer.accepted != ids.length) warn(answer)
            }),
          ),
        )
        .catch(safe(() => answered(ids)))
    } catch {
      if (CT_PIXEL) events = events.filter((event) => !pixel(event))
      beacon()
    }
  if (hiding && ids[0]) flush(1)
}

// Consent withdrawn: the collector expires its own cookie (ct_vid) in this browser. (Should
// this request be lost, the next denied request that carries the cookie expires it too.)
export const withdraw = () => (new Image().src = `${target.collector}/v1/withdraw?s=${target.site}`)
