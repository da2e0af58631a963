// Clicks: elements marked data-ct-event="<name>" (a custom event of that name), links to
// other hosts (outbound), and links to the site's other domains, which get the cross-domain
// identifier appended at click time, so it is fresh when followed.

import { track } from './events.js'
import { makeLinker } from './linker.js'
import { on } from './safe.js'
import { mayStore, read, VISITOR } from './storage.js'

const linkedDomain = (host, domains) => domains.some((d) => ('.' + host).endsWith('.' + d))

export const watchClicks = (domains) =>
  on(
    document,
    'click',
    (event) => {
      const target = event.target
      const marked = target.closest('[data-ct-event]')
      if (marked) track('custom', { name: marked.dataset.ctEvent })
      // SVG links have no hostname or protocol: they count as neither.
      const link = target.closest('a[href]')
      if (!link || !/^https?:$/.test(link.protocol) || link.hostname === location.hostname) return
      if (CT_LINKER && linkedDomain(link.hostname, domains)) {
        const visitorId = mayStore && read(VISITOR)
        if (visitorId) {
          const url = new URL(link.href)
          url.searchParams.set('_ct', makeLinker(visitorId, Math.floor(Date.now() / 1000), navigator.userAgent))
          link.href = url
        }
      } else track('click', { target_url: link.href })
    },
    true,
  )
