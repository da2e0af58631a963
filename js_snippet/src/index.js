// The snippet's entry point: the public `ct(command, ...)` function, which replaces the loader
// stub's queue (docs/snippet.md), and the start-up once `ct('init', config)` arrives.
//
// Commands: init, page, consent; any other command is an event type of the protocol with its
// fields (`ct('product_view', {sku: 'A1'})`), so the API is the protocol and costs no bytes
// per event type; the collector's answer names what is wrong with a bad event.

import { watchClicks } from './clicks.js'
import { ping, watchEngagement } from './engage.js'
import { track } from './events.js'
import { checkLinker } from './linker.js'
import { pageView, watchHistory } from './page.js'
import { on, safe } from './safe.js'
import { mayStore, read, setChoice, setPolicy, VISITOR, write } from './storage.js'
import { flush, setLinker, setTarget } from './transport.js'

const stub = window.ct
const waiting = []
let started

// Adopts a valid `_ct` from the address and removes it from the address bar; returns the id
// this browser had before, so the collector can record which one the link replaced.
const adoptLinker = () => {
  const url = new URL(location.href)
  const value = url.searchParams.get('_ct')
  if (value == null) return
  url.searchParams.delete('_ct')
  history.replaceState(history.state, '', url)
  const linked = checkLinker(value, navigator.userAgent, Math.floor(Date.now() / 1000))
  if (linked && mayStore) {
    const previous = read(VISITOR)
    write(VISITOR, linked)
    setLinker(value)
    return previous !== linked && previous
  }
}

const init = (config) => {
  const site = config.site
  // collector: its origin, as "https://collect.example.com"
  if (started || !/^[\w-]{1,64}$/.test(site || '') || !config.collector) throw Error('init: site, collector')
  setTarget(config.collector, site)
  setPolicy(config)
  started = 1
  const previous = CT_LINKER && adoptLinker()
  if (CT_ENGAGE) watchEngagement()
  pageView(previous && { visitor_id: previous })
  if (CT_SPA) watchHistory()
  if (CT_CLICKS) watchClicks(config.domains || [])
  // The engagement ping first, so a hidden page's last ping leaves with the beacon. Browsers
  // hide a page before every unload (pagehide comes after), so this one listener covers both.
  on(document, 'visibilitychange', () => (CT_ENGAGE && ping(), document.hidden && flush(1)))
  waiting.splice(0).map((args) => ct(...args))
  flush() // the page view goes at once; later events wait for a batch
}

const ct = safe((command, fields) => {
  if (command === 'init') init(fields)
  else if (!started) waiting.push([command, fields])
  else if (command === 'page') pageView(fields)
  else if (command === 'consent') setChoice(fields)
  else track(command, fields)
})

window.ct = ct
// The stub's calls, in their order (calls before init wait for it).
;(stub?.q || []).map((args) => ct(...args))
