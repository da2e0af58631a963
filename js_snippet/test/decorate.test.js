// The linker file (src/decorate.js) against a stand-in document: which links and forms get
// `_ct`, and that its value is the protocol's (checked against makeLinker, itself checked
// against the shared fixtures). The real browser's presses: tests/e2e/test_snippet_browser.py.
import assert from 'node:assert/strict'
import { beforeEach, test } from 'node:test'
import decorate from '../src/decorate.js'
import { makeLinker } from '../src/linker.js'

const UA = 'Mozilla/5.0 Test'
let listeners

beforeEach(() => {
  listeners = {}
  globalThis.document = {
    addEventListener: (type, fn, capture) => (listeners[type] = { fn, capture }),
    createElement: (tag) => ({ tag }),
  }
  globalThis.location = { hostname: 'shop.example.test' }
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: UA }, configurable: true })
  // The core's answer: the visitor id for hosts of the site's other domains.
  decorate((host) => host == 'other.test' && 'v_1')
})

const now = () => Math.floor(Date.now() / 1000)
const link = (href) => {
  const element = { href, hostname: new URL(href).hostname }
  element.closest = (selector) => (selector == 'a' ? element : null)
  return element
}
const press = (type, target) => listeners[type].fn({ type, target })
const linkerOf = (href) => new URL(href).searchParams.get('_ct')

test('listens in the capture phase for presses, clicks and submits', () => {
  assert.deepEqual(Object.keys(listeners).sort(), ['click', 'pointerdown', 'submit'])
  for (const { capture } of Object.values(listeners)) assert.equal(capture, 1)
})

test("a pressed or clicked link to one of the domains carries the visitor's _ct", () => {
  for (const type of ['pointerdown', 'click']) {
    const a = link('https://other.test/landing?x=1#top')
    press(type, a)
    const value = linkerOf(String(a.href))
    assert.ok([now() - 1, now()].some((s) => value == makeLinker('v_1', s, UA)), value)
    assert.equal(new URL(a.href).searchParams.get('x'), '1')
    assert.equal(new URL(a.href).hash, '#top')
  }
})

test('other links are left as they are', () => {
  for (const href of ['https://example.org/away', 'https://shop.example.test/next', 'mailto:a@b.c']) {
    const a = link(href)
    press('pointerdown', a)
    assert.equal(a.href, href)
  }
  const notALink = { closest: () => null }
  press('click', notALink) // no throw
})

test('no visitor id to carry (storing not allowed, or none yet): no _ct', () => {
  decorate(() => undefined)
  const a = link('https://other.test/landing')
  press('click', a)
  assert.equal(a.href, 'https://other.test/landing')
})

test('a GET form to one of the domains gets _ct as a hidden field, once', () => {
  const appended = []
  const form = {
    action: 'https://other.test/search',
    method: 'get',
    querySelector: () => appended[0] || null,
    appendChild: (field) => (appended.push(field), field),
  }
  press('submit', form)
  press('submit', form)
  assert.equal(appended.length, 1)
  const [field] = appended
  assert.deepEqual([field.tag, field.type, field.name], ['input', 'hidden', '_ct'])
  assert.ok(field.value.startsWith('v_1.'))
  assert.equal(form.action, 'https://other.test/search')
})

test("a POST form to one of the domains gets _ct in its action's query", () => {
  const form = { action: 'https://other.test/order?step=2', method: 'post' }
  press('submit', form)
  const url = new URL(form.action)
  assert.equal(url.searchParams.get('step'), '2')
  assert.ok(url.searchParams.get('_ct').startsWith('v_1.'))
  const elsewhere = { action: 'https://example.org/order', method: 'post' }
  press('submit', elsewhere)
  assert.equal(elsewhere.action, 'https://example.org/order')
})
