// clicktrail-personalize.js: `ct('personalize', placement, element)` (docs/snippet.md), a file
// of its own that only pages showing banners or offers load, so the core snippet stays small.
//
// The core needs no hook. Loaded before the core (the embed code's order), this file takes
// the page's `ct` stub over: it keeps the personalize calls, leaves every other call in the
// stub's queue for the core, and stands in the global's place through an accessor, so when
// the core installs itself (`window.ct = ...`) its function is wrapped, not replaced: later
// personalize calls still come here, the rest go to the core. It reads `init` (site,
// collector, consent policy) and `consent` calls as they pass.

import { attempt, json, safe, warn } from '../src/safe.js'
import { judge } from './consent.js'
import { decisionBody } from './request.js'
import { renderBanner, renderOffers, viewableUrl } from './render.js'
import { watchViewable } from './viewable.js'

const name = document.currentScript?.dataset.global || 'ct'
const stub = window[name]
let core // the core's ct, once it has installed itself
let config // the page's init
let choice // a consent choice made on this page ("1" or "0"), else the stored one counts
const waiting = [] // personalize calls before init
const batch = [] // calls of the current task: one decision for all of them
const CORE_WAIT_MS = 3000

const read = (key) =>
  attempt(() => document.cookie.match(`(^|; )${key}=([^;]*)`)?.[2]) || attempt(() => localStorage[key])

const judged = () =>
  judge(config, choice || read('_ct_c'), navigator.doNotTrack == '1' || navigator.globalPrivacyControl)

// An impression is counted once, when the loaded image was half visible for a second.
const count = (image, placed) => {
  const watch = safe(() =>
    watchViewable(image, () => (new Image().src = viewableUrl(placed.impression_url)), {
      Observer: IntersectionObserver,
      setTimeout,
      clearTimeout,
      doc: document,
    }),
  )
  image.complete ? watch() : image.addEventListener('load', watch, { once: true })
}

const show = (calls, answer) => {
  for (const [placement, element] of calls) {
    const placed = answer.placements?.[placement]
    const link = renderBanner(document, element, placed)
    if (link && window.IntersectionObserver) count(link.firstChild, placed)
    const offers = +element.dataset.ctOffers
    if (offers) renderOffers(document, element, answer.offers?.slice(0, offers), navigator.language)
  }
}

const send = () => {
  const calls = batch.splice(0)
  if (!calls[0]) return
  const data = (key) => calls.map(([, element]) => element.dataset[key]).find(Boolean)
  const policy = judged()
  const body = decisionBody(
    config.site,
    [...new Set(calls.map(([placement]) => placement))],
    Math.max(0, ...calls.map(([, element]) => +element.dataset.ctOffers || 0)),
    policy,
    read('_ct_id'),
    { url: location.href, referrer: document.referrer, category: data('ctCategory'), sku: data('ctSku') },
  )
  // text/plain: no preflight. The collector's cookie (ct_vid) goes along only when the
  // visitor's id may be used at all.
  fetch(config.collector + '/v1/decide', {
    method: 'POST',
    body: json(body),
    credentials: policy.mayStore ? 'include' : 'omit',
  })
    .then((response) => response.json().then(safe((answer) => (response.ok ? show(calls, answer) : warn(answer)))))
    .catch(safe(warn))
}

const schedule = () => setTimeout(safe(send))

// The decision waits for the core to start (so a new visitor's id exists and is the one the
// decision uses), or CORE_WAIT_MS at most should the core not come (blocked, or failing).
const personalize = safe((placement, target) => {
  const element = typeof target == 'string' ? document.querySelector(target) : target
  if (!placement || !element?.appendChild) throw Error('personalize: placement, element')
  if (!config) return waiting.push([placement, element])
  if (!batch.length) core ? schedule() : setTimeout(safe(() => core || send()), CORE_WAIT_MS)
  batch.push([placement, element])
})

// Looks at a call on its way: true when it is this file's to keep.
const route = (command, fields, element) => {
  if (command == 'personalize') return personalize(fields, element) || 1
  if (command == 'consent') choice = fields ? '1' : '0'
  if (command == 'init' && fields?.site && fields.collector && !config) {
    config = fields
    waiting.splice(0).map((call) => personalize(...call))
  }
}

function ct(...args) {
  if (!route(...args)) return core ? core(...args) : ct.q.push(args)
}

if (stub?.q?.map) {
  ct.q = stub.q.filter((args) => !route(...args))
  try {
    // The core's own start-up (its queue, init, the page view) runs right after this
    // assignment: the decision goes after it.
    Object.defineProperty(window, name, {
      configurable: true,
      get: () => ct,
      set: (f) => ((core = f), batch[0] && schedule()),
    })
  } catch {
    warn(`${name} cannot be wrapped: define it with window.${name}=`)
  }
} else
  warn(
    typeof stub == 'function'
      ? 'clicktrail-personalize.js must load before clicktrail.js (docs/snippet.md)'
      : `${name} is taken: see data-global`,
  )
