// The GET pixel's query for the snippet (docs/protocol.md, fixtures: pixel.json). Pure.
// `j` is a batch envelope of one event, exactly what fetch would POST, so the pixel carries
// every field with its type, line items and properties included, the site, the send time and
// the landing page's cross-domain identifier. The collector refuses a request line over 4,094
// bytes (gunicorn's bound): a longer address is not sent this way.

import { envelope } from './envelope.js'

export const MAX_PIXEL_URL = 4000

export const pixelQuery = (event, siteId, sentAt, linker) =>
  'j=' + encodeURIComponent(envelope([event], siteId, sentAt, linker))
