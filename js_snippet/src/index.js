// The snippet's entry point: the public `ct(command, ...)` function, which replaces the loader
// stub's queue (docs/snippet.md), and the start-up once `ct('init', config)` arrives.
//
// Commands: init, page, consent; any other command is an event type of the protocol with its
// fields (`ct('product_view', {sku: 'A1'})`), so the API is the protocol and costs no bytes
// per event type; the collector's answer names what is wrong with a bad event.

import { watchClicks } from './clicks.js'
import { ping, watchEngagement } from './engage.js'
import { track } from './events.js'
import { pageView, watchHistory } from './page.js'
import { on, safe, warn } from './safe.js'
import { setChoice, setPolicy } from './storage.js'
import { flush, setTarget } from './transport.js'

// The global's name: `ct`, or what the script tag's data-global says.
const name = document.currentScript?.dataset.global || 'ct'
const stub = window[name]
const waiting = []
let started

// The engagement ping first, so a hidden page's last ping leaves with the beacon. Browsers
// hide a page before unloading it, but not all of them say so (pagehide comes after, or alone).
// (Both events reach the window: visibilitychange bubbles up from the document.)
const leave = (event) => {
  if (CT_ENGAGE) ping()
  if (document.hidden || event.type == 'pagehide') flush(1)
}

const init = (config) => {
  // collector: its origin, as "https://collect.example.com"
  if (started || !config.collector) throw 'init: collector' // (warned by safe, as it is)
  started = 1
  setPolicy(config)
  // A cross-domain identifier in the address leaves the address bar and rides with every batch
  // of this page. The collector judges it (hash, age, user agent): when valid, its answer names
  // the link's visitor id, which becomes this browser's (transport.js); the page view carries
  // the id the link replaces, so the collector can record which one that was.
  const url = new URL(location.href)
  const value = CT_LINKER && url.searchParams.get('_ct')
  setTarget(config, value)
  if (value) {
    url.searchParams.delete('_ct')
    history.replaceState(history.state, '', url)
  }
  if (CT_ENGAGE) watchEngagement()
  pageView()
  if (CT_SPA) watchHistory()
  if (CT_CLICKS) watchClicks(config)
  on(window, 'visibilitychange', leave)
  on(window, 'pagehide', leave)
  waiting.map((args) => ct(...args)) // (started: no call waits any more)
  flush() // the page view goes at once; later events wait for a batch
}

const ct = safe((command, fields) => {
  if (command == 'init') init(fields)
  else if (!started) waiting.push([command, fields])
  else if (command == 'page') pageView(fields)
  else if (command == 'consent') setChoice(fields)
  else track(command, fields)
})

// The loader stub keeps its calls in `q`; anything else of that name is the page's own and
// stays as it is (the page then names another global for the snippet).
if (stub && !stub.q?.map) warn(name + ' is taken: see data-global')
else {
  window[name] = ct
  // The stub's calls, in their order (calls before init wait for it).
  stub?.q.map((args) => ct(...args))
}
