// The linker file, dist/clicktrail-linker.min.js: decorates links (and forms) to the site's
// other domains with the cross-domain identifier `_ct` when they are used, so it is fresh
// when followed. The core loads it (an ES module, `import()` from the collector) only when
// init names `domains`, and calls its one export with `linkFor(host)`: the visitor id to carry
// to that host, or nothing (not one of the domains, storing not allowed, no id yet). Everything
// about the page's configuration and consent stays in the core.
//
// A link is decorated when pressed: a pointer press comes before the browser follows it, also
// for a middle click or the context menu's "open in new tab", which make no click; a key press
// (Enter) makes a click. A form when submitted: a GET form's fields replace its action's
// query, so `_ct` goes in as a hidden field; any other method keeps the action's query. (A
// submit button's own formaction or formmethod is not looked at.)

import { makeLinker } from './linker.js'
import { on } from './safe.js'

export default (linkFor) => {
  // The value for a URL on another host that is one of the domains, else undefined.
  const linker = (url) => {
    const visitorId = url.hostname != location.hostname && linkFor(url.hostname)
    return visitorId && makeLinker(visitorId, Math.floor(Date.now() / 1000), navigator.userAgent)
  }
  const pressed = (event) => {
    const link = event.target.closest('a')
    const value = link?.hostname && linker(link)
    if (value) {
      const url = new URL(link.href)
      url.searchParams.set('_ct', value)
      link.href = url
    }
  }
  on(document, 'pointerdown', pressed)
  on(document, 'click', pressed)
  on(document, 'submit', (event) => {
    const form = event.target
    const url = new URL(form.action)
    const value = linker(url)
    if (value && form.method == 'get') {
      const field = form.querySelector('input[name=_ct]') || form.appendChild(document.createElement('input'))
      Object.assign(field, { type: 'hidden', name: '_ct', value })
    } else if (value) {
      url.searchParams.set('_ct', value)
      form.action = url
    }
  })
}
