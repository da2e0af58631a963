// The session cookie `_ct_ses` = `<session_id>.<index>.<last activity, base-36 seconds>`.
// Pure: the caller passes the stored value and the time.

import { uuid } from './ids.js'

export const SESSION_MS = 30 * 60 * 1000

// The parts of the value to store after activity at nowMs: [session id, index, stamp]. A
// session ends after 30 minutes without activity; the stamp inside the value decides that, not
// the cookie's expiry, so the index survives the gap and the device clock is the only clock.
export const touchSession = (stored, nowMs) => {
  let [id, index, last] = (stored || '').split('.')
  index = index > 0 ? +index : 0 // a damaged value ('-3', 'x') counts as none
  if (!(index && nowMs - parseInt(last, 36) * 1000 <= SESSION_MS)) {
    id = uuid()
    index++
  }
  return [id, index, Math.floor(nowMs / 1000).toString(36)]
}
