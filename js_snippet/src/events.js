// Building events: the common fields (ids, time, page view, screen, consent) and the
// visitor's identity, then into the queue.

import { uuid } from './ids.js'
import { load, save } from './queue.js'
import { json } from './safe.js'
import { touchSession } from './session.js'
import { consent, mayStore, read, SESSION, VISITOR, write } from './storage.js'
import { schedule } from './transport.js'

export const BATCH_MS = 1000
export const MAX_EVENT_CHARS = 14000 // one event must fit a batch (envelope.js)

let pageViewId
let visitorId // also kept here: with no storage at all, ids still hold for this page
let session

export const newPageView = () => (pageViewId = uuid())

// Reading and rewriting both cookies at every event slides the session and the 400 days.
// While nothing may be stored, no id is sent, and none is kept for later either.
const identity = (nowMs) => {
  if (!mayStore) return (visitorId = session = 0)
  // (RegExp.test turns undefined into "undefined", a valid id: hence the || first.)
  visitorId = read(VISITOR) || visitorId || uuid()
  if (!/^[\w-]{1,64}$/.test(visitorId)) visitorId = uuid()
  write(VISITOR, visitorId)
  const parts = touchSession(read(SESSION) || session, nowMs)
  write(SESSION, (session = parts.join('.')))
  return { visitor_id: visitorId, session_id: parts[0], session_index: parts[1] }
}

export const track = (type, fields) => {
  const now = Date.now()
  // Serialised here, inside the caller's safe wrapper: values that cannot be sent (cycles,
  // BigInt) fail now, never later in the queue; undefined fields drop out.
  const text = json({
    event_id: uuid(),
    event_type: type,
    created_at: now,
    ...identity(now),
    page_view_id: pageViewId,
    screen: screen.width + 'x' + screen.height,
    viewport: innerWidth + 'x' + innerHeight,
    language: navigator.language,
    consent,
    ...fields,
  })
  if (text.length > MAX_EVENT_CHARS) throw 'too large: ' + type
  save([...load(), JSON.parse(text)])
  schedule(BATCH_MS)
}
