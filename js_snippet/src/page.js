// Page views, including single-page apps: history.pushState / replaceState and popstate
// make a new page view when the address (not only its #fragment) changed.

import { restart } from './engage.js'
import { newPageView, track } from './events.js'
import { on, safe } from './safe.js'

let lastUrl

const withoutFragment = (url) => url.split('#')[0]

export const pageView = (fields) => {
  if (CT_ENGAGE) restart()
  newPageView()
  track('page_view', {
    url: location.href,
    referrer: lastUrl || document.referrer,
    title: document.title,
    ...fields,
  })
  lastUrl = location.href
}

export const watchHistory = () => {
  // The title is the one the page has when the address changes.
  const changed = safe(() => withoutFragment(location.href) !== withoutFragment(lastUrl) && pageView())
  for (const name of ['pushState', 'replaceState']) {
    const original = history[name]
    // (Both return nothing.)
    history[name] = (...args) => {
      original.apply(history, args)
      changed()
    }
  }
  on(window, 'popstate', changed)
}
