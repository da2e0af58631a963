// Rendering a decision into the page with DOM calls only: text goes in as textContent and
// every URL from the answer must be http(s), so nothing in an answer can run as markup or
// script in the host page. The DOM's document is passed in (Node tests hand in a small one).

export const IMPRESSION_VIEWABLE = 'vw=1' // appended to the signed impression URL: seen for 1 s

export const safeUrl = (value) => {
  try {
    const url = new URL(value)
    return /^https?:$/.test(url.protocol) ? url.href : ''
  } catch {
    return ''
  }
}

export const viewableUrl = (impressionUrl) => {
  const url = safeUrl(impressionUrl)
  return url && url + (url.includes('?') ? '&' : '?') + IMPRESSION_VIEWABLE
}

// Minor units in the currency's own format ("€49.99", "¥500"); an unknown currency code as
// plain digits and the code.
export const formatPrice = (minor, currency, locale) => {
  try {
    const format = new Intl.NumberFormat(locale, { style: 'currency', currency })
    return format.format(minor / 10 ** format.resolvedOptions().maximumFractionDigits)
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`
  }
}

const make = (doc, tag, attributes, text) => {
  const node = doc.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) if (value != null && value !== '') node.setAttribute(name, value)
  if (text) node.textContent = text
  return node
}

// The banner of one placement: a link to the signed click URL around the image (with its alt
// text) and the headline. Returns the link, or nothing when the answer has no usable banner.
export const renderBanner = (doc, element, placed) => {
  const creative = placed?.creative
  const href = safeUrl(placed?.click_url)
  const src = safeUrl(creative?.image_url)
  if (!href || !src) return
  const link = make(doc, 'a', { href, class: 'ct-banner', rel: 'sponsored noopener' })
  link.appendChild(
    make(doc, 'img', { src, alt: creative.alt || '', width: creative.width || null, height: creative.height || null }),
  )
  if (creative.headline) link.appendChild(make(doc, 'span', { class: 'ct-headline' }, creative.headline))
  element.appendChild(link)
  return link
}

// Offers as a list of links: image, title, price. An offer without an http(s) URL is skipped.
export const renderOffers = (doc, element, offers, locale) => {
  const list = make(doc, 'ul', { class: 'ct-offers' })
  for (const offer of offers || []) {
    const href = safeUrl(offer.url)
    if (!href) continue
    const item = make(doc, 'li', { class: 'ct-offer', 'data-reason': offer.reason })
    const link = make(doc, 'a', { href })
    const src = safeUrl(offer.image_url)
    if (src) link.appendChild(make(doc, 'img', { src, alt: offer.title || '' }))
    link.appendChild(make(doc, 'span', { class: 'ct-title' }, offer.title))
    if (offer.currency && Number.isFinite(offer.price))
      link.appendChild(make(doc, 'span', { class: 'ct-price' }, formatPrice(offer.price, offer.currency, locale)))
    item.appendChild(link)
    list.appendChild(item)
  }
  if (list.firstChild) element.appendChild(list)
  return list
}
