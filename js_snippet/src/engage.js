// Engaged time: the time the page is visible. Pings go every 15 s while the page is visible
// (a hidden page's timer adds nothing: its visible stretch ended when it was hidden) and once
// when it is hidden or left; engaged_ms is cumulative per page view, so lost or repeated pings
// do not matter.

import { track } from './events.js'
import { safe } from './safe.js'

export const PING_MS = 15000

let engaged = 0
let reported = 0
let since = 0 // when the current visible stretch began, 0 while hidden

export const ping = () => {
  const now = Date.now()
  engaged += since && now - since
  since = !document.hidden && now
  // Over the protocol's bound (24 h on one page view) the collector rejects the ping: no harm.
  if (engaged > reported) track('page_ping', { engaged_ms: (reported = engaged) })
}

// Before a new page view: the last ping of the previous one, then start from zero.
export const restart = () => {
  ping()
  engaged = reported = 0
}

export const watchEngagement = () => {
  setInterval(safe(ping), PING_MS)
}
