// Clicks: elements marked data-ct-event="<name>" (a custom event of that name, whose other
// data-ct-<key> attributes are its properties), links to other hosts (outbound), and links to
// the site's other domains, which get the cross-domain identifier when pressed (a middle click,
// or the context menu's "open in new tab", follows a link without a click event; a key press
// makes a click), so it is fresh when followed.

import { track } from './events.js'
import { makeLinker } from './linker.js'
import { on } from './safe.js'
import { mayStore, read, VISITOR } from './storage.js'

const linkedDomain = (host, domains) => domains?.some((d) => ('.' + host).endsWith('.' + d))

export const watchClicks = (domains) => {
  const pressed = (event) => {
    const target = event.target
    const marked = target.closest('[data-ct-event]')
    const clicked = event.type == 'click'
    if (marked && clicked) {
      const attributes = {}
      for (const { name, value } of marked.attributes) if (name.startsWith('data-ct-')) attributes[name.slice(8)] = value
      const { event: name, ...properties } = attributes
      track('custom', { name, properties })
    }
    // Links without a host (mailto:, tel:, javascript:, and SVG's, which have no hostname at
    // all) count as neither.
    const link = target.closest('a')
    if (!link?.hostname || link.hostname == location.hostname) return
    if (CT_LINKER && linkedDomain(link.hostname, domains)) {
      const visitorId = mayStore && read(VISITOR)
      if (visitorId) {
        const url = new URL(link.href)
        url.searchParams.set('_ct', makeLinker(visitorId, Math.floor(Date.now() / 1000), navigator.userAgent))
        link.href = url
      }
    } else if (clicked) track('click', { target_url: link.href })
  }
  on(document, 'pointerdown', pressed)
  on(document, 'click', pressed)
}
