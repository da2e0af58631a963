// clicktrail-personalize.js (personalize/): consent as the core judges it, the decision
// request, rendering with DOM calls only and http(s) URLs only, the viewable-impression timer,
// taking the page's stub over beside the core, and the committed bundle against a fresh build.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { judge } from '../personalize/consent.js'
import { formatPrice, renderBanner, renderOffers, safeUrl, viewableUrl } from '../personalize/render.js'
import { decisionBody } from '../personalize/request.js'
import { VIEWABLE_MS, watchViewable } from '../personalize/viewable.js'

const root = new URL('..', import.meta.url).pathname

// A DOM of plain objects, enough for the renderer: no parser, so markup in data stays text.
class Node {
  constructor(tag) {
    this.tagName = tag
    this.attributes = {}
    this.childNodes = []
    this.textContent = ''
    this.listeners = {}
  }
  setAttribute(name, value) {
    this.attributes[name] = String(value)
  }
  appendChild(child) {
    this.childNodes.push(child)
    return child
  }
  get firstChild() {
    return this.childNodes[0] || null
  }
  set innerHTML(value) {
    throw Error('innerHTML used')
  }
  addEventListener(type, fn) {
    ;(this.listeners[type] ||= []).push(fn)
  }
  removeEventListener(type, fn) {
    this.listeners[type] = (this.listeners[type] || []).filter((f) => f != fn)
  }
}
const fakeDocument = () => Object.assign(new Node('#document'), { createElement: (tag) => new Node(tag), hidden: false })

const placed = {
  campaign_id: 'germany',
  creative: { id: 'de-a', image_url: 'https://cdn.example.test/de.png', alt: 'Sale <b>now</b>', headline: '<img src=x onerror=alert(1)>', width: 300, height: 250 },
  impression_url: 'https://collect.example.test/v1/pz/i?d=1&sig=x',
  click_url: 'https://collect.example.test/v1/pz/c?d=1&sig=y',
}

test('consent: judged as the core judges it', () => {
  const none = { site: 's' }
  assert.deepEqual(judge(none, undefined, false), { mayStore: true, consent: undefined })
  assert.deepEqual(judge(none, '1', false), { mayStore: true, consent: true })
  assert.deepEqual(judge(none, '0', false), { mayStore: false, consent: false })
  assert.deepEqual(judge({ consent: 'required' }, undefined, false), { mayStore: false, consent: false })
  assert.deepEqual(judge({ consent: 'required' }, '1', false), { mayStore: true, consent: true })
  assert.deepEqual(judge(none, undefined, true), { mayStore: false, consent: false }) // DNT / GPC
  assert.deepEqual(judge({ dnt: false }, undefined, true), { mayStore: true, consent: undefined })
  assert.deepEqual(judge(none, '1', true), { mayStore: true, consent: true }) // an explicit grant wins
})

test('the decision request carries the visitor id only when it may be used', () => {
  const page = { url: 'https://shop.example.test/p', referrer: '', category: 'Shoes/Running', sku: undefined }
  const allowed = decisionBody('shop', ['top'], 4, { mayStore: true, consent: true }, 'v-1', page)
  assert.deepEqual(allowed, {
    site_id: 'shop',
    placements: ['top'],
    offers: 4,
    consent: true,
    visitor_id: 'v-1',
    page: { url: 'https://shop.example.test/p', category: 'Shoes/Running' },
  })
  const refused = decisionBody('shop', ['top'], 0, { mayStore: false, consent: false }, 'v-1', page)
  assert.equal(refused.visitor_id, undefined)
  assert.equal(refused.consent, false)
  const policy = decisionBody('shop', ['top'], 0, { mayStore: true, consent: undefined }, 'bad id;', page)
  assert.ok(!('consent' in policy) && !('visitor_id' in policy))
})

test('only http(s) URLs are used, and the viewable flag is appended to the impression URL', () => {
  assert.equal(safeUrl('https://a.example/x?y=1'), 'https://a.example/x?y=1')
  for (const bad of ['javascript:alert(1)', 'data:text/html,<b>', ' vbscript:x', '/relative', '', null, undefined, 5])
    assert.equal(safeUrl(bad), '', String(bad))
  assert.equal(viewableUrl(placed.impression_url), 'https://collect.example.test/v1/pz/i?d=1&sig=x&vw=1')
  assert.equal(viewableUrl('javascript:alert(1)'), '')
})

