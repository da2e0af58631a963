// Clicks: elements marked data-ct-event="<name>" (a custom event of that name, whose other
// data-ct-<key> attributes are its properties), and links to other hosts (outbound). Links to
// the site's other domains (init's `domains`) are not outbound: they get the cross-domain
// identifier from the linker file (src/decorate.js), which only pages with `domains` load.

import { track } from './events.js'
import { on, warn } from './safe.js'
import { mayStore, read, VISITOR } from './storage.js'

const linkedDomain = (host, domains) => domains?.some((d) => ('.' + host).endsWith('.' + d))

export const watchClicks = (config) => {
  on(document, 'click', (event) => {
    const target = event.target
    const marked = target.closest('[data-ct-event]')
    if (marked) {
      const attributes = {}
      for (const { name, value } of marked.attributes) if (name.startsWith('data-ct-')) attributes[name.slice(8)] = value
      const { event: name, ...properties } = attributes
      track('custom', { name, properties })
    }
    // Links without a host (mailto:, tel:, javascript:, and SVG's, which have no hostname at
    // all) count as neither.
    const link = target.closest('a')
    if (link?.hostname && link.hostname != location.hostname && !(CT_LINKER && linkedDomain(link.hostname, config.domains)))
      track('click', { target_url: link.href })
  })
  // The linker file, from the collector, only where there are domains to link. It gets one
  // function from the script element (its whole interface with the core): for a link's host,
  // the visitor id to carry there, if the host is one of the domains and storing is allowed.
  if (CT_LINKER && config.domains)
    import(config.collector + '/v1/clicktrail-linker.js').then(
      (file) => file.default((host) => linkedDomain(host, config.domains) && mayStore && read(VISITOR)),
      warn,
    )
}
