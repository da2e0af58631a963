// Nothing the snippet does may throw into the host page: every entry point (public call,
// event listener, timer, promise callback) runs through `safe`, which reports and swallows;
// `attempt` is for browser APIs that throw when blocked (storage in sandboxed frames).

export const warn = (message) => console.warn('clicktrail:', message)

export const safe =
  (fn) =>
  (...args) => {
    try {
      return fn(...args)
    } catch (error) {
      warn(error)
    }
  }

export const attempt = (fn) => {
  try {
    return fn()
  } catch {}
}

// A listener whose errors are warned about, never thrown into the host page. Always in the
// capture phase: the same for the window's and the document's own events (at their target).
export const on = (target, type, fn) => target.addEventListener(type, safe(fn), 1)

// JSON.stringify without the page's prototypes: arrays and plain objects are written as they
// are, whatever toJSON a page gave them (Prototype.js's Array.prototype.toJSON returns a
// string, which turned the queue and every list into strings). Dates and the like keep theirs.
export const json = (value) =>
  JSON.stringify(value, function (key, written) {
    const own = this[key]
    return Array.isArray(own) || own?.constructor == Object ? own : written
  })