test('the banner is a link to the signed click URL around the image; text stays text', () => {
  const doc = fakeDocument()
  const element = doc.createElement('div')
  const link = renderBanner(doc, element, placed)
  assert.equal(element.firstChild, link)
  assert.deepEqual(link.attributes, { href: placed.click_url, class: 'ct-banner', rel: 'sponsored noopener' })
  const [image, headline] = link.childNodes
  assert.deepEqual(image.attributes, { src: 'https://cdn.example.test/de.png', alt: 'Sale <b>now</b>', width: '300', height: '250' })
  assert.equal(headline.textContent, '<img src=x onerror=alert(1)>')
  assert.equal(headline.childNodes.length, 0)
})

test('no banner when the answer has none, or its URLs are not http(s)', () => {
  const doc = fakeDocument()
  const element = doc.createElement('div')
  assert.equal(renderBanner(doc, element, null), undefined)
  assert.equal(renderBanner(doc, element, { ...placed, click_url: 'javascript:alert(1)' }), undefined)
  assert.equal(renderBanner(doc, element, { ...placed, creative: { ...placed.creative, image_url: 'data:image/png,x' } }), undefined)
  assert.equal(element.childNodes.length, 0)
})

test('offers: links with image, title and price; an offer without an http(s) URL is left out', () => {
  const doc = fakeDocument()
  const element = doc.createElement('div')
  const offers = [
    { sku: 'A', title: 'Alpha <script>', url: 'https://shop.example.test/a', image_url: 'https://cdn.example.test/a.png', price: 4999, currency: 'EUR', reason: 'co_viewed' },
    { sku: 'B', title: 'Beta', url: 'javascript:alert(1)', price: 100, currency: 'EUR', reason: 'trending' },
    { sku: 'C', title: 'Gamma', url: 'https://shop.example.test/c', image_url: 'ftp://x', price: 500, currency: 'JPY', reason: 'fallback' },
  ]
  const list = renderOffers(doc, element, offers, 'en-US')
  assert.equal(element.firstChild, list)
  assert.equal(list.childNodes.length, 2)
  const [alpha, gamma] = list.childNodes.map((item) => item.firstChild)
  assert.equal(alpha.attributes.href, 'https://shop.example.test/a')
  assert.deepEqual(alpha.childNodes.map((n) => n.tagName), ['img', 'span', 'span'])
  assert.equal(alpha.childNodes[1].textContent, 'Alpha <script>')
  assert.equal(alpha.childNodes[2].textContent, '€49.99')
  assert.deepEqual(gamma.childNodes.map((n) => n.tagName), ['span', 'span']) // no image: ftp
  assert.equal(gamma.childNodes[1].textContent, '¥500')
  assert.equal(list.childNodes[0].attributes['data-reason'], 'co_viewed')
  assert.equal(renderOffers(doc, doc.createElement('div'), [], 'en').childNodes.length, 0)
})

test('prices in minor units, in the currency format; an unknown code as digits', () => {
  assert.equal(formatPrice(4999, 'EUR', 'de-DE'), '49,99\u00a0€')
  assert.equal(formatPrice(500, 'JPY', 'en-US'), '¥500')
  assert.equal(formatPrice(1234, 'KWD', 'en-US'), 'KWD\u00a01.234') // three decimals
  assert.equal(formatPrice(4999, 'not a code', 'en-US'), '49.99 not a code')
})

// An IntersectionObserver and timers the test drives.
const harness = () => {
  const timers = new Map()
  let next = 0
  let observer
  class Observer {
    constructor(callback, options) {
      this.callback = callback
      this.options = options
      this.disconnected = false
      observer = this
    }
    observe(element) {
      this.element = element
    }
    disconnect() {
      this.disconnected = true
    }
  }
  const doc = fakeDocument()
  const env = {
    Observer,
    doc,
    setTimeout: (fn, ms) => (timers.set(++next, { fn, ms }), next),
    clearTimeout: (id) => timers.delete(id),
  }
  const ratio = (r) => observer.callback([{ isIntersecting: r > 0, intersectionRatio: r }])
  const elapse = () => [...timers].map(([id, { fn }]) => (timers.delete(id), fn()))
  const hidden = (value) => ((doc.hidden = value), doc.listeners.visibilitychange?.map((fn) => fn()))
  return { env, timers, ratio, elapse, hidden, observer: () => observer }
}

test('an impression counts after half the element was visible for a second, once', () => {
  const h = harness()
  let seen = 0
  watchViewable({}, () => seen++, h.env)
  assert.deepEqual(h.observer().options, { threshold: 0.5 })
  h.ratio(0.3)
  assert.equal(h.timers.size, 0) // less than half: no timer
  h.ratio(0.5)
  assert.deepEqual([...h.timers.values()].map((t) => t.ms), [VIEWABLE_MS])
  h.ratio(0.8) // still in view: the same timer runs on
  assert.equal(h.timers.size, 1)
  h.elapse()
  assert.equal(seen, 1)
  assert.ok(h.observer().disconnected)
  h.ratio(1)
  h.elapse()
  assert.equal(seen, 1)
})

