// The decision request (POST /v1/decide, docs/personalizer.md): the site, the visitor's
// first-party id when it may be used, the page, the placements and how many offers. Pure.

const ID = /^[\w-]{1,64}$/

// `page`: { url, referrer, category, sku }; empty values are left out.
export const decisionBody = (site, placements, offers, judged, visitorId, page) => {
  const body = { site_id: site, placements, offers }
  if (judged.consent !== undefined) body.consent = judged.consent
  if (judged.mayStore && ID.test(visitorId || '')) body.visitor_id = visitorId
  const context = {}
  for (const key of ['url', 'referrer', 'category', 'sku']) if (page[key]) context[key] = String(page[key]).slice(0, 4096)
  body.page = context
  return body
}
