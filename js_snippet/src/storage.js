// First-party storage and the visitor's consent. Cookies go on the registrable domain (found
// by probing parent domains, as analytics trackers do) with localStorage beside them, so an
// id survives when either is blocked, throws or is cleared. Nothing is written while storing
// is not allowed, except the visitor's own choice once made.

import { forget } from './queue.js'
import { attempt } from './safe.js'
import { withdraw } from './transport.js'

export const VISITOR = '_ct_id'
export const SESSION = '_ct_ses'
export const CHOICE = '_ct_c' // "1" granted, "0" denied
const MAX_AGE_S = 400 * 24 * 3600 // browsers cap cookie lifetime at 400 days

let domain // undefined until probed; '' means host-only (localhost, IP addresses)
let required // consent must be granted before anything is stored
let signal // Do Not Track or Global Privacy Control, when the site honours them

export let mayStore // may the snippet write ids and queue events on this device?
// Each event's consent field: "denied" whenever nothing may be stored (a refusal, a privacy
// signal, or consent required and not given yet), so the collector stores nothing either.
export let consent

// SameSite is left to the browsers' default, Lax; an empty domain means host-only.
const cookie = (name, value, maxAge) =>
  (document.cookie = `${name}=${value};path=/;max-age=${maxAge};domain=${domain}${
    isSecureContext ? ';secure' : ''
  }`)

// The shortest parent domain that takes a cookie: public suffixes ("com", "co.uk") refuse it.
const probe = (labels) => {
  for (let i = labels.length - 1; i--; ) {
    cookie('_ct_t', 1, 9, (domain = labels.slice(i).join('.')))
    if (read('_ct_t')) return cookie('_ct_t', 1, -1)
  }
  domain = ''
}

// document.cookie and localStorage each throw in sandboxed frames, and either may be blocked
// alone: each is tried on its own.
export const read = (name) =>
  attempt(() => document.cookie.match(`(^|; )${name}=([^;]*)`)?.[2]) || attempt(() => localStorage[name])

// An empty value deletes.
export const write = (name, value) => {
  attempt(() => {
    if (domain == null) probe(location.hostname.split('.'))
    cookie(name, value, value ? MAX_AGE_S : -1)
  })
  attempt(() => (value ? (localStorage[name] = value) : delete localStorage[name]))
}

const decide = (choice) => {
  mayStore = choice == '1' || !(required || choice || signal)
  consent = mayStore ? choice && 'granted' : 'denied'
}

export const setPolicy = (config) => {
  required = config.consent == 'required'
  signal = config.dnt !== false && (navigator.doNotTrack == '1' || navigator.globalPrivacyControl)
  decide(read(CHOICE))
}

// A refusal deletes the ids and the queue, and asks the collector to expire its own cookie.
export const setChoice = (granted) => {
  const choice = granted ? '1' : '0'
  decide(choice)
  write(CHOICE, choice)
  if (!granted) {
    write(VISITOR, '')
    write(SESSION, '')
    forget()
    withdraw()
  }
}