test('leaving the viewport or hiding the page before the second is up cancels it', () => {
  const h = harness()
  let seen = 0
  watchViewable({}, () => seen++, h.env)
  h.ratio(0.6)
  h.ratio(0.2) // scrolled away within the second
  assert.equal(h.timers.size, 0)
  h.ratio(0.7)
  h.hidden(true) // another tab
  assert.equal(h.timers.size, 0)
  h.hidden(false) // back, still in view: a new second starts
  assert.equal(h.timers.size, 1)
  h.elapse()
  assert.equal(seen, 1)
})

// The bundle in a page of plain objects: the stub's queue, the core arriving later, a decision.
test('the file takes the stub over: the core gets every other call, personalize calls come here', async () => {
  const doc = fakeDocument()
  const slot = doc.createElement('div')
  slot.dataset = { ctOffers: '2', ctCategory: 'Shoes' }
  Object.assign(doc, { cookie: '_ct_id=v-cookie', currentScript: null, referrer: '', querySelector: (s) => (s == '#slot' ? slot : null) })
  const requests = []
  const answer = {
    decision_id: 'd1',
    placements: { top: { ...placed, creative: { ...placed.creative } } },
    offers: [{ sku: 'A', title: 'Alpha', url: 'https://shop.example.test/a', price: 100, currency: 'EUR' }],
  }
  const page = {
    document: doc,
    location: { href: 'https://shop.example.test/p' },
    navigator: { language: 'en-US' },
    localStorage: {},
    fetch: async (url, options) => (requests.push([url, options]), { ok: true, json: async () => answer }),
    console: { warn: (...args) => page.warnings.push(args.join(' ')) },
    warnings: [],
  }
  const saved = Object.fromEntries(Object.keys(page).map((k) => [k, Object.getOwnPropertyDescriptor(globalThis, k)]))
  for (const [key, value] of Object.entries(page)) Object.defineProperty(globalThis, key, { value, configurable: true, writable: true })
  globalThis.window = globalThis
  try {
    // the documented stub and its calls, before either file has loaded
    window.ct = function () {
      ;(ct.q = ct.q || []).push(arguments)
    }
    ct('init', { site: 'shop', collector: 'https://collect.example.test' })
    ct('personalize', 'top', '#slot')
    ct('product_view', { sku: 'A' })
    const built = join(mkdtempSync(join(tmpdir(), 'ctp-')), 'p.mjs')
    execFileSync('node', ['scripts/build_personalize.mjs', `--out=${built}`], { cwd: root })
    await import(built)
    assert.deepEqual(ct.q.map((args) => args[0]), ['init', 'product_view']) // left for the core
    // the core installs itself as it does (src/index.js), and replays the queue
    const coreCalls = []
    const core = (...args) => coreCalls.push(args[0])
    const stub = window.ct
    window.ct = core
    stub.q.map((args) => ct(...args))
    ct('personalize', 'side', slot) // after the core: still this file's
    ct('page')
    assert.deepEqual(coreCalls, ['init', 'product_view', 'page'])
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(requests.length, 1) // both placements in one decision
    const [url, options] = requests[0]
    assert.equal(url, 'https://collect.example.test/v1/decide')
    assert.equal(options.credentials, 'include')
    assert.deepEqual(JSON.parse(options.body), {
      site_id: 'shop',
      placements: ['top', 'side'],
      offers: 2,
      visitor_id: 'v-cookie',
      page: { url: 'https://shop.example.test/p', category: 'Shoes' },
    })
    const [banner, offers] = slot.childNodes
    assert.equal(banner.attributes.href, placed.click_url)
    assert.equal(offers.childNodes.length, 1)
    assert.deepEqual(page.warnings, [])
  } finally {
    for (const [key, descriptor] of Object.entries(saved))
      descriptor ? Object.defineProperty(globalThis, key, descriptor) : delete globalThis[key]
    delete globalThis.window
    delete globalThis.ct
  }
})

test('dist/clicktrail-personalize.min.js matches a fresh build within its budget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctp-build-'))
  const out = join(dir, 'p.js')
  const sizes = join(dir, 'sizes.json')
  execFileSync('node', ['scripts/build_personalize.mjs', '--check', `--out=${out}`, `--sizes=${sizes}`], { cwd: root })
  const committed = readFileSync(join(root, 'dist/clicktrail-personalize.min.js'))
  assert.ok(readFileSync(out).equals(committed), 'dist/ is stale: run `make snippet` and commit js_snippet/dist')
  const { gzip, budget } = JSON.parse(readFileSync(sizes, 'utf8'))
  assert.ok(gzip <= budget, `${gzip} B gzipped > ${budget} B`)
})
