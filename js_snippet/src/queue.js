// Events not yet confirmed by the collector. Kept in localStorage (when storing is allowed)
// so a closed tab or an offline spell loses nothing: the next page load sends them with their
// original event_id and created_at. Every operation reads the stored list afresh, so tabs of
// one site add to the same queue instead of overwriting each other's events.

import { attempt, json } from './safe.js'
import { mayStore, write } from './storage.js'

const KEY = '_ct_q'
export const MAX_QUEUED = 200 // the oldest go first when a visitor stays offline for long

let memory = []

// A stored value that is not a list (written by a page's toJSON, or damaged) counts as none.
export const load = () => {
  const stored = mayStore && attempt(() => JSON.parse(localStorage[KEY]))
  return Array.isArray(stored) ? stored : memory
}

// The whole list, as it is to be kept: callers add (track) and remove (the transport's answers)
// by saving what they loaded, changed.
export const save = (events) => {
  memory = events.slice(-MAX_QUEUED)
  if (mayStore) attempt(() => (localStorage[KEY] = json(memory)))
}

// After an opt-out: events that carry the visitor's ids are not sent.
export const forget = () => {
  memory = []
  write(KEY, '')
}
